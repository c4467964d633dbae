//! The `mt-trafmon` binary: parses the flags, sets up logging and runs the
//! chosen mode. Wiring only; everything else lives in the library.

use std::process::ExitCode;

use mt_trafmon::cli::{self, Parsed};
use mt_trafmon::{demo, logger};

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
    logger::init(args.quiet);
    if args.demo {
        return match demo::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                log::error!("demo stopped: {e}");
                ExitCode::FAILURE
            }
        };
    }
    eprintln!(
        "mt-trafmon {}: only --demo exists so far (the collector, RRD store and web server are not built yet)",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::from(2)
}
