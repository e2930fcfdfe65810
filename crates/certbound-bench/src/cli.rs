//! Command-line arguments (clap). Only parsing lives here; each subcommand validates and
//! resolves its arguments in its own module.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// certbound's benchmark tool.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// HTTP/1.1-over-TLS load generator presenting a client certificate; prints one JSON line.
    Load(Box<LoadArgs>),
    /// Bulk-fill a certbound SQLite database with clients and live access tokens.
    Seed(SeedArgs),
    /// Start a server N times; time from exec to the first completed TLS handshake.
    Startup(StartupArgs),
}

/// How requests use connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// C keep-alive connections, one request in flight on each.
    Reuse,
    /// A new TCP connection and full TLS handshake (no resumption) per request.
    Handshake,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Reuse => "reuse",
            Mode::Handshake => "handshake",
        }
    }
}

/// What one iteration of a worker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioKind {
    /// The same request every time (`--url`, `--body`).
    Static,
    /// `grant_type=refresh_token` with each connection's own rotating refresh token.
    Refresh,
    /// GET the authorize URL (signed-in session, consent remembered), then redeem the code.
    Code,
    /// Redeem authorization codes minted before the clock starts (the authorization_code grant
    /// alone; `--codes-per-worker`).
    Redeem,
    /// Introspect one token minted before the run (`--introspect-url`).
    Introspect,
}

impl ScenarioKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioKind::Static => "static",
            ScenarioKind::Refresh => "refresh",
            ScenarioKind::Code => "code",
            ScenarioKind::Redeem => "redeem",
            ScenarioKind::Introspect => "introspect",
        }
    }
}

/// `load` arguments.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Target URL (static); the default of --token-url / --introspect-url otherwise.
    #[arg(long)]
    pub url: Option<String>,
    /// HTTP method of the static request.
    #[arg(short = 'X', long, default_value = "POST")]
    pub method: String,
    /// Extra header "Name: value" for the measured requests (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Request body (static, introspect: overrides `token=<minted>`).
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Request body read from a file, sent byte for byte.
    #[arg(long)]
    pub body_file: Option<PathBuf>,
    /// A 2xx response counts as ok only if its body contains this.
    #[arg(long)]
    pub expect_substring: Option<String>,
    /// Client certificate (PEM) to present; omit to present none.
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM) of --cert.
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// CA certificate(s) (PEM) trusted for the server certificate.
    #[arg(long)]
    pub cacert: PathBuf,
    /// Connection use.
    #[arg(long, value_enum, default_value = "reuse")]
    pub mode: Mode,
    /// Keep-alive connections (reuse) or concurrent handshaking workers (handshake).
    #[arg(short = 'c', long, default_value_t = 32)]
    pub concurrency: usize,
    /// Measured seconds.
    #[arg(short = 'd', long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of unmeasured load before the measured window.
    #[arg(long, default_value_t = 0.0)]
    pub warmup: f64,
    /// Per-iteration timeout in seconds (counted as an error).
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Free-form label copied into the output.
    #[arg(long)]
    pub label: Option<String>,
    /// Tokio worker threads (default: the CPUs this process may run on).
    #[arg(long)]
    pub threads: Option<usize>,
    /// What each iteration does.
    #[arg(long, value_enum, default_value = "static")]
    pub scenario: ScenarioKind,
    #[command(flatten)]
    pub oauth: OAuthArgs,
}

/// Parameters of the OAuth scenarios (refresh, code, introspect).
#[derive(Debug, Args)]
pub struct OAuthArgs {
    /// client_id sent in token requests.
    #[arg(long)]
    pub client_id: Option<String>,
    /// redirect_uri registered for the client (code, refresh).
    #[arg(long, default_value = "https://127.0.0.1/cb")]
    pub redirect_uri: String,
    /// Scope of the authorization requests (code, refresh).
    #[arg(long, default_value = "openid")]
    pub scope: String,
    /// User to sign in as on the sign-in page (code, refresh).
    #[arg(long)]
    pub username: Option<String>,
    /// Password of --username.
    #[arg(long, env = "CERTBOUND_BENCH_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Token endpoint (default --url).
    #[arg(long)]
    pub token_url: Option<String>,
    /// Authorization endpoint, without query (code, refresh).
    #[arg(long)]
    pub authorize_url: Option<String>,
    /// Introspection endpoint (default --url).
    #[arg(long)]
    pub introspect_url: Option<String>,
    /// Body of the token request that mints the token to introspect.
    #[arg(long)]
    pub mint_body: Option<String>,
    /// Distinct access tokens the introspect scenario mints before the clock starts and
    /// introspects in turn, each worker from its own offset: 1 (the default) introspects the
    /// same token on every request, which the server may look up once for many requests.
    #[arg(long, default_value_t = 1)]
    pub introspect_tokens: usize,
    /// Codes each worker mints before the clock starts (redeem). Default: enough for 32,000
    /// redemptions per second over the warm-up and the measured window; a worker that runs out
    /// counts `codes_exhausted` errors.
    #[arg(long)]
    pub codes_per_worker: Option<usize>,
    /// Seconds the redeem workers may spend minting; each stops there with the codes it has.
    /// A code lives 60 s on a certbound by default (`code_lifetime`), and the oldest are
    /// redeemed first, so minting for longer than that minus the run would hand in expired
    /// codes (`invalid_grant`): a slow machine minting for 32,000 redemptions per second did.
    #[arg(long, default_value_t = 30.0)]
    pub mint_seconds: f64,
}

/// `seed` arguments.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The SQLite database file (created and migrated if missing).
    #[arg(long)]
    pub db: PathBuf,
    /// Clients to insert.
    #[arg(long, default_value_t = 1_000_000)]
    pub clients: u64,
    /// Live access tokens to insert, spread over the seeded clients.
    #[arg(long, default_value_t = 10_000_000)]
    pub tokens: u64,
    /// Rows per transaction.
    #[arg(long, default_value_t = 500_000)]
    pub batch: u64,
    /// Seed even a database that holds clients other than seeded ones.
    #[arg(long)]
    pub force: bool,
}

/// `startup` arguments.
#[derive(Debug, Args)]
pub struct StartupArgs {
    /// URL whose host and port the server listens on.
    #[arg(long)]
    pub url: String,
    /// CA certificate(s) (PEM) trusted for the server certificate.
    #[arg(long)]
    pub cacert: PathBuf,
    /// Starts to time; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Seconds to wait for one start before giving up.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Append the server's output to this file (default: discard it).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Free-form label copied into the output.
    #[arg(long)]
    pub label: Option<String>,
    /// The server command line, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}
