//! The RFC 4514 string parser behind [`DistinguishedName::parse_rfc4514`].
//!
//! Grammar (RFC 4514 §3) with the usual leniencies of RFC 2253/1779 readers:
//!
//! * RDNs are separated by `,` only (`;` is *not* a separator and is refused unescaped);
//!   multi-valued RDNs join `type=value` pairs with `+`.
//! * Spaces (any ASCII whitespace) around `,` `+` `=` are ignored; unescaped trailing spaces of
//!   a value are dropped.
//! * A type is a known short or long name (case-insensitive), a dotted OID, or `OID.` + OID.
//! * Values: `\` + one of `,+"\<>;= #` or a hex pair (a UTF-8 byte, RFC 4514 §2.4); a
//!   `"quoted"` value (RFC 2253 §4 legacy); or `#hexstring`, the BER encoding of the value
//!   (RFC 4514 §2.4), decoded when it is a character string.
//!
//! The parser works on bytes with bounds-checked access only, so no input can make it panic.
//! It must not normalise: that is `dn.rs`'s job.
//!
//! [`DistinguishedName::parse_rfc4514`]: crate::DistinguishedName::parse_rfc4514

use crate::CertError;
use crate::der;
use crate::dn::{AttrValue, Attribute, oid_for_name};

/// Inputs longer than this are refused (no real DN is anywhere near it).
const MAX_LEN: usize = 16 * 1024;

fn err(reason: &str) -> CertError {
    CertError::InvalidDn(reason.to_owned())
}

/// Parses an RFC 4514 string into RDNs (in string order), values un-normalised.
pub(crate) fn parse(s: &str) -> Result<Vec<Vec<Attribute>>, CertError> {
    if s.len() > MAX_LEN {
        return Err(err("too long"));
    }
    if s.trim().is_empty() {
        return Err(err("empty"));
    }
    let mut p = Parser {
        b: s.as_bytes(),
        pos: 0,
    };
    let mut rdns = Vec::new();
    let mut rdn = Vec::new();
    loop {
        p.skip_spaces();
        let oid = p.attribute_type()?;
        p.skip_spaces();
        if p.next() != Some(b'=') {
            return Err(err("expected '=' after attribute type"));
        }
        p.skip_spaces();
        let value = p.value()?;
        rdn.push(Attribute { oid, value });
        p.skip_spaces();
        match p.next() {
            None => {
                rdns.push(rdn);
                return Ok(rdns);
            }
            Some(b',') => rdns.push(std::mem::take(&mut rdn)),
            Some(b'+') => {}
            Some(_) => return Err(err("expected ',' or '+' after value")),
        }
    }
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &[u8] {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.b.get(start..self.pos).unwrap_or_default()
    }

    /// `attributeType = descr / numericoid` (RFC 4512 §1.4), plus RFC 1779's `OID.` prefix.
    fn attribute_type(&mut self) -> Result<String, CertError> {
        match self.peek() {
            Some(c) if c.is_ascii_digit() => self.numericoid(),
            Some(c) if c.is_ascii_alphabetic() => {
                let word = self.take_while(|c| c.is_ascii_alphanumeric() || c == b'-');
                let word = String::from_utf8_lossy(word).into_owned();
                if word.eq_ignore_ascii_case("oid") && self.peek() == Some(b'.') {
                    self.pos += 1;
                    return self.numericoid();
                }
                oid_for_name(&word)
                    .map(str::to_owned)
                    .ok_or_else(|| err("unknown attribute type name"))
            }
            _ => Err(err("empty or invalid attribute type")),
        }
    }

    /// `numericoid = number 1*( DOT number )`, numbers without leading zeros.
    fn numericoid(&mut self) -> Result<String, CertError> {
        let raw = self.take_while(|c| c.is_ascii_digit() || c == b'.');
        let text = String::from_utf8_lossy(raw).into_owned();
        let arcs: Vec<&str> = text.split('.').collect();
        let well_formed = arcs.len() >= 2
            && arcs
                .iter()
                .all(|a| !a.is_empty() && (a.len() == 1 || !a.starts_with('0')));
        if well_formed {
            Ok(text)
        } else {
            Err(err("invalid numeric OID"))
        }
    }

    fn value(&mut self) -> Result<AttrValue, CertError> {
        match self.peek() {
            Some(b'#') => {
                self.pos += 1;
                self.hex_value()
            }
            Some(b'"') => {
                self.pos += 1;
                self.quoted_value()
            }
            _ => self.plain_value(),
        }
    }

    /// `#hexstring`: the BER encoding of the value (RFC 4514 §2.4, §3).
    fn hex_value(&mut self) -> Result<AttrValue, CertError> {
        let hex = self.take_while(|c| c.is_ascii_hexdigit()).to_vec();
        if hex.is_empty() || !hex.chunks_exact(2).remainder().is_empty() {
            return Err(err(
                "#hexstring needs an even, non-zero number of hex digits",
            ));
        }
        let bytes: Vec<u8> = hex
            .chunks_exact(2)
            .filter_map(|pair| hex_pair(pair.first().copied(), pair.get(1).copied()))
            .collect();
        let tlv = der::read_single(&bytes).ok_or_else(|| err("#hexstring is not one BER value"))?;
        // A character string that does not decode (invalid UTF-8 in a UTF8String, say) stays
        // its encoding, exactly as a certificate's own DN keeps it (`dn.rs`), so the hex form
        // printed for such a value reads back equal (found by the `certificate` fuzz target).
        Ok(match der::decode_string(tlv.tag, tlv.content) {
            Some(text) => AttrValue::Text(text),
            None => AttrValue::Binary(tlv.whole.to_vec()),
        })
    }

    /// RFC 2253 §4 quoted value: everything up to the closing unescaped `"`.
    fn quoted_value(&mut self) -> Result<AttrValue, CertError> {
        let mut buf = Vec::new();
        loop {
            match self.next() {
                None => return Err(err("unterminated quoted value")),
                Some(b'"') => break,
                Some(b'\\') => buf.push(self.escape()?),
                Some(c) => buf.push(c),
            }
        }
        text(buf)
    }

    /// An unquoted value up to the next unescaped `,` or `+`.
    fn plain_value(&mut self) -> Result<AttrValue, CertError> {
        let mut buf = Vec::new();
        let mut keep = 0; // length without unescaped trailing whitespace
        while let Some(c) = self.peek() {
            match c {
                b',' | b'+' => break,
                b'\\' => {
                    self.pos += 1;
                    buf.push(self.escape()?);
                    keep = buf.len();
                }
                b'"' | b';' | b'<' | b'>' => {
                    return Err(err("special character must be escaped"));
                }
                _ => {
                    self.pos += 1;
                    buf.push(c);
                    if !c.is_ascii_whitespace() {
                        keep = buf.len();
                    }
                }
            }
        }
        buf.truncate(keep);
        text(buf)
    }

    /// The byte after a `\` (the backslash already consumed): a special or a hex pair.
    fn escape(&mut self) -> Result<u8, CertError> {
        match self.next() {
            None => Err(err("unterminated escape")),
            Some(c @ (b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';' | b'=' | b' ' | b'#')) => {
                Ok(c)
            }
            Some(c) if c.is_ascii_hexdigit() => {
                hex_pair(Some(c), self.next()).ok_or_else(|| err("invalid hex escape"))
            }
            Some(_) => Err(err("invalid escape")),
        }
    }
}

fn hex_pair(hi: Option<u8>, lo: Option<u8>) -> Option<u8> {
    let digit = |c: u8| char::from(c).to_digit(16);
    let (hi, lo) = (digit(hi?)?, digit(lo?)?);
    u8::try_from(hi * 16 + lo).ok()
}

fn text(buf: Vec<u8>) -> Result<AttrValue, CertError> {
    String::from_utf8(buf)
        .map(AttrValue::Text)
        .map_err(|_| err("value is not valid UTF-8"))
}

#[cfg(test)]
#[path = "dn_tests.rs"]
mod tests;
