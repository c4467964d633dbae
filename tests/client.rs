//! The RouterOS client against the simulator and against scripted loopback
//! peers: every error kind, both login methods, the commands the product
//! uses, and replies split or mangled on the way.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mt_trafmon::routeros::client::{Client, Error, Options};
use mt_trafmon::routeros::wire::{Command, Decoder, Sentence};
use mt_trafmon::sim::{Fault, LoginMode, ManualClock, Simulator};

/// Short deadlines so that a broken case fails fast instead of hanging.
fn quick() -> Options {
    Options {
        connect_timeout: Duration::from_secs(2),
        io_timeout: Duration::from_secs(2),
    }
}

fn start(options: mt_trafmon::sim::Options) -> Simulator {
    Simulator::start(options).expect("simulator starts")
}

fn default_sim() -> Simulator {
    start(mt_trafmon::sim::Options::default())
}

/// A simulator whose clock only moves when the test says so.
fn manual_sim(at: f64) -> (Simulator, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(at));
    let sim = start(mt_trafmon::sim::Options {
        clock: clock.clone(),
        ..mt_trafmon::sim::Options::default()
    });
    (sim, clock)
}

fn connect(sim: &Simulator) -> Client {
    let addr = sim.addr();
    Client::connect(&addr.ip().to_string(), addr.port(), quick()).expect("connects")
}

fn login(sim: &Simulator, user: &str) -> Client {
    let mut client = connect(sim);
    client.login(user, "secret").expect("logs in");
    client
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A one-connection loopback peer that runs `script` on the accepted socket.
fn scripted_peer(script: impl FnOnce(TcpStream) + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            script(stream);
        }
    });
    addr
}

/// Reads one sentence from a scripted peer's socket.
fn read_sentence(stream: &mut TcpStream, decoder: &mut Decoder) -> Sentence {
    let mut buffer = [0u8; 1024];
    loop {
        if let Some(sentence) = decoder.next().unwrap() {
            return sentence;
        }
        let n = stream.read(&mut buffer).unwrap();
        assert!(n > 0, "client closed the connection");
        decoder.feed(&buffer[..n]);
    }
}

fn tag_of(sentence: &Sentence) -> String {
    Command::parse(sentence)
        .unwrap()
        .tag
        .map(|t| String::from_utf8(t).unwrap())
        .unwrap_or_default()
}

fn peer_client(addr: SocketAddr) -> Client {
    Client::connect("127.0.0.1", addr.port(), quick()).unwrap()
}

#[test]
fn logs_in_and_reads_interfaces_counters_rates_and_resource() {
    let (sim, clock) = manual_sim(1_800_000_000.0);
    let mut client = login(&sim, "admin");

    let interfaces = client.interfaces().unwrap();
    let names: Vec<&str> = interfaces.iter().map(|i| i.name.as_str()).collect();
    for expected in ["ether1", "ether2", "ether3", "bridge1", "wlan1"] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let ether3 = interfaces.iter().find(|i| i.name == "ether3").unwrap();
    assert!(ether3.disabled && !ether3.running);
    let ether1 = interfaces.iter().find(|i| i.name == "ether1").unwrap();
    assert!(ether1.running && !ether1.disabled);
    assert_eq!(ether1.kind, "ether");
    let wlan = interfaces.iter().find(|i| i.name == "wlan1").unwrap();
    assert!(
        wlan.comment.as_deref().unwrap().contains('\u{fffd}'),
        "a non-UTF-8 comment is shown lossily: {:?}",
        wlan.comment
    );

    // Counters in one request, in the order asked, agreeing with the rates.
    let before: Vec<_> = client
        .counters(&["ether2", "ether1"])
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(before[0].name, "ether2");
    assert_eq!(before[1].name, "ether1");
    assert!(before[1].rx_bytes > u64::from(u32::MAX), "64-bit counters");
    assert_eq!(
        (before[1].rx_bytes, before[1].tx_bytes),
        sim.counters("ether1").unwrap()
    );
    clock.advance(1.0);
    let after: Vec<_> = client
        .counters(&["ether2", "ether1"])
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let rates = client.monitor_traffic_once(&["ether1", "ether2"]).unwrap();
    assert_eq!(rates[0].name, "ether1");
    assert_eq!(
        (rates[0].rx_bps, rates[0].tx_bps),
        sim.rates("ether1").unwrap()
    );
    assert_eq!(
        (after[1].rx_bytes - before[1].rx_bytes) * 8,
        rates[0].rx_bps
    );
    assert_eq!(
        (after[1].tx_bytes - before[1].tx_bytes) * 8,
        rates[0].tx_bps
    );
    assert_eq!(
        (after[0].rx_bytes - before[0].rx_bytes) * 8,
        rates[1].rx_bps
    );
    assert!(rates[0].rx_bps > 0);

    let resource = client.resource().unwrap();
    assert!(resource.version.starts_with('7'), "{resource:?}");
    assert!(client.counters(&[]).unwrap().is_empty());
    client.quit();
}

#[test]
fn legacy_challenge_login() {
    let sim = start(mt_trafmon::sim::Options {
        login: LoginMode::Legacy,
        ..mt_trafmon::sim::Options::default()
    });
    let mut client = login(&sim, "admin");
    assert!(!client.interfaces().unwrap().is_empty());
    let mut client = connect(&sim);
    assert!(matches!(
        client.login("admin", "wrong"),
        Err(Error::BadCredentials { ref message, .. }) if message == "cannot log in"
    ));
}

#[test]
fn login_errors_say_what_is_wrong() {
    let sim = default_sim();
    let mut client = connect(&sim);
    let error = client.login("admin", "wrong").unwrap_err();
    assert!(
        matches!(error, Error::BadCredentials { ref message, .. } if message == "invalid user name or password (6)"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("check the user name and password")
    );
    // The session stays usable after a refused login.
    client.login("admin", "secret").unwrap();

    let error = connect(&sim).login("noapi", "secret").unwrap_err();
    assert!(matches!(error, Error::NotAllowed { .. }), "{error:?}");
    assert!(error.to_string().contains("'api' policy"), "{error}");

    let mut client = login(&sim, "noread");
    let error = client.interfaces().unwrap_err();
    assert!(matches!(error, Error::Permission { .. }), "{error:?}");
    assert!(error.to_string().contains("'read' policy"), "{error}");

    // A read-only API user can do everything the monitor needs.
    let mut reader = login(&sim, "reader");
    reader.counters(&["ether1"]).unwrap();
    reader.monitor_traffic_once(&["ether1"]).unwrap();
}

#[test]
fn unknown_interfaces_are_named_with_the_routers_list() {
    let sim = default_sim();
    let mut client = login(&sim, "admin");
    // Counters: the names the router lists, `None` for the others.
    let counters = client.counters(&["ether9", "ether1"]).unwrap();
    assert!(counters[0].is_none(), "{counters:?}");
    assert_eq!(counters[1].as_ref().unwrap().name, "ether1");
    // monitor-traffic refuses the whole command: the name is found out.
    let error = client.monitor_traffic_once(&["ether9"]).unwrap_err();
    let Error::UnknownInterface { name, available } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(name, "ether9");
    assert!(available.contains(&"ether1".to_string()));
    assert!(error.to_string().contains("it has: "), "{error}");
    // And the session goes on.
    client.counters(&["ether1"]).unwrap();
}

#[test]
fn empty_and_unknown_commands() {
    for empty_replies in [true, false] {
        let sim = start(mt_trafmon::sim::Options {
            empty_replies,
            ..mt_trafmon::sim::Options::default()
        });
        let mut client = login(&sim, "admin");
        let response = client
            .run(Command::new("/interface/print").query("name=nothing-like-this"))
            .unwrap();
        assert!(response.rows.is_empty());
        let error = client.run(Command::new("/ip/adress/print")).unwrap_err();
        assert!(
            matches!(error, Error::Trap { category: Some(0), ref message, .. } if message.contains("no such command prefix")),
            "{error:?}"
        );
    }
}

#[test]
fn streaming_monitor_and_cancel() {
    let sim = default_sim();
    let mut client = login(&sim, "admin");
    let started = Instant::now();
    let mut monitor = client
        .monitor_traffic(&["ether1", "ether2"], Duration::from_millis(100))
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(monitor.next().unwrap().unwrap().name);
    }
    assert_eq!(
        seen,
        ["ether1", "ether2", "ether1", "ether2", "ether1", "ether2"]
    );
    monitor.cancel().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    // The session is usable after the cancel, with no stray rows.
    assert_eq!(client.counters(&["ether1"]).unwrap().len(), 1);

    let mut monitor = client
        .monitor_traffic(&["ether9"], Duration::from_millis(100))
        .unwrap();
    assert!(matches!(
        monitor.next(),
        Err(Error::UnknownInterface { .. })
    ));
}

#[test]
fn connection_refused_on_a_closed_port() {
    let error = Client::connect("127.0.0.1", closed_port(), quick()).unwrap_err();
    assert!(matches!(error, Error::Refused { .. }), "{error:?}");
    assert!(
        error.to_string().contains("/ip service enable api"),
        "{error}"
    );
}

#[test]
fn unreachable_when_the_connection_attempt_gets_no_answer() {
    // A listener that never accepts: once its accept queue is full, the
    // kernel drops further SYNs, so the next attempt gets no answer at all.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let options = Options {
        connect_timeout: Duration::from_millis(300),
        io_timeout: Duration::from_secs(1),
    };
    let mut held = Vec::new();
    let mut result = None;
    for _ in 0..2000 {
        match Client::connect("127.0.0.1", addr.port(), options) {
            Ok(client) => held.push(client),
            Err(error) => {
                result = Some(error);
                break;
            }
        }
    }
    let error = result.expect("the accept queue filled up");
    assert!(
        matches!(error, Error::Unreachable { ref detail, .. } if detail.contains("no answer")),
        "{error:?}"
    );
    drop(listener);
}

#[test]
fn host_names_and_ipv6() {
    let sim = default_sim();
    // "localhost" may resolve to ::1 first, where nothing listens: the
    // client must go on to 127.0.0.1.
    let mut client = Client::connect("localhost", sim.addr().port(), quick()).unwrap();
    client.login("admin", "secret").unwrap();

    let v6 = match Simulator::start(mt_trafmon::sim::Options {
        listen: "::1".parse().unwrap(),
        ..mt_trafmon::sim::Options::default()
    }) {
        Ok(sim) => sim,
        Err(e) => {
            println!("no IPv6 loopback on this machine ({e}); IPv6 part not run");
            return;
        }
    };
    for host in ["::1", "[::1]"] {
        let mut client = Client::connect(host, v6.addr().port(), quick()).unwrap();
        client.login("admin", "secret").unwrap();
        client.counters(&["ether1"]).unwrap();
    }
}

#[test]
fn silent_and_slow_routers_time_out() {
    let sim = default_sim();
    sim.set_fault(Fault::Silent);
    let mut client = Client::connect(
        "127.0.0.1",
        sim.addr().port(),
        Options {
            connect_timeout: Duration::from_secs(2),
            io_timeout: Duration::from_millis(300),
        },
    )
    .unwrap();
    let error = client.login("admin", "secret").unwrap_err();
    assert!(
        matches!(error, Error::Timeout { ref waiting_for, .. } if waiting_for.contains("/login")),
        "{error:?}"
    );

    sim.set_fault(Fault::Slow(Duration::from_millis(50)));
    let mut client = login(&sim, "admin");
    client.counters(&["ether1"]).unwrap();
}

#[test]
fn dropped_fatal_and_garbage_sessions() {
    let sim = default_sim();
    sim.set_fault(Fault::DropAfter(1));
    let error = connect(&sim).login("admin", "secret").unwrap_err();
    assert!(matches!(error, Error::Closed { .. }), "{error:?}");
    assert!(error.to_string().contains("closed the connection"));

    sim.set_fault(Fault::Fatal("out of memory".into()));
    let error = connect(&sim).login("admin", "secret").unwrap_err();
    assert!(
        matches!(error, Error::Fatal { ref reason } if reason == "out of memory"),
        "{error:?}"
    );

    sim.set_fault(Fault::Garbage);
    let error = connect(&sim).login("admin", "secret").unwrap_err();
    assert!(matches!(error, Error::Protocol { .. }), "{error:?}");

    sim.set_fault(Fault::Fragment);
    let mut client = login(&sim, "admin");
    assert_eq!(client.counters(&["ether1", "ether2"]).unwrap().len(), 2);
    assert!(client.interfaces().unwrap().len() >= 5);
}

#[test]
fn reboot_closes_sessions_and_resets_counters() {
    let (sim, _clock) = manual_sim(1_800_000_000.0);
    let mut client = login(&sim, "admin");
    let before = client.counters(&["ether1"]).unwrap();
    sim.reboot();
    let error = client.counters(&["ether1"]).unwrap_err();
    assert!(matches!(error, Error::Closed { .. }), "{error:?}");
    let mut client = login(&sim, "admin");
    let after = client.counters(&["ether1"]).unwrap();
    assert!(after[0].as_ref().unwrap().rx_bytes < before[0].as_ref().unwrap().rx_bytes);
    assert!(client.resource().unwrap().uptime < Duration::from_secs(5));
}

#[test]
fn sessions_over_the_limit_are_closed() {
    let sim = start(mt_trafmon::sim::Options {
        max_sessions: 3,
        ..mt_trafmon::sim::Options::default()
    });
    let held: Vec<Client> = (0..3).map(|_| login(&sim, "admin")).collect();
    let error = connect(&sim).login("admin", "secret").unwrap_err();
    assert!(matches!(error, Error::Closed { .. }), "{error:?}");
    drop(held);
}

#[test]
fn a_tls_port_is_recognised() {
    // What a TLS server sends to a client that does not speak TLS: an alert
    // record (handshake failure), then it closes.
    let addr = scripted_peer(|mut stream| {
        let mut decoder = Decoder::new();
        read_sentence(&mut stream, &mut decoder);
        stream
            .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])
            .unwrap();
    });
    let error = peer_client(addr).login("admin", "secret").unwrap_err();
    assert!(matches!(error, Error::TlsMismatch { .. }), "{error:?}");
    assert!(error.to_string().contains("API-SSL"));
}

#[test]
fn replies_cut_off_mid_sentence_or_mangled() {
    let addr = scripted_peer(|mut stream| {
        let mut decoder = Decoder::new();
        let login = read_sentence(&mut stream, &mut decoder);
        let tag = tag_of(&login);
        let done = Sentence::new(&["!done".to_string(), format!(".tag={tag}")]);
        stream.write_all(&done.to_bytes()).unwrap();
        // Half of the next reply, then the socket closes.
        let print = read_sentence(&mut stream, &mut decoder);
        let row = Sentence::new(&["!re".to_string(), format!(".tag={}", tag_of(&print))]);
        let bytes = row.to_bytes();
        stream.write_all(&bytes[..bytes.len() - 3]).unwrap();
    });
    let mut client = peer_client(addr);
    client.login("admin", "secret").unwrap();
    let error = client.interfaces().unwrap_err();
    assert!(
        matches!(error, Error::Closed { ref during, .. } if during.contains("in the middle")),
        "{error:?}"
    );

    // A hostile length prefix is a protocol error naming the bytes.
    let addr = scripted_peer(|mut stream| {
        read_sentence(&mut stream, &mut Decoder::new());
        stream
            .write_all(&[
                0x05, b'!', b'd', b'o', b'n', b'e', 0xF0, 0xFF, 0xFF, 0xFF, 0xFF,
            ])
            .unwrap();
        thread::sleep(Duration::from_millis(200));
    });
    let error = peer_client(addr).login("admin", "secret").unwrap_err();
    let Error::Protocol { detail, recent, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(detail.contains("f0 ff ff ff ff"), "{detail}");
    assert!(recent.ends_with("f0 ff ff ff ff"), "{recent}");

    // A reply without the tag the command carried.
    let addr = scripted_peer(|mut stream| {
        read_sentence(&mut stream, &mut Decoder::new());
        stream
            .write_all(&Sentence::new(&["!done"]).to_bytes())
            .unwrap();
        thread::sleep(Duration::from_millis(200));
    });
    let error = peer_client(addr).login("admin", "secret").unwrap_err();
    assert!(
        matches!(error, Error::Protocol { ref detail, .. } if detail.contains("untagged")),
        "{error:?}"
    );
}

#[test]
fn late_replies_to_earlier_commands_are_skipped() {
    let addr = scripted_peer(|mut stream| {
        let mut decoder = Decoder::new();
        let login_tag = tag_of(&read_sentence(&mut stream, &mut decoder));
        let mut bytes = Vec::new();
        // A stale row from some earlier command, then the login's answer.
        Sentence::new(&["!re", ".tag=999", "=name=stale"]).encode(&mut bytes);
        Sentence::new(&["!done".to_string(), format!(".tag={login_tag}")]).encode(&mut bytes);
        stream.write_all(&bytes).unwrap();

        let print_tag = tag_of(&read_sentence(&mut stream, &mut decoder));
        assert_ne!(print_tag, login_tag, "every command gets its own tag");
        let mut bytes = Vec::new();
        // A duplicate answer to the login arrives late, then the real rows.
        Sentence::new(&[
            "!re".to_string(),
            format!(".tag={login_tag}"),
            "=name=ether1".to_string(),
            "=rx-byte=1".to_string(),
            "=tx-byte=1".to_string(),
        ])
        .encode(&mut bytes);
        Sentence::new(&[
            "!re".to_string(),
            format!(".tag={print_tag}"),
            "=name=ether1".to_string(),
            "=rx-byte=18446744073709551615".to_string(),
            "=tx-byte=0".to_string(),
        ])
        .encode(&mut bytes);
        Sentence::new(&["!done".to_string(), format!(".tag={print_tag}")]).encode(&mut bytes);
        stream.write_all(&bytes).unwrap();
        thread::sleep(Duration::from_millis(200));
    });
    let mut client = peer_client(addr);
    client.login("admin", "secret").unwrap();
    let counters = client.counters(&["ether1"]).unwrap();
    assert_eq!(counters[0].as_ref().unwrap().rx_bytes, u64::MAX);
    assert_eq!(counters[0].as_ref().unwrap().tx_bytes, 0);
}

/// A peer that takes the login, then answers the next command with
/// `reply` (given the command's tag) on the socket.
fn hostile_peer(reply: impl FnOnce(&mut TcpStream, &str) + Send + 'static) -> SocketAddr {
    scripted_peer(move |mut stream| {
        let mut decoder = Decoder::new();
        let login = read_sentence(&mut stream, &mut decoder);
        let done = Sentence::new(&["!done".to_string(), format!(".tag={}", tag_of(&login))]);
        stream.write_all(&done.to_bytes()).unwrap();
        let command = read_sentence(&mut stream, &mut decoder);
        reply(&mut stream, &tag_of(&command));
    })
}

/// Writes `sentence` over and over until the client goes away or `limit`
/// bytes are written; returns the bytes written and whether the client
/// went away first.
fn flood(stream: &mut TcpStream, sentence: &Sentence, limit: usize) -> (usize, bool) {
    let mut chunk = Vec::new();
    while chunk.len() < 64 * 1024 {
        sentence.encode(&mut chunk);
    }
    let mut written = 0;
    while written < limit {
        if stream.write_all(&chunk).is_err() {
            return (written, true);
        }
        written += chunk.len();
    }
    (written, false)
}

#[test]
fn endless_rows_and_traps_are_cut_off() {
    type Call = fn(&mut Client) -> Result<usize, Error>;
    let cases: [(&str, Sentence, Call); 4] = [
        (
            "rows of the interface list",
            Sentence::new(&["!re", ".tag=2", "=name=ether9", "=type=ether"]),
            |c| c.interfaces().map(|l| l.len()),
        ),
        (
            "rows of a counters read",
            Sentence::new(&["!re", ".tag=2", "=name=ether1", "=rx-byte=1", "=tx-byte=2"]),
            |c| c.counters(&["ether1"]).map(|l| l.len()),
        ),
        (
            "traps",
            Sentence::new(&["!trap", ".tag=2", "=message=no"]),
            |c| c.counters(&["ether1"]).map(|l| l.len()),
        ),
        (
            "rows of 60 KiB",
            Sentence::new(&[
                "!re".to_string(),
                ".tag=2".to_string(),
                format!("=comment={}", "x".repeat(60 * 1024)),
            ]),
            |c| c.interfaces().map(|l| l.len()),
        ),
    ];
    for (what, sentence, call) in cases {
        let (sent, sent_rx) = std::sync::mpsc::channel();
        let addr = hostile_peer(move |stream, tag| {
            assert_eq!(tag, "2");
            // Up to 64 MB, then a !done: a client that keeps everything
            // gets an answer, one that bounds the reply has left long
            // before.
            let outcome = flood(stream, &sentence, 64 << 20);
            let _ = stream.write_all(&Sentence::new(&["!done", ".tag=2"]).to_bytes());
            let _ = sent.send(outcome);
        });
        let mut client = peer_client(addr);
        client.login("admin", "secret").unwrap();
        let started = Instant::now();
        let result = call(&mut client);
        drop(client);
        let (written, left) = sent_rx.recv_timeout(Duration::from_secs(60)).unwrap();
        let error = match result {
            Ok(rows) => panic!("{what}: {rows} rows accepted ({written} bytes sent)"),
            Err(error) => error,
        };
        assert!(
            matches!(error, Error::Protocol { .. } | Error::Trap { .. }),
            "{what}: {error:?}"
        );
        assert!(error.to_string().contains("more than"), "{what}: {error}");
        assert!(left && written < 16 << 20, "{what}: {written} bytes read");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what}: {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn a_reply_must_be_complete_within_the_timeout() {
    // Each peer keeps sending something at least every 150 ms for 6 s or
    // more, so that no single read ever waits for the 2 s timeout.
    type Script = fn(&mut TcpStream, &str);
    let cases: [(&str, Script); 3] = [
        ("a reply one byte at a time", |stream, tag| {
            let mut bytes = Vec::new();
            Sentence::new(&[
                "!re".to_string(),
                format!(".tag={tag}"),
                "=name=ether1".to_string(),
                "=rx-byte=1".to_string(),
                "=tx-byte=1".to_string(),
            ])
            .encode(&mut bytes);
            Sentence::new(&["!done".to_string(), format!(".tag={tag}")]).encode(&mut bytes);
            for byte in bytes {
                if stream.write_all(&[byte]).is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(150));
            }
        }),
        ("endless rows of another command", |stream, _| {
            let row = Sentence::new(&["!re", ".tag=999", "=name=ether1"]).to_bytes();
            for _ in 0..100 {
                if stream.write_all(&row).is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(100));
            }
        }),
        ("endless empty sentences", |stream, _| {
            for _ in 0..100 {
                if stream.write_all(&[0]).is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(100));
            }
        }),
    ];
    for (what, script) in cases {
        let addr = hostile_peer(script);
        let mut client = peer_client(addr);
        client.login("admin", "secret").unwrap();
        let started = Instant::now();
        let result = client.counters(&["ether1"]);
        let took = started.elapsed();
        assert!(
            matches!(result, Err(Error::Timeout { .. })),
            "{what}: {result:?}"
        );
        assert!(took < Duration::from_secs(4), "{what}: took {took:?}");
    }
}

#[test]
fn router_text_in_errors_is_escaped_and_bounded() {
    // A !fatal reason that would start a forged journal entry.
    let addr = hostile_peer(|stream, _| {
        let fatal = Sentence::new(&["!fatal", "bye\n<0>EMERG forged \x1b]0;title\x07"]);
        let _ = stream.write_all(&fatal.to_bytes());
    });
    let mut client = peer_client(addr);
    client.login("admin", "secret").unwrap();
    let error = client.counters(&["ether1"]).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::Fatal { .. }), "{error:?}");
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(
        text.contains("bye\\n<0>EMERG forged \\x1b]0;title\\x07"),
        "{text}"
    );

    // Trap messages: escaped, and a storm of them shown as a few.
    let addr = hostile_peer(|stream, tag| {
        let mut bytes = Vec::new();
        for i in 0..10 {
            Sentence::new(&[
                "!trap".to_string(),
                format!(".tag={tag}"),
                format!("=message=\x1b[2Jtrap {i}"),
            ])
            .encode(&mut bytes);
        }
        Sentence::new(&["!done".to_string(), format!(".tag={tag}")]).encode(&mut bytes);
        let _ = stream.write_all(&bytes);
        thread::sleep(Duration::from_millis(300));
    });
    let mut client = peer_client(addr);
    client.login("admin", "secret").unwrap();
    let text = client.counters(&["ether1"]).unwrap_err().to_string();
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(
        text.contains("\\x1b[2Jtrap 0") && text.contains("7 more"),
        "{text}"
    );

    // Interface names in the list an unknown-interface error shows.
    let addr = hostile_peer(|stream, tag| {
        let mut bytes = Vec::new();
        Sentence::new(&[
            "!trap".to_string(),
            format!(".tag={tag}"),
            "=message=no such interface".to_string(),
        ])
        .encode(&mut bytes);
        Sentence::new(&["!done".to_string(), format!(".tag={tag}")]).encode(&mut bytes);
        let _ = stream.write_all(&bytes);
        // The client lists the interfaces to name the missing one.
        let mut decoder = Decoder::new();
        let print = read_sentence(stream, &mut decoder);
        let tag = tag_of(&print);
        let mut bytes = Vec::new();
        Sentence::new(&[
            "!re".to_string(),
            format!(".tag={tag}"),
            "=name=\x1b]0;pwned\x07".to_string(),
        ])
        .encode(&mut bytes);
        Sentence::new(&["!done".to_string(), format!(".tag={tag}")]).encode(&mut bytes);
        let _ = stream.write_all(&bytes);
        thread::sleep(Duration::from_millis(300));
    });
    let mut client = peer_client(addr);
    client.login("admin", "secret").unwrap();
    let text = client
        .monitor_traffic_once(&["ether1"])
        .unwrap_err()
        .to_string();
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(text.contains("\\x1b]0;pwned\\x07"), "{text}");
}

/// A small seeded generator (xorshift), so that a failing case can be
/// replayed from its number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A reply stream for the command tagged `tag`: plausible sentences
/// (rows, traps, empties, unknown words, other tags, untagged ones,
/// `!fatal`, numbers out of range), then mutated bytes.
fn random_reply(rng: &mut Rng, tag: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    for _ in 0..rng.below(12) {
        let kind = rng.pick(&[
            "!re", "!re", "!re", "!done", "!trap", "!empty", "!fatal", "!what", "",
        ]);
        let mut words = vec![kind.to_string()];
        match rng.below(5) {
            0 => {}
            1 => words.push(".tag=999".to_string()),
            _ => words.push(format!(".tag={tag}")),
        }
        for _ in 0..rng.below(6) {
            let name = rng.pick(&[
                "name",
                "rx-byte",
                "tx-byte",
                ".id",
                "uptime",
                "message",
                "category",
                "rx-bits-per-second",
                "tx-bits-per-second",
                "ret",
                "running",
                "disabled",
                "comment",
            ]);
            let value = match rng.below(6) {
                0 => rng.next().to_string(),
                1 => "18446744073709551616".to_string(),
                2 => rng
                    .pick(&["ether1", "ether2", "1w2d3h", "true", "zz", "-1", ""])
                    .to_string(),
                3 => "\x1b[2J\n<0>x".to_string(),
                4 => "x".repeat(rng.below(3000) as usize),
                _ => format!("{:x}", rng.next()),
            };
            words.push(format!("={name}={value}"));
        }
        if rng.below(10) == 0 {
            words.push(rng.pick(&["bare", "?query", "=", "==x"]).to_string());
        }
        Sentence::new(&words).encode(&mut bytes);
    }
    for _ in 0..rng.below(4) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len() as u64) as usize;
        match rng.below(4) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes.insert(at, rng.next() as u8),
            2 => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

#[test]
fn random_and_mutated_replies_never_panic_or_hang() {
    // Every call must end, with an answer or an error, within the 2 s
    // deadline (plus scheduling slack); a panic fails the test.
    let mut slowest = Duration::ZERO;
    for case in 0..600u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (case + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
        let reply = random_reply(&mut rng, "2");
        let keep_open = rng.below(20) == 0;
        let addr = hostile_peer(move |stream, _| {
            let _ = stream.write_all(&reply);
            if keep_open {
                thread::sleep(Duration::from_millis(2500));
            }
        });
        let mut client = peer_client(addr);
        client.login("admin", "secret").unwrap();
        let started = Instant::now();
        match case % 4 {
            0 => drop(client.interfaces()),
            1 => drop(client.counters(&["ether1", "ether2"])),
            2 => drop(client.monitor_traffic_once(&["ether1", "ether2"])),
            _ => drop(client.resource()),
        }
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert!(took < Duration::from_secs(4), "case {case} took {took:?}");
    }
    eprintln!("slowest call: {slowest:?}");
}
