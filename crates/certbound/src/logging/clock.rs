//! The log lines' timestamp: RFC 3339 in UTC with microseconds, as tracing-subscriber's
//! default writes it (`2026-11-29T23:40:37.149962Z`), but with the date and time of the
//! current second formatted once per second and thread (by the `time` crate) rather than
//! once per line. A token request logs one audit line, and the default formatter's timestamp
//! was about 2.5 % of its instructions (issue 9, callgrind).

use std::cell::RefCell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// The timer of every log layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct UtcMicros;

thread_local! {
    /// The second last formatted on this thread, and its text.
    static LAST: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

impl FormatTime for UtcMicros {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        // A clock before 1970 is logged as the epoch rather than failing the line.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = now.as_secs();
        LAST.with_borrow_mut(|(cached, text)| {
            if *cached != secs {
                *text = prefix(secs);
                *cached = secs;
            }
            w.write_str(text)
        })?;
        let mut micros = *b".000000Z";
        digits(&mut micros[1..7], now.subsec_micros());
        // Only ASCII digits and separators were written.
        w.write_str(std::str::from_utf8(&micros).map_err(|_| fmt::Error)?)
    }
}

/// Writes `value` as decimal digits filling `out`, zero-padded on the left.
fn digits(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        // A digit, so it fits a byte.
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix second, UTC; `None` outside the years the `time` crate
/// represents. Shared with the certificate-expiry log lines.
pub(crate) fn utc_second(unix: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    Some(format!(
        "{}T{:02}:{:02}:{:02}",
        t.date(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// The date and time of the current second, as [`utc_second`] writes it.
fn prefix(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(utc_second)
        .unwrap_or_else(|| secs.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(prefix(0), "1970-01-01T00:00:00");
        assert_eq!(prefix(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(prefix(951_868_799), "2000-02-29T23:59:59");
        assert_eq!(prefix(1_709_251_199), "2024-02-29T23:59:59");
        assert_eq!(prefix(1_709_251_200), "2024-03-01T00:00:00");
        assert_eq!(prefix(1_798_761_599), "2026-12-31T23:59:59");
        assert_eq!(prefix(4_107_542_400), "2100-03-01T00:00:00");
        assert_eq!(prefix(4_107_542_399), "2100-02-28T23:59:59");
    }

    #[test]
    fn lines_carry_microseconds_and_zulu() {
        let mut s = String::new();
        UtcMicros.format_time(&mut Writer::new(&mut s)).unwrap();
        assert_eq!(s.len(), 27, "{s}");
        assert!(s.ends_with('Z') && s.as_bytes()[19] == b'.', "{s}");
        let year: u64 = s[..4].parse().unwrap();
        assert!(year >= 2024, "{s}");
    }
}
