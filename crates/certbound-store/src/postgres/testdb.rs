//! Test databases: a fresh schema per test in the PostgreSQL named by
//! `CERTBOUND_TEST_POSTGRES_URL` (default `postgres://root@127.0.0.1:5432/test`), selected with
//! the URL's `options=-c search_path=…` and dropped when the test ends (even on panic).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::PgStore;
use crate::StoreOptions;
use std::sync::atomic::{AtomicU32, Ordering};

/// The server tests run against.
pub(super) fn base_url() -> String {
    std::env::var("CERTBOUND_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".to_owned())
}

/// A schema of its own, dropped on drop.
pub(super) struct TestDb {
    pub schema: String,
    pub url: String,
}

impl TestDb {
    pub fn new() -> TestDb {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let schema = format!(
            "cb_unit_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let base = base_url();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        TestDb { schema, url }
    }

    /// Opens (and migrates) the store; a clear failure if PostgreSQL is not there.
    pub async fn open(&self) -> PgStore {
        match PgStore::open(&self.url, &StoreOptions::default()).await {
            Ok(s) => s,
            Err(e) => panic!(
                "PostgreSQL tests need a server at {} (set CERTBOUND_TEST_POSTGRES_URL): {e}",
                base_url()
            ),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (url, schema) = (base_url(), self.schema.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                    )))
                    .execute(&mut c)
                    .await;
                }
            });
        })
        .join();
    }
}
