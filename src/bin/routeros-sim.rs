//! `routeros-sim`: the simulated MikroTik router of `mt_trafmon::sim` as a
//! stand-alone program, for scripts and for other RouterOS clients (the
//! interop tests drive it with two Python libraries).
//!
//! It parses the flags, starts the simulator, prints one line
//! `routeros-sim listening on <ip>:<port>` to stdout and then runs until it
//! is killed. It deliberately has no other output on stdout (logging goes
//! to stderr through `RUST_LOG`), no config file and no way to listen on
//! anything but a loopback address.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

use argh::FromArgs;
use mt_trafmon::sim::{Fault, LoginMode, Options, Simulator};

/// The most `--extra-interfaces` (a real router has far fewer).
const MAX_EXTRA_INTERFACES: usize = 4096;

/// A simulated MikroTik router speaking the RouterOS API on a loopback
/// address. Users admin, reader, noapi and noread share one password.
#[derive(FromArgs)]
struct Args {
    /// loopback address to listen on (default 127.0.0.1)
    #[argh(option, default = "IpAddr::V4(Ipv4Addr::LOCALHOST)")]
    listen: IpAddr,
    /// TCP port; 0 (the default) picks a free one
    #[argh(option, default = "0")]
    port: u16,
    /// password of every user (default secret)
    #[argh(option, default = "String::from(\"secret\")")]
    password: String,
    /// speak the pre-6.43 MD5 challenge login only
    #[argh(switch)]
    legacy_login: bool,
    /// never send !empty (a RouterOS older than 7.18)
    #[argh(switch)]
    no_empty: bool,
    /// most sessions open at once (default 20)
    #[argh(option, default = "20")]
    max_sessions: usize,
    /// seed of the simulated traffic (default 1)
    #[argh(option, default = "1")]
    seed: u64,
    /// interfaces after the five, vlan1 to vlanN, with LAN traffic
    /// (default 0, at most 4096; for measuring many interfaces)
    #[argh(option, default = "0")]
    extra_interfaces: usize,
    /// fault to inject: none, silent, garbage, fragment, drop-after=N,
    /// slow=MS or fatal=REASON (default none)
    #[argh(option, default = "Fault::None")]
    fault: Fault,
}

fn main() -> ExitCode {
    mt_trafmon::logger::init(log::LevelFilter::Warn);
    let args: Args = argh::from_env();
    if args.extra_interfaces > MAX_EXTRA_INTERFACES {
        eprintln!("routeros-sim: --extra-interfaces is at most {MAX_EXTRA_INTERFACES}");
        return ExitCode::from(2);
    }
    let mut users = Options::default_users();
    for user in &mut users {
        user.password.clone_from(&args.password);
    }
    let options = Options {
        listen: args.listen,
        port: args.port,
        users,
        login: match args.legacy_login {
            true => LoginMode::Legacy,
            false => LoginMode::Modern,
        },
        empty_replies: !args.no_empty,
        max_sessions: args.max_sessions,
        seed: args.seed,
        extra_interfaces: args.extra_interfaces,
        ..Options::default()
    };
    let simulator = match Simulator::start(options) {
        Ok(simulator) => simulator,
        Err(e) => {
            eprintln!(
                "routeros-sim: cannot listen on {}:{}: {e}",
                args.listen, args.port
            );
            return ExitCode::from(2);
        }
    };
    simulator.set_fault(args.fault);
    let mut stdout = std::io::stdout().lock();
    let announced = writeln!(stdout, "routeros-sim listening on {}", simulator.addr())
        .and_then(|()| stdout.flush());
    if let Err(e) = announced {
        eprintln!("routeros-sim: cannot write to stdout: {e}");
        return ExitCode::from(1);
    }
    drop(stdout);
    // Serve until killed; `park` may return spuriously, hence the loop.
    loop {
        std::thread::park();
    }
}
