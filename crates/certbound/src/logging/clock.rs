//! The log lines' timestamp: RFC 3339 in UTC with microseconds, as tracing-subscriber's
//! default writes it (`2026-11-29T23:40:37.149962Z`), but with the date and time of the
//! current second formatted once per second and thread rather than once per line. A token
//! request logs one audit line, and the default formatter's timestamp was about 2.5 % of its
//! instructions (issue 9, callgrind).

use std::cell::Cell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// `YYYY-MM-DDTHH:MM:SS`.
type Prefix = [u8; 19];

/// The timer of every log layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct UtcMicros;

thread_local! {
    /// The second last formatted on this thread, and its text.
    static LAST: Cell<(u64, Prefix)> = const { Cell::new((u64::MAX, [0; 19])) };
}

impl FormatTime for UtcMicros {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        // A clock before 1970 is logged as the epoch rather than failing the line.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = now.as_secs();
        let prefix = LAST.with(|last| {
            let (cached, text) = last.get();
            if cached == secs {
                return text;
            }
            let text = prefix(secs);
            last.set((secs, text));
            text
        });
        let mut line = [0u8; 27];
        line[..19].copy_from_slice(&prefix);
        line[19] = b'.';
        digits(&mut line[20..26], u64::from(now.subsec_micros()));
        line[26] = b'Z';
        // Only ASCII digits and separators were written.
        w.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)
    }
}

/// Writes `value` as decimal digits filling `out`, zero-padded on the left.
fn digits(out: &mut [u8], mut value: u64) {
    for slot in out.iter_mut().rev() {
        // A digit, so it fits a byte.
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The date and time of a Unix second, `YYYY-MM-DDTHH:MM:SS` (proleptic Gregorian, UTC).
fn prefix(secs: u64) -> Prefix {
    let days = secs / 86_400;
    let of_day = secs % 86_400;
    let (year, month, day) = civil(days);
    let mut p = *b"0000-00-00T00:00:00";
    digits(&mut p[0..4], year);
    digits(&mut p[5..7], month);
    digits(&mut p[8..10], day);
    digits(&mut p[11..13], of_day / 3_600);
    digits(&mut p[14..16], of_day % 3_600 / 60);
    digits(&mut p[17..19], of_day % 60);
    p
}

/// Year, month and day of a count of days since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn text(secs: u64) -> String {
        String::from_utf8(prefix(secs).to_vec()).unwrap()
    }

    #[test]
    fn known_instants() {
        assert_eq!(text(0), "1970-01-01T00:00:00");
        assert_eq!(text(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(text(951_868_799), "2000-02-29T23:59:59");
        assert_eq!(text(1_709_251_199), "2024-02-29T23:59:59");
        assert_eq!(text(1_709_251_200), "2024-03-01T00:00:00");
        assert_eq!(text(1_798_761_599), "2026-12-31T23:59:59");
        assert_eq!(text(4_107_542_400), "2100-03-01T00:00:00");
        assert_eq!(text(4_107_542_399), "2100-02-28T23:59:59");
    }

    #[test]
    fn every_day_follows_the_last() {
        // Day by day over 1970..2400: the date advances by exactly one calendar day.
        let mut prev = civil(0);
        for d in 1..(430 * 366) {
            let next = civil(d);
            let leap =
                |y: u64| y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
            let month_len = |y, m| match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let expected = if prev.2 < month_len(prev.0, prev.1) {
                (prev.0, prev.1, prev.2 + 1)
            } else if prev.1 < 12 {
                (prev.0, prev.1 + 1, 1)
            } else {
                (prev.0 + 1, 1, 1)
            };
            assert_eq!(next, expected, "day {d}");
            prev = next;
        }
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
