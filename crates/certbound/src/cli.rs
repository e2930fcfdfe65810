//! Command-line interface (clap). Every command accepts `--config` and `--data-dir`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// certbound: an OAuth 2.0 authorization server with RFC 8705 mutual-TLS client authentication
/// and certificate-bound access tokens.
#[derive(Debug, Parser)]
#[command(name = "certbound", version, about)]
pub struct Cli {
    /// Configuration file (TOML); see certbound.example.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (default ./certbound-data).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Listen address, e.g. 127.0.0.1:9443.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Log format on standard error: human (default) or json (one object per line).
        #[arg(long, value_name = "FORMAT")]
        log_format: Option<crate::config::LogFormat>,
    },
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage remembered consents ("Approve Always").
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Revoke tokens (incident response).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Dynamic client registration (RFC 7591): initial access tokens.
    #[command(subcommand)]
    Registration(RegistrationCommand),
    /// Apply pending storage schema migrations (SQLite or PostgreSQL) and print the schema
    /// version; `serve` also migrates at start.
    Migrate,
    /// Run the demo web client (like WSO2's Playground2) and a protected API against a
    /// running certbound.
    Playground(PlaygroundArgs),
    /// Check a running deployment from the outside, as a client would, and print a
    /// pass/fail table (exit status 1 when a check fails).
    Doctor(DoctorArgs),
}

/// `doctor` arguments.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The issuer identifier, exactly as clients configure it, e.g.
    /// https://auth.example.com/oauth2/token.
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// PEM file of the CA that signed the server's certificate (default: system roots).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// A registered tls_client_auth or self_signed_tls_client_auth client allowed the
    /// client_credentials grant, for the proxy-header and binding checks.
    #[arg(long, allow_hyphen_values = true, requires = "cert")]
    pub client_id: Option<String>,
    /// The client's certificate (PEM).
    #[arg(long, value_name = "FILE", requires_all = ["key", "client_id"])]
    pub cert: Option<PathBuf>,
    /// The client's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Any other certificate (PEM), for presenting the token with the wrong certificate.
    #[arg(long, value_name = "FILE", requires_all = ["other_key", "cert"])]
    pub other_cert: Option<PathBuf>,
    /// The other certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "other_cert")]
    pub other_key: Option<PathBuf>,
}

/// `playground` arguments.
#[derive(Debug, Args)]
pub struct PlaygroundArgs {
    /// Plain-HTTP listen address of the playground web app.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// HTTPS listen address of the demo protected API.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub api_listen: std::net::SocketAddr,
    /// The certbound issuer (default: the configured issuer, else
    /// https://localhost:9443/oauth2/token).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
}

/// Dynamic registration commands.
#[derive(Debug, Subcommand)]
pub enum RegistrationCommand {
    /// Manage initial access tokens (RFC 7591 §3), needed to register when
    /// [registration] policy = "initial_access_token".
    #[command(subcommand)]
    Token(InitialTokenCommand),
}

/// Initial access token commands.
#[derive(Debug, Subcommand)]
pub enum InitialTokenCommand {
    /// Create an initial access token. It is printed once; only its hash is stored.
    Create {
        /// Lifetime in seconds (default one day, at most ten years).
        #[arg(long, value_name = "SECONDS", default_value_t = 86_400)]
        expires_in: u64,
        /// How many registrations it may authorize (default one).
        #[arg(long, value_name = "N", default_value_t = 1)]
        uses: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List initial access tokens (ids, expiry, uses left; never the tokens).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an initial access token by id.
    Revoke {
        /// The id shown by `create` and `list`.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

/// Token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Revoke every access and refresh token of a client or of a user.
    Revoke {
        /// The client_id whose tokens to revoke.
        #[arg(
            long,
            allow_hyphen_values = true,
            conflicts_with = "user",
            required_unless_present = "user"
        )]
        client: Option<String>,
        /// The user whose tokens to revoke.
        #[arg(long)]
        user: Option<String>,
    },
}

/// Signing key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key; the old ones stay published until tokens they signed expire.
    Rotate,
    /// List signing keys.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Consent commands.
#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Forget a user's "Approve Always" for a client: the consent page is shown again.
    Revoke {
        /// Username.
        user: String,
        /// The client_id.
        #[arg(allow_hyphen_values = true)]
        client: String,
    },
}

/// Client commands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its client_id (and, for secret methods, its secret once).
    Create(Box<CreateClient>),
    /// List clients.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        /// The client_id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change a client's registration; options left out keep their value.
    Update(Box<UpdateClient>),
    /// Add or retire a certificate of a self_signed_tls_client_auth client (rotation).
    #[command(subcommand)]
    Cert(CertCommand),
    /// Delete a client and every token issued to it.
    Delete {
        /// The client_id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `client update` arguments: each given option replaces that part of the registration, which
/// is then validated exactly as the admin API validates it.
#[derive(Debug, Args)]
pub struct UpdateClient {
    /// The client_id.
    #[arg(allow_hyphen_values = true)]
    pub id: String,
    /// New client name.
    #[arg(long)]
    pub name: Option<String>,
    /// Redirect URIs (repeatable; replaces the registered list).
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Vec<String>,
    /// Remove every redirect URI.
    #[arg(long, conflicts_with = "redirect_uri")]
    pub clear_redirect_uris: bool,
    /// Allowed scopes (repeatable, or space-separated; replaces the registered ones).
    #[arg(long)]
    pub scope: Vec<String>,
    /// Allowed grant types (repeatable; replaces the registered ones).
    #[arg(long, value_enum)]
    pub grant_type: Vec<GrantTypeArg>,
    /// Access token lifetime in seconds for this client.
    #[arg(
        long,
        value_name = "SECONDS",
        conflicts_with = "default_access_token_lifetime"
    )]
    pub access_token_lifetime: Option<u64>,
    /// Use the server's default access token lifetime again.
    #[arg(long)]
    pub default_access_token_lifetime: bool,
    /// Access token format for this client: opaque or jwt (RFC 9068).
    #[arg(
        long,
        value_name = "FORMAT",
        conflicts_with = "default_access_token_format"
    )]
    pub access_token_format: Option<String>,
    /// Use the server's default access token format again.
    #[arg(long)]
    pub default_access_token_format: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Certificate rotation commands.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Register one more certificate for a client (the old ones stay valid until retired).
    Add {
        /// The client_id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// PEM file holding the one certificate.
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Retire one registered certificate by its x5t#S256 thumbprint.
    Retire {
        /// The client_id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// The certificate's x5t#S256 (base64url), as `client show` prints it.
        #[arg(long, value_name = "THUMBPRINT", allow_hyphen_values = true)]
        x5t: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Token endpoint authentication methods (RFC 7591 §2, RFC 8705 §2).
#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum AuthMethodArg {
    /// PKI mutual TLS (needs one of --subject-dn/--san-*).
    TlsClientAuth,
    /// Self-signed certificate mutual TLS (needs --cert).
    SelfSignedTlsClientAuth,
    /// Secret in the Basic header.
    ClientSecretBasic,
    /// Secret in the body.
    ClientSecretPost,
    /// Public client.
    None,
}

/// Grant types.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
#[value(rename_all = "snake_case")]
pub enum GrantTypeArg {
    /// RFC 6749 §4.4.
    ClientCredentials,
    /// RFC 6749 §4.1 (needs --redirect-uri).
    AuthorizationCode,
    /// RFC 6749 §6: refresh tokens are issued with authorization codes.
    RefreshToken,
}

/// `client create` arguments.
#[derive(Debug, Args)]
pub struct CreateClient {
    /// Client name.
    #[arg(long)]
    pub name: String,
    /// token_endpoint_auth_method.
    #[arg(long, value_enum)]
    pub auth_method: AuthMethodArg,
    /// PEM certificate file for self_signed_tls_client_auth (repeat to register several).
    #[arg(long, value_name = "FILE")]
    pub cert: Vec<PathBuf>,
    /// tls_client_auth_subject_dn, RFC 4514 (e.g. "CN=client,O=Bank,C=GB").
    #[arg(long, value_name = "DN", group = "subject")]
    pub subject_dn: Option<String>,
    /// tls_client_auth_san_dns.
    #[arg(long, value_name = "NAME", group = "subject")]
    pub san_dns: Option<String>,
    /// tls_client_auth_san_uri.
    #[arg(long, value_name = "URI", group = "subject")]
    pub san_uri: Option<String>,
    /// tls_client_auth_san_ip.
    #[arg(long, value_name = "IP", group = "subject")]
    pub san_ip: Option<std::net::IpAddr>,
    /// tls_client_auth_san_email.
    #[arg(long, value_name = "EMAIL", group = "subject")]
    pub san_email: Option<String>,
    /// tls_client_auth: the named trust store ([trust_stores.NAME]) the certificate must chain
    /// to (RFC 8705 §7.4); default any configured store.
    #[arg(long, value_name = "NAME")]
    pub trust_store: Option<String>,
    /// self_signed_tls_client_auth: the client's JWK set URL (keys with x5c), instead of --cert.
    #[arg(long, value_name = "URL")]
    pub jwks_uri: Option<String>,
    /// Allowed grant type (repeatable; default client_credentials).
    #[arg(long, value_enum)]
    pub grant_type: Vec<GrantTypeArg>,
    /// Redirect URI for the authorization code grant (repeatable; exact match).
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Vec<String>,
    /// Allowed and default scopes (repeatable, or space-separated).
    #[arg(long)]
    pub scope: Vec<String>,
    /// tls_client_certificate_bound_access_tokens: bind tokens even for secret-authenticated
    /// clients, which must then present a certificate.
    #[arg(long)]
    pub bound_tokens: bool,
    /// Access token format for this client: opaque or jwt (RFC 9068).
    #[arg(long, value_name = "FORMAT")]
    pub access_token_format: Option<String>,
    /// Access token lifetime in seconds for this client.
    #[arg(long, value_name = "SECONDS")]
    pub access_token_lifetime: Option<u64>,
    /// Allow this client to call the introspection endpoint (a resource server).
    #[arg(long)]
    pub introspect: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// User commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        /// Username.
        name: String,
        /// Read the password from standard input (first line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Give the user the admin role (may introspect tokens).
        #[arg(long)]
        admin: bool,
        /// Profile attribute NAME=VALUE (OIDC standard claims: name, given_name, email, ...).
        #[arg(long, value_name = "NAME=VALUE")]
        claim: Vec<String>,
    },
    /// List users.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a user with their sessions, consents and tokens (never the last admin).
    Delete {
        /// Username.
        name: String,
    },
    /// Set (or, with an empty value, remove) profile attributes of a user.
    Update {
        /// Username.
        name: String,
        /// Profile attribute NAME=VALUE.
        #[arg(long, value_name = "NAME=VALUE", required = true)]
        claim: Vec<String>,
    },
}
