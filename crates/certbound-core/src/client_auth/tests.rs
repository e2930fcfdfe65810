//! Unit tests of client authentication and token binding, with a memory store and a fixed
//! clock (DESIGN rule 12: no sleeping, no network).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::ErrorCode;
use crate::registration::{ClientSpec, build_client};
use crate::request::BasicCredentials;
use crate::testing::{self, MemoryStore};
use crate::tokens;

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

fn spec(method: ClientAuthMethod) -> ClientSpec {
    ClientSpec::new("c", method)
}

async fn register(store: &MemoryStore, spec: ClientSpec) -> (Client, Option<Secret>) {
    let (client, secret) = build_client(spec, &crate::OsRandom, NOW).unwrap();
    store.insert_client(&client).await.unwrap();
    (client, secret)
}

fn input(client_id: &str) -> ClientCredentialsInput {
    ClientCredentialsInput {
        client_id: Some(client_id.into()),
        ..Default::default()
    }
}

static NO_TRUST_STORES: crate::trust_stores::TrustStores = crate::trust_stores::TrustStores::new();

fn ctx() -> AuthContext<'static> {
    AuthContext {
        trust_stores: &NO_TRUST_STORES,
        client_keys: None,
        now: NOW,
    }
}

async fn auth(
    store: &MemoryStore,
    input: &ClientCredentialsInput,
    peer: Option<&PeerCertificate>,
) -> Result<AuthenticatedClient, OAuthError> {
    authenticate(store, input, peer, ctx()).await
}

fn basic(id: &str, secret: &str) -> BasicCredentials {
    BasicCredentials {
        username: id.into(),
        password: Secret::new(secret),
    }
}

#[tokio::test]
async fn self_signed_accepts_only_registered_and_currently_valid_certificates() {
    let store = MemoryStore::default();
    let good = testing::certificate("good", NOW - DAY, NOW + DAY);
    let other = testing::certificate("other", NOW - DAY, NOW + DAY);
    let mut s = spec(ClientAuthMethod::SelfSignedTlsClientAuth);
    s.certificates = vec![good.leaf.clone()];
    let (client, _) = register(&store, s).await;
    let ok = auth(&store, &input(&client.client_id), Some(&good))
        .await
        .unwrap();
    assert!(ok.by_mtls);
    assert_eq!(tokens::binding(&ok, NOW).unwrap(), Some(*good.thumbprint()));
    let e = auth(&store, &input(&client.client_id), Some(&other))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidClient);
    let e = auth(&store, &input(&client.client_id), None)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidClient);

    // The registered certificate itself, outside its validity window.
    let mut s = spec(ClientAuthMethod::SelfSignedTlsClientAuth);
    let expired = testing::certificate("expired", NOW - 2 * DAY, NOW - DAY);
    let future = testing::certificate("future", NOW + DAY, NOW + 2 * DAY);
    s.certificates = vec![expired.leaf.clone(), future.leaf.clone()];
    let (client, _) = register(&store, s).await;
    let e = auth(&store, &input(&client.client_id), Some(&expired))
        .await
        .unwrap_err();
    assert!(e.description.contains("expired"));
    let e = auth(&store, &input(&client.client_id), Some(&future))
        .await
        .unwrap_err();
    assert!(e.description.contains("not yet valid"));
}

/// A key source that answers every `jwks_uri` the same way.
struct FixedKeys(Result<Vec<Thumbprint>, KeySourceError>);

#[async_trait::async_trait]
impl ClientKeySource for FixedKeys {
    async fn thumbprints(
        &self,
        _jwks_uri: &str,
        _presented: &Thumbprint,
    ) -> Result<Vec<Thumbprint>, KeySourceError> {
        self.0.clone()
    }
}

#[tokio::test]
async fn jwks_uri_clients_are_checked_against_the_key_source() {
    let store = MemoryStore::default();
    let good = testing::certificate("good", NOW - DAY, NOW + DAY);
    let mut s = spec(ClientAuthMethod::SelfSignedTlsClientAuth);
    s.jwks_uri = Some("https://client.example/jwks".into());
    let (client, _) = register(&store, s).await;
    fn with(keys: &FixedKeys) -> AuthContext<'_> {
        AuthContext {
            trust_stores: &NO_TRUST_STORES,
            client_keys: Some(keys),
            now: NOW,
        }
    }
    let published = FixedKeys(Ok(vec![*good.thumbprint()]));
    let ok = authenticate(
        &store,
        &input(&client.client_id),
        Some(&good),
        with(&published),
    )
    .await
    .unwrap();
    assert!(ok.by_mtls);
    let other = FixedKeys(Ok(vec![Thumbprint::of_der(b"other")]));
    let e = authenticate(&store, &input(&client.client_id), Some(&good), with(&other))
        .await
        .unwrap_err();
    assert!(e.description.contains("not one of the certificates"));
    let forbidden = FixedKeys(Err(KeySourceError::Forbidden("10.0.0.1".into())));
    let e = authenticate(
        &store,
        &input(&client.client_id),
        Some(&good),
        with(&forbidden),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidClient);
    assert!(
        e.description.contains("does not connect to"),
        "{}",
        e.description
    );
    assert!(!e.description.contains("10.0.0.1"), "no internals");
    let failed = FixedKeys(Err(KeySourceError::Fetch("timeout".into())));
    let e = authenticate(
        &store,
        &input(&client.client_id),
        Some(&good),
        with(&failed),
    )
    .await
    .unwrap_err();
    assert!(
        e.description.contains("could not be fetched"),
        "{}",
        e.description
    );
    // Without a key source, such clients fail closed.
    let e = auth(&store, &input(&client.client_id), Some(&good))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidClient);
}

#[tokio::test]
async fn mtls_clients_must_not_send_a_secret() {
    let store = MemoryStore::default();
    let cert = testing::certificate("c", NOW - DAY, NOW + DAY);
    let mut s = spec(ClientAuthMethod::SelfSignedTlsClientAuth);
    s.certificates = vec![cert.leaf.clone()];
    let (client, _) = register(&store, s).await;
    let mut i = input(&client.client_id);
    i.client_secret = Some(Secret::new("x"));
    assert_eq!(
        auth(&store, &i, Some(&cert)).await.unwrap_err().code,
        ErrorCode::InvalidRequest
    );
    let i = ClientCredentialsInput {
        basic: Some(basic(&client.client_id, "x")),
        ..Default::default()
    };
    assert_eq!(
        auth(&store, &i, Some(&cert)).await.unwrap_err().code,
        ErrorCode::InvalidRequest
    );
}

#[tokio::test]
async fn tls_client_auth_without_trust_anchors_fails_closed() {
    let store = MemoryStore::default();
    let cert = testing::certificate("c", NOW - DAY, NOW + DAY);
    let mut s = spec(ClientAuthMethod::TlsClientAuth);
    s.subject = Some(certbound_mtls::SubjectMatch::SubjectDn(
        "CN=c".parse().unwrap(),
    ));
    let (client, _) = register(&store, s).await;
    let e = auth(&store, &input(&client.client_id), Some(&cert))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidClient);
}

#[tokio::test]
async fn secret_methods_use_only_their_own_channel() {
    let store = MemoryStore::default();
    let (b, b_secret) = register(&store, spec(ClientAuthMethod::ClientSecretBasic)).await;
    let (p, p_secret) = register(&store, spec(ClientAuthMethod::ClientSecretPost)).await;
    let (b_secret, p_secret) = (b_secret.unwrap(), p_secret.unwrap());

    let ok = ClientCredentialsInput {
        basic: Some(basic(&b.client_id, b_secret.expose())),
        ..Default::default()
    };
    let authed = auth(&store, &ok, None).await.unwrap();
    assert!(!authed.by_mtls);
    assert_eq!(tokens::binding(&authed, NOW).unwrap(), None);
    let wrong = ClientCredentialsInput {
        basic: Some(basic(&b.client_id, "wrong")),
        ..Default::default()
    };
    assert_eq!(
        auth(&store, &wrong, None).await.unwrap_err().description,
        failed().description
    );
    let mut as_post = input(&b.client_id);
    as_post.client_secret = Some(b_secret.clone());
    assert_eq!(
        auth(&store, &as_post, None).await.unwrap_err().code,
        ErrorCode::InvalidClient
    );

    let mut post = input(&p.client_id);
    post.client_secret = Some(p_secret.clone());
    auth(&store, &post, None).await.unwrap();
    let as_basic = ClientCredentialsInput {
        basic: Some(basic(&p.client_id, p_secret.expose())),
        ..Default::default()
    };
    assert_eq!(
        auth(&store, &as_basic, None).await.unwrap_err().code,
        ErrorCode::InvalidClient
    );

    // Unknown clients fail exactly like wrong secrets.
    let unknown = ClientCredentialsInput {
        basic: Some(basic("nobody", "x")),
        ..Default::default()
    };
    assert_eq!(auth(&store, &unknown, None).await.unwrap_err(), failed());
    // No client_id at all.
    let e = auth(&store, &ClientCredentialsInput::default(), None)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidClient);
}

#[tokio::test]
async fn bound_tokens_flag_binds_secret_clients_to_a_valid_presented_certificate() {
    let store = MemoryStore::default();
    let mut s = spec(ClientAuthMethod::ClientSecretBasic);
    s.bound_tokens = true;
    let (client, secret) = register(&store, s).await;
    let creds = ClientCredentialsInput {
        basic: Some(basic(&client.client_id, secret.unwrap().expose())),
        ..Default::default()
    };
    let cert = testing::certificate("any", NOW - DAY, NOW + DAY);
    let with = auth(&store, &creds, Some(&cert)).await.unwrap();
    assert_eq!(
        tokens::binding(&with, NOW).unwrap(),
        Some(*cert.thumbprint())
    );
    let without = auth(&store, &creds, None).await.unwrap();
    assert_eq!(
        tokens::binding(&without, NOW).unwrap_err().code,
        ErrorCode::InvalidRequest
    );
    let expired = testing::certificate("old", NOW - 2 * DAY, NOW - DAY);
    let with_expired = auth(&store, &creds, Some(&expired)).await.unwrap();
    assert_eq!(
        tokens::binding(&with_expired, NOW).unwrap_err().code,
        ErrorCode::InvalidRequest
    );
}
