//! certbound-store: storage backends implementing the `certbound-core` store traits.
//!
//! One module per backend; nothing here knows about HTTP or OAuth requests. SQLite is the
//! embedded default. Only hashes of tokens and secrets are ever written.

mod migrate;
pub mod sqlite;

use certbound_core::store::{Store, StoreError};
use std::sync::Arc;

/// Opens the store named by a URL (`sqlite://PATH`), running migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(
            sqlite::SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    } else {
        Err(StoreError::Other(
            "unsupported storage URL: use sqlite://PATH (PostgreSQL support is planned)".into(),
        ))
    }
}
