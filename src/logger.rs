//! Logging set-up: `env_logger` behind the `log` facade. INFO by default,
//! WARN with `-q`, `RUST_LOG` overriding both. Under systemd (when
//! `JOURNAL_STREAM` is set) lines carry no timestamp, since journald adds
//! one, and start with an sd-daemon priority prefix (`<3>` error …
//! `<7>` debug) that journald turns into the entry's priority.

use std::io::Write;

use log::{Level, LevelFilter};

/// Installs the logger. Call once, before anything logs.
pub fn init(quiet: bool) {
    let default = if quiet {
        LevelFilter::Warn
    } else {
        LevelFilter::Info
    };
    let mut builder = env_logger::Builder::new();
    builder.filter_level(default);
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.format(|out, record| {
            writeln!(
                out,
                "<{}>{}",
                journal_priority(record.level()),
                record.args()
            )
        });
    }
    builder.init();
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
}
