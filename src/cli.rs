//! Command-line flags (argh). Parsing only: `main.rs` decides what each
//! flag does.

use std::path::PathBuf;

use argh::FromArgs;

/// Per-second bandwidth monitor for MikroTik routers.
#[derive(FromArgs, Debug, PartialEq, Eq)]
pub struct Args {
    /// print the version and exit
    #[argh(switch, short = 'v')]
    pub version: bool,

    /// log warnings and errors only
    #[argh(switch, short = 'q')]
    pub quiet: bool,

    /// the config file (default /etc/mt-trafmon/mt-trafmon.toml)
    #[argh(option)]
    pub config: Option<PathBuf>,

    /// serve the web pages only; collect nothing (the RRD files are written
    /// by another machine)
    #[argh(switch, short = 'w')]
    pub web_only: bool,

    /// collect only; serve no web pages
    #[argh(switch, short = 'c')]
    pub collect_only: bool,

    /// run the setup wizard
    #[argh(switch, short = 's')]
    pub setup: bool,

    /// run against the built-in simulated router on 127.0.0.1 (no config
    /// and no real router needed), into a temporary directory
    #[argh(switch)]
    pub demo: bool,
}

/// What parsing decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Run with these flags.
    Run(Args),
    /// `--help`: print this on stdout and exit 0.
    Help(String),
    /// Bad arguments: print this on stderr and exit 2.
    Invalid(String),
}

/// Parses the arguments after the program name. Unlike argh's `from_env`,
/// which exits 1, a usage error is returned so that `main` can exit 2.
pub fn parse(program: &str, args: &[&str]) -> Parsed {
    match Args::from_args(&[program], args) {
        Ok(parsed) => Parsed::Run(parsed),
        Err(exit) => match exit.status {
            Ok(()) => Parsed::Help(exit.output),
            Err(()) => Parsed::Invalid(exit.output),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        let run = |args: &[&str]| match parse("mt-trafmon", args) {
            Parsed::Run(args) => args,
            other => panic!("{other:?}"),
        };
        assert!(run(&["-v"]).version);
        assert!(run(&["--version"]).version);
        assert!(run(&["--demo", "-q"]).demo);
        assert!(run(&["-q"]).quiet);
        assert!(run(&["-w"]).web_only && run(&["--web-only"]).web_only);
        assert!(run(&["-c"]).collect_only && run(&["--collect-only"]).collect_only);
        assert!(run(&["-s"]).setup && run(&["--setup"]).setup);
        assert_eq!(
            run(&["--config", "/tmp/x.toml"]).config,
            Some(PathBuf::from("/tmp/x.toml"))
        );
        assert!(matches!(
            parse("mt-trafmon", &["--config"]),
            Parsed::Invalid(_)
        ));
        assert!(
            matches!(parse("mt-trafmon", &["--help"]), Parsed::Help(text) if text.contains("--demo"))
        );
        assert!(
            matches!(parse("mt-trafmon", &["--bogus"]), Parsed::Invalid(text) if text.contains("--bogus"))
        );
        assert!(matches!(
            parse("mt-trafmon", &["extra"]),
            Parsed::Invalid(_)
        ));
    }
}
