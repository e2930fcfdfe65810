//! `startup`: starts a server command several times and measures, for each start, the time
//! from exec to the first TCP connect + TLS handshake that completes; prints the times and
//! their median as one JSON line. Each server is stopped (SIGTERM, then SIGKILL) before the
//! next start. It does not judge the time against any budget.

use crate::cli::StartupArgs;
use crate::http::{Target, connector};
use crate::stats::round3;
use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use std::fs::OpenOptions;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn main(args: StartupArgs) -> Result<()> {
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut times = Vec::with_capacity(args.repeat);
    for _ in 0..args.repeat {
        times.push(rt.block_on(once(&args))?);
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = match sorted.len() {
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    };
    println!(
        "{}",
        json!({ "median_ms": round3(median), "startup_ms": times, "label": args.label })
    );
    Ok(())
}

/// One start: milliseconds from exec to the first completed handshake.
async fn once(args: &StartupArgs) -> Result<f64> {
    let target = Target::parse(&args.url, connector(&args.cacert, None, None)?)?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| anyhow!("no command given after --"))?;
    let out = match &args.log {
        Some(p) => Stdio::from(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("opening {}", p.display()))?,
        ),
        None => Stdio::null(),
    };
    let err = match &args.log {
        Some(p) => Stdio::from(OpenOptions::new().append(true).open(p)?),
        None => Stdio::null(),
    };
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let limit = Duration::from_secs_f64(args.timeout);
    let result = loop {
        if target.endpoint.handshake().await {
            break Ok(started.elapsed().as_secs_f64() * 1000.0);
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(anyhow!(
                "{program} exited with {status} before accepting TLS"
            ));
        }
        if started.elapsed() > limit {
            break Err(anyhow!("{program} did not accept TLS within {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    stop(&mut child)?;
    result
}

/// SIGTERM, up to 10 s for a clean exit, then SIGKILL.
fn stop(child: &mut Child) -> Result<()> {
    if child.try_wait()?.is_some() {
        return Ok(());
    }
    // std only sends SIGKILL; ask politely first so the server shuts down as in production.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill()?;
    child.wait()?;
    Ok(())
}
