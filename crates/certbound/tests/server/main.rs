//! The certbound integration tests: one binary that starts the real server (the built
//! `certbound` executable) on an ephemeral port with real TLS, real certificates generated at
//! test time, a real SQLite file, and curl as the client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;
mod pki;

mod client_auth_mtls;
mod client_auth_secret;
mod introspection;
mod malformed;
mod operations;
mod proxy;
