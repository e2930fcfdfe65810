//! Escaping of logged text so that attacker-controlled strings (certificate DNs and SANs,
//! client_ids, usernames, user agents, redirect URIs, anything from a request) cannot forge
//! log lines or send terminal escape sequences.
//!
//! [`EscapingWriter`] is the one escaping helper: it escapes line breaks, C0/C1 controls (ESC
//! included), DEL and the Unicode line separators and bidirectional overrides as `\n`, `\r`,
//! `\t`, `\u{1b}`… and writes everything else as is. [`EscapingFields`] applies it to every
//! field and message of the human-readable log, so no call site can forget it. (The JSON log
//! escapes by construction.)

use std::fmt::{self, Debug, Write};
use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

/// Whether a character must not reach a log line as is.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Writes through to `inner` with control characters escaped; when `quoted`, `"` and `\\`
/// too, so a value in double quotes cannot seem to end and start another field.
struct EscapingWriter<'a, W> {
    inner: &'a mut W,
    quoted: bool,
}

impl<W: Write> Write for EscapingWriter<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Nearly every logged piece is printable ASCII with nothing to escape: one byte scan
        // decides that and writes it whole (a log line per request, so this is a hot path).
        let quoted = self.quoted;
        if s.bytes()
            .all(|b| (0x20..0x7f).contains(&b) && !(quoted && matches!(b, b'"' | b'\\')))
        {
            return self.inner.write_str(s);
        }
        // Runs of harmless characters are written in one piece.
        let mut start = 0;
        for (i, c) in s.char_indices() {
            let special = needs_escape(c) || (self.quoted && matches!(c, '"' | '\\'));
            if !special {
                continue;
            }
            self.inner.write_str(&s[start..i])?;
            match c {
                '\n' => self.inner.write_str("\\n")?,
                '\r' => self.inner.write_str("\\r")?,
                '\t' => self.inner.write_str("\\t")?,
                '"' | '\\' => {
                    self.inner.write_char('\\')?;
                    self.inner.write_char(c)?;
                }
                _ => write!(self.inner, "\\u{{{:x}}}", u32::from(c))?,
            }
            start = i + c.len_utf8();
        }
        self.inner.write_str(&s[start..])
    }
}

/// The human log's field formatter: as tracing-subscriber's default (`message` first, then
/// `name=value`), with every value passed through [`EscapingWriter`] (strings quoted).
#[derive(Debug, Default, Clone, Copy)]
pub struct EscapingFields;

impl<'w> FormatFields<'w> for EscapingFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut visitor = Visitor {
            writer: &mut writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct Visitor<'a, 'w> {
    writer: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Visitor<'_, '_> {
    /// Writes one field (see [`write_field`]), unless an earlier one failed.
    fn write(&mut self, field: &Field, value: Value<'_>) {
        if self.result.is_err() || field.name().starts_with("log.") {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        self.result = write_field(self.writer, separator, field, value);
    }
}

/// `separator`, then `name=value` (or the bare value for `message`), each piece written
/// directly rather than through nested `write!` calls: one line per request passes through
/// here (issue 9).
fn write_field(
    w: &mut Writer<'_>,
    separator: &str,
    field: &Field,
    value: Value<'_>,
) -> fmt::Result {
    w.write_str(separator)?;
    if field.name() != "message" {
        w.write_str(field.name())?;
        w.write_char('=')?;
    }
    match value {
        Value::Str(s) => EscapingWriter {
            inner: w,
            quoted: false,
        }
        .write_str(s),
        Value::Quoted(s) => {
            w.write_char('"')?;
            EscapingWriter {
                inner: &mut *w,
                quoted: true,
            }
            .write_str(s)?;
            w.write_char('"')
        }
        Value::Debug(d) => write!(
            EscapingWriter {
                inner: w,
                quoted: false,
            },
            "{d:?}"
        ),
    }
}

/// A field's value as the visitor received it.
enum Value<'a> {
    /// A string written as is (the message), escaped.
    Str(&'a str),
    /// A string field, escaped and in double quotes.
    Quoted(&'a str),
    /// Anything else, through its `Debug` (which for `%value` fields is its `Display`), escaped.
    Debug(&'a dyn Debug),
}

impl Visit for Visitor<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field, Value::Str(value));
        } else {
            self.write(field, Value::Quoted(value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.write(field, Value::Debug(value));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn escape(s: impl std::fmt::Display, quoted: bool) -> String {
        let mut out = String::new();
        write!(
            EscapingWriter {
                inner: &mut out,
                quoted,
            },
            "{s}"
        )
        .unwrap();
        out
    }

    fn esc(s: &str) -> String {
        escape(s, false)
    }

    #[test]
    fn line_breaks_and_terminal_escapes_are_escaped() {
        assert_eq!(
            esc("CN=a\r\n2026-01-01 INFO forged"),
            "CN=a\\r\\n2026-01-01 INFO forged"
        );
        assert_eq!(esc("\x1b[31mred\x1b[0m"), "\\u{1b}[31mred\\u{1b}[0m");
        assert_eq!(
            esc("tab\there\0nul\x7fdel"),
            "tab\\there\\u{0}nul\\u{7f}del"
        );
    }

    #[test]
    fn c1_controls_and_unicode_separators_are_escaped() {
        assert_eq!(esc("a\u{85}b\u{9b}c"), "a\\u{85}b\\u{9b}c");
        assert_eq!(esc("x\u{2028}y\u{202e}z"), "x\\u{2028}y\\u{202e}z");
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        for s in ["", "client-1", "CN=Zoë Ünïcode,O=Test\\, Inc.", "日本語 😀"] {
            assert_eq!(esc(s), s);
        }
    }

    #[test]
    fn quoted_values_cannot_end_their_field() {
        assert_eq!(
            escape("a\" x5t=\"forged\\", true),
            "a\\\" x5t=\\\"forged\\\\"
        );
    }

    #[test]
    fn display_values_are_escaped_as_they_stream() {
        let v = format_args!("{}{}", "line\n", 1);
        assert_eq!(escape(v, false), "line\\n1");
    }

    #[test]
    fn the_human_formatter_escapes_every_field() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let out = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(EscapingFields)
            .with_ansi(false)
            .with_writer(move || buf.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let evil = "x\r\nERROR forged\x1b[2J";
            tracing::info!(client_id = %evil, user = evil, dbg = ?evil, "seen {evil}");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.contains('\x1b') && !text.contains('\r'), "{text}");
        assert!(
            text.contains("seen x\\r\\nERROR forged\\u{1b}[2J"),
            "{text}"
        );
        assert!(text.contains("client_id=x\\r\\nERROR"), "{text}");
        assert!(text.contains("user=\"x\\r\\nERROR"), "{text}");
        assert!(text.contains("dbg=\"x\\r\\nERROR"), "{text}");
    }
}
