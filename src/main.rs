//! The `mt-trafmon` binary: parses the flags, sets up logging, loads the
//! config and runs the chosen mode until SIGINT or SIGTERM. Wiring only;
//! everything else lives in the library.
//!
//! Exit statuses: 0 after a clean stop (and for `--help`, `--version`),
//! 1 when the config cannot be used or the daemon cannot start, 2 for bad
//! arguments and for modes that are not built yet.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use mt_trafmon::cli::{self, Parsed};
use mt_trafmon::collector::SystemClock;
use mt_trafmon::daemon::{self, Daemon};
use mt_trafmon::web::{self, server::Server};
use mt_trafmon::{config, demo, logger};

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
    if args.web_only && args.collect_only {
        eprintln!("mt-trafmon: -w (web only) and -c (collect only) exclude each other");
        return ExitCode::from(2);
    }
    if args.setup {
        eprintln!(
            "mt-trafmon: the setup wizard is not built yet; write {} by hand (see README, Configuration)",
            config::DEFAULT_PATH
        );
        return ExitCode::from(2);
    }
    logger::init(args.quiet);
    let stop = match daemon::signal_flag() {
        Ok(stop) => stop,
        Err(e) => {
            log::error!("cannot install the SIGINT/SIGTERM handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.demo {
        if let Err(message) = demo::run(&stop) {
            log::error!("demo: {message}");
        }
        return ExitCode::FAILURE;
    }
    let path = args
        .config
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH));
    let config = match config::load(&path) {
        Ok(config) => config,
        Err(e) => {
            log::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    log::info!(
        "mt-trafmon {} with config {}",
        env!("CARGO_PKG_VERSION"),
        path.display()
    );
    if args.web_only {
        log::error!("-w: the web server is not built yet, so web-only mode has nothing to run");
        return ExitCode::from(2);
    }
    let shift = std::env::var_os("MT_TRAFMON_CLOCK_SHIFT_FILE").map(PathBuf::from);
    let clock = Arc::new(SystemClock::new(shift));
    let daemon = match Daemon::start(&config, clock.clone()) {
        Ok(daemon) => daemon,
        Err(e) => {
            log::error!("cannot start the collectors: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A web server that cannot start is logged and the collectors go on:
    // the data matter more than the page.
    let server = match (config.web.enabled, args.collect_only) {
        (true, false) => {
            let state = web::State::new(&config, &daemon.health, daemon.files(), clock);
            match Server::start(config.web.listen, config.web.port, Arc::new(state)) {
                Ok(server) => Some(server),
                Err(e) => {
                    log::error!(
                        "web: cannot listen on port {} of {}: {e}; collecting without the web server",
                        config.web.port,
                        config.web.listen
                    );
                    None
                }
            }
        }
        _ => None,
    };
    daemon::wait_for(&stop);
    log::info!("stopping");
    if let Some(server) = server {
        server.stop();
    }
    daemon.stop(Duration::from_millis(1500)).exit(0)
}
