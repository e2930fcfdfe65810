//! `[log]`: the tracing filter, the output format of the main log and the audit file.

use anyhow::{Result, bail};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    filter: Option<String>,
    format: Option<String>,
    audit_file: Option<PathBuf>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event; attacker-controlled text is escaped.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    fn parse(s: &str) -> Result<LogFormat> {
        match s {
            "human" => Ok(LogFormat::Human),
            "json" => Ok(LogFormat::Json),
            other => bail!("log.format {other:?} is not \"human\" or \"json\""),
        }
    }
}

/// The validated `[log]` section.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// tracing filter directive (`CERTBOUND_LOG`, `[log] filter`; default `info`).
    pub filter: String,
    /// Format of the main log (standard error): `--log-format`, `[log] format`; default human.
    pub format: LogFormat,
    /// Where audit events go as JSON lines (appended, created 0600); `None`: the main log.
    pub audit_file: Option<PathBuf>,
}

impl RawLog {
    /// Applies the environment (`CERTBOUND_LOG`) and the `--log-format` flag.
    pub(super) fn validate(
        self,
        env: impl Fn(&str) -> Option<String>,
        format_flag: Option<LogFormat>,
    ) -> Result<LogConfig> {
        let format = match (format_flag, self.format) {
            (Some(f), _) => f,
            (None, Some(s)) => LogFormat::parse(&s)?,
            (None, None) => LogFormat::Human,
        };
        if self
            .audit_file
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            bail!("log.audit_file is empty: name a file, or leave the key out");
        }
        Ok(LogConfig {
            filter: env("CERTBOUND_LOG")
                .or(self.filter)
                .unwrap_or_else(|| "info".to_owned()),
            format,
            audit_file: self.audit_file,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn raw(toml_text: &str) -> RawLog {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn format_defaults_to_human_the_file_can_choose_json_and_the_flag_wins() {
        let none = |_: &str| None;
        assert_eq!(
            raw("").validate(none, None).unwrap().format,
            LogFormat::Human
        );
        let json = raw("format = \"json\"");
        assert_eq!(json.validate(none, None).unwrap().format, LogFormat::Json);
        let human = raw("format = \"human\"");
        let c = human.validate(none, Some(LogFormat::Json)).unwrap();
        assert_eq!(c.format, LogFormat::Json);
        let e = raw("format = \"xml\"").validate(none, None).unwrap_err();
        assert!(e.to_string().contains("log.format"), "{e}");
    }

    #[test]
    fn filter_comes_from_the_environment_then_the_file_and_audit_file_is_optional() {
        let c = raw("filter = \"warn\"\naudit_file = \"/tmp/a.jsonl\"")
            .validate(|k| (k == "CERTBOUND_LOG").then(|| "debug".to_owned()), None)
            .unwrap();
        assert_eq!(c.filter, "debug");
        assert_eq!(c.audit_file, Some(PathBuf::from("/tmp/a.jsonl")));
        let c = raw("").validate(|_| None, None).unwrap();
        assert_eq!((c.filter.as_str(), c.audit_file), ("info", None));
        assert!(raw("audit_file = \"\"").validate(|_| None, None).is_err());
    }
}
