//! A small HTTPS API protected by `certbound-resource`: how a resource server accepts
//! certificate-bound access tokens from certbound (RFC 8705 §3).
//!
//! The three things an API has to do are all here:
//! 1. terminate TLS asking for a client certificate ([`tls_config`], using the verifier of
//!    `certbound_resource::tls`, which accepts any certificate — the token's `cnf` decides);
//! 2. hand each request the certificate of its connection ([`serve`] inserts
//!    [`ConnectionCertificate`] and [`PeerAddr`]);
//! 3. put [`RequireBearer`] in front of the routes ([`router`]); handlers take a [`Principal`].

use anyhow::{Context, Result};
use axum::routing::get;
use axum::{Json, Router};
use certbound_resource::{ConnectionCertificate, PeerAddr, Principal, RequireBearer, Verifier};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The API: `GET /api/accounts` needs a valid access token (bound to the certificate of the
/// connection when it has a `cnf`) with the `accounts` scope... or any scope when `scope` is
/// `None` in the verifier's configuration.
pub fn router(verifier: Verifier) -> Router {
    Router::new()
        .route("/api/accounts", get(accounts))
        .layer(RequireBearer::new(verifier))
}

async fn accounts(principal: Principal) -> Json<Value> {
    Json(json!({
        "accounts": [{ "iban": "GB33BUKB20201555555555", "owner": principal.sub }],
        "client_id": principal.client_id,
        "bound_to": principal.cnf.map(|t| t.to_base64url()),
    }))
}

/// A TLS configuration that asks every client for a certificate (PEM server chain and key).
pub fn tls_config(cert_pem: &str, key_pem: &str) -> Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("the server certificate is not PEM")?;
    let key =
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).context("the server key is not PEM")?;
    let verifier = certbound_resource::tls::accept_any_client_certificate(&provider, false);
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` over TLS on `listener`, giving every request its connection's client
/// certificate and peer address. Runs until the task is dropped.
pub async fn serve(listener: TcpListener, tls: Arc<ServerConfig>, app: Router) -> Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = listener.accept().await?;
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let certificate =
                certbound_resource::tls::peer_certificate(stream.get_ref().1.peer_certificates());
            let app = app
                .layer(axum::Extension(ConnectionCertificate(
                    certificate.map(Arc::new),
                )))
                .layer(axum::Extension(PeerAddr(peer)));
            let service = TowerToHyperService::new(app);
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
