//! PostgreSQL tests of what matters across nodes: the "exactly one caller wins" rules under 50
//! concurrent attempts, concurrent migration, schema selection through the URL, and the
//! mapping of an unreachable or vanished database to `Unavailable`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::testdb::TestDb;
use super::*;
use crate::StoreOptions;
use certbound_core::model::{AuthorizationCodeRecord, InitialAccessToken, RefreshTokenRecord};
use certbound_core::store::{CodeRedemption, GrantStore, RegistrationStore};
use std::time::Duration;

const RACERS: usize = 50;

fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        name: id.into(),
        auth_method: ClientAuthMethod::ClientSecretBasic,
        secret_hash: Some(TokenHash::of(b"s")),
        certificates: vec![],
        trust_store: None,
        jwks_uri: None,
        registration_token_hash: Some(TokenHash([1; 32])),
        subject: None,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        redirect_uris: vec!["https://app.example/cb".into()],
        scopes: vec!["openid".into()],
        bound_tokens: false,
        access_token_lifetime: None,
        access_token_format: None,
        can_introspect: false,
        created_at: 1,
    }
}

/// Runs `RACERS` copies of `f` at once (each on its own pool connection) and returns results.
async fn race<T, F, Fut>(store: &PgStore, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(PgStore) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for _ in 0..RACERS {
        let (fut, start) = (f(store.clone()), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            fut.await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_redeemed_concurrently_succeeds_exactly_once() {
    let db = TestDb::new();
    let store = db.open().await;
    store.insert_client(&client("c")).await.unwrap();
    let code = AuthorizationCodeRecord {
        hash: TokenHash::of(b"code"),
        client_id: "c".into(),
        redirect_uri: "https://app.example/cb".into(),
        username: "alice".into(),
        scope: "openid".into(),
        claims: vec![],
        nonce: Some("n".into()),
        code_challenge: None,
        auth_time: 1,
        sid: "sid".into(),
        amr: vec!["pwd".into()],
        issued_at: 1,
        expires_at: 100,
    };
    store.insert_code(&code).await.unwrap();
    let results = race(&store, |s| async move {
        s.redeem_code(&TokenHash::of(b"code"), "c").await.unwrap()
    })
    .await;
    let won = results
        .iter()
        .filter(|r| matches!(r, CodeRedemption::Redeemed(_)))
        .count();
    let replays = results
        .iter()
        .filter(|r| matches!(r, CodeRedemption::AlreadyUsed(_)))
        .count();
    assert_eq!((won, replays), (1, RACERS - 1));
    assert!(matches!(
        store.redeem_code(&code.hash, "other").await.unwrap(),
        CodeRedemption::Unknown
    ));
    assert!(!store.is_family_revoked(&code.hash).await.unwrap());
    store.revoke_code_family(&code.hash).await.unwrap();
    assert!(store.is_family_revoked(&code.hash).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_used_concurrently_succeeds_exactly_once() {
    let db = TestDb::new();
    let store = db.open().await;
    store.insert_client(&client("c")).await.unwrap();
    let t = RefreshTokenRecord {
        hash: TokenHash::of(b"rt"),
        client_id: "c".into(),
        subject: "alice".into(),
        scope: "openid".into(),
        claims: vec![],
        cnf: None,
        code: Some(TokenHash::of(b"code")),
        sid: "sid".into(),
        auth_time: 1,
        issued_at: 1,
        expires_at: 100,
        absolute_expires_at: 1000,
        used_at: None,
        revoked: false,
    };
    store.insert_refresh_token(&t).await.unwrap();
    let results = race(&store, |s| async move {
        s.use_refresh_token(&TokenHash::of(b"rt"), 50)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(results.iter().filter(|w| **w).count(), 1);
    let back = store.find_refresh_token(&t.hash).await.unwrap().unwrap();
    assert_eq!((back.used_at, back.revoked), (Some(50), false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn initial_access_token_uses_and_registration_token_swaps_are_atomic() {
    let db = TestDb::new();
    let store = db.open().await;
    store.insert_client(&client("dyn")).await.unwrap();
    let iat = InitialAccessToken {
        id: "i".into(),
        hash: TokenHash::of(b"iat"),
        created_at: 1,
        expires_at: 100,
        uses_left: 3,
    };
    store.insert_initial_access_token(&iat).await.unwrap();
    let uses = race(&store, |s| async move {
        s.use_initial_access_token(&TokenHash::of(b"iat"), 10)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(uses.iter().filter(|w| **w).count(), 3);
    let swaps = race(&store, |s| async move {
        s.replace_registration_token("dyn", &TokenHash([1; 32]), &TokenHash([2; 32]))
            .await
            .unwrap()
    })
    .await;
    assert_eq!(swaps.iter().filter(|w| **w).count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_migrate_once_into_the_schema_of_the_url() {
    let db = TestDb::new();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { PgStore::open(&url, &StoreOptions::default()).await })
        })
        .collect();
    let mut stores = Vec::new();
    for t in tasks {
        stores.push(t.await.unwrap().unwrap());
    }
    for s in &stores {
        assert_eq!(s.schema_version().await.unwrap(), MIGRATIONS_LEN);
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM certbound_schema")
        .fetch_one(&stores[0].pool)
        .await
        .unwrap();
    assert_eq!(rows, MIGRATIONS_LEN, "each migration applied once");
    let in_schema: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'clients')",
    )
    .bind(&db.schema)
    .fetch_one(&stores[0].pool)
    .await
    .unwrap();
    assert!(in_schema, "tables live in the schema named by the URL");
}

const MIGRATIONS_LEN: i64 = 3;

#[tokio::test]
async fn an_unreachable_database_is_unavailable_with_a_clear_message() {
    // Port 1 on loopback: nothing listens there.
    let opts = StoreOptions {
        max_connections: Some(2),
        connect_timeout: Duration::from_secs(2),
        ..StoreOptions::default()
    };
    let started = std::time::Instant::now();
    let Err(e) = PgStore::open("postgres://root@127.0.0.1:1/test", &opts).await else {
        panic!("nothing listens on port 1")
    };
    assert!(started.elapsed() < Duration::from_secs(10), "fails fast");
    let StoreError::Unavailable(msg) = &e else {
        panic!("not Unavailable: {e}")
    };
    assert!(msg.contains("127.0.0.1:1"), "{msg}");
    assert!(msg.contains("check that PostgreSQL is running"), "{msg}");
}

#[tokio::test]
async fn a_database_gone_while_running_is_unavailable() {
    let db = TestDb::new();
    let store = db.open().await;
    store.pool.close().await;
    assert!(matches!(
        store.find_client("c").await,
        Err(StoreError::Unavailable(_))
    ));
}

#[test]
fn the_first_schema_of_a_search_path() {
    use super::connect::first_schema;
    assert_eq!(first_schema("cb_abc, public").as_deref(), Some("cb_abc"));
    assert_eq!(first_schema("\"$user\", public"), None);
    assert_eq!(first_schema("\"Mixed\"").as_deref(), Some("Mixed"));
    assert_eq!(first_schema("Upper").as_deref(), Some("upper"));
    assert_eq!(first_schema(""), None);
}
