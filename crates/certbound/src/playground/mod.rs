//! `certbound playground`: a demo web client in the spirit of WSO2's Playground2, plus a small
//! protected API, for walking a person through the RFC 8705 flows against a running certbound.
//!
//! On start it makes (once, under `<data_dir>/playground/`) a self-signed client certificate and
//! a second, unregistered "other" certificate, registers the `playground` client directly in the
//! server's store (`self_signed_tls_client_auth`, JWT access tokens, allowed to introspect), and
//! serves two listeners:
//!
//! - the playground UI on plain HTTP (`--listen`, default `127.0.0.1:8080`, paths under
//!   `/playground2/` as in the reference blog), server-rendered, no JavaScript;
//! - the protected API on HTTPS (`--api-listen`, default `127.0.0.1:8443`), guarded by
//!   `certbound_resource::RequireBearer` so the certificate binding can be seen working.
//!
//! This is a single-user demo: the last tokens are kept in memory, shared by every visitor. It
//! must not be exposed beyond localhost, and it holds no state that matters after it stops.

mod api;
mod flows;
mod outbound;
mod setup;
mod view;

use crate::cli::PlaygroundArgs;
use crate::config::Config;
use crate::devtls::DevTls;
use crate::listener;
use crate::tls::{self, ClientCerts};
use anyhow::{Context, Result};
use axum::Router;
use axum::routing::{get, post};
use certbound_resource::{Validation, Verifier};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The issuer used when neither `--issuer` nor the configuration names one.
const DEFAULT_ISSUER: &str = "https://localhost:9443/oauth2/token";
/// The path of the OAuth callback (the blog's Playground2 redirect URI).
pub const CALLBACK_PATH: &str = "/playground2/oauth2client";

/// Everything the handlers share.
pub struct Playground {
    /// The issuer URL (`iss` of tokens).
    pub issuer: String,
    /// Scheme, host and port of the issuer: the endpoints live under it.
    pub origin: String,
    /// The playground's client_id at certbound.
    pub client_id: String,
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// The registered certificate, used for every mTLS call.
    pub right: setup::Identity,
    /// A certificate certbound does not know, for the negative demo.
    pub other: setup::Identity,
    /// `https://host:port/api/hello` of the protected API.
    pub api_url: String,
    /// Verifies JWT access tokens for display, like the protected API does.
    pub verifier: Verifier,
    /// Where the dev CA was read from (shown in error hints).
    pub ca_path: std::path::PathBuf,
    /// The data directory (shown in error hints).
    pub data_dir: std::path::PathBuf,
    /// The single user's tokens and pending authorization requests.
    pub session: Mutex<Session>,
    /// The origin of certbound's RFC 8705 §5 mutual-TLS endpoint aliases, when its discovery
    /// document lists them (learned from discovery on the overview page).
    pub mtls_origin: Mutex<Option<String>>,
}

/// A pending authorization request, keyed by `state`.
#[derive(Clone)]
pub struct Pending {
    /// The PKCE code_verifier (RFC 7636 §4.1).
    pub verifier: String,
    /// The OpenID Connect nonce sent.
    pub nonce: String,
    /// The authorization URL the browser was sent to (shown on the callback page).
    pub authorize_url: String,
}

/// The in-memory tokens of the single demo user.
#[derive(Default)]
pub struct Session {
    /// Authorization requests waiting for their callback.
    pub pending: HashMap<String, Pending>,
    /// The last access token.
    pub access_token: Option<String>,
    /// The last refresh token.
    pub refresh_token: Option<String>,
    /// The last id_token.
    pub id_token: Option<String>,
    /// The nonce the last id_token must carry.
    pub nonce: Option<String>,
}

impl Playground {
    /// The session, even if a handler panicked while holding it.
    pub fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An endpoint URL under the issuer's origin.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// An endpoint the playground calls with its client certificate: on the mutual-TLS alias
    /// listener when certbound publishes one (RFC 8705 §5), else on the main origin.
    pub fn mtls_endpoint(&self, path: &str) -> String {
        let alias = self
            .mtls_origin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        format!("{}{path}", alias.as_deref().unwrap_or(&self.origin))
    }
}

/// Runs the playground and the protected API until interrupted.
pub async fn run(config: Config, args: PlaygroundArgs) -> Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let issuer = args
        .issuer
        .clone()
        .or_else(|| config.issuer.clone())
        .unwrap_or_else(|| DEFAULT_ISSUER.to_owned());
    let origin = origin_of(&issuer).with_context(|| {
        format!("--issuer {issuer:?} is not an https:// URL such as {DEFAULT_ISSUER}")
    })?;
    let (cert_file, key_file, _) = crate::devtls::server_files(&config)?;
    let ca_path = DevTls::paths(&config.data_dir).ca_cert;
    let ca_pem = std::fs::read_to_string(&ca_path).with_context(|| {
        format!(
            "cannot read the server's CA certificate {}: run the playground with the server's --data-dir",
            ca_path.display()
        )
    })?;

    let ui = TcpListener::bind(args.listen).await.with_context(|| {
        format!(
            "cannot listen on {}: choose another with --listen",
            args.listen
        )
    })?;
    let ui_addr = ui.local_addr()?;
    let api = TcpListener::bind(args.api_listen).await.with_context(|| {
        format!(
            "cannot listen on {}: choose another with --api-listen",
            args.api_listen
        )
    })?;
    let api_addr = api.local_addr()?;
    let redirect_uri = format!("http://localhost:{}{CALLBACK_PATH}", ui_addr.port());

    let dir = config.data_dir.join("playground");
    let (right, other) = setup::identities(&dir, &ca_pem)?;
    let store = crate::serve::open_store(&config).await?;
    let client_id = setup::ensure_client(store.as_ref(), &dir, &right, &redirect_uri).await?;
    drop(store);

    let audience = config
        .access_token_audience
        .clone()
        .unwrap_or_else(|| issuer.clone());
    let verifier = verifier(&issuer, &audience, &origin, &ca_pem)?;
    let state = Arc::new(Playground {
        issuer,
        origin,
        client_id,
        redirect_uri,
        right,
        other,
        api_url: format!("https://{}/api/hello", host_port(api_addr)),
        verifier: verifier.clone(),
        ca_path,
        data_dir: config.data_dir.clone(),
        session: Mutex::new(Session::default()),
        mtls_origin: Mutex::new(None),
    });

    let api_tls = TlsAcceptor::from(tls::server_config(
        &Arc::new(tls::ServerCert::load(&cert_file, &key_file)?),
        ClientCerts::Request,
        tls::TlsProfile::Default,
    )?);
    let mut ui_listeners = vec![(ui, None)];
    if ui_addr.ip() == IpAddr::from([127, 0, 0, 1]) {
        // The redirect URI says "localhost", which a browser may try on ::1 first.
        if let Ok(v6) =
            TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, ui_addr.port()))).await
        {
            ui_listeners.push((v6, None));
        }
    }
    println!("playground listening on http://{ui_addr}");
    println!("protected API listening on https://{api_addr}");
    println!("playground client_id: {}", state.client_id);
    println!(
        "open http://localhost:{}/playground2/ in a browser",
        ui_addr.port()
    );
    let limits = crate::admission::Limits::default();
    tokio::join!(
        listener::run(
            ui_listeners,
            ui_router(state),
            limits,
            config.shutdown_timeout
        ),
        listener::run(
            vec![(api, Some(api_tls))],
            api::router(verifier),
            limits,
            config.shutdown_timeout
        ),
    );
    Ok(())
}

/// The playground UI routes.
fn ui_router(state: Arc<Playground>) -> Router {
    Router::new()
        .route("/", get(flows::home))
        .route("/playground2", get(flows::home))
        .route("/playground2/", get(flows::index))
        .route(
            "/playground2/client-credentials",
            post(flows::client_credentials),
        )
        .route("/playground2/authorize", post(flows::authorize))
        .route(CALLBACK_PATH, get(flows::callback))
        .route("/playground2/refresh", post(flows::refresh))
        .route("/playground2/introspect", post(flows::introspect))
        .route("/playground2/api", post(flows::call_api))
        .route("/static/playground.css", get(view::stylesheet))
        .fallback(view::not_found)
        .with_state(state)
}

/// The JWT-mode verifier of the protected API (and of the access tokens shown).
fn verifier(issuer: &str, audience: &str, origin: &str, ca_pem: &str) -> Result<Verifier> {
    let mut config = certbound_resource::Config::new(
        issuer,
        audience,
        Validation::Jwt {
            jwks_uri: format!("{origin}/oauth2/jwks"),
        },
    );
    config.ca_pem = Some(ca_pem.to_owned());
    // Let a restarted server's new keys be picked up quickly in a demo.
    config.jwks_refetch_interval = std::time::Duration::from_secs(2);
    Verifier::new(config).context("cannot configure the protected API's token verifier")
}

/// `https://host[:port]` of an https URL.
fn origin_of(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (!authority.is_empty() && !authority.contains('@')).then(|| format!("https://{authority}"))
}

/// `host:port` to reach a bound address (`localhost` for an unspecified address).
fn host_port(addr: SocketAddr) -> String {
    match addr.ip() {
        ip if ip.is_unspecified() => format!("localhost:{}", addr.port()),
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_of_an_issuer() {
        assert_eq!(
            origin_of("https://localhost:9443/oauth2/token").as_deref(),
            Some("https://localhost:9443")
        );
        assert_eq!(origin_of("http://localhost:9443/oauth2/token"), None);
        assert_eq!(origin_of("https://"), None);
    }

    #[test]
    fn host_port_of_addresses() {
        assert_eq!(host_port(SocketAddr::from(([0; 4], 1))), "localhost:1");
        assert_eq!(
            host_port(SocketAddr::from(([127, 0, 0, 1], 2))),
            "127.0.0.1:2"
        );
    }
}
