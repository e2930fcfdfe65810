//! PEM armour (RFC 7468) for certificates and CRLs: find `CERTIFICATE` (or `X509 CRL`) blocks,
//! encode a certificate.
//!
//! Only the textual armour lives here; the DER inside is handed to `certificate.rs`. Blocks of
//! any other label (private keys above all) are refused, so that a user who points the server at
//! a key file gets an error rather than silence. Text outside blocks is ignored (RFC 7468 §2),
//! which also accepts the single-line form some proxies send (armour and base64 separated by
//! spaces instead of newlines).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::CertError;

const BEGIN: &str = "-----BEGIN ";
const DASHES: &str = "-----";

/// Decodes every `CERTIFICATE` block of `text` to DER, in order.
///
/// Errors: `NoCertificate` if there is no block at all, `Malformed` for a block with another
/// label, a missing or mismatched END line, or invalid base64.
pub(crate) fn certificate_blocks(text: &str) -> Result<Vec<Vec<u8>>, CertError> {
    labelled_blocks(text, "CERTIFICATE")
}

/// Decodes every block labelled `label` (e.g. `X509 CRL`, RFC 7468 §6) of `text` to DER, in
/// order, with the errors of [`certificate_blocks`].
pub(crate) fn labelled_blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let wanted = label;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after_begin = &rest[start + BEGIN.len()..];
        let label_end = after_begin.find(DASHES).ok_or(CertError::Malformed)?;
        let label = &after_begin[..label_end];
        if label != wanted {
            return Err(CertError::Malformed);
        }
        let body_and_rest = &after_begin[label_end + DASHES.len()..];
        let end_marker = format!("-----END {wanted}-----");
        let body_end = body_and_rest
            .find(end_marker.as_str())
            .ok_or(CertError::Malformed)?;
        let body = &body_and_rest[..body_end];
        if body.contains(DASHES) {
            // A BEGIN without its END, followed by another block.
            return Err(CertError::Malformed);
        }
        out.push(decode_body(body)?);
        rest = &body_and_rest[body_end + end_marker.len()..];
    }
    if rest.contains("-----END ") {
        return Err(CertError::Malformed);
    }
    if out.is_empty() {
        return Err(CertError::NoCertificate);
    }
    Ok(out)
}

/// Strict base64 of the block body, whitespace (any ASCII whitespace) removed first.
fn decode_body(body: &str) -> Result<Vec<u8>, CertError> {
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(CertError::Malformed);
    }
    STANDARD.decode(compact).map_err(|_| CertError::Malformed)
}

/// Encodes DER as a `CERTIFICATE` block with 64-column lines (RFC 7468 §2), newline-terminated.
pub(crate) fn encode_certificate(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 60);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    let mut line = String::with_capacity(65);
    for c in b64.chars() {
        line.push(c);
        if line.len() == 64 {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
    }
    if !line.is_empty() {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_multi_line_and_single_line() {
        let der: Vec<u8> = (0..=200u8).collect();
        let pem = encode_certificate(&der);
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(certificate_blocks(&pem).unwrap(), vec![der.clone()]);
        let single = pem.replace('\n', " ");
        assert_eq!(certificate_blocks(&single).unwrap(), vec![der.clone()]);
        let two = format!("subject=CN=x\n{pem}\n{pem}");
        assert_eq!(certificate_blocks(&two).unwrap().len(), 2);
    }

    #[test]
    fn rejects_keys_empty_and_broken_armour() {
        assert_eq!(certificate_blocks(""), Err(CertError::NoCertificate));
        assert_eq!(certificate_blocks("hello"), Err(CertError::NoCertificate));
        let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(certificate_blocks(key), Err(CertError::Malformed));
        let unterminated = "-----BEGIN CERTIFICATE-----\nAAAA\n";
        assert_eq!(certificate_blocks(unterminated), Err(CertError::Malformed));
        let bad_b64 = "-----BEGIN CERTIFICATE-----\nA*AA\n-----END CERTIFICATE-----\n";
        assert_eq!(certificate_blocks(bad_b64), Err(CertError::Malformed));
        let empty = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
        assert_eq!(certificate_blocks(empty), Err(CertError::Malformed));
        let stray_end = "-----END CERTIFICATE-----\n";
        assert_eq!(certificate_blocks(stray_end), Err(CertError::Malformed));
    }
}
