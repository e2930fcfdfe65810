//! A minimal DER (ITU-T X.690 §10) reader: just enough to find the public key inside an
//! X.509 certificate (RFC 5280 §4.1) and the modulus and exponent inside an RSA public key
//! (RFC 8017 §A.1.1). It must not grow into a general ASN.1 parser; anything unexpected is
//! `None`.

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_EXPLICIT_0: u8 = 0xA0;

/// Reads one tag-length-value; returns (tag, contents, rest). Definite lengths only (X.690 §10.1).
fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (bytes, after) = rest.split_at_checked(count)?;
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

/// Reads one TLV that must carry `tag`; returns (contents, rest).
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (got, contents, rest) = read_tlv(input)?;
    (got == tag).then_some((contents, rest))
}

/// The `subjectPublicKey` bits of a certificate (RFC 5280 §4.1.2.7): for RSA the DER
/// `RSAPublicKey`, for EC the uncompressed point. `None` if `cert` is not a well-formed
/// certificate with nothing after it.
pub(super) fn certificate_public_key(cert: &[u8]) -> Option<&[u8]> {
    let (certificate, trailing) = expect(cert, TAG_SEQUENCE)?;
    if !trailing.is_empty() {
        return None;
    }
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
    let (tbs, rest) = expect(certificate, TAG_SEQUENCE)?;
    let (_, rest) = expect(rest, TAG_SEQUENCE)?;
    let (_, rest) = expect(rest, TAG_BIT_STRING)?;
    if !rest.is_empty() {
        return None;
    }
    let mut fields = tbs;
    if fields.first() == Some(&TAG_EXPLICIT_0) {
        fields = read_tlv(fields)?.2; // version
    }
    let (_, fields) = expect(fields, TAG_INTEGER)?; // serialNumber
    let (_, fields) = expect(fields, TAG_SEQUENCE)?; // signature
    let (_, fields) = expect(fields, TAG_SEQUENCE)?; // issuer
    let (_, fields) = expect(fields, TAG_SEQUENCE)?; // validity
    let (_, fields) = expect(fields, TAG_SEQUENCE)?; // subject
    let (spki, _) = expect(fields, TAG_SEQUENCE)?; // subjectPublicKeyInfo
    let (_, spki_rest) = expect(spki, TAG_SEQUENCE)?; // algorithm
    let (bits, _) = expect(spki_rest, TAG_BIT_STRING)?;
    let (&unused_bits, key) = bits.split_first()?;
    (unused_bits == 0).then_some(key)
}

/// (n, e) of a DER `RSAPublicKey` (RFC 8017 §A.1.1), big-endian without leading zero bytes.
pub(super) fn rsa_public_key(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (seq, trailing) = expect(der, TAG_SEQUENCE)?;
    if !trailing.is_empty() {
        return None;
    }
    let (n, rest) = expect(seq, TAG_INTEGER)?;
    let (e, rest) = expect(rest, TAG_INTEGER)?;
    if !rest.is_empty() {
        return None;
    }
    let (n, e) = (strip_leading_zeros(n), strip_leading_zeros(e));
    (!n.is_empty() && !e.is_empty()).then_some((n, e))
}

/// Drops leading zero bytes (a DER INTEGER's sign byte, or a non-minimal JWK value).
pub(super) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}
