//! A minimal DER reader (X.690) for the two places this crate reads ASN.1 itself: attribute
//! values in a certificate's subject `Name` (RFC 5280 §4.1.2.6) and `#hexstring` values in
//! RFC 4514 strings (§2.4). It decodes ASN.1 character strings to Rust strings.
//!
//! It must not be used to parse whole certificates: that is x509-parser's job. Every function is
//! total: bad input yields `None`, never a panic.

/// One decoded TLV: the tag byte, the content octets and the complete encoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet (low-tag-number form only).
    pub(crate) tag: u8,
    /// The content octets.
    pub(crate) content: &'a [u8],
    /// Identifier, length and content octets together.
    pub(crate) whole: &'a [u8],
}

/// ASN.1 universal tags used here.
pub(crate) mod tag {
    /// OBJECT IDENTIFIER.
    pub(crate) const OID: u8 = 0x06;
    /// SEQUENCE (constructed).
    pub(crate) const SEQUENCE: u8 = 0x30;
    /// SET (constructed).
    pub(crate) const SET: u8 = 0x31;
    /// UTF8String.
    pub(crate) const UTF8: u8 = 0x0c;
    /// NumericString.
    pub(crate) const NUMERIC: u8 = 0x12;
    /// PrintableString.
    pub(crate) const PRINTABLE: u8 = 0x13;
    /// TeletexString (T61String).
    pub(crate) const TELETEX: u8 = 0x14;
    /// IA5String.
    pub(crate) const IA5: u8 = 0x16;
    /// VisibleString.
    pub(crate) const VISIBLE: u8 = 0x1a;
    /// UniversalString (UCS-4).
    pub(crate) const UNIVERSAL: u8 = 0x1c;
    /// BMPString (UCS-2).
    pub(crate) const BMP: u8 = 0x1e;
}

/// Reads one TLV from the front of `input`, returning it and the remaining bytes.
/// Only definite lengths (DER) and single-byte tags are accepted.
pub(crate) fn read_tlv(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, after_tag) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high-tag-number form: never used by the structures read here
    }
    let (&first, mut after_len) = after_tag.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None; // indefinite length, or absurdly long
        }
        let (len_bytes, rest) = (after_len.get(..n)?, after_len.get(n..)?);
        after_len = rest;
        len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let content = after_len.get(..len)?;
    let rest = after_len.get(len..)?;
    let whole_len = input.len() - rest.len();
    let whole = input.get(..whole_len)?;
    Some((
        Tlv {
            tag,
            content,
            whole,
        },
        rest,
    ))
}

/// Reads exactly one TLV: `None` if there are trailing bytes.
pub(crate) fn read_single(input: &[u8]) -> Option<Tlv<'_>> {
    match read_tlv(input)? {
        (tlv, []) => Some(tlv),
        _ => None,
    }
}

/// Decodes OBJECT IDENTIFIER content octets (X.690 §8.19) to dotted-decimal form.
pub(crate) fn oid_to_string(content: &[u8]) -> Option<String> {
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    let mut in_arc = false;
    for &b in content {
        if !in_arc && b == 0x80 {
            return None; // non-minimal encoding
        }
        acc = acc.checked_mul(128)?.checked_add(u128::from(b & 0x7f))?;
        in_arc = b & 0x80 != 0;
        if !in_arc {
            arcs.push(acc);
            acc = 0;
        }
    }
    if in_arc || arcs.is_empty() {
        return None;
    }
    let first = arcs.remove(0);
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut s = format!("{a}.{b}");
    for arc in arcs {
        s.push('.');
        s.push_str(&arc.to_string());
    }
    Some(s)
}

/// Decodes the content of an ASN.1 character string of the given universal tag.
///
/// TeletexString is read as Latin-1 (the common practice; true T.61 is never used), BMPString as
/// UTF-16BE, UniversalString as UTF-32BE. Returns `None` for non-string tags or invalid content.
pub(crate) fn decode_string(tag: u8, content: &[u8]) -> Option<String> {
    match tag {
        tag::UTF8 => String::from_utf8(content.to_vec()).ok(),
        tag::PRINTABLE | tag::IA5 | tag::NUMERIC | tag::VISIBLE => {
            if content.is_ascii() {
                String::from_utf8(content.to_vec()).ok()
            } else {
                None
            }
        }
        tag::TELETEX => Some(content.iter().map(|&b| char::from(b)).collect()),
        tag::BMP => {
            if !content.chunks_exact(2).remainder().is_empty() {
                return None;
            }
            let units = content
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        tag::UNIVERSAL => {
            if !content.chunks_exact(4).remainder().is_empty() {
                return None;
            }
            content
                .chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let (tlv, rest) = read_tlv(&[0x0c, 0x02, b'h', b'i', 0xff]).unwrap();
        assert_eq!(tlv.tag, 0x0c);
        assert_eq!(tlv.content, b"hi");
        assert_eq!(tlv.whole, &[0x0c, 0x02, b'h', b'i']);
        assert_eq!(rest, &[0xff]);
        let mut long = vec![0x04, 0x81, 200];
        long.extend(std::iter::repeat_n(7u8, 200));
        assert_eq!(read_single(&long).unwrap().content.len(), 200);
        assert!(read_single(&[0x04, 0x05, 1]).is_none());
        assert!(read_single(&[0x04, 0x80, 0, 0]).is_none());
        assert!(read_single(&[0x04, 0x00, 0x00]).is_none());
        assert!(read_single(&[]).is_none());
    }

    #[test]
    fn decodes_oids() {
        assert_eq!(oid_to_string(&[0x55, 0x04, 0x03]).unwrap(), "2.5.4.3");
        let email = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];
        assert_eq!(oid_to_string(&email).unwrap(), "1.2.840.113549.1.9.1");
        assert!(oid_to_string(&[0x55, 0x84]).is_none());
        assert!(oid_to_string(&[]).is_none());
    }

    #[test]
    fn decodes_string_types() {
        assert_eq!(decode_string(tag::BMP, &[0, b'A', 0, 0xe9]).unwrap(), "Aé");
        assert_eq!(decode_string(tag::TELETEX, &[b'A', 0xe9]).unwrap(), "Aé");
        assert_eq!(
            decode_string(tag::UNIVERSAL, &[0, 0, 0, b'A', 0, 1, 0xf6, 0x00]).unwrap(),
            "A\u{1f600}"
        );
        assert!(decode_string(tag::BMP, &[0]).is_none());
        assert!(decode_string(tag::PRINTABLE, &[0xe9]).is_none());
        assert!(decode_string(0x04, b"x").is_none());
    }
}
