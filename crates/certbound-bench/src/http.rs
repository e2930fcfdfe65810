//! HTTP/1.1 over TLS, one request in flight per channel: an [`Endpoint`] says where and how to
//! connect, a [`Channel`] keeps a connection alive (reuse) or opens one per request
//! (handshake). Failures are classified, never retried here.

use crate::cli::Mode;
use crate::tls;
use anyhow::{Context, Result, anyhow, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONNECTION, CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Where requests go and the TLS identity they are sent with.
pub struct Endpoint {
    addr: String,
    authority: HeaderValue,
    server_name: ServerName<'static>,
    connector: TlsConnector,
}

impl Endpoint {
    /// Whether a TCP connect and a full TLS handshake complete within a second.
    pub async fn handshake(&self) -> bool {
        let attempt = async {
            let tcp = TcpStream::connect(&self.addr).await.ok()?;
            self.connector
                .connect(self.server_name.clone(), tcp)
                .await
                .ok()
        };
        matches!(
            tokio::time::timeout(std::time::Duration::from_secs(1), attempt).await,
            Ok(Some(_))
        )
    }
}

/// An absolute `https://` URL split into its endpoint parts and its path with query.
pub struct Target {
    pub endpoint: Arc<Endpoint>,
    pub path: String,
}

impl Target {
    /// Parses `url` and pairs it with a TLS connector.
    pub fn parse(url: &str, connector: TlsConnector) -> Result<Target> {
        let uri: Uri = url.parse().with_context(|| format!("bad URL {url}"))?;
        if uri.scheme_str() != Some("https") {
            bail!("{url}: only https:// URLs are supported");
        }
        let authority = uri
            .authority()
            .ok_or_else(|| anyhow!("{url} has no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = authority.port_u16().unwrap_or(443);
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let server_name = ServerName::try_from(host.clone())
            .map_err(|e| anyhow!("bad server name {host}: {e}"))?;
        let path = uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let endpoint = Endpoint {
            addr,
            authority: HeaderValue::from_str(authority.as_str())?,
            server_name,
            connector,
        };
        Ok(Target {
            endpoint: Arc::new(endpoint),
            path,
        })
    }
}

/// A TLS connector for these files, the client certificate being optional.
pub fn connector(cacert: &Path, cert: Option<&Path>, key: Option<&Path>) -> Result<TlsConnector> {
    tls::connector(cacert, cert.zip(key))
}

/// Why a request got no HTTP response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Connect,
    TlsHandshake,
    HttpHandshake,
    ConnClosed,
    Http,
    Body,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Connect => "connect",
            Failure::TlsHandshake => "tls_handshake",
            Failure::HttpHandshake => "http_handshake",
            Failure::ConnClosed => "conn_closed",
            Failure::Http => "http",
            Failure::Body => "body",
        }
    }
}

/// A whole HTTP response.
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request before its endpoint-specific headers (`Host`, `Connection`) are added.
pub struct Outgoing {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Outgoing {
    pub fn get(path: &str) -> Outgoing {
        Outgoing {
            method: Method::GET,
            path: path.to_owned(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// A form POST: `Content-Type: application/x-www-form-urlencoded` unless `headers` has one.
    pub fn form(path: &str, headers: &HeaderMap, body: String) -> Outgoing {
        let mut headers = headers.clone();
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
        }
        Outgoing {
            method: Method::POST,
            path: path.to_owned(),
            headers,
            body: Bytes::from(body),
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Outgoing {
        self.headers.insert(name, value);
        self
    }
}

/// Parses repeated `Name: value` header arguments.
pub fn parse_headers(raw: &[String]) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    for h in raw {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| anyhow!("header {h:?} is not \"Name: value\""))?;
        headers.append(
            HeaderName::from_bytes(name.trim().as_bytes())
                .with_context(|| format!("bad header name in {h:?}"))?,
            HeaderValue::from_str(value.trim())
                .with_context(|| format!("bad header value in {h:?}"))?,
        );
    }
    Ok(headers)
}

type Sender = SendRequest<Full<Bytes>>;

/// Requests to one endpoint, one at a time.
pub struct Channel {
    endpoint: Arc<Endpoint>,
    mode: Mode,
    sender: Option<Sender>,
    /// Connections this channel established (TLS handshakes completed).
    pub connections: u64,
}

impl Channel {
    pub fn new(endpoint: Arc<Endpoint>, mode: Mode) -> Channel {
        Channel {
            endpoint,
            mode,
            sender: None,
            connections: 0,
        }
    }

    /// Reuse mode: opens the keep-alive connection if there is none. Handshake mode: nothing.
    pub async fn ensure_connected(&mut self) -> Result<(), Failure> {
        if self.sender.as_ref().is_some_and(SendRequest::is_closed) {
            // The server closed the keep-alive connection after its last response.
            self.sender = None;
        }
        if self.mode == Mode::Reuse && self.sender.is_none() {
            self.sender = Some(self.connect().await?);
        }
        Ok(())
    }

    /// Drops the connection (after a timeout its state is unknown).
    pub fn reset(&mut self) {
        self.sender = None;
    }

    async fn connect(&mut self) -> Result<Sender, Failure> {
        let e = &self.endpoint;
        let tcp = TcpStream::connect(&e.addr)
            .await
            .map_err(|_| Failure::Connect)?;
        // Latency matters more than packet count here; failure to set it changes nothing else.
        let _ = tcp.set_nodelay(true);
        let tls = e
            .connector
            .connect(e.server_name.clone(), tcp)
            .await
            .map_err(|_| Failure::TlsHandshake)?;
        let (sender, conn) = http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|_| Failure::HttpHandshake)?;
        tokio::spawn(async move {
            // The connection ends when the sender is dropped or the server closes it.
            let _ = conn.await;
        });
        self.connections += 1;
        Ok(sender)
    }

    /// Sends one request and reads the whole response. In handshake mode the request gets its
    /// own connection (with `Connection: close`), in reuse mode a transport failure drops the
    /// connection so the next request opens a new one.
    pub async fn send(&mut self, out: &Outgoing) -> Result<Response, Failure> {
        let mut req = Request::builder()
            .method(out.method.clone())
            .uri(out.path.as_str())
            .body(Full::new(out.body.clone()))
            .map_err(|_| Failure::Http)?;
        *req.headers_mut() = out.headers.clone();
        req.headers_mut()
            .insert(HOST, self.endpoint.authority.clone());
        let result = match self.mode {
            Mode::Handshake => {
                req.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
                let mut sender = self.connect().await?;
                exchange(&mut sender, req).await
            }
            Mode::Reuse => {
                self.ensure_connected().await?;
                match self.sender.as_mut() {
                    Some(sender) => exchange(sender, req).await,
                    None => Err(Failure::ConnClosed),
                }
            }
        };
        if result.is_err() {
            self.sender = None;
        }
        result
    }
}

async fn exchange(sender: &mut Sender, req: Request<Full<Bytes>>) -> Result<Response, Failure> {
    sender.ready().await.map_err(|_| Failure::ConnClosed)?;
    let resp = sender.send_request(req).await.map_err(|_| Failure::Http)?;
    let status = resp.status().as_u16();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.map_err(|_| Failure::Body)?.to_bytes();
    Ok(Response {
        status,
        headers: parts.headers,
        body,
    })
}
