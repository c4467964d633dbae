//! The floor under the daemon's idle cost, for `scripts/measure-daemon.sh`
//! (a measurement, not a test). It does per second only what any
//! collector must: sleep to the next whole second and, with `ask`, read
//! the interfaces' counters from the router once (mt-trafmon's own client,
//! one request and its reply). No tracker, no RRD file, no web server. Its
//! threads' CPU time beside the daemon's says how much of the daemon's
//! cost is the wakeup and the round trip on this machine.
//!
//! `idle_floor sleep` or `idle_floor ask PORT USER PASSWORD NAME...`: runs
//! until killed, talking only to 127.0.0.1:PORT.

use std::time::{SystemTime, UNIX_EPOCH};

use mt_trafmon::collector::until_next_second;
use mt_trafmon::routeros::client::{Client, Options};

fn wall() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut client = match args.first().map(String::as_str) {
        Some("sleep") => None,
        Some("ask") if args.len() >= 5 => {
            let port = args[1].parse().expect("PORT is a number");
            let mut client = Client::connect("127.0.0.1", port, Options::default())
                .unwrap_or_else(|e| panic!("cannot connect: {e}"));
            client
                .login(&args[2], &args[3])
                .unwrap_or_else(|e| panic!("cannot log in: {e}"));
            Some(client)
        }
        _ => {
            eprintln!("usage: idle_floor sleep | idle_floor ask PORT USER PASSWORD NAME...");
            std::process::exit(2);
        }
    };
    let names: Vec<&str> = args.iter().skip(4).map(String::as_str).collect();
    loop {
        std::thread::sleep(until_next_second(wall()));
        if let Some(client) = &mut client {
            client
                .counters(&names)
                .unwrap_or_else(|e| panic!("cannot read the counters: {e}"));
        }
    }
}
