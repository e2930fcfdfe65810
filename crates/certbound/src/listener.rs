//! Accept loops: the HTTPS listener (rustls; the peer certificate is captured at accept time)
//! and the optional plain-HTTP listener for a TLS-terminating proxy in front. Both hand each
//! connection to hyper with its [`ConnectionInfo`] attached to every request.
//!
//! Overload is bounded twice: at most `max_connections` connections are open (further ones
//! wait in the kernel's accept backlog), and requests are admitted to a bounded number of
//! slots with a bounded queue in front ([`crate::admission`]); a request refused there is
//! answered with 503 `temporarily_unavailable` and `Retry-After`. Memory stays bounded and the
//! server recovers as soon as the load drops.
//!
//! Shutdown (SIGTERM or SIGINT) is graceful: every listener closes at once (new connections
//! are refused), each connection is told to finish (HTTP/1.1 answers the request in progress
//! with `Connection: close`, idle keep-alive connections close, HTTP/2 sends GOAWAY), and
//! [`run`] returns when the last connection is done or at the deadline, cutting what is left.
//! A second signal exits at once.
//! Every answered request (overload 503s included) is counted for `/metrics` in [`dispatch`].

use crate::admission::{Admission, Limits};
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

/// What every connection shares: the router and the limits.
#[derive(Clone)]
struct Shared {
    app: Router,
    peers: Arc<crate::peer_cache::PeerCache>,
    connections: Arc<Semaphore>,
    admission: Arc<Admission>,
}

/// Serves every listener (TLS when it has an acceptor, plain HTTP otherwise) until SIGINT or
/// SIGTERM, then shuts down gracefully within `deadline` (see the module doc).
pub async fn run(
    listeners: Vec<(TcpListener, Option<TlsAcceptor>)>,
    app: Router,
    limits: Limits,
    deadline: Duration,
) {
    let mut signals = Signals::new();
    let (stop, stopped) = watch::channel(false);
    let shared = Shared {
        app,
        peers: Arc::default(),
        connections: Arc::new(Semaphore::new(limits.max_connections)),
        admission: Arc::new(Admission::new(&limits)),
    };
    metrics::set_admission(Arc::clone(&shared.admission));
    let tasks: Vec<_> = listeners
        .into_iter()
        .map(|(listener, tls)| {
            tokio::spawn(accept_loop(listener, tls, shared.clone(), stopped.clone()))
        })
        .collect();
    let signal = signals.next().await;
    tracing::info!(
        signal,
        deadline_secs = deadline.as_secs(),
        "shutting down: refusing new connections, finishing the requests in flight"
    );
    let _ = stop.send(true);
    // The accept loops return at once, closing their listeners.
    for t in tasks {
        let _ = t.await;
    }
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    tokio::select! {
        // Every connection task holds a permit until it ends.
        _ = tokio::time::timeout(deadline, shared.connections.acquire_many(all)) => {}
        signal = signals.next() => {
            tracing::warn!(signal, "second signal: exiting now, without waiting");
            std::process::exit(1);
        }
    }
    let open = limits
        .max_connections
        .saturating_sub(shared.connections.available_permits());
    if open == 0 {
        tracing::info!("every connection closed; no request was cut");
    } else {
        let cut = shared.admission.in_flight() + shared.admission.queued();
        tracing::warn!(
            requests_cut = cut,
            connections_cut = open,
            deadline_secs = deadline.as_secs(),
            "shutdown deadline reached: cutting the requests still running"
        );
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
        let stopped = stopped.clone();
        tokio::spawn(async move {
            handle(tcp, peer_addr, tls, shared, stopped).await;
            drop(permit);
        });
    }
}

async fn handle(
    tcp: TcpStream,
    peer_addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    shared: Shared,
    stopped: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let Some(acceptor) = tls else {
        return serve(
            tcp,
            ConnectionInfo {
                peer_addr,
                certificate: None,
            },
            shared,
            stopped,
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
        stopped,
    )
    .await;
}

/// Serves one connection; once shutdown begins, tells it to finish gracefully.
async fn serve<I>(io: I, conn: ConnectionInfo, shared: Shared, mut stopped: watch::Receiver<bool>)
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
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        r = connection.as_mut() => r,
        () = stopping(&mut stopped) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer_addr, error = %e, "connection ended with an error");
    }
}

/// Returns once shutdown has begun (or the server is gone).
async fn stopping(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Hands a request to the router once it has a slot ([`Admission::admit`]), else answers 503.
async fn dispatch(shared: Shared, req: Request) -> Result<Response, Infallible> {
    let (started, endpoint) = (Instant::now(), Endpoint::of(req.uri().path()));
    let slot = shared.admission.admit().await;
    let response = match slot {
        None => overloaded(),
        Some(_) => match shared.app.oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        },
    };
    drop(slot);
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

/// SIGTERM and SIGINT, each received as often as it comes.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers now, so a signal arriving at any time later is seen.
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let term = signal(SignalKind::terminate());
            let int = signal(SignalKind::interrupt());
            if let Err(e) = &term {
                tracing::warn!(error = %e, "cannot handle SIGTERM");
            }
            if let Err(e) = &int {
                tracing::warn!(error = %e, "cannot handle SIGINT");
            }
            Signals {
                term: term.ok(),
                int: int.ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The name of the next signal. A handler that could not be installed never fires.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
                if let Some(s) = s
                    && s.recv().await.is_some()
                {
                    return;
                }
                std::future::pending::<()>().await;
            }
            tokio::select! {
                () = recv(&mut self.term) => "SIGTERM",
                () = recv(&mut self.int) => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            "Ctrl-C"
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::{Shared, dispatch};
    use crate::admission::{Admission, Limits};
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::sync::Semaphore;

    fn shared(app: Router, max_in_flight: usize, max_queued: usize) -> Shared {
        Shared {
            app,
            peers: Arc::default(),
            connections: Arc::new(Semaphore::new(8)),
            admission: Arc::new(Admission::new(&Limits {
                max_connections: 8,
                max_in_flight,
                max_queued,
                queue_timeout: Duration::from_millis(50),
            })),
        }
    }

    fn request(path: &str) -> axum::extract::Request {
        axum::extract::Request::get(path)
            .body(Body::empty())
            .expect("a valid request")
    }

    /// A request refused admission gets 503 `temporarily_unavailable` with `Retry-After`; one
    /// admitted reaches the router and gives its slot back when answered or dropped.
    #[tokio::test]
    async fn a_request_refused_admission_gets_503_with_retry_after() {
        let app = Router::new()
            .route("/stuck", get(std::future::pending::<&'static str>))
            .route("/ok", get(|| async { "ok" }));
        let shared = shared(app, 1, 0);
        let cut = tokio::time::timeout(
            Duration::from_millis(20),
            dispatch(shared.clone(), request("/stuck")),
        )
        .await;
        assert!(
            cut.is_err(),
            "the stuck request must still be running when dropped"
        );
        assert_eq!(shared.admission.in_flight(), 0, "its slot is given back");
        let first = tokio::spawn(dispatch(shared.clone(), request("/stuck")));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while shared.admission.in_flight() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the request never got its slot"
            );
            tokio::task::yield_now().await;
        }
        let second = dispatch(shared.clone(), request("/ok"))
            .await
            .expect("infallible");
        assert_eq!(second.status(), 503);
        assert!(second.headers().contains_key("retry-after"));
        first.abort();
        let _ = first.await;
        let third = dispatch(shared.clone(), request("/ok"))
            .await
            .expect("infallible");
        assert_eq!(third.status(), 200, "served once the slot is free");
        assert_eq!(shared.admission.in_flight(), 0);
    }
}
