//! The floor under the daemon's idle cost, for `scripts/measure-daemon.sh`
//! (a measurement, not a test). It does per second only what any
//! collector must: sleep to the next whole second and, with `ask`, read
//! the interfaces' counters from the router once (mt-trafmon's own client,
//! one request and its reply). No tracker, no RRD file, no web server.
//! `trip` sends the same request as bytes encoded once and reads until the
//! reply's `!done`, without decoding it: the sleep and the round trip
//! alone, what any client pays. Their threads' CPU time beside the
//! daemon's says how much of the daemon's cost is the wakeup and the round
//! trip on this machine, and how much the client adds to it.
//!
//! `idle_floor sleep`, `idle_floor ask PORT USER PASSWORD NAME...` or
//! `idle_floor trip PORT USER PASSWORD NAME`: runs until killed, talking
//! only to 127.0.0.1:PORT.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{SystemTime, UNIX_EPOCH};

use mt_trafmon::collector::until_next_second;
use mt_trafmon::routeros::client::{Client, Options};
use mt_trafmon::routeros::wire::Sentence;

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

/// `trip`: the counters request of one interface as bytes, sent as they
/// are each second (its tag never changes), and its reply read up to the
/// `!done` that ends it. The plain login of RouterOS 6.43 and later.
fn trip(port: u16, user: &str, password: &str, name: &str) -> ! {
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
    loop {
        std::thread::sleep(until_next_second(wall()));
        stream.write_all(&request).expect("cannot send");
        read_until(&mut stream, b"\x05!done\x06.tag=2\0");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() == 5 && args[0] == "trip" {
        trip(
            args[1].parse().expect("PORT is a number"),
            &args[2],
            &args[3],
            &args[4],
        );
    }
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
            eprintln!(
                "usage: idle_floor sleep | idle_floor ask PORT USER PASSWORD NAME... \
                 | idle_floor trip PORT USER PASSWORD NAME"
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
