//! The certbound integration tests: one binary that starts the real server (the built
//! `certbound` executable) on an ephemeral port with real TLS, real certificates generated at
//! test time, a real SQLite file (or, with `CERTBOUND_TEST_STORAGE=postgres`, a fresh
//! PostgreSQL schema per server), and curl as the client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
mod harness;
mod pki;

mod admin_api;
mod authorization_code;
mod cli_clients;
mod client_auth_mtls;
mod client_auth_secret;
mod code_flow;
mod console;
mod doctor;
mod durability;
mod e2e;
mod introspection;
mod jwks_uri;
mod jwt_and_aliases;
mod logging;
mod malformed;
mod multi_node;
mod operations;
mod ops;
mod overload;
mod playground;
mod proxy;
mod rate_limits;
mod refresh;
mod registration;
mod resource;
mod shutdown;
mod tls;
mod trust_stores;
