//! CLI commands other than `serve`. They open the store directly, so they work while the
//! server runs (SQLite WAL with a busy timeout).

pub mod client;
pub mod doctor;
pub mod keys;
pub mod migrate;
pub mod registration;
pub mod user;

/// The operating-system user running the command (`$USER`, `$LOGNAME`), for the audit trail.
pub fn operator() -> certbound_core::audit::Actor<'static> {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let name = NAME.get_or_init(|| {
        std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".to_owned())
    });
    certbound_core::audit::Actor {
        via: certbound_core::audit::Via::Cli,
        name,
    }
}
