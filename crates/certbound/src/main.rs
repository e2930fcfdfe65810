//! The `certbound` binary: parses the command line and configuration, then runs a command.

/// mimalloc instead of glibc's malloc: in profiles of the token and introspection endpoints
/// malloc/free were 10–15 % of the server's CPU, spread over TLS records, hyper, JSON and
/// SQLite; with mimalloc introspection serves 11–15 % more per core (README, Performance).
/// Its arenas commit memory lazily (`.cargo/config.toml`), so the idle resident set stays
/// about 20 MB. Argon2's 19 MB buffer is kept by mimalloc until the blocking thread that used
/// it retires (Tokio: after 10 s idle).
///
/// The crate's `override` feature (Cargo.toml) also makes mimalloc the process's `malloc` and
/// `free`, so the C libraries linked in allocate through it too: SQLite calls `malloc` itself
/// for its statements, cursors and records, and glibc's `_int_malloc`/`_int_free`/
/// `malloc_consolidate` were about 8 % of a rotating refresh's instructions (callgrind,
/// `scripts/instructions refresh`: 219k → 211k per request; client_credentials unchanged).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admission;
mod cli;
mod client_keys;
mod commands;
mod config;
mod console;
mod devtls;
mod error_text;
mod expiry;
mod fsutil;
mod http;
mod listener;
mod logging;
mod ops;
mod pages;
mod peer_cache;
mod playground;
mod rate_limit;
mod serve;
mod tls;
mod trust_stores;

use clap::Parser;
use cli::{Cli, Command, UserCommand};
use config::{Config, Overrides};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let (listen, log_format) = match &cli.command {
        Command::Serve { listen, log_format } => (listen.clone(), *log_format),
        _ => (None, None),
    };
    let config = Config::load(
        cli.config.as_deref(),
        &Overrides {
            listen,
            data_dir: cli.data_dir.clone(),
            log_format,
        },
    )?;
    logging::init(&config.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { .. } => serve::run(config).await,
            Command::Client(c) => commands::client::run(&config, c).await,
            Command::User(UserCommand::Create {
                name, admin, claim, ..
            }) => commands::user::create(&config, &name, admin, &claim).await,
            Command::User(UserCommand::Update { name, claim }) => {
                commands::user::update(&config, &name, &claim).await
            }
            Command::User(UserCommand::List { json }) => commands::user::list(&config, json).await,
            Command::User(UserCommand::Delete { name }) => {
                commands::user::delete(&config, &name).await
            }
            Command::Keys(k) => commands::keys::run(&config, k).await,
            Command::Consent(c) => commands::keys::consent(&config, c).await,
            Command::Token(t) => commands::keys::token(&config, t).await,
            Command::Registration(r) => commands::registration::run(&config, r).await,
            Command::Migrate => commands::migrate::run(&config).await,
            Command::Playground(p) => playground::run(config, p).await,
            Command::Doctor(d) => commands::doctor::run(d).await,
        }
    })
}
