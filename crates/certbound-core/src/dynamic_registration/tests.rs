#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::testing::{self, FixedClock};
use base64::engine::general_purpose::STANDARD;
use std::sync::Arc;

const NOW: i64 = 1_700_000_000;

fn server(policy: RegistrationPolicy) -> (AuthServer, Arc<FixedClock>) {
    let (mut server, clock) = testing::server(NOW);
    server.settings.registration_policy = policy;
    (server, clock)
}

fn secret_client() -> Value {
    json!({
        "client_name": "svc",
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["client_credentials"],
    })
}

fn self_signed_client() -> Value {
    let cert = testing::certificate("self", NOW - 60, NOW + 86_400);
    json!({
        "client_name": "mtls",
        "token_endpoint_auth_method": "self_signed_tls_client_auth",
        "grant_types": ["client_credentials"],
        "jwks": {"keys": [{"kty": "EC", "x5c": [STANDARD.encode(cert.leaf.der())]}]},
    })
}

async fn issue_initial(server: &AuthServer, expires_in: u64, uses: u32) -> Secret {
    let (record, token) = new_initial_access_token(&crate::OsRandom, NOW, expires_in, uses);
    server
        .store
        .insert_initial_access_token(&record)
        .await
        .unwrap();
    token
}

fn token_of(v: &Value) -> Secret {
    Secret::new(v["registration_access_token"].as_str().unwrap())
}

#[tokio::test]
async fn open_registration_returns_credentials_and_stores_only_hashes() {
    let (server, _) = server(RegistrationPolicy::Open);
    let v = register(&server, None, Ok(secret_client())).await.unwrap();
    let id = v["client_id"].as_str().unwrap();
    assert_eq!(v["client_id_issued_at"], NOW);
    assert_eq!(v["client_secret_expires_at"], 0);
    assert_eq!(
        v["registration_client_uri"],
        format!("https://localhost:9443/oauth2/register/{id}")
    );
    let stored = server.store.find_client(id).await.unwrap().unwrap();
    let secret = Secret::new(v["client_secret"].as_str().unwrap());
    assert_eq!(stored.secret_hash, Some(secret.hash()));
    assert_eq!(stored.registration_token_hash, Some(token_of(&v).hash()));
}

#[tokio::test]
async fn disabled_policy_refuses_registration() {
    let (server, _) = server(RegistrationPolicy::Disabled);
    let e = register(&server, None, Ok(secret_client()))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::AccessDenied);
    assert!(
        crate::discovery::metadata(&server)
            .get("registration_endpoint")
            .is_none()
    );
}

#[tokio::test]
async fn discovery_advertises_the_endpoint_when_registration_is_possible() {
    let (server, _) = server(RegistrationPolicy::InitialAccessToken);
    assert_eq!(
        crate::discovery::metadata(&server)["registration_endpoint"],
        "https://localhost:9443/oauth2/register"
    );
}

#[tokio::test]
async fn initial_access_token_is_required_checked_and_spent() {
    let (server, clock) = server(RegistrationPolicy::InitialAccessToken);
    // Authentication comes before any look at the body.
    let e = register(&server, None, Err(registration::field("body", "x").into()))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidToken);
    let wrong = Secret::new("not-a-token");
    let e = register(&server, Some(&wrong), Ok(secret_client()))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidToken);

    let token = issue_initial(&server, 600, 2).await;
    // Invalid metadata does not spend a use.
    let e = register(&server, Some(&token), Ok(json!({"grant_types": "x"})))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidClientMetadata);
    register(&server, Some(&token), Ok(secret_client()))
        .await
        .unwrap();
    register(&server, Some(&token), Ok(secret_client()))
        .await
        .unwrap();
    let e = register(&server, Some(&token), Ok(secret_client()))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidToken, "used up");

    let token = issue_initial(&server, 600, 5).await;
    clock.set(NOW + 600);
    let e = register(&server, Some(&token), Ok(secret_client()))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidToken, "expired");
}

#[tokio::test]
async fn privileged_members_are_ignored_for_self_registered_clients() {
    let (server, _) = server(RegistrationPolicy::Open);
    let mut body = secret_client();
    body["introspection_allowed"] = json!(true);
    body["access_token_lifetime"] = json!(31_536_000);
    body["access_token_format"] = json!("jwt");
    body["unknown_member"] = json!({"a": 1});
    let v = register(&server, None, Ok(body)).await.unwrap();
    let c = server
        .store
        .find_client(v["client_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!c.can_introspect);
    assert_eq!(c.access_token_lifetime, None);
    assert_eq!(c.access_token_format, None);
    assert_eq!(v["introspection_allowed"], false);
}

#[tokio::test]
async fn validation_errors_name_the_member() {
    let (server, _) = server(RegistrationPolicy::Open);
    let cases = [
        (
            json!({"token_endpoint_auth_method": "tls_client_auth", "grant_types": ["client_credentials"]}),
            ErrorCode::InvalidClientMetadata,
        ),
        (
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            ErrorCode::InvalidRedirectUri,
        ),
        (
            json!(["not", "an", "object"]),
            ErrorCode::InvalidClientMetadata,
        ),
        (
            json!({"grant_types": ["password"]}),
            ErrorCode::InvalidClientMetadata,
        ),
    ];
    for (body, code) in cases {
        let e = register(&server, None, Ok(body.clone())).await.unwrap_err();
        assert_eq!(e.code, code, "{body}");
        assert!(e.field.is_some());
    }
}

#[tokio::test]
async fn read_rotates_the_registration_access_token() {
    let (server, _) = server(RegistrationPolicy::Open);
    let v = register(&server, None, Ok(self_signed_client()))
        .await
        .unwrap();
    let id = v["client_id"].as_str().unwrap();
    let first = token_of(&v);
    let r = read(&server, id, Some(&first)).await.unwrap();
    assert_eq!(r["client_id"], id);
    assert!(r["jwks"]["keys"][0]["x5c"].is_array());
    assert!(r.get("client_secret").is_none());
    let second = token_of(&r);
    assert_ne!(first, second);
    let e = read(&server, id, Some(&first)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidToken, "the old token is gone");
    read(&server, id, Some(&second)).await.unwrap();
}

#[tokio::test]
async fn wrong_missing_foreign_tokens_and_unknown_clients_read_alike() {
    let (server, _) = server(RegistrationPolicy::Open);
    let a = register(&server, None, Ok(secret_client())).await.unwrap();
    let b = register(&server, None, Ok(secret_client())).await.unwrap();
    let a_id = a["client_id"].as_str().unwrap();
    for (id, token) in [
        (a_id, None),
        (a_id, Some(Secret::new("wrong"))),
        (a_id, Some(token_of(&b))),
        ("no-such-client", Some(token_of(&a))),
        ("", Some(token_of(&a))),
    ] {
        let e = read(&server, id, token.as_ref()).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidToken);
        assert_eq!(e.description, invalid_token().description);
        let e = delete(&server, id, token.as_ref()).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidToken);
    }
    // A client created by an administrator has no registration access token at all.
    let spec = ClientSpec::new("admin-made", ClientAuthMethod::ClientSecretBasic);
    let (c, _) = registration::build_client(spec, &crate::OsRandom, NOW).unwrap();
    server.store.insert_client(&c).await.unwrap();
    let e = read(&server, &c.client_id, Some(&Secret::new("")))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidToken);
}

#[tokio::test]
async fn update_replaces_metadata_and_checks_identity() {
    let (server, _) = server(RegistrationPolicy::Open);
    let mut body = secret_client();
    body["scope"] = json!("read write");
    let v = register(&server, None, Ok(body)).await.unwrap();
    let id = v["client_id"].as_str().unwrap().to_owned();
    let secret = v["client_secret"].as_str().unwrap().to_owned();
    let mut token = token_of(&v);

    // client_id missing or different.
    let e = update(&server, &id, Some(&token), Ok(secret_client()))
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("client_id"));
    let mut other = secret_client();
    other["client_id"] = json!("someone-else");
    let e = update(&server, &id, Some(&token), Ok(other))
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("client_id"));
    // A wrong client_secret.
    let mut bad = secret_client();
    bad["client_id"] = json!(id);
    bad["client_secret"] = json!("chosen-by-the-client");
    let e = update(&server, &id, Some(&token), Ok(bad))
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("client_secret"));

    // The right one, with scope left out (removed) and a new name.
    let mut good = secret_client();
    good["client_id"] = json!(id);
    good["client_secret"] = json!(secret);
    good["client_name"] = json!("renamed");
    good["client_id_issued_at"] = json!(1);
    let r = update(&server, &id, Some(&token), Ok(good)).await.unwrap();
    assert_eq!(r["client_name"], "renamed");
    assert_eq!(r["scope"], "");
    assert_eq!(
        r["client_id_issued_at"], NOW,
        "read-only members are ignored"
    );
    assert!(
        r.get("client_secret").is_none(),
        "the secret is kept, not reissued"
    );
    let stored = server.store.find_client(&id).await.unwrap().unwrap();
    assert_eq!(stored.secret_hash, Some(Secret::new(secret).hash()));
    let old = token;
    token = token_of(&r);
    assert!(
        read(&server, &id, Some(&old)).await.is_err(),
        "rotated on update"
    );
    read(&server, &id, Some(&token)).await.unwrap();
}

#[tokio::test]
async fn update_keeps_administrator_settings() {
    let (server, _) = server(RegistrationPolicy::Open);
    let v = register(&server, None, Ok(secret_client())).await.unwrap();
    let id = v["client_id"].as_str().unwrap();
    let mut c = Arc::unwrap_or_clone(server.store.find_client(id).await.unwrap().unwrap());
    c.can_introspect = true;
    c.access_token_lifetime = Some(60);
    server.store.update_client(&c).await.unwrap();
    let mut body = secret_client();
    body["client_id"] = json!(id);
    body["introspection_allowed"] = json!(false);
    update(&server, id, Some(&token_of(&v)), Ok(body))
        .await
        .unwrap();
    let c = server.store.find_client(id).await.unwrap().unwrap();
    assert!(c.can_introspect);
    assert_eq!(c.access_token_lifetime, Some(60));
}

#[tokio::test]
async fn delete_removes_the_client() {
    let (server, _) = server(RegistrationPolicy::Open);
    let v = register(&server, None, Ok(self_signed_client()))
        .await
        .unwrap();
    let id = v["client_id"].as_str().unwrap();
    delete(&server, id, Some(&token_of(&v))).await.unwrap();
    assert!(server.store.find_client(id).await.unwrap().is_none());
    let e = delete(&server, id, Some(&token_of(&v))).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidToken);
}

#[test]
fn policies_parse_from_their_config_names() {
    for p in [
        RegistrationPolicy::Disabled,
        RegistrationPolicy::Open,
        RegistrationPolicy::InitialAccessToken,
    ] {
        assert_eq!(p.as_str().parse::<RegistrationPolicy>(), Ok(p));
    }
    assert!("closed".parse::<RegistrationPolicy>().is_err());
    assert_eq!(
        RegistrationPolicy::default(),
        RegistrationPolicy::InitialAccessToken
    );
}

#[test]
fn initial_access_tokens_are_stored_by_hash_and_expire() {
    let (record, token) = new_initial_access_token(&crate::OsRandom, NOW, 60, 1);
    assert_eq!(record.hash, token.hash());
    assert!(!format!("{record:?}").contains(token.expose()));
    assert!(record.is_usable(NOW + 59));
    assert!(!record.is_usable(NOW + 60));
    assert_eq!(record.id.len(), 12);
}
