//! What a run measured: the measured window, per-worker tallies merged at the end, and
//! nearest-rank percentiles of the recorded latencies. Only iterations that finish inside the
//! window count; nothing here knows about HTTP.

use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// The measured window `[from, until]`; load starts at `start` (warm-up before `from`).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: Instant,
    pub until: Instant,
}

impl Window {
    /// Warm-up seconds from now, then `duration` measured seconds.
    pub fn starting_now(warmup: f64, duration: f64) -> Window {
        let from = Instant::now() + Duration::from_secs_f64(warmup);
        Window {
            from,
            until: from + Duration::from_secs_f64(duration),
        }
    }

    pub fn contains(&self, t: Instant) -> bool {
        t >= self.from && t <= self.until
    }
}

/// The verdict on one iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every response was what the scenario expects.
    Ok,
    /// A response came, but not the expected one (`non_2xx`, `body_mismatch`, ...).
    Bad(&'static str),
    /// No response (`connect`, `tls_handshake`, `timeout`, ...).
    Err(&'static str),
}

impl Outcome {
    /// The kind to count: `ok`, or what went wrong.
    pub fn kind(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Bad(k) | Outcome::Err(k) => k,
        }
    }
}

/// One finished iteration: its verdict, the HTTP statuses it saw, and for two-request
/// scenarios the latency of the part reported separately (the token POST of `code`).
#[derive(Debug)]
pub struct Step {
    pub outcome: Outcome,
    pub statuses: Vec<u16>,
    pub part: Option<Duration>,
}

impl Step {
    pub fn failed(kind: &'static str) -> Step {
        Step {
            outcome: Outcome::Err(kind),
            statuses: Vec::new(),
            part: None,
        }
    }
}

/// Tallies of one worker, or of all after [`Stats::merge`].
#[derive(Debug, Default)]
pub struct Stats {
    pub ok: u64,
    pub errors: u64,
    pub status_counts: BTreeMap<u16, u64>,
    pub error_kinds: BTreeMap<&'static str, u64>,
    /// Microseconds of each ok iteration.
    pub latencies_us: Vec<u64>,
    /// Microseconds of the separately reported part of each ok iteration.
    pub part_latencies_us: Vec<u64>,
    pub connections: u64,
}

impl Stats {
    /// Counts a step that ended at `end`, if `end` is inside the window.
    pub fn record(&mut self, window: &Window, begin: Instant, end: Instant, step: &Step) {
        if !window.contains(end) {
            return;
        }
        for s in &step.statuses {
            *self.status_counts.entry(*s).or_default() += 1;
        }
        match step.outcome {
            Outcome::Ok => {
                self.ok += 1;
                self.latencies_us.push(micros(end - begin));
                if let Some(p) = step.part {
                    self.part_latencies_us.push(micros(p));
                }
            }
            Outcome::Bad(kind) | Outcome::Err(kind) => {
                self.errors += 1;
                *self.error_kinds.entry(kind).or_default() += 1;
            }
        }
    }

    pub fn merge(&mut self, o: Stats) {
        self.ok += o.ok;
        self.errors += o.errors;
        for (k, v) in o.status_counts {
            *self.status_counts.entry(k).or_default() += v;
        }
        for (k, v) in o.error_kinds {
            *self.error_kinds.entry(k).or_default() += v;
        }
        self.latencies_us.extend(o.latencies_us);
        self.part_latencies_us.extend(o.part_latencies_us);
        self.connections += o.connections;
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Summary of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles; all zero for no samples.
    pub fn of(samples: &mut [u64]) -> Percentiles {
        samples.sort_unstable();
        let ms = |us: u64| round3(us as f64 / 1000.0);
        let rank = |q: f64| {
            let n = samples.len();
            let i = ((q * n as f64).ceil() as usize).clamp(1, n.max(1)) - 1;
            samples.get(i).copied().map_or(0.0, ms)
        };
        let sum: u64 = samples.iter().sum();
        Percentiles {
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: samples.last().copied().map_or(0.0, ms),
            mean: if samples.is_empty() {
                0.0
            } else {
                round3(sum as f64 / samples.len() as f64 / 1000.0)
            },
        }
    }
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_step(part: Option<Duration>) -> Step {
        Step {
            outcome: Outcome::Ok,
            statuses: vec![200],
            part,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut xs: Vec<u64> = (1..=100).rev().map(|x| x * 1000).collect();
        let p = Percentiles::of(&mut xs);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(p.mean, 50.5);
        assert_eq!(Percentiles::of(&mut []).p99, 0.0);
        assert_eq!(Percentiles::of(&mut [7000]).p50, 7.0);
    }

    #[test]
    fn only_steps_ending_inside_the_window_count() {
        let t0 = Instant::now();
        let w = Window {
            from: t0 + Duration::from_secs(1),
            until: t0 + Duration::from_secs(2),
        };
        let mut s = Stats::default();
        let ms = Duration::from_millis;
        s.record(&w, t0, t0 + ms(900), &ok_step(None));
        s.record(&w, t0 + ms(900), t0 + ms(1100), &ok_step(Some(ms(50))));
        s.record(&w, t0 + ms(1900), t0 + ms(2100), &ok_step(None));
        let bad = Step {
            outcome: Outcome::Bad("non_2xx"),
            statuses: vec![503],
            part: None,
        };
        s.record(&w, t0 + ms(1200), t0 + ms(1300), &bad);
        s.record(&w, t0, t0 + ms(1500), &Step::failed("timeout"));
        assert_eq!((s.ok, s.errors), (1, 2));
        assert_eq!(s.latencies_us, vec![200_000]);
        assert_eq!(s.part_latencies_us, vec![50_000]);
        assert_eq!(s.status_counts.get(&200), Some(&1));
        assert_eq!(s.status_counts.get(&503), Some(&1));
        assert_eq!(s.error_kinds.get("timeout"), Some(&1));
    }
}
