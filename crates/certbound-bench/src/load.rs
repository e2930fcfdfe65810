//! `load`: prepares the scenario's workers, runs them for warm-up + measured seconds, and
//! prints one JSON line. The timing contract: an iteration counts only if it finishes inside
//! the measured window; one cut off by the window's end is dropped uncounted; a timeout is an
//! error; `rps` is ok iterations per measured second.

use crate::cli::{LoadArgs, ScenarioKind};
use crate::cpu;
use crate::scenario::{self, Worker};
use crate::stats::{Percentiles, Stats, Step, Window, round1, round3};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::{Instant, sleep, sleep_until, timeout_at};

pub fn main(args: LoadArgs) -> Result<()> {
    if args.concurrency == 0 {
        bail!("-c must be at least 1");
    }
    if !(args.duration > 0.0 && args.warmup >= 0.0 && args.timeout > 0.0) {
        bail!("need -d > 0, --warmup >= 0 and --timeout > 0");
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    let line = rt.block_on(run(&args, threads))?;
    println!("{line}");
    Ok(())
}

async fn run(args: &LoadArgs, threads: usize) -> Result<String> {
    let mut prepared = scenario::prepare(args)
        .await
        .with_context(|| format!("preparing the {} scenario", args.scenario.as_str()))?;
    let window = Window::starting_now(args.warmup, args.duration);
    let timeout = Duration::from_secs_f64(args.timeout);
    let cpu_probe = tokio::spawn(async move {
        sleep_until(window.from).await;
        let before = cpu::process_seconds();
        sleep_until(window.until).await;
        cpu::process_seconds() - before
    });
    let tasks: Vec<_> = std::mem::take(&mut prepared.workers)
        .into_iter()
        .map(|w| tokio::spawn(drive(w, window, timeout)))
        .collect();
    let mut total = Stats::default();
    for t in tasks {
        total.merge(t.await.context("a worker failed")?);
    }
    let cpu_window = cpu_probe.await.unwrap_or(0.0);
    Ok(report(args, threads, &prepared, total, cpu_window))
}

/// Runs one worker until the end of the window.
async fn drive(mut w: Worker, window: Window, timeout: Duration) -> Stats {
    let mut stats = Stats::default();
    while Instant::now() < window.until {
        let begin = Instant::now();
        let failed = match timeout_at((begin + timeout).min(window.until), w.prepare()).await {
            Ok(Ok(())) => None,
            Ok(Err(kind)) => Some(kind),
            Err(_) => Some("timeout"),
        };
        if let Some(kind) = failed {
            let now = Instant::now();
            if now >= window.until {
                break;
            }
            w.reset();
            stats.record(&window, begin, now, &Step::failed(kind));
            // Do not spin on a server that refuses connections.
            sleep(Duration::from_millis(20)).await;
            continue;
        }
        let begin = Instant::now();
        let deadline = begin + timeout;
        match timeout_at(deadline.min(window.until), w.iterate()).await {
            Ok(step) => stats.record(&window, begin, Instant::now(), &step),
            Err(_) if deadline <= window.until => {
                w.reset();
                stats.record(&window, begin, Instant::now(), &Step::failed("timeout"));
            }
            // Cut off by the end of the window: not counted.
            Err(_) => break,
        }
    }
    stats.connections = w.connections();
    stats
}

/// The JSON line: the contract keys first (rps, p50_ms, p99_ms, ok, errors, status_counts),
/// diagnostics after.
fn report(
    args: &LoadArgs,
    threads: usize,
    prepared: &scenario::Prepared,
    mut s: Stats,
    cpu_window: f64,
) -> String {
    let p = Percentiles::of(&mut s.latencies_us);
    let status_counts: serde_json::Map<String, Value> = s
        .status_counts
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let error_kinds: serde_json::Map<String, Value> = s
        .error_kinds
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let mut fields: Vec<(&str, Value)> = vec![
        ("rps", json!(round1(s.ok as f64 / args.duration))),
        ("p50_ms", json!(p.p50)),
        ("p99_ms", json!(p.p99)),
        ("ok", json!(s.ok)),
        ("errors", json!(s.errors)),
        ("status_counts", Value::Object(status_counts)),
        ("error_kinds", Value::Object(error_kinds)),
        ("p90_ms", json!(p.p90)),
        ("max_ms", json!(p.max)),
        ("mean_ms", json!(p.mean)),
    ];
    if args.scenario == ScenarioKind::Code {
        let t = Percentiles::of(&mut s.part_latencies_us);
        fields.extend([
            ("token_p50_ms", json!(t.p50)),
            ("token_p99_ms", json!(t.p99)),
        ]);
    }
    fields.extend([
        ("connections", json!(s.connections)),
        (
            "loadgen_cpu_util",
            json!(round3(cpu_window / args.duration)),
        ),
        ("loadgen_cpu_s_total", json!(round3(cpu::process_seconds()))),
        ("mode", json!(args.mode.as_str())),
        ("scenario", json!(args.scenario.as_str())),
        ("concurrency", json!(args.concurrency)),
        ("duration_s", json!(args.duration)),
        ("warmup_s", json!(args.warmup)),
        ("threads", json!(threads)),
        ("label", json!(args.label)),
        ("url", json!(prepared.url)),
    ]);
    fields.extend(prepared.setup.iter().cloned());
    ordered_object(&fields)
}

/// A JSON object with its members in the given order (serde_json's map would sort them).
fn ordered_object(fields: &[(&str, Value)]) -> String {
    let members: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::String((*k).to_owned())))
        .collect();
    format!("{{{}}}", members.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_their_order_and_escape() {
        let s = ordered_object(&[("rps", json!(1.5)), ("a\"b", json!({"x": [1]}))]);
        assert_eq!(s, r#"{"rps":1.5,"a\"b":{"x":[1]}}"#);
        let v: Value = serde_json::from_str(&s).unwrap_or(Value::Null);
        assert_eq!(v["rps"], 1.5);
    }
}
