//! Certificate rotation for `self_signed_tls_client_auth` clients: several certificates may be
//! registered at once (an overlap window), added and retired one at a time, and those nearing
//! expiry are reported.

use super::{FieldError, MAX_CERTIFICATES, field};
use crate::model::{Client, ClientAuthMethod, RegisteredCertificate};
use certbound_mtls::{ClientCertificate, Thumbprint};

/// Parses the one certificate of a rotation request (API body, CLI file, console field); the
/// error names the `certificate` field.
pub fn certificate_from_pem(pem: &str) -> Result<ClientCertificate, FieldError> {
    let bad = || {
        field(
            "certificate",
            "must be exactly one PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)",
        )
    };
    let mut certs = ClientCertificate::from_pem(pem).map_err(|_| bad())?;
    match (certs.pop(), certs.is_empty()) {
        (Some(cert), true) => Ok(cert),
        _ => Err(bad()),
    }
}

/// Registers one more certificate (RFC 8705 §2.2). Refused for other methods, for `jwks_uri`
/// clients (their key set is the published one), for an expired certificate, for one already
/// registered and beyond [`MAX_CERTIFICATES`].
pub fn add_certificate(
    client: &mut Client,
    certificate: ClientCertificate,
    now: i64,
) -> Result<(), FieldError> {
    if client.auth_method != ClientAuthMethod::SelfSignedTlsClientAuth {
        return Err(field(
            "certificate",
            "certificates are registered only for self_signed_tls_client_auth clients; tls_client_auth clients are matched by their subject",
        ));
    }
    if client.jwks_uri.is_some() {
        return Err(field(
            "certificate",
            "this client publishes its certificates at its jwks_uri; rotate them there",
        ));
    }
    if certificate.not_after() < now {
        return Err(field("certificate", "the certificate has already expired"));
    }
    if client
        .certificates
        .iter()
        .any(|c| c.thumbprint() == certificate.thumbprint())
    {
        return Err(field(
            "certificate",
            "this certificate is already registered for the client",
        ));
    }
    if client.certificates.len() >= MAX_CERTIFICATES {
        return Err(field(
            "certificate",
            format!(
                "the client already has {MAX_CERTIFICATES} certificates; retire one before adding another"
            ),
        ));
    }
    client.certificates.push(RegisteredCertificate {
        certificate,
        added_at: now,
    });
    Ok(())
}

/// Retires one registered certificate, identified by its `x5t#S256`. The last certificate of a
/// client cannot be retired (the client could no longer authenticate; delete it instead).
pub fn retire_certificate(client: &mut Client, x5t: &Thumbprint) -> Result<(), FieldError> {
    let Some(index) = client
        .certificates
        .iter()
        .position(|c| c.thumbprint() == x5t)
    else {
        return Err(field(
            "x5t#S256",
            "no certificate with this thumbprint is registered for the client",
        ));
    };
    if client.certificates.len() == 1 {
        return Err(field(
            "x5t#S256",
            "this is the client's only certificate; add its replacement first",
        ));
    }
    client.certificates.remove(index);
    Ok(())
}

/// The registered certificates of `clients` that expire before `now + window` seconds (or
/// have expired), soonest first: `(client, certificate)` pairs.
pub fn certificates_expiring(
    clients: &[Client],
    now: i64,
    window: i64,
) -> Vec<(&Client, &RegisteredCertificate)> {
    let mut out: Vec<_> = clients
        .iter()
        .flat_map(|c| c.certificates.iter().map(move |r| (c, r)))
        .filter(|(_, r)| r.certificate.not_after() < now.saturating_add(window))
        .collect();
    out.sort_by_key(|(_, r)| r.certificate.not_after());
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::registration::{ClientSpec, build_client};

    fn cert(days_valid: i64) -> ClientCertificate {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["c.example".into()]).unwrap();
        params.not_before = time::OffsetDateTime::from_unix_timestamp(0).unwrap();
        params.not_after = time::OffsetDateTime::from_unix_timestamp(days_valid * 86_400).unwrap();
        ClientCertificate::from_der(params.self_signed(&key).unwrap().der().to_vec()).unwrap()
    }

    fn client(first: ClientCertificate) -> Client {
        let mut spec = ClientSpec::new("c", ClientAuthMethod::SelfSignedTlsClientAuth);
        spec.certificates = vec![first];
        build_client(spec, &crate::OsRandom, 10).unwrap().0
    }

    #[test]
    fn rotation_adds_then_retires_and_keeps_one() {
        let (a, b) = (cert(400), cert(800));
        let mut c = client(a.clone());
        add_certificate(&mut c, b.clone(), 20).unwrap();
        assert_eq!(c.certificates.len(), 2);
        assert_eq!(c.certificates[1].added_at, 20);
        let e = add_certificate(&mut c, b.clone(), 20).unwrap_err();
        assert!(e.message.contains("already registered"), "{e}");
        retire_certificate(&mut c, a.thumbprint()).unwrap();
        assert_eq!(c.certificates.len(), 1);
        assert_eq!(c.certificates[0].thumbprint(), b.thumbprint());
        let e = retire_certificate(&mut c, b.thumbprint()).unwrap_err();
        assert!(e.message.contains("only certificate"), "{e}");
        let e = retire_certificate(&mut c, a.thumbprint()).unwrap_err();
        assert_eq!(e.field, "x5t#S256");
    }

    #[test]
    fn expired_certificates_and_other_methods_are_refused() {
        let mut c = client(cert(400));
        let e = add_certificate(&mut c, cert(1), 5 * 86_400).unwrap_err();
        assert!(e.message.contains("expired"), "{e}");
        c.auth_method = ClientAuthMethod::ClientSecretBasic;
        assert!(add_certificate(&mut c, cert(400), 0).is_err());
    }

    #[test]
    fn certificates_beyond_the_limit_are_refused() {
        let mut c = client(cert(400));
        for _ in 1..MAX_CERTIFICATES {
            add_certificate(&mut c, cert(400), 0).unwrap();
        }
        assert!(add_certificate(&mut c, cert(400), 0).is_err());
    }

    #[test]
    fn expiring_certificates_are_listed_soonest_first() {
        let mut c = client(cert(100));
        add_certificate(&mut c, cert(20), 0).unwrap();
        add_certificate(&mut c, cert(400), 0).unwrap();
        let now = 0;
        let soon = certificates_expiring(std::slice::from_ref(&c), now, 200 * 86_400);
        let days: Vec<i64> = soon
            .iter()
            .map(|(_, r)| r.certificate.not_after() / 86_400)
            .collect();
        assert_eq!(days, vec![20, 100]);
    }
}
