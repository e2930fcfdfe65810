//! Tests of the PostgreSQL backend against the real server (`CERTBOUND_TEST_POSTGRES_URL`,
//! default `postgres://root@127.0.0.1:5432/test`), each in a fresh schema selected through the
//! URL's `options=-c search_path=…` and dropped afterwards. The same cases as the SQLite tests;
//! the races and availability are in `races`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::StoreOptions;
use certbound_core::model::{AccessTokenRecord, TokenFormat};
use certbound_core::store::{GrantStore, Store, TokenStore};
use certbound_mtls::DistinguishedName;
use testdb::TestDb;

use certbound_mtls::vectors::WSO2_SAMPLE_CERT_PEM as BLOG_CERT;

fn client(id: &str) -> Client {
    let cert = ClientCertificate::from_pem(BLOG_CERT).unwrap().remove(0);
    Client {
        client_id: id.into(),
        name: "playground2".into(),
        auth_method: ClientAuthMethod::SelfSignedTlsClientAuth,
        secret_hash: Some(TokenHash::of(b"s")),
        certificates: vec![RegisteredCertificate {
            certificate: cert,
            added_at: 5,
        }],
        trust_store: Some("partners".into()),
        jwks_uri: None,
        registration_token_hash: Some(TokenHash([9; 32])),
        subject: Some(SubjectMatch::SubjectDn(
            "CN=Gaga,O=WSO2".parse::<DistinguishedName>().unwrap(),
        )),
        grant_types: vec![GrantType::ClientCredentials],
        redirect_uris: vec!["https://app.example/cb".into()],
        scopes: vec!["a".into(), "b".into()],
        bound_tokens: true,
        access_token_lifetime: Some(60),
        access_token_format: Some(TokenFormat::Jwt),
        can_introspect: true,
        created_at: 7,
    }
}

async fn open() -> (TestDb, PgStore) {
    let db = TestDb::new();
    let store = db.open().await;
    (db, store)
}

#[tokio::test]
async fn clients_round_trip_and_conflict() {
    let (_db, store) = open().await;
    let c = client("c1");
    store.insert_client(&c).await.unwrap();
    assert!(matches!(
        store.insert_client(&c).await,
        Err(StoreError::Conflict)
    ));
    let back = store.find_client("c1").await.unwrap().unwrap();
    assert_eq!(back.name, c.name);
    assert_eq!(back.auth_method, c.auth_method);
    assert_eq!(back.secret_hash, c.secret_hash);
    assert_eq!(back.subject, c.subject);
    assert_eq!(back.grant_types, c.grant_types);
    assert_eq!(back.scopes, c.scopes);
    assert_eq!(back.access_token_lifetime, Some(60));
    assert!(back.bound_tokens && back.can_introspect);
    assert_eq!(
        back.certificates[0].thumbprint().to_base64url(),
        "mt3KDY1hofQurloTbphKHCSrTlAGl5MlgXX6Xxj9c_E"
    );
    assert!(store.find_client("nope").await.unwrap().is_none());
    assert_eq!(store.list_clients_page(None, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn tokens_round_trip_and_go_with_their_client() {
    let (_db, store) = open().await;
    store.insert_client(&client("c1")).await.unwrap();
    let t = AccessTokenRecord {
        hash: TokenHash::of(b"tok"),
        client_id: "c1".into(),
        subject: None,
        scope: "a".into(),
        issued_at: 10,
        expires_at: 20,
        cnf: Some(Thumbprint::of_der(b"x")),
        revoked: false,
        claims: vec!["email".into()],
        code: Some(TokenHash::of(b"code")),
    };
    store.insert_access_token(&t).await.unwrap();
    let back = store.find_access_token(&t.hash).await.unwrap().unwrap();
    assert_eq!(back.cnf, t.cnf);
    assert_eq!((back.issued_at, back.expires_at), (10, 20));
    assert!(store.delete_client("c1").await.unwrap());
    assert!(
        store.find_access_token(&t.hash).await.unwrap().is_none(),
        "cascade"
    );
    assert!(!store.delete_client("c1").await.unwrap());
}

#[tokio::test]
async fn a_newer_schema_is_refused_with_a_clear_message() {
    let (db, store) = open().await;
    sqlx::query("INSERT INTO certbound_schema (version) VALUES (999)")
        .execute(&store.pool)
        .await
        .unwrap();
    store.pool.close().await;
    let Err(e) = PgStore::open(&db.url, &StoreOptions::default()).await else {
        panic!("must refuse")
    };
    assert!(
        e.to_string().contains("newer than this certbound knows"),
        "{e}"
    );
    // Users are a trait object away from the protocol logic.
    let other = TestDb::new();
    let _: &dyn Store = &other.open().await;
}

#[tokio::test]
async fn client_updates_replace_fields_and_certificates_atomically() {
    let (_db, store) = open().await;
    let mut c = client("c2");
    store.insert_client(&c).await.unwrap();
    let back = store.find_client("c2").await.unwrap().unwrap();
    assert_eq!(back.trust_store.as_deref(), Some("partners"));
    assert_eq!(back.registration_token_hash, c.registration_token_hash);
    assert_eq!(back.certificates[0].added_at, 5);
    c.name = "renamed".into();
    c.certificates.clear();
    c.jwks_uri = Some("https://keys.example/jwks".into());
    c.trust_store = None;
    assert!(store.update_client(&c).await.unwrap());
    let back = store.find_client("c2").await.unwrap().unwrap();
    assert_eq!(back.name, "renamed");
    assert!(back.certificates.is_empty());
    assert_eq!(back.jwks_uri.as_deref(), Some("https://keys.example/jwks"));
    assert_eq!(back.trust_store, None);
    assert_eq!(back.created_at, 7);
    let mut ghost = client("nope");
    ghost.certificates.clear();
    assert!(!store.update_client(&ghost).await.unwrap());
    assert!(store.find_client("nope").await.unwrap().is_none());
}

#[tokio::test]
async fn users_list_update_and_delete_revokes_their_tokens() {
    let (_db, store) = open().await;
    store.insert_client(&client("c3")).await.unwrap();
    for name in ["bob", "alice"] {
        let u = certbound_core::model::User {
            username: name.into(),
            password_hash: "x".into(),
            is_admin: false,
            claims: BTreeMap::new(),
            created_at: 1,
        };
        store.insert_user(&u).await.unwrap();
    }
    let names: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    let mut bob = store.find_user("bob").await.unwrap().unwrap();
    bob.is_admin = true;
    bob.password_hash = "y".into();
    assert!(store.update_user(&bob).await.unwrap());
    let back = store.find_user("bob").await.unwrap().unwrap();
    assert!(back.is_admin);
    assert_eq!(back.password_hash, "y");
    let grant = certbound_core::model::AuthorizationCodeRecord {
        hash: TokenHash::of(b"bob-code"),
        client_id: "c3".into(),
        redirect_uri: "https://app.example/cb".into(),
        username: "bob".into(),
        scope: "openid".into(),
        claims: vec![],
        nonce: None,
        code_challenge: None,
        auth_time: 0,
        sid: "sid".into(),
        amr: vec![],
        issued_at: 0,
        expires_at: 60,
    };
    store.insert_code(&grant).await.unwrap();
    let mut token = AccessTokenRecord {
        hash: TokenHash::of(b"bob-token"),
        client_id: "c3".into(),
        subject: Some("bob".into()),
        scope: "openid".into(),
        issued_at: 0,
        expires_at: i64::MAX,
        cnf: None,
        revoked: false,
        claims: vec![],
        code: None,
    };
    assert!(
        store.insert_access_token(&token).await.is_err(),
        "a user's token without a grant could not be revoked with the user"
    );
    token.code = Some(grant.hash);
    store.insert_access_token(&token).await.unwrap();
    assert!(store.delete_user("bob").await.unwrap());
    assert!(!store.delete_user("bob").await.unwrap());
    assert!(store.find_user("bob").await.unwrap().is_none());
    let t = store.find_access_token(&token.hash).await.unwrap().unwrap();
    assert!(t.revoked, "a deleted user's tokens must stop working");
}

#[tokio::test]
async fn initial_access_tokens_are_spent_atomically_and_expire() {
    use certbound_core::model::InitialAccessToken;
    use certbound_core::store::RegistrationStore;
    let (_db, store) = open().await;
    let t = InitialAccessToken {
        id: "abc".into(),
        hash: TokenHash::of(b"iat"),
        created_at: 10,
        expires_at: 100,
        uses_left: 2,
    };
    store.insert_initial_access_token(&t).await.unwrap();
    assert!(matches!(
        store.insert_initial_access_token(&t).await,
        Err(StoreError::Conflict)
    ));
    let found = store
        .find_initial_access_token(&t.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id.as_str(), found.uses_left, found.expires_at),
        ("abc", 2, 100)
    );
    assert!(
        !store.use_initial_access_token(&t.hash, 100).await.unwrap(),
        "expired"
    );
    assert!(store.use_initial_access_token(&t.hash, 99).await.unwrap());
    assert!(store.use_initial_access_token(&t.hash, 99).await.unwrap());
    assert!(
        !store.use_initial_access_token(&t.hash, 99).await.unwrap(),
        "used up"
    );
    assert_eq!(store.list_initial_access_tokens().await.unwrap().len(), 1);
    assert!(store.delete_initial_access_token("abc").await.unwrap());
    assert!(!store.delete_initial_access_token("abc").await.unwrap());
    assert!(
        store
            .find_initial_access_token(&t.hash)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn registration_access_tokens_are_replaced_only_from_the_current_one() {
    use certbound_core::store::RegistrationStore;
    let (_db, store) = open().await;
    let c = client("dyn");
    store.insert_client(&c).await.unwrap();
    let (old, new) = (TokenHash([9; 32]), TokenHash([8; 32]));
    assert!(
        !store
            .replace_registration_token("dyn", &new, &old)
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_registration_token("dyn", &old, &new)
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_registration_token("dyn", &old, &new)
            .await
            .unwrap()
    );
    let back = store.find_client("dyn").await.unwrap().unwrap();
    assert_eq!(back.registration_token_hash, Some(new));
}

/// The drop of a test's schema must not wait on a transaction of the test's own that is still
/// open: sqlx rolls a dropped transaction back only at the connection's next use, on the test's
/// runtime, which the drop blocks. A CI run once hung here for ever.
#[tokio::test]
async fn the_test_schema_is_dropped_even_with_a_transaction_left_open() {
    let (db, store) = open().await;
    let schema = db.schema.clone();
    let mut tx = store.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE clients IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    // No await from here on: the rollback cannot run before the drop.
    drop(tx);
    drop(db);
    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect(&testdb::base_url())
        .await
        .unwrap();
    let left: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(&schema)
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert!(!left, "schema {schema} was not dropped");
}
