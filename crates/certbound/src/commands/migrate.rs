//! `certbound migrate`: opens the configured store, which applies pending schema migrations
//! (SQLite or PostgreSQL), and prints the resulting schema version. `serve` migrates at start
//! too; this command lets an operator do it first, once, before starting several nodes.

use crate::config::Config;
use crate::serve::open_migrated;
use anyhow::Result;

/// Migrates and reports.
pub async fn run(config: &Config) -> Result<()> {
    let opened = open_migrated(config).await?;
    let backend = match opened.backend {
        certbound_store::Backend::Sqlite => "SQLite",
        certbound_store::Backend::Postgres => "PostgreSQL",
    };
    println!(
        "{backend} store {} is at schema version {}",
        certbound_store::redact(&config.storage_url),
        opened.schema_version
    );
    Ok(())
}
