//! Tests of what only the SQLite backend has: its file and connection settings. What the
//! store traits promise is checked, against every backend, by the conformance suite
//! (`tests/conformance/`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use certbound_core::store::Store;

#[tokio::test]
async fn the_file_is_created_with_wal_full_sync_and_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(path.exists(), "the database file is created");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(
        sync, 2,
        "synchronous=FULL: a token is durable before it is returned"
    );
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let version: i64 = sqlx::query_scalar("SELECT MAX(version) FROM certbound_schema")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(version, MIGRATIONS.len() as i64);
    // The protocol logic sees the store as a trait object.
    let _: &dyn Store = &store;
}

#[tokio::test]
async fn a_newer_schema_is_refused_by_sqlite_store_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = SqliteStore::open(&path).await.unwrap();
    sqlx::query("INSERT INTO certbound_schema (version) VALUES (999)")
        .execute(&store.pool)
        .await
        .unwrap();
    store.pool.close().await;
    let Err(e) = SqliteStore::open(&path).await else {
        panic!("must refuse")
    };
    assert!(
        e.to_string().contains("newer than this certbound knows"),
        "{e}"
    );
}

/// A file that cannot be opened stays so: a clear error naming it, not `Unavailable` (which
/// `serve` would wait out, as it does for an unreachable PostgreSQL server).
#[tokio::test]
async fn an_unopenable_file_is_a_clear_error_not_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("t.db");
    let Err(e) = SqliteStore::open(&path).await else {
        panic!("must fail")
    };
    assert!(matches!(e, StoreError::Other(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains(&format!("cannot open {}", path.display())),
        "{e}"
    );
}

/// Revoking a user finds their grants through an index, not by reading every code row, and
/// token inserts no longer maintain an index on the subject (migration 0011).
#[tokio::test]
async fn a_users_grants_are_found_by_index_and_tokens_have_no_subject_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    let explain = format!("EXPLAIN QUERY PLAN {}", grants::REVOKE_GRANTS_OF_USER);
    let plan = text_column(&store, explain, "detail").await;
    assert!(
        plan.iter()
            .any(|d| d.contains("USING INDEX authorization_codes_username")),
        "{plan:?}"
    );
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('access_tokens', 'refresh_tokens')",
    )
    .fetch_all(&store.pool)
    .await
    .unwrap();
    assert!(
        !indexes.iter().any(|n| n.contains("subject")),
        "{indexes:?}"
    );
}

/// Every foreign key's child columns lead an index (migration 0012), so a cascading delete of
/// a client or user, or a revocation by client, never reads a whole table inside the write
/// transaction.
#[tokio::test]
async fn every_foreign_key_leads_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&store.pool)
            .await
            .unwrap();
    let mut checked = 0;
    for table in tables {
        let sql = format!("PRAGMA foreign_key_list('{table}')");
        let children = text_column(&store, sql, "from").await;
        // The leading column of each index, and of the primary key (a table's own key).
        let mut leading = Vec::new();
        let sql = format!("PRAGMA index_list('{table}')");
        for index in text_column(&store, sql, "name").await {
            let sql = format!("PRAGMA index_info('{index}')");
            let columns = text_column(&store, sql, "name").await;
            leading.extend(columns.into_iter().take(1));
        }
        for child in children {
            assert!(
                leading.contains(&child),
                "{table}.{child} references another table and leads no index"
            );
            checked += 1;
        }
    }
    assert!(checked >= 7, "only {checked} foreign keys checked");
}

/// One text column of every row a statement without parameters returns.
async fn text_column(store: &SqliteStore, sql: String, name: &str) -> Vec<String> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&store.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| sqlx::Row::get::<String, _>(r, name))
        .collect()
}

/// Migration 0013 moves each code's redeemed flag to a row of `code_redemptions`: a code
/// redeemed before the upgrade stays redeemed (a replay of it is still caught), one not yet
/// redeemed can be redeemed once, the old column is gone, and deleting the client deletes the
/// redemptions too.
#[tokio::test]
async fn codes_redeemed_before_the_upgrade_stay_redeemed() {
    use certbound_core::secret::TokenHash;
    use certbound_core::store::{CodeRedemption, GrantStore};
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    // A file at schema version 12, as the release before this migration left it.
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let mut c = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::raw_sql("CREATE TABLE certbound_schema (version INTEGER NOT NULL)")
        .execute(&mut c)
        .await
        .unwrap();
    apply_migrations(&mut c, 0, 12).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO clients (client_id, name, auth_method, grant_types, scopes, bound_tokens, \
         can_introspect, created_at) VALUES ('c', 'c', 'self_signed_tls_client_auth', \
         'authorization_code', '', 1, 0, 0)",
    )
    .execute(&mut c)
    .await
    .unwrap();
    let (used, fresh) = (TokenHash([1; 32]), TokenHash([2; 32]));
    for (hash, redeemed) in [(used, 1), (fresh, 0)] {
        sqlx::query(
            "INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, username, \
             scope, claims, auth_time, sid, amr, issued_at, expires_at, redeemed) \
             VALUES (?, 'c', 'https://c.example/cb', 'alice', 'openid', '', 0, 's', 'pwd', 0, \
             4102444800, ?)",
        )
        .bind(hash.0.to_vec())
        .bind(redeemed)
        .execute(&mut c)
        .await
        .unwrap();
    }
    c.close().await.unwrap();

    let store = SqliteStore::open(&path).await.unwrap();
    let columns = text_column(
        &store,
        "PRAGMA table_info('authorization_codes')".into(),
        "name",
    )
    .await;
    assert!(columns.contains(&"code_hash".to_owned()), "{columns:?}");
    assert!(!columns.contains(&"redeemed".to_owned()), "{columns:?}");
    // Migration 0014: grants are written by statements of their own, the view and its
    // trigger are gone.
    let left = text_column(
        &store,
        "SELECT name FROM sqlite_master WHERE name LIKE 'grant_writes%'".into(),
        "name",
    )
    .await;
    assert!(left.is_empty(), "{left:?}");
    assert!(store.find_code(&used).await.unwrap().unwrap().redeemed);
    assert!(!store.find_code(&fresh).await.unwrap().unwrap().redeemed);
    assert!(matches!(
        store.redeem_code(&used, "c").await.unwrap(),
        CodeRedemption::AlreadyUsed(_)
    ));
    assert!(matches!(
        store.redeem_code(&fresh, "c").await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    assert!(matches!(
        store.redeem_code(&fresh, "c").await.unwrap(),
        CodeRedemption::AlreadyUsed(_)
    ));
    assert!(store.find_code(&fresh).await.unwrap().unwrap().redeemed);
    // Deleting the client deletes its codes, and their redemptions with them (the cascade
    // goes on through code_redemptions' foreign key instead of refusing the delete).
    assert!(store.delete_client("c").await.unwrap());
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM code_redemptions")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert!(store.find_code(&used).await.unwrap().is_none());
}
