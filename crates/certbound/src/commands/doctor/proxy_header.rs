//! Doctor check: a client certificate forged in a proxy header, sent without a TLS client
//! certificate from doctor's (untrusted) address, must not earn a token.

use super::{Check, Doctor, form_post, percent_encode, send};

const NAME: &str = "forged-proxy-header";

/// Sends one client_credentials request per known header, each carrying the client's
/// certificate in that header's usual format; passes when none is answered with a token.
pub(super) async fn run(doctor: &Doctor) -> Check {
    let Some(client) = &doctor.client else {
        return Check::skip(NAME, "needs --client-id, --cert and --key");
    };
    let cert = &client.identity.certificate;
    let pem = cert.to_pem();
    let base64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let single_line = format!("-----BEGIN CERTIFICATE-----{base64}-----END CERTIFICATE-----");
    let headers = [
        // WSO2's guide: single-line PEM.
        ("x-wso2-mtls-cert", single_line),
        // RFC 9440 §2.2: the DER as an RFC 8941 byte sequence.
        ("client-cert", format!(":{base64}:")),
        // Envoy: the URL-encoded PEM in the Cert= element.
        (
            "x-forwarded-client-cert",
            format!("Cert=\"{}\"", percent_encode(&pem)),
        ),
        // nginx $ssl_client_escaped_cert: URL-encoded PEM.
        ("x-ssl-cert", percent_encode(&pem)),
        // PEM with the line breaks as spaces.
        ("ssl-client-cert", pem.trim_end().replace('\n', " ")),
    ];
    let url = doctor.endpoint("token_endpoint", false, "/oauth2/token");
    let mut accepted = Vec::new();
    let mut seen = Vec::new();
    let mut answered = false;
    for (header, value) in &headers {
        let request = form_post(
            &doctor.plain,
            url.clone(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client.client_id),
            ],
        )
        .header(*header, value);
        match send(request).await {
            Ok(answer) => {
                answered = true;
                if answer.status == 200
                    && answer.json().is_some_and(|j| j["access_token"].is_string())
                {
                    accepted.push(*header);
                }
                let summary = answer.summary();
                if !seen.contains(&summary) {
                    seen.push(summary);
                }
            }
            Err(e) => {
                let summary = format!("no answer ({e})");
                if !seen.contains(&summary) {
                    seen.push(summary);
                }
            }
        }
    }
    if !answered {
        return Check::fail(
            NAME,
            format!("the token endpoint did not answer: {}", seen.join(", ")),
        );
    }
    if accepted.is_empty() {
        Check::pass(
            NAME,
            format!(
                "no token for the certificate forged in {} without TLS client certificate ({} at {url})",
                headers.map(|(h, _)| h).join(", "),
                seen.join(", ")
            ),
        )
    } else {
        Check::fail(
            NAME,
            format!(
                "a token was issued for the certificate forged in {} from this address: restrict oauth.mutualtls.trusted_proxies to the proxy's own address, and make the proxy overwrite the header",
                accepted.join(", ")
            ),
        )
    }
}
