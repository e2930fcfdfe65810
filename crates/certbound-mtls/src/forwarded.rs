//! Parsing a client certificate forwarded by a TLS-terminating proxy in an HTTP header.
//!
//! Formats (RFC 8705 §2 leaves the transport to deployments; these are the ones proxies use):
//! PEM with newlines, single-line PEM (the WSO2 `x-wso2-mtls-cert` form), PEM whose newlines
//! became spaces or tabs (Apache, HAProxy), URL-encoded PEM (nginx `$ssl_client_escaped_cert`),
//! bare base64 DER, RFC 9440 `Client-Cert` / `Client-Cert-Chain` byte sequences, and Envoy's
//! `x-forwarded-client-cert` (`Cert=` and `Chain=` elements). Parsing is strict: anything after
//! the certificate is an error, never ignored. This module does not decide whether a header is
//! trusted; see `proxy.rs`.

use crate::pem;
use crate::{ClientCertificate, PeerCertificate};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde::Deserialize;

/// Longest header value accepted (each of the certificate and chain headers).
pub const MAX_HEADER_LEN: usize = 16 * 1024;

/// How the proxy encodes the certificate (`client_certificate_header_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderFormat {
    /// Recognise the format from the value: every format below is distinguishable by its
    /// first characters (`-----BEGIN`, `-----BEGIN%20`/`%2D`, `:`, an Envoy `key=` element,
    /// or base64 DER starting `MI`).
    #[default]
    Auto,
    /// PEM, with newlines, on one line, or with newlines replaced by spaces or tabs.
    Pem,
    /// URL-encoded PEM (nginx `$ssl_client_escaped_cert`).
    UrlEncodedPem,
    /// Bare base64 of the DER.
    Der,
    /// RFC 9440 `Client-Cert: :base64:` (and `Client-Cert-Chain`).
    Rfc9440,
    /// Envoy `x-forwarded-client-cert`.
    Xfcc,
}

/// Why a forwarded certificate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ForwardedError {
    /// The header appeared more than once.
    #[error("the client certificate header appears more than once")]
    Repeated,
    /// The header is longer than [`MAX_HEADER_LEN`].
    #[error("the client certificate header is too long")]
    TooLong,
    /// The value is not a certificate in the configured format, or has trailing data.
    #[error("the forwarded client certificate could not be parsed")]
    Unparseable,
    /// More certificates than the configured maximum chain length.
    #[error("the forwarded certificate chain is too long")]
    ChainTooLong,
}

/// Parses the certificate header (and the optional chain header). `Ok(None)` means the proxy
/// said "no certificate": an empty value, `(null)` (Apache/HAProxy) or `-`.
pub fn parse_forwarded(
    format: HeaderFormat,
    cert: &[u8],
    chain: Option<&[u8]>,
    max_chain: usize,
) -> Result<Option<PeerCertificate>, ForwardedError> {
    if cert.len() > MAX_HEADER_LEN || chain.is_some_and(|c| c.len() > MAX_HEADER_LEN) {
        return Err(ForwardedError::TooLong);
    }
    let value = ascii_trimmed(cert)?;
    if value.is_empty() || value == "(null)" || value == "-" {
        return Ok(None);
    }
    let mut certs = decode(format, value)?;
    if let Some(chain) = chain {
        let chain = ascii_trimmed(chain)?;
        if !(chain.is_empty() || chain == "(null)" || chain == "-") {
            for c in decode_chain(format, chain)? {
                if !certs.iter().any(|have| have.thumbprint() == c.thumbprint()) {
                    certs.push(c);
                }
            }
        }
    }
    if certs.len() > max_chain.max(1) {
        return Err(ForwardedError::ChainTooLong);
    }
    let mut certs = certs.into_iter();
    let leaf = certs.next().ok_or(ForwardedError::Unparseable)?;
    Ok(Some(PeerCertificate {
        leaf,
        intermediates: certs.collect(),
    }))
}

fn ascii_trimmed(bytes: &[u8]) -> Result<&str, ForwardedError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ForwardedError::Unparseable)?;
    if !text.is_ascii() {
        return Err(ForwardedError::Unparseable);
    }
    Ok(text.trim_matches([' ', '\t']))
}

/// Decodes a certificate header value: the leaf first, then any chain it carries.
fn decode(format: HeaderFormat, value: &str) -> Result<Vec<ClientCertificate>, ForwardedError> {
    match resolve(format, value) {
        HeaderFormat::Pem => strict_pem(value),
        HeaderFormat::UrlEncodedPem => strict_pem(&percent_decode(value)?),
        HeaderFormat::Der => Ok(vec![der_base64(value)?]),
        HeaderFormat::Rfc9440 => Ok(vec![sf_binary(value)?]),
        HeaderFormat::Xfcc => xfcc(value),
        HeaderFormat::Auto => Err(ForwardedError::Unparseable),
    }
}

/// Decodes a chain header value (RFC 9440 `Client-Cert-Chain` is a list of byte sequences;
/// other formats carry one or more PEM blocks, or comma-separated base64 DER).
fn decode_chain(
    format: HeaderFormat,
    value: &str,
) -> Result<Vec<ClientCertificate>, ForwardedError> {
    match resolve(format, value) {
        HeaderFormat::Rfc9440 => value
            .split(',')
            .map(|item| sf_binary(item.trim_matches([' ', '\t'])))
            .collect(),
        HeaderFormat::Der => value
            .split(',')
            .map(|item| der_base64(item.trim_matches([' ', '\t'])))
            .collect(),
        other => decode(other, value),
    }
}

/// The concrete format of a value under `format` (which may be `Auto`).
fn resolve(format: HeaderFormat, value: &str) -> HeaderFormat {
    if format != HeaderFormat::Auto {
        return format;
    }
    let upper = value.get(..13).unwrap_or(value).to_ascii_uppercase();
    if value.starts_with("-----BEGIN") && !value.starts_with("-----BEGIN%") {
        HeaderFormat::Pem
    } else if upper.starts_with("-----BEGIN%20") || upper.starts_with("%2D") {
        HeaderFormat::UrlEncodedPem
    } else if value.starts_with(':') {
        HeaderFormat::Rfc9440
    } else if is_xfcc(value) {
        HeaderFormat::Xfcc
    } else if value.starts_with("MI") {
        HeaderFormat::Der
    } else {
        HeaderFormat::Auto
    }
}

/// PEM blocks with nothing but whitespace around and between them (RFC 7468 §2, strict).
fn strict_pem(text: &str) -> Result<Vec<ClientCertificate>, ForwardedError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut rest = text.trim();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let body = rest
            .strip_prefix(BEGIN)
            .ok_or(ForwardedError::Unparseable)?;
        let end = body.find(END).ok_or(ForwardedError::Unparseable)?;
        let b64 = &body[..end];
        if !b64.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=') || b.is_ascii_whitespace()
        }) {
            return Err(ForwardedError::Unparseable);
        }
        let block = format!("{BEGIN}\n{b64}\n{END}\n");
        let der = pem::certificate_blocks(&block).map_err(|_| ForwardedError::Unparseable)?;
        for d in der {
            out.push(ClientCertificate::from_der(d).map_err(|_| ForwardedError::Unparseable)?);
        }
        rest = body[end + END.len()..].trim_start();
    }
    if out.is_empty() {
        return Err(ForwardedError::Unparseable);
    }
    Ok(out)
}

/// Strict percent-decoding; `+` stays `+` (it is a base64 character here, not a space).
fn percent_decode(text: &str) -> Result<String, ForwardedError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
            let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) else {
                return Err(ForwardedError::Unparseable);
            };
            out.push(u8::try_from(h * 16 + l).map_err(|_| ForwardedError::Unparseable)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ForwardedError::Unparseable)
}

/// Bare base64 (standard alphabet, padding optional) of one DER certificate.
fn der_base64(text: &str) -> Result<ClientCertificate, ForwardedError> {
    let der = STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .map_err(|_| ForwardedError::Unparseable)?;
    ClientCertificate::from_der(der).map_err(|_| ForwardedError::Unparseable)
}

/// RFC 8941 §3.3.5 byte sequence `:base64:` holding one DER certificate (RFC 9440 §2.2).
fn sf_binary(text: &str) -> Result<ClientCertificate, ForwardedError> {
    let inner = text
        .strip_prefix(':')
        .and_then(|t| t.strip_suffix(':'))
        .ok_or(ForwardedError::Unparseable)?;
    if inner.contains(':') {
        return Err(ForwardedError::Unparseable);
    }
    der_base64(inner)
}

/// Whether a value looks like an Envoy XFCC element list (`Key=value;Key=value`).
fn is_xfcc(value: &str) -> bool {
    let key = value.split(['=', ';', ',']).next().unwrap_or_default();
    value.contains('=')
        && ["by", "hash", "cert", "chain", "subject", "uri", "dns"]
            .iter()
            .any(|k| key.eq_ignore_ascii_case(k))
}

/// Envoy `x-forwarded-client-cert`: comma-separated elements of `;`-separated `key=value`
/// pairs, values optionally quoted. The last element is the one added by the proxy nearest to
/// certbound, i.e. the trusted one; its `Cert` (URL-encoded PEM) is the client certificate and
/// its `Chain`, when present, adds the intermediates.
fn xfcc(value: &str) -> Result<Vec<ClientCertificate>, ForwardedError> {
    let elements = split_unquoted(value, ',')?;
    let last = elements.last().ok_or(ForwardedError::Unparseable)?;
    let (mut cert, mut chain) = (None, None);
    for pair in split_unquoted(last, ';')? {
        let (k, v) = pair.split_once('=').ok_or(ForwardedError::Unparseable)?;
        let v = unquote(v.trim())?;
        match k.trim().to_ascii_lowercase().as_str() {
            "cert" if cert.is_none() => cert = Some(v),
            "chain" if chain.is_none() => chain = Some(v),
            "cert" | "chain" => return Err(ForwardedError::Unparseable),
            _ => {}
        }
    }
    let mut out = match &cert {
        Some(c) => strict_pem(&percent_decode(c)?)?,
        None => Vec::new(),
    };
    if let Some(chain) = &chain {
        for c in strict_pem(&percent_decode(chain)?)? {
            if !out.iter().any(|have| have.thumbprint() == c.thumbprint()) {
                out.push(c);
            }
        }
    }
    if out.is_empty() {
        return Err(ForwardedError::Unparseable);
    }
    Ok(out)
}

/// Splits on `sep` outside double quotes (a backslash escapes the next character in quotes).
fn split_unquoted(text: &str, sep: char) -> Result<Vec<String>, ForwardedError> {
    let (mut parts, mut current, mut quoted, mut escaped) =
        (Vec::new(), String::new(), false, false);
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if quoted || escaped {
        return Err(ForwardedError::Unparseable);
    }
    parts.push(current);
    Ok(parts)
}

/// Removes surrounding quotes and backslash escapes from an XFCC value.
fn unquote(v: &str) -> Result<String, ForwardedError> {
    let Some(inner) = v.strip_prefix('"') else {
        return Ok(v.to_owned());
    };
    let inner = inner.strip_suffix('"').ok_or(ForwardedError::Unparseable)?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(chars.next().ok_or(ForwardedError::Unparseable)?);
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "forwarded_tests.rs"]
mod tests;
