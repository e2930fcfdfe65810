//! Accept loops: the HTTPS listener (rustls; the peer certificate is captured at accept time)
//! and the optional plain-HTTP listener for a TLS-terminating proxy in front. Both hand each
//! connection to hyper with its [`ConnectionInfo`] attached to every request.

use crate::http::ConnectionInfo;
use crate::tls;
use axum::{Extension, Router};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// How long a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client has to send a request's headers (HTTP/1.1).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves every listener (TLS when it has an acceptor, plain HTTP otherwise) until SIGINT or
/// SIGTERM.
pub async fn run(listeners: Vec<(TcpListener, Option<TlsAcceptor>)>, app: Router) {
    let (stop, stopped) = watch::channel(false);
    let tasks: Vec<_> = listeners
        .into_iter()
        .map(|(listener, tls)| {
            tokio::spawn(accept_loop(listener, tls, app.clone(), stopped.clone()))
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
    app: Router,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
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
        tokio::spawn(handle(tcp, peer_addr, tls.clone(), app.clone()));
    }
}

async fn handle(tcp: TcpStream, peer_addr: SocketAddr, tls: Option<TlsAcceptor>, app: Router) {
    let _ = tcp.set_nodelay(true);
    let Some(acceptor) = tls else {
        return serve(
            tcp,
            ConnectionInfo {
                peer_addr,
                certificate: None,
            },
            app,
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
    let certificate = tls::peer_certificate(stream.get_ref().1.peer_certificates()).map(Arc::new);
    serve(
        stream,
        ConnectionInfo {
            peer_addr,
            certificate,
        },
        app,
    )
    .await;
}

async fn serve<I>(io: I, conn: ConnectionInfo, app: Router)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer_addr = conn.peer_addr;
    let service = TowerToHyperService::new(app.layer(Extension(conn)));
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
