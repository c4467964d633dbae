//! Command-line flags (argh). Parsing only: `main.rs` decides what each
//! flag does. The flags of later features (`-w`, `-c`, `-s`, `--config`)
//! arrive with them.

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

    /// run against the built-in simulated router on 127.0.0.1 (no real
    /// router needed); prints each interface's rate once a second
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
