//! CPU time used by this process, read from `/proc/self/stat` (Linux), so the driver script
//! can tell the load generator's CPU apart from everything else on the machine.

/// Clock ticks per second of `/proc` times (`USER_HZ`, 100 on every Linux architecture that
/// matters here).
const TICKS_PER_SECOND: f64 = 100.0;

/// User + system CPU seconds this process has used so far; 0 when `/proc` is unavailable.
pub fn process_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| parse_stat(&s))
        .unwrap_or(0.0)
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line, in seconds.
fn parse_stat(line: &str) -> Option<f64> {
    // The command name (field 2) may contain spaces: count fields after its closing ')'.
    let rest = &line[line.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utime_and_stime_after_a_command_with_spaces() {
        let line = "42 (a b) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_stat(line), Some(3.0));
    }
}
