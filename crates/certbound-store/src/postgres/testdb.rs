//! Test databases: a fresh schema per test in the PostgreSQL named by
//! `CERTBOUND_TEST_POSTGRES_URL` (default `postgres://root@127.0.0.1:5432/test`), selected with
//! the URL's `options=-c search_path=…` and dropped when the test ends (even on panic),
//! after the test's own connections (found by their `application_name`) are terminated.

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
        // The schema's name is also the connections' application_name, so the drop can find
        // them.
        let url =
            format!("{base}{sep}options=-c%20search_path%3D{schema}&application_name={schema}");
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
                    // The test's own connections first: one may still hold locks in a
                    // transaction whose rollback waits for that connection's next use on the
                    // test's runtime, which this drop blocks. The drop would wait on them for
                    // ever.
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1 AND pid <> pg_backend_pid()",
                    )
                    .bind(&schema)
                    .execute(&mut c)
                    .await;
                    // Never wait for ever: a lock still in the way fails the drop (the schema
                    // stays, which the test of this drop catches) instead of hanging the run.
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                    )))
                    .execute(&mut c)
                    .await;
                }
            });
        })
        .join();
    }
}
