//! Accept loops: the HTTPS listener (rustls; the peer certificate is captured at accept time)
//! and the optional plain-HTTP listener for a TLS-terminating proxy in front. Both hand each
//! connection to hyper with its [`ConnectionInfo`] attached to every request.
//!
//! Overload is bounded twice: at most `max_connections` connections are open (further ones
//! wait in the kernel's accept backlog), and at most `max_in_flight` requests are being
//! handled; a request beyond that is answered at once with 503 `temporarily_unavailable` and
//! `Retry-After`, so memory stays bounded and the server recovers as soon as the load drops.
//! Every answered request (overload 503s included) is counted for `/metrics` in [`dispatch`].

use crate::http::{ApiError, ConnectionInfo};
use crate::ops::metrics::{self, Endpoint};
use axum::Router;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use certbound_core::{ErrorCode, OAuthError};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client has to send a request's headers (HTTP/1.1).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Overload limits (`[server] max_connections`, `max_in_flight_requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most, over every listener.
    pub max_connections: usize,
    /// Requests being handled at most; more get 503.
    pub max_in_flight: usize,
}

impl Default for Limits {
    /// The `[server]` defaults.
    fn default() -> Limits {
        Limits {
            max_connections: 4096,
            max_in_flight: 1024,
        }
    }
}

/// What every connection shares: the router and the limits.
#[derive(Clone)]
struct Shared {
    app: Router,
    peers: Arc<crate::peer_cache::PeerCache>,
    connections: Arc<Semaphore>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: usize,
}

/// Serves every listener (TLS when it has an acceptor, plain HTTP otherwise) until SIGINT or
/// SIGTERM.
pub async fn run(listeners: Vec<(TcpListener, Option<TlsAcceptor>)>, app: Router, limits: Limits) {
    let (stop, stopped) = watch::channel(false);
    let shared = Shared {
        app,
        peers: Arc::default(),
        connections: Arc::new(Semaphore::new(limits.max_connections)),
        in_flight: Arc::new(AtomicUsize::new(0)),
        max_in_flight: limits.max_in_flight,
    };
    let tasks: Vec<_> = listeners
        .into_iter()
        .map(|(listener, tls)| {
            tokio::spawn(accept_loop(listener, tls, shared.clone(), stopped.clone()))
        })
        .collect();
    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop.send(true);
    for t in tasks {
        let _ = t.await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Shared,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        // At the connection limit, stop accepting: new connections wait in the backlog.
        let permit = tokio::select! {
            p = Arc::clone(&shared.connections).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stopped.changed() => return,
        };
        let (tcp, peer_addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped.changed() => return,
        };
        let shared = shared.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            handle(tcp, peer_addr, tls, shared).await;
            drop(permit);
        });
    }
}

async fn handle(tcp: TcpStream, peer_addr: SocketAddr, tls: Option<TlsAcceptor>, shared: Shared) {
    let _ = tcp.set_nodelay(true);
    let Some(acceptor) = tls else {
        return serve(
            tcp,
            ConnectionInfo {
                peer_addr,
                certificate: None,
            },
            shared,
        )
        .await;
    };
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(%peer_addr, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => return,
    };
    let certificate = shared.peers.get(stream.get_ref().1.peer_certificates());
    serve(
        stream,
        ConnectionInfo {
            peer_addr,
            certificate,
        },
        shared,
    )
    .await;
}

async fn serve<I>(io: I, conn: ConnectionInfo, shared: Shared)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer_addr = conn.peer_addr;
    let service = TowerToHyperService::new(tower::service_fn(
        move |req: hyper::Request<hyper::body::Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(conn.clone());
            dispatch(shared.clone(), req)
        },
    ));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Slow-loris protection: a request's headers must arrive within the timeout.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    if let Err(e) = builder.serve_connection(TokioIo::new(io), service).await {
        tracing::debug!(%peer_addr, error = %e, "connection ended with an error");
    }
}

/// Hands a request to the router unless `max_in_flight` requests are already being handled.
async fn dispatch(shared: Shared, req: Request) -> Result<Response, Infallible> {
    let (started, endpoint) = (Instant::now(), Endpoint::of(req.uri().path()));
    let before = shared.in_flight.fetch_add(1, Ordering::AcqRel);
    let response = if before >= shared.max_in_flight {
        overloaded()
    } else {
        match shared.app.oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        }
    };
    shared.in_flight.fetch_sub(1, Ordering::AcqRel);
    let error = response
        .extensions()
        .get::<certbound_core::ErrorCode>()
        .copied();
    metrics::record_request(
        endpoint,
        response.status().as_u16(),
        error,
        started.elapsed(),
    );
    Ok(response)
}

/// RFC 6749 §4.1.2.1 `temporarily_unavailable`, as 503 with `Retry-After`.
fn overloaded() -> Response {
    ApiError::from(OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        "the server is overloaded; retry later",
    ))
    .into_response()
}

async fn shutdown_signal() {
    // A signal handler that cannot be installed must not look like a signal: wait forever.
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
