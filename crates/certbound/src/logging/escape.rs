//! Escaping of logged text so that attacker-controlled strings (certificate DNs and SANs,
//! client_ids, usernames, user agents, redirect URIs, anything from a request) cannot forge
//! log lines or send terminal escape sequences.
//!
//! [`Escaped`] is the one escaping helper; [`EscapingFields`] applies it to every field and
//! message of the human-readable log, so no call site can forget it. (The JSON log escapes
//! by construction.)

use std::fmt::{self, Debug, Display, Write};
use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

/// Displays a value with line breaks, C0/C1 controls (ESC included), DEL and the Unicode
/// line separators and bidirectional overrides escaped: `\n`, `\r`, `\t`, `\u{1b}`…
/// Everything else is written as is.
pub struct Escaped<T> {
    value: T,
    quoted: bool,
}

impl<T: Display> Escaped<T> {
    /// The value with control characters escaped.
    pub fn new(value: T) -> Self {
        Escaped {
            value,
            quoted: false,
        }
    }

    /// The value in double quotes, with `"` and `\` escaped too, so it cannot seem to end
    /// and start another field.
    pub fn quoted(value: T) -> Self {
        Escaped {
            value,
            quoted: true,
        }
    }
}

impl<T: Display> Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quoted {
            f.write_char('"')?;
        }
        write!(
            EscapingWriter {
                inner: f,
                quoted: self.quoted
            },
            "{}",
            self.value
        )?;
        if self.quoted {
            f.write_char('"')?;
        }
        Ok(())
    }
}

/// Whether a character must not reach a log line as is.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

struct EscapingWriter<'a, W> {
    inner: &'a mut W,
    quoted: bool,
}

impl<W: Write> Write for EscapingWriter<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
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
/// `name=value`), with every value passed through [`Escaped`] (strings quoted).
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
    fn write(&mut self, field: &Field, value: impl Display) {
        if self.result.is_err() || field.name().starts_with("log.") {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        self.result = if field.name() == "message" {
            write!(self.writer, "{separator}{value}")
        } else {
            write!(self.writer, "{separator}{}={value}", field.name())
        };
    }
}

impl Visit for Visitor<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field, Escaped::new(value));
        } else {
            self.write(field, Escaped::quoted(value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.write(field, Escaped::new(format_args!("{value:?}")));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        Escaped::new(s).to_string()
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
            Escaped::quoted("a\" x5t=\"forged\\").to_string(),
            "\"a\\\" x5t=\\\"forged\\\\\""
        );
    }

    #[test]
    fn display_values_are_escaped_as_they_stream() {
        let v = format_args!("{}{}", "line\n", 1);
        assert_eq!(Escaped::new(v).to_string(), "line\\n1");
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
