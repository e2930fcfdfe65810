#![allow(clippy::unwrap_used)]

use super::*;
use crate::registration::build_client;
use serde_json::json;

fn spec(v: Value, who: Registrar) -> Result<ClientSpec, FieldError> {
    ClientMetadata::from_json(v).unwrap().to_spec(who)
}

fn admin_err(v: Value) -> FieldError {
    let r =
        spec(v, Registrar::Admin).and_then(|s| build_client(s, &crate::OsRandom, 0).map(|_| ()));
    r.unwrap_err()
}

fn self_signed_cert() -> ClientCertificate {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let params = rcgen::CertificateParams::new(vec!["client.example".into()]).unwrap();
    ClientCertificate::from_der(params.self_signed(&key).unwrap().der().to_vec()).unwrap()
}

fn x5c(cert: &ClientCertificate) -> String {
    base64::engine::general_purpose::STANDARD.encode(cert.der())
}

#[test]
fn rfc7591_defaults_apply() {
    let s = spec(
        json!({"redirect_uris": ["https://app.example/cb"]}),
        Registrar::SelfService,
    )
    .unwrap();
    assert_eq!(s.auth_method, ClientAuthMethod::ClientSecretBasic);
    assert_eq!(s.grant_types, vec![GrantType::AuthorizationCode]);
}

#[test]
fn tls_client_auth_needs_exactly_one_subject_member() {
    let base = json!({"token_endpoint_auth_method": "tls_client_auth", "grant_types": ["client_credentials"]});
    let e = admin_err(base.clone());
    assert_eq!(e.field, "tls_client_auth_subject_dn");
    assert!(e.message.contains("exactly one"), "{e}");
    let mut two = base.clone();
    two["tls_client_auth_subject_dn"] = json!("CN=a");
    two["tls_client_auth_san_dns"] = json!("a.example");
    let e = admin_err(two);
    assert!(e.message.contains("exactly one"), "{e}");
    for (member, value) in [
        ("tls_client_auth_subject_dn", "CN=client,O=Example"),
        ("tls_client_auth_san_dns", "client.example"),
        ("tls_client_auth_san_uri", "spiffe://example/client"),
        ("tls_client_auth_san_ip", "192.0.2.7"),
        ("tls_client_auth_san_email", "ops@example.com"),
    ] {
        let mut one = base.clone();
        one[member] = json!(value);
        let s = spec(one, Registrar::SelfService).unwrap();
        let client = build_client(s, &crate::OsRandom, 0).unwrap().0;
        assert_eq!(
            ClientMetadata::of(&client)[member],
            json!(value),
            "{member}"
        );
    }
}

#[test]
fn malformed_subject_values_name_their_member() {
    let e = admin_err(
        json!({"token_endpoint_auth_method": "tls_client_auth", "grant_types": ["client_credentials"], "tls_client_auth_san_ip": "not-an-ip"}),
    );
    assert_eq!(e.field, "tls_client_auth_san_ip");
    let e = admin_err(
        json!({"token_endpoint_auth_method": "tls_client_auth", "grant_types": ["client_credentials"], "tls_client_auth_subject_dn": "no equals sign"}),
    );
    assert_eq!(e.field, "tls_client_auth_subject_dn");
    let e = admin_err(
        json!({"token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "tls_client_auth_san_dns": "a"}),
    );
    assert_eq!(e.field, "tls_client_auth_san_dns");
}

#[test]
fn self_signed_clients_register_certificates_in_jwks_x5c() {
    let cert = self_signed_cert();
    let s = spec(
        json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"],
               "jwks": {"keys": [{"kty": "EC", "x5c": [x5c(&cert)]}]}}),
        Registrar::SelfService,
    )
    .unwrap();
    let client = build_client(s, &crate::OsRandom, 0).unwrap().0;
    assert_eq!(client.certificates[0].thumbprint(), cert.thumbprint());
    let out = ClientMetadata::of(&client);
    assert_eq!(out["jwks"]["keys"][0]["x5c"][0], json!(x5c(&cert)));
    assert_eq!(out["jwks"]["keys"][0]["kty"], json!("EC"));
    assert_eq!(
        out["certificate_details"][0]["x5t#S256"],
        json!(cert.thumbprint().to_base64url())
    );
    // What the server returns registers the same client again (RFC 7592 §2.2 round trip).
    let again = spec(out, Registrar::Admin).unwrap();
    assert_eq!(again.certificates[0].thumbprint(), cert.thumbprint());
}

#[test]
fn bad_jwks_values_are_refused() {
    let cert = self_signed_cert();
    for (jwks, hint) in [
        (json!([1]), "JWK set"),
        (json!({"keys": []}), "no keys"),
        (json!({"keys": [{"kty": "EC"}]}), "x5c"),
        (json!({"keys": [{"x5c": ["%%%"]}]}), "base64"),
        (json!({"keys": [{"x5c": ["AAAA"]}]}), "not an X.509"),
        (
            json!({"keys": [{"x5c": [x5c(&cert)], "x5t#S256": "wrong"}]}),
            "does not match",
        ),
    ] {
        let e = admin_err(
            json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"], "jwks": jwks}),
        );
        assert_eq!(e.field, "jwks");
        assert!(e.message.contains(hint), "{e} / {hint}");
    }
    let e = admin_err(
        json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"]}),
    );
    assert_eq!(e.field, "jwks");
    let e = admin_err(
        json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"],
        "jwks": {"keys": [{"x5c": [x5c(&cert)]}]}, "jwks_uri": "https://keys.example/jwks"}),
    );
    assert_eq!(e.field, "jwks_uri");
    let e = admin_err(
        json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"], "jwks_uri": "http://keys.example/jwks"}),
    );
    assert_eq!(e.field, "jwks_uri");
}

#[test]
fn admins_paste_pem_and_bad_pem_names_the_field() {
    let cert = self_signed_cert();
    let s = spec(
        json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"], "certificates": [cert.to_pem()]}),
        Registrar::Admin,
    )
    .unwrap();
    assert_eq!(s.certificates.len(), 1);
    let e = admin_err(
        json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"], "certificates": ["-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"]}),
    );
    assert_eq!(e.field, "certificates");
    // Self-registering clients cannot use certbound's own members: they are ignored.
    let s = spec(
        json!({"token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "introspection_allowed": true, "certificates": [cert.to_pem()], "x-unknown": 1}),
        Registrar::SelfService,
    )
    .unwrap();
    assert!(!s.can_introspect);
    assert!(s.certificates.is_empty());
}

#[test]
fn admin_typos_and_wrong_types_are_errors() {
    assert_eq!(
        admin_err(json!({"grant_type": ["client_credentials"]})).field,
        "grant_type"
    );
    assert_eq!(
        admin_err(json!({"grant_types": "client_credentials"})).field,
        "grant_types"
    );
    assert_eq!(
        admin_err(json!({"grant_types": ["password"]})).field,
        "grant_types"
    );
    assert_eq!(admin_err(json!({"client_name": 5})).field, "client_name");
    assert_eq!(
        admin_err(json!({"token_endpoint_auth_method": "private_key_jwt"})).field,
        "token_endpoint_auth_method"
    );
    assert_eq!(
        admin_err(json!({"grant_types": ["client_credentials"], "access_token_lifetime": 0})).field,
        "access_token_lifetime"
    );
    assert_eq!(
        admin_err(json!({"grant_types": ["client_credentials"], "access_token_format": "paseto"}))
            .field,
        "access_token_format"
    );
    assert_eq!(
        admin_err(json!({"grant_types": ["client_credentials"], "trust_store": "x"})).field,
        "trust_store"
    );
    assert!(ClientMetadata::from_json(json!([])).is_err());
}

#[test]
fn response_types_must_match_grant_types() {
    let e = admin_err(json!({"grant_types": ["client_credentials"], "response_types": ["code"]}));
    assert_eq!(e.field, "response_types");
    let e =
        admin_err(json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}));
    assert_eq!(e.field, "response_types");
    assert!(
        spec(
            json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["code"]}),
            Registrar::Admin
        )
        .is_ok()
    );
}
