//! certbound-bench: the project's own benchmark tool.
//!
//! `load` drives an HTTPS (mutual-TLS) endpoint for a fixed time and prints one JSON line;
//! `seed` bulk-fills a SQLite database for the scale test; `startup` times a server's start. The driver script is
//! `scripts/bench`. This binary measures; it never asserts budgets.

mod cli;
mod cpu;
mod form;
mod http;
mod load;
mod scenario;
mod seed;
mod session;
mod startup;
mod stats;
mod tls;

use anyhow::Result;
use clap::Parser;

fn main() -> Result<()> {
    let args = cli::Cli::parse();
    match args.command {
        cli::Command::Load(a) => load::main(*a),
        cli::Command::Seed(a) => seed::main(a),
        cli::Command::Startup(a) => startup::main(a),
    }
}
