//! Log set-up: the main log on standard error (human-readable, or JSON lines with
//! `--log-format json`) and the audit stream (target `audit`, see `certbound_core::audit`),
//! which goes to its own file of JSON lines when `[log] audit_file` is set.

pub(crate) mod clock;
mod escape;

use crate::config::{LogConfig, LogFormat};
use anyhow::{Context, Result};
use certbound_core::audit::TARGET as AUDIT;
use std::io::IsTerminal;
use std::sync::Arc;
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry, fmt};

use escape::EscapingFields;

/// Installs the global subscriber for this process (server or CLI command).
pub fn init(config: &LogConfig) -> Result<()> {
    let audit_file = config
        .audit_file
        .as_deref()
        .map(|path| {
            crate::fsutil::append_private(path).context("log.audit_file: cannot open the audit log")
        })
        .transpose()?;
    let separate_audit = audit_file.is_some();
    let main =
        main_layer(config.format).with_filter(main_filter(&config.filter, separate_audit)?.and(
            filter_fn(move |meta| !(separate_audit && meta.target() == AUDIT)),
        ));
    let audit = audit_file.map(|file| {
        json_layer()
            .with_writer(Arc::new(file))
            .with_filter(filter_fn(|meta| meta.target() == AUDIT))
    });
    tracing_subscriber::registry()
        .with(main)
        .with(audit)
        .try_init()
        .context("cannot install the logger")
}

/// The main log's formatter, writing to standard error; colours only on a terminal.
fn main_layer(format: LogFormat) -> Box<dyn Layer<Registry> + Send + Sync> {
    match format {
        LogFormat::Human => fmt::layer()
            .with_timer(clock::UtcMicros)
            .fmt_fields(EscapingFields)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed(),
        LogFormat::Json => json_layer().with_writer(std::io::stderr).boxed(),
    }
}

/// One JSON object per line: `timestamp`, `level`, `message` and the fields at top level,
/// `target`. serde_json escapes control characters, so values cannot break the line.
fn json_layer<S>()
-> fmt::Layer<S, fmt::format::JsonFields, fmt::format::Format<fmt::format::Json, clock::UtcMicros>>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fmt::layer()
        .json()
        .with_timer(clock::UtcMicros)
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_ansi(false)
}

/// The configured filter; audit events are always in the main log (at info) unless they
/// have their own file or the filter names the `audit` target itself.
fn main_filter(directives: &str, separate_audit: bool) -> Result<EnvFilter> {
    let mut directives = directives.to_owned();
    if !separate_audit && !directives.contains(AUDIT) {
        directives.push_str(&format!(",{AUDIT}=info"));
    }
    EnvFilter::try_new(directives.trim_start_matches(','))
        .map_err(|e| anyhow::anyhow!("invalid log filter {directives:?}: {e}"))
}
