//! Doctor checks on the TLS versions offered: TLS 1.3 and 1.2 handshakes succeed (a rustls
//! client restricted to each version), TLS 1.1 and 1.0 are refused. rustls cannot speak the
//! old versions, so those probes send a minimal hand-built ClientHello over TCP and look at
//! the first record of the answer: an alert or a closed connection is a refusal, a ServerHello
//! an acceptance.

use super::{Check, Doctor, TIMEOUT, error_chain, tls_config};
use rustls::pki_types::ServerName;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// TLS record content types (RFC 2246 §6.2.1, A.1).
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
/// Handshake message types (RFC 2246 §7.4, A.4).
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;

pub(super) async fn run(doctor: &Doctor) -> Vec<Check> {
    let host = doctor.issuer.host_str().unwrap_or_default().to_owned();
    let port = doctor.issuer.port_or_known_default().unwrap_or(443);
    vec![
        modern(doctor, &host, port, "tls-1.3", &rustls::version::TLS13).await,
        modern(doctor, &host, port, "tls-1.2", &rustls::version::TLS12).await,
        legacy(&host, port, "tls-1.1-refused", 2).await,
        legacy(&host, port, "tls-1.0-refused", 1).await,
    ]
}

/// A full handshake with a rustls client offering only `version`.
async fn modern(
    doctor: &Doctor,
    host: &str,
    port: u16,
    name: &'static str,
    version: &'static rustls::SupportedProtocolVersion,
) -> Check {
    let config = match tls_config(&doctor.roots, Some(&[version]), None) {
        Ok(c) => c,
        Err(e) => return Check::fail(name, format!("cannot configure the client: {e:#}")),
    };
    let Ok(server_name) = ServerName::try_from(host.trim_matches(['[', ']']).to_owned()) else {
        return Check::fail(name, format!("{host} is not a valid server name"));
    };
    let handshake = async {
        let tcp = TcpStream::connect((host.trim_matches(['[', ']']), port)).await?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(server_name, tcp)
            .await
    };
    match tokio::time::timeout(TIMEOUT, handshake).await {
        Ok(Ok(stream)) => {
            let conn = stream.get_ref().1;
            let suite = conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default();
            Check::pass(
                name,
                format!("handshake with {host}:{port} succeeded ({suite})"),
            )
        }
        Ok(Err(e)) => Check::fail(
            name,
            format!(
                "handshake offering only {:?} failed: {}",
                version.version,
                error_chain(&e)
            ),
        ),
        Err(_) => Check::fail(name, format!("no handshake within {TIMEOUT:?}")),
    }
}

/// Sends a TLS 1.`minor - 1` ClientHello and reads the first bytes of the answer.
async fn legacy(host: &str, port: u16, name: &'static str, minor: u8) -> Check {
    let version = format!("TLS 1.{}", minor - 1);
    let probe = async {
        let mut tcp = TcpStream::connect((host.trim_matches(['[', ']']), port)).await?;
        tcp.write_all(&legacy_client_hello(minor, host)).await?;
        // Enough for an alert (5-byte header + level + description) or for a ServerHello's
        // header, handshake type, length and server_version.
        let mut answer = Vec::with_capacity(11);
        let mut buf = [0u8; 11];
        while answer.len() < 11 {
            match tcp.read(&mut buf[..11 - answer.len()]).await {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if answer.is_empty() && is_reset(&e) => break,
                Err(e) => return Err(e),
            }
            if answer.first() == Some(&ALERT) && answer.len() >= 7 {
                break;
            }
        }
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(TIMEOUT, probe).await {
        Ok(Ok(answer)) => match answer.as_slice() {
            [] => Check::pass(name, format!("{version} ClientHello: connection closed")),
            [ALERT, _, _, _, _, level, description, ..] => Check::pass(
                name,
                format!(
                    "{version} ClientHello refused: alert {} (level {level}, description {description})",
                    alert_name(*description)
                ),
            ),
            [
                HANDSHAKE,
                _,
                _,
                _,
                _,
                SERVER_HELLO,
                _,
                _,
                _,
                3,
                server_minor,
                ..,
            ] => Check::fail(
                name,
                format!(
                    "{version} ClientHello answered with a ServerHello for TLS 1.{}: offer TLS 1.2 and 1.3 only",
                    server_minor.saturating_sub(1)
                ),
            ),
            other => Check::fail(
                name,
                format!(
                    "{version} ClientHello: unexpected answer starting {:02x?}",
                    &other[..other.len().min(6)]
                ),
            ),
        },
        Ok(Err(e)) => Check::fail(name, format!("{version} probe failed: {e}")),
        Err(_) => Check::fail(
            name,
            format!("{version} ClientHello: no answer within {TIMEOUT:?}"),
        ),
    }
}

/// Alert descriptions a refusing server sends (RFC 2246 §7.2, RFC 4346 §7.2).
fn alert_name(description: u8) -> &'static str {
    match description {
        40 => "handshake_failure",
        47 => "illegal_parameter",
        50 => "decode_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        _ => "other",
    }
}

fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
    )
}

/// A minimal ClientHello for TLS 1.0 (`minor` 1, RFC 2246) or TLS 1.1 (`minor` 2, RFC 4346),
/// in one TLSPlaintext record. Field layout per RFC 2246 §7.4.1.2 (unchanged in RFC 4346
/// §7.4.1.2); extensions as RFC 4366 §2.1 appends them to the ClientHello.
fn legacy_client_hello(minor: u8, host: &str) -> Vec<u8> {
    let mut body = Vec::new();
    // client_version: ProtocolVersion {3, 1} is TLS 1.0 (RFC 2246 §6.2.1), {3, 2} TLS 1.1.
    body.extend([3, minor]);
    // random: gmt_unix_time and 28 random bytes; a probe needs no entropy.
    body.extend([0x5a; 32]);
    // session_id<0..32>: empty, a new session.
    body.push(0);
    // cipher_suites<2..2^16-1>: TLS_RSA_WITH_3DES_EDE_CBC_SHA (RFC 2246 §9, RFC 4346 §9
    // mandatory), TLS_RSA_WITH_AES_128/256_CBC_SHA (RFC 3268), the ECDHE_RSA and ECDHE_ECDSA
    // AES-CBC suites (RFC 4492 §6), so a server that still speaks these versions can answer
    // whatever its key type.
    let suites: [u16; 7] = [0x000A, 0x002F, 0x0035, 0xC013, 0xC014, 0xC009, 0xC00A];
    body.extend(u16::try_from(suites.len() * 2).unwrap_or(0).to_be_bytes());
    for s in suites {
        body.extend(s.to_be_bytes());
    }
    // compression_methods<1..2^8-1>: null only (RFC 2246 §6.1).
    body.extend([1, 0]);
    let mut extensions = Vec::new();
    // server_name (type 0, RFC 6066 §3): one host_name, unless the host is an IP literal.
    if host.parse::<std::net::IpAddr>().is_err() && !host.starts_with('[') {
        let name = host.as_bytes();
        let name_len = u16::try_from(name.len()).unwrap_or(0);
        extensions.extend(0u16.to_be_bytes());
        extensions.extend((name_len + 5).to_be_bytes());
        extensions.extend((name_len + 3).to_be_bytes());
        extensions.push(0); // host_name
        extensions.extend(name_len.to_be_bytes());
        extensions.extend(name);
    }
    // elliptic_curves (type 10, RFC 4492 §5.1.1): secp256r1, secp384r1.
    extensions.extend([0, 10, 0, 6, 0, 4, 0, 23, 0, 24]);
    // ec_point_formats (type 11, RFC 4492 §5.1.2): uncompressed.
    extensions.extend([0, 11, 0, 2, 1, 0]);
    body.extend(u16::try_from(extensions.len()).unwrap_or(0).to_be_bytes());
    body.extend(extensions);
    // Handshake (RFC 2246 §7.4): msg_type client_hello, uint24 length, body.
    let mut handshake = vec![CLIENT_HELLO];
    handshake.extend(&u32::try_from(body.len()).unwrap_or(0).to_be_bytes()[1..]);
    handshake.extend(body);
    // TLSPlaintext (RFC 2246 §6.2.1): type handshake, version, uint16 length, fragment.
    let mut record = vec![HANDSHAKE, 3, minor];
    record.extend(u16::try_from(handshake.len()).unwrap_or(0).to_be_bytes());
    record.extend(handshake);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_lengths_are_consistent() {
        let hello = legacy_client_hello(2, "localhost");
        assert_eq!(&hello[..3], &[HANDSHAKE, 3, 2]);
        let record_len = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
        assert_eq!(record_len, hello.len() - 5);
        assert_eq!(hello[5], CLIENT_HELLO);
        let hs_len = usize::from(hello[7]) << 8 | usize::from(hello[8]);
        assert_eq!(hs_len, hello.len() - 9);
        assert_eq!(&hello[9..11], &[3, 2]);
        // The SNI host name is at the end of the server_name extension.
        let text = String::from_utf8_lossy(&hello);
        assert!(text.contains("localhost"));
        assert!(
            !String::from_utf8_lossy(&legacy_client_hello(1, "127.0.0.1")).contains("127.0.0.1")
        );
    }
}
