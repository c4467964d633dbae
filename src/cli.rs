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

    /// the demo's web port on 127.0.0.1 (default 8080; 0 takes any free
    /// one); with --demo only
    #[argh(option)]
    pub port: Option<u16>,

    /// a subcommand instead of the daemon
    #[argh(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(FromArgs, Debug, PartialEq, Eq)]
#[argh(subcommand)]
pub enum Command {
    /// `import-ini`.
    ImportIni(ImportIni),
    /// `passwd`.
    Passwd(Passwd),
}

/// Set the settings page's admin password (asked twice, not shown; stored
/// as a salted hash in the config file).
#[derive(FromArgs, Debug, PartialEq, Eq)]
#[argh(subcommand, name = "passwd")]
pub struct Passwd {
    /// the config file (default /etc/mt-trafmon/mt-trafmon.toml)
    #[argh(option, short = 'c')]
    pub config: Option<PathBuf>,
}

/// Read the original's mt-trafmon.ini and write the equivalent TOML config
/// (to standard output unless --output is given); what could not be
/// carried over is listed on standard error.
#[derive(FromArgs, Debug, PartialEq, Eq)]
#[argh(subcommand, name = "import-ini")]
pub struct ImportIni {
    /// the original's mt-trafmon.ini
    #[argh(positional)]
    pub ini: PathBuf,

    /// write the config here (mode 0600, atomically) instead of printing it
    #[argh(option)]
    pub output: Option<PathBuf>,

    /// the directory the original ran in, for a relative rrd_file (default:
    /// the current directory)
    #[argh(option)]
    pub cwd: Option<PathBuf>,

    /// replace an existing --output file
    #[argh(switch)]
    pub force: bool,
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
    fn the_import_subcommand() {
        let Parsed::Run(args) = parse(
            "mt-trafmon",
            &["import-ini", "/opt/mt.ini", "--output", "/tmp/x.toml"],
        ) else {
            panic!("parses");
        };
        assert_eq!(
            args.command,
            Some(Command::ImportIni(ImportIni {
                ini: "/opt/mt.ini".into(),
                output: Some("/tmp/x.toml".into()),
                cwd: None,
                force: false,
            }))
        );
        assert!(matches!(
            parse("mt-trafmon", &["import-ini"]),
            Parsed::Invalid(_)
        ));
    }

    #[test]
    fn the_passwd_subcommand() {
        let passwd = |args: &[&str]| match parse("mt-trafmon", args) {
            Parsed::Run(Args {
                command: Some(Command::Passwd(passwd)),
                ..
            }) => passwd.config,
            other => panic!("{other:?}"),
        };
        assert_eq!(passwd(&["passwd"]), None);
        assert_eq!(passwd(&["passwd", "-c", "/x.toml"]), Some("/x.toml".into()));
        assert_eq!(
            passwd(&["passwd", "--config", "/x.toml"]),
            Some("/x.toml".into())
        );
    }

    #[test]
    fn flags() {
        let run = |args: &[&str]| match parse("mt-trafmon", args) {
            Parsed::Run(args) => args,
            other => panic!("{other:?}"),
        };
        assert!(run(&["-v"]).version);
        assert!(run(&["--version"]).version);
        assert!(run(&["--demo", "-q"]).demo);
        assert_eq!(run(&["--demo", "--port", "0"]).port, Some(0));
        assert_eq!(run(&["--demo"]).port, None);
        assert!(matches!(
            parse("mt-trafmon", &["--demo", "--port", "65536"]),
            Parsed::Invalid(_)
        ));
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
