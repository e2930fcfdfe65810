//! The operations listener (`[ops] listen`, loopback by default): `/healthz` (the process
//! answers), `/readyz` (storage reachable and a signing key loaded) and `/metrics`
//! (Prometheus text). Plain HTTP on its own address, outside the public listeners' overload
//! limits, so probes and scrapes work when the public port is saturated. It serves nothing
//! else: no OAuth endpoint is reachable here, and no operations endpoint on the public ports.

pub mod metrics;
mod render;

use crate::config::OpsListen;
use anyhow::{Context, Result};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use certbound_core::AuthServer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long `/readyz` waits for each check before answering 503.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Binds the operations listener and serves it in the background; returns its address, or
/// `None` when the default address is taken (a warning: another certbound on this machine
/// may have it). An address chosen in the configuration that cannot be bound fails the start.
pub async fn start(listen: OpsListen, server: Arc<AuthServer>) -> Result<Option<SocketAddr>> {
    let listener = match TcpListener::bind(listen.addr).await {
        Ok(l) => l,
        Err(e) if listen.is_default => {
            tracing::warn!(addr = %listen.addr, error = %e, "operations endpoints (/healthz, /readyz, /metrics) not started: the default [ops] listen address is in use; set [ops] listen to another address");
            return Ok(None);
        }
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "cannot listen on ops.listen {}: is another server using it?",
                    listen.addr
                )
            });
        }
    };
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "operations endpoints listen beyond loopback: metrics and readiness are exposed, unauthenticated, to whoever can reach this address");
    }
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .fallback(not_found)
        .with_state(server);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "operations listener stopped");
        }
    });
    Ok(Some(addr))
}

/// Liveness: the process is up and its runtime answers.
async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n".to_owned())
}

/// Readiness: 200 only when storage answers and a signing key is loaded, else 503 with a
/// short reason (the cause is logged, never sent).
async fn readyz(State(server): State<Arc<AuthServer>>) -> Response {
    match readiness(&server).await {
        Ok(()) => text(StatusCode::OK, "ready\n".to_owned()),
        Err(reason) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        ),
    }
}

async fn readiness(server: &AuthServer) -> Result<(), &'static str> {
    match tokio::time::timeout(READY_TIMEOUT, server.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: storage unreachable");
            return Err("storage unreachable");
        }
        Err(_) => {
            tracing::warn!("not ready: storage did not answer within 2 s");
            return Err("storage unreachable");
        }
    }
    let now = server.clock.now();
    match tokio::time::timeout(
        READY_TIMEOUT,
        server.keys.current(server.store.as_ref(), now),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        _ => Err("no signing key loaded"),
    }
}

async fn metrics_text() -> Response {
    let mut r = text(StatusCode::OK, render::render());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(render::CONTENT_TYPE),
    );
    r
}

async fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "not found\n".to_owned())
}

/// A plain-text response that is never cached.
fn text(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}
