//! Doctor checks on the metadata: both discovery documents agree with `--url` (RFC 8414 §3.3)
//! and serve a JWKS, and the RFC 8705 mutual-TLS metadata is advertised (§3.3, §5).

use super::{Check, Doctor, send};
use reqwest::Url;
use serde_json::Value;

const DISCOVERY: &str = "discovery";
const MTLS_METADATA: &str = "mtls-metadata";

/// Endpoint members of RFC 8414 §2 / OIDC Discovery §3 that must be https under the issuer.
const ENDPOINTS: &[&str] = &[
    "authorization_endpoint",
    "token_endpoint",
    "introspection_endpoint",
    "revocation_endpoint",
    "userinfo_endpoint",
    "registration_endpoint",
    "jwks_uri",
];

/// The discovery and mTLS-metadata rows; keeps the RFC 8414 document for the other checks.
pub(super) async fn run(doctor: &mut Doctor) -> Vec<Check> {
    let metadata = match fetch_both(doctor).await {
        Ok(m) => m,
        Err(detail) => {
            return vec![
                Check::fail(DISCOVERY, detail),
                Check::skip(MTLS_METADATA, "no discovery document to read"),
            ];
        }
    };
    let discovery = match consistent(doctor, &metadata).await {
        Ok(detail) => Check::pass(DISCOVERY, detail),
        Err(detail) => Check::fail(DISCOVERY, detail),
    };
    let mtls = match mtls_metadata(&metadata) {
        Ok(detail) => Check::pass(MTLS_METADATA, detail),
        Err(detail) => Check::fail(MTLS_METADATA, detail),
    };
    doctor.metadata = Some(metadata);
    vec![discovery, mtls]
}

/// GETs the RFC 8414 §3.1 document (well-known suffix before the issuer's path) and the
/// OpenID Connect Discovery §4 one (appended to the issuer); both must be equal objects.
async fn fetch_both(doctor: &Doctor) -> Result<Value, String> {
    let path = doctor.issuer.path().trim_end_matches('/');
    let mut rfc8414 = doctor.issuer.clone();
    rfc8414.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    let mut oidc = doctor.issuer.clone();
    oidc.set_path(&format!("{path}/.well-known/openid-configuration"));
    let a = get_json(doctor, rfc8414).await?;
    let b = get_json(doctor, oidc).await?;
    if a != b {
        return Err("the RFC 8414 and OpenID Connect discovery documents differ: serve one document at both well-known paths".into());
    }
    if !a.is_object() {
        return Err("the discovery document is not a JSON object".into());
    }
    Ok(a)
}

async fn get_json(doctor: &Doctor, url: Url) -> Result<Value, String> {
    let answer = send(doctor.plain.get(url.clone()))
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if answer.status != 200 {
        return Err(format!("GET {url}: HTTP {}", answer.status));
    }
    answer.json().ok_or_else(|| format!("GET {url}: not JSON"))
}

/// `issuer` equals `--url` exactly, every endpoint is https under the issuer's origin, and
/// `jwks_uri` serves a JWKS.
async fn consistent(doctor: &Doctor, metadata: &Value) -> Result<String, String> {
    let issuer = metadata["issuer"].as_str().unwrap_or_default();
    let given = doctor.issuer.as_str();
    // Url normalises an empty path to "/": compare with what the user typed, too.
    if issuer != given && issuer != given.trim_end_matches('/') {
        return Err(format!(
            "issuer is {issuer:?} but --url is {given:?}: they must be equal (RFC 8414 §3.3); set server.issuer to the public URL clients use"
        ));
    }
    let origin = doctor.issuer.origin();
    for name in ENDPOINTS {
        let Some(value) = metadata.get(*name) else {
            continue;
        };
        let url = value
            .as_str()
            .and_then(|s| Url::parse(s).ok())
            .ok_or_else(|| format!("{name} is not a URL"))?;
        if url.scheme() != "https" || url.origin() != origin {
            return Err(format!(
                "{name} {url} is not https under the issuer's origin {}",
                origin.ascii_serialization()
            ));
        }
    }
    for required in ["token_endpoint", "jwks_uri"] {
        if metadata.get(required).is_none() {
            return Err(format!("the metadata has no {required}"));
        }
    }
    let jwks_uri = doctor.endpoint("jwks_uri", false, "/oauth2/jwks");
    let jwks = get_json(doctor, jwks_uri.clone()).await?;
    let keys = jwks["keys"].as_array().filter(|k| {
        !k.is_empty()
            && k.iter()
                .all(|key| key["kty"].is_string() && key["kid"].is_string())
    });
    let Some(keys) = keys else {
        return Err(format!(
            "{jwks_uri} is not a JWKS with keys that have kty and kid (RFC 7517 §5)"
        ));
    };
    Ok(format!(
        "issuer {issuer}; both documents agree; endpoints https under {}; JWKS with {} key(s)",
        origin.ascii_serialization(),
        keys.len()
    ))
}

/// RFC 8705 §2.1.1/§2.2.1 methods, §3.3 `tls_client_certificate_bound_access_tokens`, and
/// §5 `mtls_endpoint_aliases` (https, one origin, only endpoints the metadata has).
fn mtls_metadata(metadata: &Value) -> Result<String, String> {
    let methods: Vec<&str> = metadata["token_endpoint_auth_methods_supported"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let missing: Vec<&str> = ["tls_client_auth", "self_signed_tls_client_auth"]
        .into_iter()
        .filter(|m| !methods.contains(m))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "token_endpoint_auth_methods_supported lacks {} (RFC 8705 §2.1.1, §2.2.1)",
            missing.join(", ")
        ));
    }
    if metadata["tls_client_certificate_bound_access_tokens"] != Value::Bool(true) {
        return Err(
            "tls_client_certificate_bound_access_tokens is not true (RFC 8705 §3.3)".into(),
        );
    }
    let Some(aliases) = metadata.get("mtls_endpoint_aliases") else {
        return Ok(
            "tls_client_auth, self_signed_tls_client_auth, bound tokens advertised; no mtls_endpoint_aliases".into(),
        );
    };
    let aliases = aliases
        .as_object()
        .ok_or("mtls_endpoint_aliases is not a JSON object (RFC 8705 §5)")?;
    if !aliases.contains_key("token_endpoint") {
        return Err("mtls_endpoint_aliases has no token_endpoint (RFC 8705 §5)".into());
    }
    let mut origin = None;
    for (name, value) in aliases {
        if metadata.get(name).is_none() {
            return Err(format!(
                "mtls_endpoint_aliases.{name} aliases an endpoint the metadata does not have"
            ));
        }
        let url = value
            .as_str()
            .and_then(|s| Url::parse(s).ok())
            .filter(|u| u.scheme() == "https")
            .ok_or_else(|| format!("mtls_endpoint_aliases.{name} is not an https URL"))?;
        let this = url.origin().ascii_serialization();
        match &origin {
            None => origin = Some(this),
            Some(o) if *o == this => {}
            Some(o) => {
                return Err(format!(
                    "mtls_endpoint_aliases are on two origins ({o}, {this})"
                ));
            }
        }
    }
    Ok(format!(
        "tls_client_auth, self_signed_tls_client_auth, bound tokens advertised; {} mtls_endpoint_aliases on {}",
        aliases.len(),
        origin.unwrap_or_default()
    ))
}
