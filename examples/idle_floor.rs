//! The floor under the daemon's idle cost, for `scripts/measure-daemon.sh`
//! (a measurement, not a test). It does per second only what any
//! collector must: sleep to the next whole second and, with `ask`, read
//! the interfaces' counters from the router once (mt-trafmon's own client,
//! one request and its reply). No tracker, no RRD file, no web server.
//! `trip` sends the same request as bytes encoded once and reads until the
//! reply's `!done`, without decoding it: the sleep and the round trip
//! alone, what any client pays. `collect` adds to the trip one update of an
//! RRD file in a profile's layout, through librrd's updater as
//! the daemon writes it (its page cache dropped after creation, as the
//! daemon does): the least that a collector asking a router and writing one
//! librrd file each second does. Their threads' CPU time beside the
//! daemon's says how much of the daemon's cost is the wakeup, the round
//! trip and the file's update on this machine, and how much the rest adds.
//!
//! `idle_floor sleep`, `idle_floor ask PORT USER PASSWORD NAME...`,
//! `idle_floor trip PORT USER PASSWORD NAME` or
//! `idle_floor collect FILE PROFILE PORT USER PASSWORD NAME` (FILE is
//! created with PROFILE, `original` or `compact`, when missing): runs
//! until killed, talking only to 127.0.0.1:PORT.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use mt_trafmon::collector::until_next_second;
use mt_trafmon::routeros::client::{Client, Options};
use mt_trafmon::routeros::wire::Sentence;
use mt_trafmon::rrd::{self, Updater};
use mt_trafmon::store::{self, Profile};

fn wall() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Reads from `stream` until the bytes read end with `end`.
fn read_until(stream: &mut TcpStream, end: &[u8]) {
    let mut buffer = [0u8; 8192];
    let mut got = 0;
    while !buffer[..got].ends_with(end) {
        if got == buffer.len() {
            got = 0;
        }
        match stream.read(&mut buffer[got..]) {
            Ok(0) | Err(_) => panic!("the router closed the connection"),
            Ok(n) => got += n,
        }
    }
}

/// The counters request of one interface as bytes, sent as they are each
/// second (its tag never changes), on a connection logged in with the plain
/// login of RouterOS 6.43 and later.
struct Trip {
    stream: TcpStream,
    request: Vec<u8>,
}

impl Trip {
    fn connect(port: u16, user: &str, password: &str, name: &str) -> Trip {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("cannot connect");
        stream.set_nodelay(true).expect("cannot set TCP_NODELAY");
        let login = [
            "/login".to_string(),
            format!("=name={user}"),
            format!("=password={password}"),
            ".tag=1".to_string(),
        ];
        stream
            .write_all(&Sentence::new(&login).to_bytes())
            .expect("cannot log in");
        read_until(&mut stream, b"\x06.tag=1\0");
        let request = [
            "/interface/print".to_string(),
            "=.proplist=.id,name,rx-byte,tx-byte".to_string(),
            format!("?name={name}"),
            ".tag=2".to_string(),
        ];
        let request = Sentence::new(&request).to_bytes();
        Trip { stream, request }
    }

    /// Sends the request and reads its reply up to the `!done` that ends it.
    fn once(&mut self) {
        self.stream.write_all(&self.request).expect("cannot send");
        read_until(&mut self.stream, b"\x05!done\x06.tag=2\0");
    }
}

/// `collect`: the trip, then one update line for the whole second, written
/// with the daemon's updater to `file` (created with `profile` when
/// missing, its page cache then dropped).
fn collect(file: &Path, profile: Profile, mut trip: Trip) -> ! {
    if !file.exists() {
        store::create(file, profile, wall() as i64)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", file.display()));
        let opened = std::fs::File::open(file).expect("cannot open the file");
        rustix::fs::fadvise(&opened, 0, None, rustix::fs::Advice::DontNeed)
            .expect("cannot drop the page cache");
    }
    let mut updater = Updater::new(file).expect("cannot make an updater");
    let mut last = rrd::last(file).expect("cannot read the last update") as f64;
    loop {
        std::thread::sleep(until_next_second(wall()));
        trip.once();
        last = wall().floor().max(last + 1.0);
        updater
            .update(&[rrd::update_line(last, Some(1.0e6), Some(2.0e6))])
            .unwrap_or_else(|e| panic!("cannot update: {e}"));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = |i: usize| args[i].parse().expect("PORT is a number");
    if args.len() == 5 && args[0] == "trip" {
        let mut trip = Trip::connect(port(1), &args[2], &args[3], &args[4]);
        loop {
            std::thread::sleep(until_next_second(wall()));
            trip.once();
        }
    }
    if args.len() == 7 && args[0] == "collect" {
        let profile = Profile::ALL
            .into_iter()
            .find(|p| p.name() == args[2])
            .expect("PROFILE is original or compact");
        collect(
            Path::new(&args[1]),
            profile,
            Trip::connect(port(3), &args[4], &args[5], &args[6]),
        );
    }
    let mut client = match args.first().map(String::as_str) {
        Some("sleep") => None,
        Some("ask") if args.len() >= 5 => {
            let mut client = Client::connect("127.0.0.1", port(1), Options::default())
                .unwrap_or_else(|e| panic!("cannot connect: {e}"));
            client
                .login(&args[2], &args[3])
                .unwrap_or_else(|e| panic!("cannot log in: {e}"));
            Some(client)
        }
        _ => {
            eprintln!(
                "usage: idle_floor sleep | idle_floor ask PORT USER PASSWORD NAME... \
                 | idle_floor trip PORT USER PASSWORD NAME \
                 | idle_floor collect FILE PROFILE PORT USER PASSWORD NAME"
            );
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
