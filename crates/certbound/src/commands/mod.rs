//! CLI commands other than `serve`. They open the store directly, so they work while the
//! server runs (SQLite WAL with a busy timeout).

pub mod client;
pub mod doctor;
pub mod keys;
pub mod migrate;
pub mod registration;
pub mod user;
