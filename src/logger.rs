//! Logging set-up: a small logger behind the `log` facade, writing one
//! line per record to stderr. INFO by default, WARN with `-q`, `RUST_LOG`
//! overriding both. Under systemd (when `JOURNAL_STREAM` is set) lines
//! carry no timestamp, since journald adds one, and start with an
//! sd-daemon priority prefix (`<3>` error … `<7>` debug) that journald
//! turns into the entry's priority; elsewhere they read
//! `[WARN  mt_trafmon::collector] message`.
//!
//! `RUST_LOG` is a comma-separated list of directives, as `env_logger`
//! reads it: a level (`debug`: every module), a module path (`mt_trafmon::web`:
//! every level of it and its submodules) or both (`mt_trafmon::web=debug`);
//! the longest matching path wins, levels are `off`, `error`, `warn`,
//! `info`, `debug` and `trace` in any case. A directive that is none of
//! these is ignored with a warning. (It replaced `env_logger`, whose
//! filter and formatter cost 9,776 B more of the aarch64 binary;
//! `env_logger`'s `/regex` message filter is not supported.)

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Installs the logger with `default` as the level of every module that
/// `RUST_LOG` does not name. Call once, before anything logs.
pub fn init(default: LevelFilter) {
    let spec = std::env::var("RUST_LOG").unwrap_or_default();
    let (rules, ignored) = rules(&spec, default);
    let max = rules
        .iter()
        .map(|(_, level)| *level)
        .max()
        .unwrap_or(default);
    let logger = Logger {
        rules,
        journal: std::env::var_os("JOURNAL_STREAM").is_some(),
    };
    // Leaked: the logger lives as long as the process.
    if log::set_logger(Box::leak(Box::new(logger))).is_ok() {
        log::set_max_level(max);
    }
    for directive in ignored {
        log::warn!(
            "RUST_LOG: ignored {:?}: not a level, a module path or path=level",
            crate::text::escape(&directive)
        );
    }
}

/// The level of each module path (`""` for every module), and the
/// directives that could not be read.
fn rules(spec: &str, default: LevelFilter) -> (Vec<(String, LevelFilter)>, Vec<String>) {
    let mut rules = vec![(String::new(), default)];
    let mut ignored = Vec::new();
    for directive in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let rule = match directive.split_once('=') {
            Some((path, level)) => level
                .trim()
                .parse()
                .ok()
                .map(|level| (path.trim(), level))
                .filter(|(path, _)| !path.is_empty()),
            None => Some(match directive.parse() {
                Ok(level) => ("", level),
                Err(_) => (directive, LevelFilter::Trace),
            }),
        };
        match rule {
            Some((path, level))
                if path
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == ':') =>
            {
                rules.retain(|(p, _)| p != path);
                rules.push((path.to_string(), level));
            }
            _ => ignored.push(directive.to_string()),
        }
    }
    (rules, ignored)
}

/// The level for `target` under `rules`: the longest path that is the
/// target itself or one of its parent modules.
fn level(rules: &[(String, LevelFilter)], target: &str) -> LevelFilter {
    rules
        .iter()
        .filter(|(path, _)| {
            path.is_empty()
                || target
                    .strip_prefix(path.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
        .max_by_key(|(path, _)| path.len())
        .map_or(LevelFilter::Off, |(_, level)| *level)
}

struct Logger {
    rules: Vec<(String, LevelFilter)>,
    journal: bool,
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= level(&self.rules, metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = if self.journal {
            format!("<{}>{}\n", journal_priority(record.level()), record.args())
        } else {
            let level = record.level().as_str();
            format!("[{level:<5} {}] {}\n", record.target(), record.args())
        };
        // One write per line, so that threads' lines do not interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// The syslog priority journald should record for a level.
fn journal_priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities() {
        assert_eq!(journal_priority(Level::Error), 3);
        assert_eq!(journal_priority(Level::Warn), 4);
        assert_eq!(journal_priority(Level::Info), 6);
        assert_eq!(journal_priority(Level::Trace), 7);
    }

    #[test]
    fn rust_log_directives_as_env_logger_reads_them() {
        use LevelFilter::*;
        let at = |spec: &str, target: &str| {
            let (rules, _) = rules(spec, Info);
            level(&rules, target)
        };
        assert_eq!(at("", "mt_trafmon::web"), Info);
        assert_eq!(at("debug", "mt_trafmon::web"), Debug);
        assert_eq!(at("WARN", "tiny_http"), Warn);
        assert_eq!(at("mt_trafmon::web=debug", "mt_trafmon::web"), Debug);
        assert_eq!(at("mt_trafmon::web=debug", "mt_trafmon::web::setup"), Debug);
        assert_eq!(at("mt_trafmon::web=debug", "mt_trafmon::webx"), Info);
        assert_eq!(at("mt_trafmon::web=debug", "mt_trafmon::collector"), Info);
        assert_eq!(at("mt_trafmon::web", "mt_trafmon::web"), Trace);
        assert_eq!(at("off,mt_trafmon=warn", "tiny_http"), Off);
        assert_eq!(at("off,mt_trafmon=warn", "mt_trafmon::daemon"), Warn);
        assert_eq!(
            at(
                "mt_trafmon=error, mt_trafmon::web = trace",
                "mt_trafmon::web::server"
            ),
            Trace
        );
        // The later of two directives for one path counts.
        assert_eq!(at("info,warn", "x"), Warn);
        assert_eq!(at("mt_trafmon=debug,mt_trafmon=error", "mt_trafmon"), Error);
    }

    #[test]
    fn unreadable_directives_are_ignored_and_reported() {
        let (rules, ignored) = rules("debug,web=loud,a b,/regex,=warn", LevelFilter::Info);
        assert_eq!(ignored, ["web=loud", "a b", "/regex", "=warn"]);
        assert_eq!(level(&rules, "anything"), LevelFilter::Debug);
    }
}
