//! certbound-store: storage backends implementing the `certbound-core` store traits.
//!
//! One module per backend; nothing here knows about HTTP or OAuth requests. SQLite is the
//! embedded default; PostgreSQL serves several nodes sharing one database. Only hashes of
//! tokens and secrets are ever written.

mod client_cache;
mod migrate;
pub mod postgres;
pub mod sqlite;

use certbound_core::store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// Connection settings of `[storage]` (the URL aside).
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Pool size; None: the backend's default (PostgreSQL 16, SQLite 4).
    pub max_connections: Option<u32>,
    /// How long to wait for a connection (opening one, or one from the pool) before the
    /// request fails as unavailable.
    pub connect_timeout: Duration,
    /// SQLite: fsync the write-ahead log at every commit (`synchronous=FULL`), so a returned
    /// token survives power loss; false (`NORMAL`) survives a process crash only.
    pub sqlite_full_sync: bool,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            max_connections: None,
            connect_timeout: Duration::from_secs(5),
            sqlite_full_sync: true,
        }
    }
}

/// The backend a storage URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://PATH`
    Sqlite,
    /// `postgres://…` or `postgresql://…`
    Postgres,
}

impl Backend {
    /// The backend of a URL, or None for an unsupported scheme.
    pub fn of(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite://") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// A store opened by [`open_with`], with its schema version after migrating.
pub struct Opened {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Schema version (the backend's migration count).
    pub schema_version: i64,
    /// The backend.
    pub backend: Backend,
}

/// Opens the store named by a URL (`sqlite://PATH`, `postgres://…`, `postgresql://…`) with
/// default options, running migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(open_with(url, &StoreOptions::default()).await?.store)
}

/// Opens the store named by a URL, running migrations.
///
/// For PostgreSQL, the URL may choose a schema with libpq's `options` parameter, e.g.
/// `postgres://root@127.0.0.1:5432/test?options=-c%20search_path%3Dcb_abc`; the first schema of
/// the `search_path` is created if it does not exist.
pub async fn open_with(url: &str, opts: &StoreOptions) -> Result<Opened, StoreError> {
    match Backend::of(url) {
        Some(Backend::Sqlite) => {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            let store =
                sqlite::SqliteStore::open_with(std::path::Path::new(path), opts.sqlite_full_sync)
                    .await?;
            Ok(Opened {
                schema_version: store.schema_version().await?,
                store: Arc::new(store),
                backend: Backend::Sqlite,
            })
        }
        Some(Backend::Postgres) => {
            let store = postgres::PgStore::open(url, opts).await?;
            Ok(Opened {
                schema_version: store.schema_version().await?,
                store: Arc::new(store),
                backend: Backend::Postgres,
            })
        }
        None => Err(StoreError::Other(
            "unsupported storage URL: use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE"
                .into(),
        )),
    }
}

/// A storage URL fit for logs and error messages: any password is replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_the_backend_and_passwords_are_redacted() {
        assert_eq!(Backend::of("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of("postgres://h/d"), Some(Backend::Postgres));
        assert_eq!(Backend::of("postgresql://h/d"), Some(Backend::Postgres));
        assert_eq!(Backend::of("mysql://h/d"), None);
        assert_eq!(
            redact("postgres://u:secret@h:5432/d?x=1"),
            "postgres://u:***@h:5432/d?x=1"
        );
        assert_eq!(redact("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(redact("sqlite:///a/b.db"), "sqlite:///a/b.db");
    }
}
