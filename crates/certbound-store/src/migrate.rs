//! Schema versioning shared by the backends: a `certbound_schema` table holds the version, and
//! a node refuses to run against a schema newer than it knows.

use certbound_core::store::StoreError;

/// The error for a database written by a newer certbound.
pub(crate) fn too_new(found: i64, known: usize) -> StoreError {
    StoreError::Other(format!(
        "the database schema is version {found}, newer than this certbound knows ({known}); upgrade certbound or point it at another database"
    ))
}
