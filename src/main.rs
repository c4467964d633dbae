//! The `mt-trafmon` binary: parses the flags, sets up logging, and runs
//! the chosen mode (the daemon, [`daemon::run`], until SIGINT or SIGTERM;
//! the demo; the wizard; the ini importer; `passwd`, the settings page's
//! admin password), turning its outcome into an
//! exit status. Wiring only; everything else lives in the library.
//!
//! Without a config file at its path, at a terminal, it runs the setup
//! wizard first and then goes on (unless the wizard started the packaged
//! service); without a terminal it says how to create the file and exits 3.
//!
//! Exit statuses: 0 after a clean stop, after the wizard wrote the config
//! (`-s`), and for `--help` and `--version`; 1 when the config cannot be
//! used, the daemon cannot start, or the wizard ended without writing; 2
//! for bad arguments; 3 when there is no config file and no terminal to run
//! the wizard on (also `-s` without a terminal), so that systemd and
//! scripts can tell "not set up yet" from "broken". Ctrl-C in the wizard
//! ends the process by SIGINT (a shell shows 130).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use mt_trafmon::cli::{self, Command, ImportIni, Parsed};
use mt_trafmon::collector::SystemClock;
use mt_trafmon::daemon::{self, Parts};
use mt_trafmon::{config, demo, import_ini, logger, wizard};

/// The exit status for "no config and no terminal to run the wizard on".
const NOT_SET_UP: u8 = 3;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let program = argv.first().map_or("mt-trafmon", String::as_str);
    let rest: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
    let args = match cli::parse(program, &rest) {
        Parsed::Run(args) => args,
        Parsed::Help(text) => {
            println!("{text}");
            return ExitCode::SUCCESS;
        }
        Parsed::Invalid(text) => {
            eprintln!("{text}");
            return ExitCode::from(2);
        }
    };
    if args.version {
        println!("mt-trafmon {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if let Some(Command::ImportIni(import)) = &args.command {
        return import_ini(import);
    }
    if let Some(Command::Passwd(passwd)) = &args.command {
        let path = (passwd.config.clone().or(args.config.clone()))
            .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH));
        if !wizard::terminal_available() {
            return fail(
                &"passwd asks for the password at a terminal; run it in one",
                NOT_SET_UP,
            );
        }
        return match wizard::passwd_terminal(&path) {
            Ok(()) => ExitCode::SUCCESS,
            Err(stop) => fail(&stop, 1),
        };
    }
    if args.web_only && args.collect_only {
        return fail(&"-w (web only) and -c (collect only) exclude each other", 2);
    }
    if args.port.is_some() && !args.demo {
        return fail(
            &"--port is the demo's; the daemon's port is web.port in the config file",
            2,
        );
    }
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH));
    if args.setup {
        if !wizard::terminal_available() {
            return fail(
                &format_args!(
                    "the setup wizard needs a terminal (standard input and output); run mt-trafmon -s in one, or write {} by hand (see README, Configuration)",
                    path.display()
                ),
                NOT_SET_UP,
            );
        }
        return match wizard::run_terminal(&path) {
            Ok(_) => ExitCode::SUCCESS,
            Err(stop) => fail(&stop, 1),
        };
    }
    logger::init(if args.quiet {
        log::LevelFilter::Warn
    } else {
        log::LevelFilter::Info
    });
    let mut parts = Parts {
        collect: !args.web_only,
        serve: !args.collect_only,
    };
    if !args.demo && matches!(path.try_exists(), Ok(false)) {
        if !wizard::terminal_available() {
            let flag = match path == Path::new(config::DEFAULT_PATH) {
                true => String::new(),
                false => format!(" --config {}", path.display()),
            };
            log::error!(
                "no config file at {}, and no terminal to ask on: create it once with `mt-trafmon -s{flag}` (as root), or from the original's ini with `mt-trafmon import-ini`",
                path.display()
            );
            return ExitCode::from(NOT_SET_UP);
        }
        match wizard::run_terminal(&path) {
            Ok(outcome) if outcome.service_started => return ExitCode::SUCCESS,
            Ok(outcome) => {
                parts.collect &= outcome.collects;
                parts.serve &= outcome.serves;
            }
            Err(stop) => return fail(&stop, 1),
        }
    }
    if args.demo {
        let port = args.port.unwrap_or(config::DEFAULT_WEB_PORT);
        return match demo::run(port) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                log::error!("demo: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let shift = std::env::var_os("MT_TRAFMON_CLOCK_SHIFT_FILE").map(PathBuf::from);
    match daemon::run(&path, parts, Arc::new(SystemClock::new(shift))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            log::error!("{failure}");
            ExitCode::FAILURE
        }
    }
}

/// Says `mt-trafmon: <message>` on standard error; returns exit status
/// `status`.
fn fail(message: &dyn std::fmt::Display, status: u8) -> ExitCode {
    eprintln!("mt-trafmon: {message}");
    ExitCode::from(status)
}

/// `mt-trafmon import-ini`: the original's ini as TOML, with notes on
/// standard error.
fn import_ini(args: &ImportIni) -> ExitCode {
    let cwd = match args.cwd.clone().map_or_else(std::env::current_dir, Ok) {
        Ok(cwd) => cwd,
        Err(e) => {
            return fail(&format_args!("cannot tell the current directory: {e}"), 1);
        }
    };
    let import = match import_ini::run(&args.ini, &cwd) {
        Ok(import) => import,
        Err(e) => {
            return fail(
                &format_args!("cannot import {}: {e}", args.ini.display()),
                1,
            );
        }
    };
    for note in &import.notes {
        eprintln!("note: {note}");
    }
    let text = match import.toml() {
        Ok(text) => text,
        Err(e) => {
            return fail(&format_args!("cannot write the config: {e}"), 1);
        }
    };
    let Some(output) = &args.output else {
        print!("{text}");
        return ExitCode::SUCCESS;
    };
    if output.exists() && !args.force {
        return fail(
            &format_args!("{} exists; give --force to replace it", output.display()),
            1,
        );
    }
    match config::save(output, &text) {
        Ok(()) => {
            eprintln!("wrote {}", output.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format_args!("cannot write {}: {e}", output.display()), 1),
    }
}
