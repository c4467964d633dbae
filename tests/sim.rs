//! Integration tests of the simulated router (`mt_trafmon::sim`) over real
//! loopback sockets: raw sentences written and read with the wire codec,
//! compared with the shared byte vectors where one exists.
//!
//! These tests do not use the team's RouterOS client (it is tested against
//! the simulator elsewhere), never touch an address other than 127.0.0.1 or
//! ::1, and put a timeout on every socket so that none can hang.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use mt_trafmon::routeros::wire::{
    self, Attrs, Decoder, Reply, ReplyKind, Sentence, Trap, parse_decimal,
};
use mt_trafmon::sim::{Fault, LoginMode, ManualClock, Options, Simulator};

/// 2024-06-01 12:00:00 UTC: a whole second, in the busy part of the day.
const NOON: f64 = 1_717_243_200.0;
const TIMEOUT: Duration = Duration::from_secs(5);

/// A raw API peer: a socket with timeouts and a decoder.
struct Peer {
    stream: TcpStream,
    decoder: Decoder,
    /// How many `read` calls returned data.
    reads: usize,
}

/// What the next read from the simulator gave.
#[derive(Debug)]
enum Next {
    Sentence(Sentence),
    Closed,
    Timeout,
    Error(wire::Error),
}

impl Peer {
    fn connect(addr: SocketAddr) -> Peer {
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect to the simulator");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        Peer {
            stream,
            decoder: Decoder::new(),
            reads: 0,
        }
    }

    fn set_read_timeout(&self, timeout: Duration) {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
    }

    fn send(&mut self, words: &[&str]) {
        self.send_raw(&Sentence::new(words).to_bytes());
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .expect("write to the simulator");
    }

    fn next(&mut self) -> Next {
        let mut buffer = [0u8; 4096];
        loop {
            match self.decoder.next() {
                Ok(Some(sentence)) => return Next::Sentence(sentence),
                Ok(None) => {}
                Err(error) => return Next::Error(error),
            }
            match self.stream.read(&mut buffer) {
                Ok(0) => return Next::Closed,
                Ok(n) => {
                    self.reads += 1;
                    self.decoder.feed(&buffer[..n]);
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Next::Timeout;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Next::Closed,
            }
        }
    }

    fn sentence(&mut self) -> Sentence {
        match self.next() {
            Next::Sentence(sentence) => sentence,
            other => panic!("expected a sentence, got {other:?}"),
        }
    }

    fn reply(&mut self) -> Reply {
        let sentence = self.sentence();
        Reply::parse(&sentence).unwrap_or_else(|e| panic!("unparsable reply {sentence}: {e}"))
    }

    /// Replies up to and including the first `!done` (or a `!fatal`).
    fn until_done(&mut self) -> Vec<Reply> {
        let mut replies = Vec::new();
        loop {
            let reply = self.reply();
            let last = matches!(reply.kind, ReplyKind::Done(_) | ReplyKind::Fatal(_));
            replies.push(reply);
            if last {
                return replies;
            }
        }
    }

    /// Sentences up to and including the first `!done` or `!fatal`.
    fn sentences_until_done(&mut self) -> Vec<Sentence> {
        let mut sentences = Vec::new();
        loop {
            let sentence = self.sentence();
            let last = matches!(
                sentence.words.first().map(Vec::as_slice),
                Some(b"!done" | b"!fatal")
            );
            sentences.push(sentence);
            if last {
                return sentences;
            }
        }
    }

    fn expect_closed(&mut self) {
        match self.next() {
            Next::Closed => {}
            other => panic!("expected the simulator to close the connection, got {other:?}"),
        }
    }

    fn login(&mut self, user: &str, password: &str) {
        self.send(&[
            "/login",
            &format!("=name={user}"),
            &format!("=password={password}"),
        ]);
        assert_eq!(self.until_done(), [done(None)], "login as {user}");
    }
}

fn start(configure: impl FnOnce(&mut Options)) -> (Simulator, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(NOON));
    let mut options = Options {
        clock: clock.clone(),
        ..Options::default()
    };
    configure(&mut options);
    (
        Simulator::start(options).expect("start the simulator"),
        clock,
    )
}

fn logged_in(sim: &Simulator, user: &str) -> Peer {
    let mut peer = Peer::connect(sim.addr());
    peer.login(user, "secret");
    peer
}

fn tag(text: &str) -> Option<Vec<u8>> {
    Some(text.as_bytes().to_vec())
}

fn done(tag: Option<Vec<u8>>) -> Reply {
    Reply {
        tag,
        kind: ReplyKind::Done(Attrs::default()),
    }
}

fn trap(tag: Option<Vec<u8>>, category: Option<u32>, message: &str) -> Reply {
    Reply {
        tag,
        kind: ReplyKind::Trap(Trap {
            category,
            message: message.as_bytes().to_vec(),
        }),
    }
}

fn fatal(reason: &str) -> Reply {
    Reply {
        tag: None,
        kind: ReplyKind::Fatal(reason.as_bytes().to_vec()),
    }
}

fn empty(tag: Option<Vec<u8>>) -> Reply {
    Reply {
        tag,
        kind: ReplyKind::Empty(Attrs::default()),
    }
}

/// The attributes of an `!re` (or `!done`) reply.
fn attrs(reply: &Reply) -> &Attrs {
    match &reply.kind {
        ReplyKind::Re(attrs) | ReplyKind::Done(attrs) => attrs,
        other => panic!("expected !re or !done, got {other:?}"),
    }
}

fn names(attrs: &Attrs) -> Vec<String> {
    attrs
        .0
        .iter()
        .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
        .collect()
}

fn number(reply: &Reply, name: &str) -> u64 {
    let value = attrs(reply)
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {reply:?}"));
    parse_decimal(value).unwrap_or_else(|| panic!("{name} is not a number in {reply:?}"))
}

/// The sentences of a shared byte vector in `tests/data/routeros/`.
fn vector(name: &str) -> Vec<Sentence> {
    let path = format!("{}/tests/data/routeros/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let digits: String = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .flat_map(|line| line.split_whitespace())
        .collect();
    let bytes: Vec<u8> = (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect();
    let mut decoder = Decoder::new();
    decoder.feed(&bytes);
    let mut sentences = Vec::new();
    while let Some(sentence) = decoder.next().unwrap() {
        sentences.push(sentence);
    }
    sentences
}

fn replies_of(sentences: &[Sentence]) -> Vec<Reply> {
    sentences.iter().map(|s| Reply::parse(s).unwrap()).collect()
}

/// Waits (polling) until `condition` holds, failing after [`TIMEOUT`].
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

fn md5_response(password: &str, challenge_hex: &[u8]) -> String {
    let challenge: Vec<u8> = challenge_hex
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect();
    let mut hasher = Md5::new();
    hasher.update([0u8]);
    hasher.update(password.as_bytes());
    hasher.update(&challenge);
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("00{digest}")
}

// ---------------------------------------------------------------- login

#[test]
fn login_succeeds_with_the_documented_reply() {
    let (sim, _clock) = start(|_| {});
    let mut peer = Peer::connect(sim.addr());
    peer.send(&["/login", "=name=admin", "=password=secret"]);
    assert_eq!(peer.sentences_until_done(), vector("login-reply-ok.hex"));
    wait_until("the session is counted", || sim.session_count() == 1);
}

#[test]
fn bad_password_traps_and_keeps_the_socket_open() {
    let (sim, _clock) = start(|_| {});
    let mut peer = Peer::connect(sim.addr());
    peer.send(&["/login", "=name=admin", "=password=wrong"]);
    assert_eq!(
        peer.sentences_until_done(),
        vector("login-reply-invalid-user.hex")
    );
    peer.send(&["/login", "=name=nobody", "=password=secret"]);
    assert_eq!(
        peer.sentences_until_done(),
        vector("login-reply-invalid-user.hex")
    );
    // Still not logged in, and still connected: the right password works.
    peer.login("admin", "secret");
}

#[test]
fn a_user_without_the_api_policy_is_not_allowed() {
    let (sim, _clock) = start(|_| {});
    let mut peer = Peer::connect(sim.addr());
    peer.send(&["/login", "=name=noapi", "=password=secret"]);
    assert_eq!(
        peer.sentences_until_done(),
        vector("login-reply-not-allowed.hex")
    );
    peer.send(&["/login", "=name=noapi", "=password=wrong"]);
    assert_eq!(
        peer.until_done(),
        [
            trap(None, None, "invalid user name or password (6)"),
            done(None)
        ]
    );
}

#[test]
fn modern_router_gives_a_challenge_but_refuses_the_response() {
    let (sim, _clock) = start(|_| {});
    let mut peer = Peer::connect(sim.addr());
    peer.send(&["/login"]);
    let replies = peer.until_done();
    assert_eq!(replies.len(), 1);
    let challenge = attrs(&replies[0]).get("ret").expect("a challenge").to_vec();
    assert_eq!(challenge.len(), 32);
    assert!(challenge.iter().all(u8::is_ascii_hexdigit));
    let response = md5_response("secret", &challenge);
    peer.send(&["/login", "=name=admin", &format!("=response={response}")]);
    assert_eq!(
        peer.until_done(),
        [
            trap(None, None, "invalid user name or password (6)"),
            done(None)
        ]
    );
}

#[test]
fn legacy_login_challenge_and_response() {
    let (sim, _clock) = start(|o| o.login = LoginMode::Legacy);
    let mut peer = Peer::connect(sim.addr());
    // A pre-6.43 router ignores a password and answers with a challenge.
    peer.send(&["/login", "=name=admin", "=password=secret"]);
    let first = attrs(&peer.until_done()[0])
        .get("ret")
        .expect("a challenge")
        .to_vec();
    peer.send(&["/login"]);
    let challenge = attrs(&peer.until_done()[0])
        .get("ret")
        .expect("a challenge")
        .to_vec();
    assert_eq!(challenge.len(), 32);
    assert_ne!(first, challenge, "every challenge is fresh");
    let response = md5_response("secret", &challenge);
    peer.send(&[
        "/login",
        "=name=admin",
        &format!("=response={response}"),
        ".tag=l",
    ]);
    assert_eq!(peer.until_done(), [done(tag("l"))]);
    peer.send(&["/system/identity/print"]);
    assert_eq!(
        attrs(&peer.until_done()[0]).get("name"),
        Some(&b"sim-router"[..])
    );
}

#[test]
fn legacy_login_with_a_wrong_response_cannot_log_in() {
    let (sim, _clock) = start(|o| o.login = LoginMode::Legacy);
    let mut peer = Peer::connect(sim.addr());
    peer.send(&["/login"]);
    let challenge = attrs(&peer.until_done()[0])
        .get("ret")
        .expect("a challenge")
        .to_vec();
    let response = md5_response("not-the-password", &challenge);
    peer.send(&["/login", "=name=admin", &format!("=response={response}")]);
    assert_eq!(
        peer.sentences_until_done(),
        vector("login-legacy-reply-cannot-log-in.hex")
    );
    peer.send(&["/interface/print"]);
    assert_eq!(peer.until_done(), [fatal("not logged in")]);
    peer.expect_closed();
}

#[test]
fn a_command_before_login_is_fatal_and_closes() {
    let (sim, _clock) = start(|_| {});
    let mut peer = Peer::connect(sim.addr());
    peer.send(&["/interface/print", ".tag=1"]);
    assert_eq!(
        peer.sentences_until_done(),
        vector("fatal-not-logged-in.hex")
    );
    peer.expect_closed();
    wait_until("the session is gone", || sim.session_count() == 0);
}

// ---------------------------------------------------------------- tags and print

#[test]
fn tags_are_echoed_only_when_the_command_had_one() {
    let (sim, _clock) = start(|_| {});
    let mut peer = Peer::connect(sim.addr());
    peer.send(&["/login", "=name=admin", "=password=secret", ".tag=1"]);
    assert_eq!(peer.until_done(), [done(tag("1"))]);
    peer.send(&["/interface/print", ".tag=abc"]);
    let tagged = peer.until_done();
    assert_eq!(tagged.len(), 6);
    assert!(tagged.iter().all(|r| r.tag == tag("abc")), "{tagged:?}");
    // The tag comes right after the reply word, as a real router sends it.
    peer.send(&["/system/identity/print", ".tag=7"]);
    let raw = peer.sentence();
    assert_eq!(raw.words[..2], [b"!re".to_vec(), b".tag=7".to_vec()]);
    peer.until_done();
    for untagged in [
        &["/interface/print"][..],
        &["/interface/print", ".tag="][..],
    ] {
        peer.send(untagged);
        let replies = peer.until_done();
        assert_eq!(replies.len(), 6);
        assert!(replies.iter().all(|r| r.tag.is_none()), "{replies:?}");
    }
}

#[test]
fn interface_print_shows_every_interface_with_64_bit_counters_and_raw_bytes() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "reader");
    peer.send(&["/interface/print"]);
    let replies = peer.until_done();
    assert_eq!(replies.last(), Some(&done(None)));
    let rows = &replies[..replies.len() - 1];
    let row_names: Vec<&[u8]> = rows.iter().map(|r| attrs(r).get("name").unwrap()).collect();
    assert_eq!(
        row_names,
        [&b"ether1"[..], b"ether2", b"ether3", b"bridge1", b"wlan1"]
    );
    assert_eq!(
        names(attrs(&rows[0])),
        [
            ".id",
            "name",
            "type",
            "mtu",
            "running",
            "disabled",
            "comment",
            "rx-byte",
            "tx-byte",
            "rx-packet",
            "tx-packet"
        ]
    );
    assert_eq!(attrs(&rows[0]).get(".id"), Some(&b"*1"[..]));
    assert_eq!(attrs(&rows[0]).get("comment"), Some(&b"WAN"[..]));
    assert_eq!(attrs(&rows[2]).get("disabled"), Some(&b"true"[..]));
    assert_eq!(attrs(&rows[2]).get("running"), Some(&b"false"[..]));
    assert_eq!(number(&rows[2], "rx-byte"), 0);
    assert_eq!(attrs(&rows[3]).get("type"), Some(&b"bridge"[..]));
    assert_eq!(attrs(&rows[4]).get("type"), Some(&b"wlan"[..]));
    assert_eq!(attrs(&rows[4]).get("comment"), Some(&b"\xa3\xf3d\x9f"[..]));
    for row in [&rows[0], &rows[1], &rows[3], &rows[4]] {
        assert!(number(row, "rx-byte") > u64::from(u32::MAX), "{row:?}");
        assert!(number(row, "tx-byte") > u64::from(u32::MAX), "{row:?}");
    }
    assert_eq!(
        sim.interface_names(),
        ["ether1", "ether2", "ether3", "bridge1", "wlan1"]
    );
    // getall is the old name of print.
    peer.send(&["/interface/getall"]);
    assert_eq!(peer.until_done().len(), 6);
}

#[test]
fn print_honours_proplist_and_an_or_query() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "admin");
    peer.send(&[
        "/interface/print",
        "=.proplist=tx-byte,name,nonexistent",
        "?name=ether1",
        "?name=ether2",
        "?#|",
    ]);
    let replies = peer.until_done();
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert_eq!(attrs(&replies[0]).get("name"), Some(&b"ether1"[..]));
    assert_eq!(attrs(&replies[1]).get("name"), Some(&b"ether2"[..]));
    for row in &replies[..2] {
        assert_eq!(names(attrs(row)), ["tx-byte", "name"]);
    }
    // Without the `|` both equalities must hold, which no row does.
    peer.send(&["/interface/print", "?name=ether1", "?name=ether2"]);
    assert_eq!(peer.until_done(), [empty(None), done(None)]);
    // Other query forms: absence, numeric comparison, negation.
    peer.send(&[
        "/interface/print",
        "=.proplist=name",
        "?-comment",
        "?type=ether",
        "?#&!",
    ]);
    let rows: Vec<Vec<u8>> = peer.until_done()[..]
        .iter()
        .filter(|r| matches!(r.kind, ReplyKind::Re(_)))
        .map(|r| attrs(r).get("name").unwrap().to_vec())
        .collect();
    assert_eq!(
        rows,
        [b"ether1".to_vec(), b"bridge1".to_vec(), b"wlan1".to_vec()]
    );
    peer.send(&[
        "/interface/print",
        "=.proplist=name",
        "?>rx-byte=100000000000",
    ]);
    let rows = peer.until_done();
    assert_eq!(
        rows.len(),
        3,
        "ether1 and bridge1 have over 100 GB: {rows:?}"
    );
}

#[test]
fn a_print_matching_nothing_gives_empty_then_done() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "admin");
    peer.send(&["/interface/print", "?name=nomatch"]);
    assert_eq!(
        peer.sentences_until_done(),
        vector("empty-reply-untagged.hex")
    );
    peer.send(&["/interface/print", "?=name=nomatch", ".tag=5"]);
    assert_eq!(
        replies_of(&peer.sentences_until_done()),
        replies_of(&vector("empty-reply-tagged.hex"))
    );
}

#[test]
fn a_router_older_than_7_18_sends_no_empty() {
    let (sim, _clock) = start(|o| o.empty_replies = false);
    let mut peer = logged_in(&sim, "admin");
    peer.send(&["/interface/print", "?name=nomatch", ".tag=5"]);
    assert_eq!(peer.until_done(), [done(tag("5"))]);
}

#[test]
fn system_resource_and_identity() {
    let (sim, clock) = start(|_| {});
    let mut peer = logged_in(&sim, "reader");
    clock.advance(252.0);
    peer.send(&["/system/resource/print"]);
    let replies = peer.until_done();
    assert_eq!(replies.len(), 2);
    let row = attrs(&replies[0]);
    assert_eq!(
        names(row),
        [
            "uptime",
            "version",
            "board-name",
            "cpu-load",
            "free-memory",
            "total-memory"
        ]
    );
    assert_eq!(row.get("uptime"), Some(&b"4m12s"[..]));
    assert_eq!(row.get("version"), Some(&b"7.19.4 (stable)"[..]));
    assert_eq!(row.get("board-name"), Some(&b"CHR"[..]));
    assert!(number(&replies[0], "cpu-load") <= 100);
    assert!(number(&replies[0], "free-memory") < number(&replies[0], "total-memory"));
    clock.advance(7.0 * 86_400.0 + 2.0 * 86_400.0 + 3.0 * 3600.0 - 252.0 + 4.0 * 60.0 + 5.0);
    peer.send(&["/system/resource/print", "=.proplist=version,uptime"]);
    let replies = peer.until_done();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"version".to_vec(), b"7.19.4 (stable)".to_vec()),
        (b"uptime".to_vec(), b"1w2d3h4m5s".to_vec()),
    ];
    assert_eq!(attrs(&replies[0]).0, expected);
    peer.send(&["/system/identity/print", ".tag=i"]);
    let replies = peer.until_done();
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0].tag, tag("i"));
    assert_eq!(
        attrs(&replies[0]).0,
        vec![(b"name".to_vec(), b"sim-router".to_vec())]
    );
}

#[test]
fn reading_needs_the_read_policy() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "noread");
    for command in [
        &["/interface/print"][..],
        &["/interface/monitor-traffic", "=interface=ether1", "=once="][..],
        &["/system/resource/print"][..],
    ] {
        peer.send(command);
        assert_eq!(
            peer.until_done(),
            [trap(None, None, "not enough permissions (9)"), done(None)]
        );
    }
}

// ---------------------------------------------------------------- monitor-traffic

#[test]
fn monitor_traffic_once_accepts_every_form_of_the_flag() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "reader");
    let expected_fields = [
        "name",
        "rx-packets-per-second",
        "rx-bits-per-second",
        "fp-rx-packets-per-second",
        "fp-rx-bits-per-second",
        "rx-drops-per-second",
        "rx-errors-per-second",
        "tx-packets-per-second",
        "tx-bits-per-second",
        "fp-tx-packets-per-second",
        "fp-tx-bits-per-second",
        "tx-drops-per-second",
        "tx-queue-drops-per-second",
        "tx-errors-per-second",
    ];
    for once in ["=once", "=once=", "=once=yes", "=once=true"] {
        peer.send(&[
            "/interface/monitor-traffic",
            "=interface=wlan1,ether1",
            once,
            ".tag=m",
        ]);
        let replies = peer.until_done();
        assert_eq!(replies.len(), 3, "{once}: {replies:?}");
        assert_eq!(attrs(&replies[0]).get("name"), Some(&b"wlan1"[..]));
        assert_eq!(attrs(&replies[1]).get("name"), Some(&b"ether1"[..]));
        for row in &replies[..2] {
            assert_eq!(names(attrs(row)), expected_fields, "{once}");
            assert_eq!(row.tag, tag("m"));
            assert!(number(row, "rx-bits-per-second") > 0);
        }
        assert_eq!(replies[2], done(tag("m")));
    }
    let (rx, tx) = sim.rates("ether1").unwrap();
    peer.send(&[
        "/interface/monitor-traffic",
        "=interface=ether1",
        "=once=yes",
    ]);
    let replies = peer.until_done();
    assert_eq!(number(&replies[0], "rx-bits-per-second"), rx);
    assert_eq!(number(&replies[0], "tx-bits-per-second"), tx);
    assert!((10_000_000..200_000_000).contains(&rx), "WAN rx {rx}");
    assert!((500_000..20_000_000).contains(&tx), "WAN tx {tx}");
    peer.send(&["/interface/monitor-traffic", "=interface=ether3", "=once="]);
    assert_eq!(number(&peer.until_done()[0], "rx-bits-per-second"), 0);
}

#[test]
fn monitor_traffic_of_an_unknown_interface_traps() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "reader");
    for interface in [
        "=interface=ether9",
        "=interface=ether1,ether9",
        "=interface=",
    ] {
        peer.send(&["/interface/monitor-traffic", interface, "=once="]);
        assert_eq!(
            peer.sentences_until_done(),
            vector("trap-bad-argument-doc.hex"),
            "{interface}"
        );
    }
}

#[test]
fn counter_difference_over_one_second_times_eight_is_the_reported_rate() {
    let (sim, clock) = start(|_| {});
    let mut peer = logged_in(&sim, "reader");
    let read_counters = |peer: &mut Peer| {
        peer.send(&[
            "/interface/print",
            "=.proplist=name,rx-byte,tx-byte",
            "?name=ether1",
        ]);
        let replies = peer.until_done();
        (
            number(&replies[0], "rx-byte"),
            number(&replies[0], "tx-byte"),
        )
    };
    for jump in [0.0, 1.0, 3600.0, 86_400.0 * 3.0] {
        clock.advance(jump);
        let before = read_counters(&mut peer);
        assert_eq!(sim.counters("ether1"), Some(before));
        clock.advance(1.0);
        let after = read_counters(&mut peer);
        peer.send(&["/interface/monitor-traffic", "=interface=ether1", "=once="]);
        let row = &peer.until_done()[0];
        let rx_rate = number(row, "rx-bits-per-second");
        let tx_rate = number(row, "tx-bits-per-second");
        assert_eq!(
            (after.0 - before.0) * 8,
            rx_rate,
            "rx after a jump of {jump} s"
        );
        assert_eq!(
            (after.1 - before.1) * 8,
            tx_rate,
            "tx after a jump of {jump} s"
        );
        assert_eq!(sim.rates("ether1"), Some((rx_rate, tx_rate)));
        assert!(rx_rate > 0);
    }
    // A clock that goes back gives the earlier values again.
    clock.set(NOON + 10.0);
    let earlier = read_counters(&mut peer);
    clock.set(NOON + 5.0 * 86_400.0);
    clock.set(NOON + 10.0);
    assert_eq!(read_counters(&mut peer), earlier);
}

#[test]
fn a_stream_runs_until_cancel_and_cancel_replies_in_the_documented_order() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "reader");
    peer.send(&[
        "/interface/monitor-traffic",
        "=interface=ether1,ether2",
        "=interval=50ms",
        ".tag=2",
    ]);
    let mut sections = Vec::new();
    for _ in 0..6 {
        let row = peer.reply();
        assert_eq!(row.tag, tag("2"));
        assert!(matches!(row.kind, ReplyKind::Re(_)), "{row:?}");
        let name = attrs(&row).get("name").unwrap().to_vec();
        sections.push((name, number(&row, ".section")));
    }
    let expected: Vec<(Vec<u8>, u64)> = (0..3)
        .flat_map(|n| [(b"ether1".to_vec(), n), (b"ether2".to_vec(), n)])
        .collect();
    assert_eq!(sections, expected);
    // A command on the same session is answered while the stream runs.
    peer.send(&["/system/identity/print", ".tag=3"]);
    let mut identity = Vec::new();
    while identity.len() < 2 {
        let reply = peer.reply();
        if reply.tag == tag("3") {
            identity.push(reply);
        }
    }
    assert_eq!(identity[1], done(tag("3")));
    peer.send(&["/cancel", "=tag=2", ".tag=7"]);
    let mut after_cancel = peer.until_done();
    after_cancel.retain(|r| !matches!(r.kind, ReplyKind::Re(_)));
    after_cancel.push(peer.reply());
    assert_eq!(after_cancel, replies_of(&vector("cancel-replies-doc.hex")));
    // Nothing more arrives for the cancelled stream.
    peer.set_read_timeout(Duration::from_millis(300));
    assert!(matches!(peer.next(), Next::Timeout));
}

#[test]
fn cancel_without_a_tag_stops_every_stream() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "reader");
    peer.send(&[
        "/interface/monitor-traffic",
        "=interface=ether1",
        "=interval=20ms",
    ]);
    let first = peer.reply();
    assert_eq!(first.tag, None);
    assert_eq!(number(&first, ".section"), 0);
    peer.send(&["/cancel"]);
    let mut replies = Vec::new();
    while replies.len() < 3 {
        let reply = peer.reply();
        if !matches!(reply.kind, ReplyKind::Re(_)) {
            replies.push(reply);
        }
    }
    assert_eq!(
        replies,
        [trap(None, Some(2), "interrupted"), done(None), done(None)]
    );
    // Cancelling an unknown tag, or nothing, is just `!done`.
    peer.send(&["/cancel", "=tag=99", ".tag=c"]);
    assert_eq!(peer.until_done(), [done(tag("c"))]);
}

#[test]
fn a_stream_with_a_duration_ends_with_done() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "reader");
    let started = Instant::now();
    peer.send(&[
        "/interface/monitor-traffic",
        "=interface=ether2",
        "=interval=00:00:00.100",
        "=duration=450ms",
        ".tag=d",
    ]);
    let replies = peer.until_done();
    let elapsed = started.elapsed();
    let (rows, last) = replies.split_at(replies.len() - 1);
    assert_eq!(last, [done(tag("d"))]);
    let sections: Vec<u64> = rows.iter().map(|r| number(r, ".section")).collect();
    assert!((3..=6).contains(&sections.len()), "{sections:?}");
    assert_eq!(sections, (0..sections.len() as u64).collect::<Vec<_>>());
    assert!(elapsed >= Duration::from_millis(440), "{elapsed:?}");
}

#[test]
fn intervals_outside_20ms_to_5s_are_refused() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "reader");
    for interval in ["=interval=10ms", "=interval=6s", "=interval=soon"] {
        peer.send(&["/interface/monitor-traffic", "=interface=ether1", interval]);
        let replies = peer.until_done();
        assert_eq!(replies.len(), 2, "{interval}");
        assert!(
            matches!(&replies[0].kind, ReplyKind::Trap(t) if t.category == Some(1)),
            "{interval}: {replies:?}"
        );
    }
}

// ---------------------------------------------------------------- other commands

#[test]
fn reset_counters_needs_the_write_policy() {
    let (sim, clock) = start(|_| {});
    let mut reader = logged_in(&sim, "reader");
    reader.send(&["/interface/reset-counters", "=numbers=ether1", ".tag=r"]);
    assert_eq!(
        reader.until_done(),
        [
            trap(tag("r"), None, "not enough permissions (9)"),
            done(tag("r"))
        ]
    );
    assert!(sim.counters("ether1").unwrap().0 > 1 << 40);
    let mut admin = logged_in(&sim, "admin");
    admin.send(&["/interface/reset-counters", "=numbers=ether1,*2"]);
    assert_eq!(admin.until_done(), [done(None)]);
    assert_eq!(sim.counters("ether1"), Some((0, 0)));
    assert_eq!(sim.counters("ether2"), Some((0, 0)));
    assert!(sim.counters("wlan1").unwrap().0 > 1 << 32);
    clock.advance(1.0);
    let (rx, _) = sim.counters("ether1").unwrap();
    assert_eq!(rx * 8, sim.rates("ether1").unwrap().0);
    admin.send(&["/interface/reset-counters", "=numbers=ether9"]);
    assert_eq!(admin.until_done().len(), 2);
    sim.reset_counters();
    assert_eq!(sim.counters("wlan1"), Some((0, 0)));
    assert_eq!(
        sim.session_count(),
        2,
        "resetting counters keeps the sessions"
    );
}

#[test]
fn an_unknown_command_gives_two_traps_and_done() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "admin");
    peer.send(&["/adress"]);
    assert_eq!(
        peer.sentences_until_done(),
        vector("trap-unknown-command.hex")
    );
    peer.send(&["/interface/frobnicate", ".tag=x"]);
    assert_eq!(
        peer.until_done(),
        [
            trap(
                tag("x"),
                Some(0),
                "no such command or directory (frobnicate)"
            ),
            trap(tag("x"), None, "no such command prefix"),
            done(tag("x")),
        ]
    );
}

#[test]
fn quit_is_fatal_and_closes() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "reader");
    peer.send(&["/quit", ".tag=q"]);
    assert_eq!(peer.sentences_until_done(), vector("fatal-reply-quit.hex"));
    peer.expect_closed();
}

#[test]
fn protocol_errors_end_only_that_session() {
    let (sim, _clock) = start(|_| {});
    let mut bystander = logged_in(&sim, "admin");
    let mut not_a_command = logged_in(&sim, "admin");
    not_a_command.send(&["!done"]);
    assert!(matches!(not_a_command.reply().kind, ReplyKind::Fatal(_)));
    not_a_command.expect_closed();
    let mut bad_word = logged_in(&sim, "admin");
    bad_word.send(&["/interface/print", "bare-word"]);
    assert!(matches!(bad_word.reply().kind, ReplyKind::Fatal(_)));
    bad_word.expect_closed();
    let mut control_byte = logged_in(&sim, "admin");
    control_byte.send_raw(&[0xf9, 0x01, 0x02]);
    assert!(matches!(control_byte.reply().kind, ReplyKind::Fatal(_)));
    control_byte.expect_closed();
    // The router still answers everyone else.
    bystander.send(&["/system/identity/print"]);
    assert_eq!(bystander.until_done().len(), 2);
}

#[test]
fn commands_split_across_many_writes_are_decoded() {
    let (sim, _clock) = start(|_| {});
    let mut peer = Peer::connect(sim.addr());
    let login = Sentence::new(&["/login", "=name=admin", "=password=secret"]).to_bytes();
    for byte in &login {
        peer.send_raw(&[*byte]);
        peer.stream.flush().unwrap();
    }
    assert_eq!(peer.until_done(), [done(None)]);
    // A 300-byte proplist word has a two-byte length prefix.
    let long = format!("=.proplist=name,{}", "x".repeat(284));
    peer.send(&["/interface/print", &long, "?name=ether2"]);
    let replies = peer.until_done();
    assert_eq!(
        attrs(&replies[0]).0,
        vec![(b"name".to_vec(), b"ether2".to_vec())]
    );
}

// ---------------------------------------------------------------- faults

#[test]
fn fault_drop_after_closes_without_answering_the_nth_sentence() {
    let (sim, _clock) = start(|_| {});
    sim.set_fault(Fault::DropAfter(2));
    let mut peer = Peer::connect(sim.addr());
    peer.login("admin", "secret");
    peer.send(&["/system/identity/print"]);
    peer.expect_closed();
    sim.set_fault(Fault::DropAfter(0));
    let mut refused = Peer::connect(sim.addr());
    refused.expect_closed();
    sim.set_fault(Fault::None);
    logged_in(&sim, "admin");
}

#[test]
fn fault_silent_reads_but_never_answers() {
    let (sim, _clock) = start(|_| {});
    sim.set_fault(Fault::Silent);
    let mut peer = Peer::connect(sim.addr());
    peer.set_read_timeout(Duration::from_millis(300));
    peer.send(&["/login", "=name=admin", "=password=secret"]);
    assert!(matches!(peer.next(), Next::Timeout));
    assert_eq!(sim.session_count(), 1);
    sim.set_fault(Fault::None);
    peer.set_read_timeout(TIMEOUT);
    peer.login("admin", "secret");
}

#[test]
fn fault_slow_delays_every_reply_sentence() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "admin");
    sim.set_fault(Fault::Slow(Duration::from_millis(150)));
    let started = Instant::now();
    peer.send(&["/system/identity/print"]);
    assert_eq!(peer.until_done().len(), 2);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300),
        "two sentences took only {elapsed:?}"
    );
}

#[test]
fn fault_garbage_sends_a_reserved_control_byte_and_closes() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "admin");
    sim.set_fault(Fault::Garbage);
    peer.send(&["/interface/print"]);
    match peer.next() {
        Next::Error(wire::Error::ReservedControlByte { byte, .. }) => assert!(byte >= 0xf8),
        other => panic!("expected a decoding error, got {other:?}"),
    }
    let mut rest = Vec::new();
    // Reading to the end proves the socket was closed.
    peer.stream
        .read_to_end(&mut rest)
        .expect("the simulator closes the socket");
}

#[test]
fn fault_fatal_sends_the_reason_and_closes() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "admin");
    sim.set_fault(Fault::Fatal("simulated failure".into()));
    peer.send(&["/interface/print", ".tag=1"]);
    assert_eq!(peer.until_done(), [fatal("simulated failure")]);
    peer.expect_closed();
}

#[test]
fn fault_fragment_splits_replies_that_still_decode() {
    let (sim, _clock) = start(|_| {});
    let mut peer = logged_in(&sim, "admin");
    let mut whole = logged_in(&sim, "admin");
    whole.send(&["/interface/print", "=.proplist=name,type,comment,mtu"]);
    let expected = whole.sentences_until_done();
    sim.set_fault(Fault::Fragment);
    let reads_before = peer.reads;
    peer.send(&["/interface/print", "=.proplist=name,type,comment,mtu"]);
    assert_eq!(peer.sentences_until_done(), expected);
    assert!(
        peer.reads - reads_before >= 2,
        "the reply came in one piece"
    );
}

// ---------------------------------------------------------------- lifecycle

#[test]
fn reboot_drops_sessions_and_zeroes_counters_and_uptime() {
    let (sim, clock) = start(|_| {});
    let mut first = logged_in(&sim, "admin");
    let mut second = logged_in(&sim, "reader");
    second.send(&[
        "/interface/monitor-traffic",
        "=interface=ether1",
        "=interval=20ms",
        ".tag=s",
    ]);
    second.reply();
    clock.advance(100.0);
    assert!(sim.counters("ether1").unwrap().0 > 1 << 40);
    sim.reboot();
    assert_eq!(sim.session_count(), 0);
    first.expect_closed();
    loop {
        match second.next() {
            Next::Sentence(_) => continue,
            Next::Closed => break,
            other => panic!("expected the stream's session to close, got {other:?}"),
        }
    }
    assert_eq!(sim.counters("ether1"), Some((0, 0)));
    let mut peer = logged_in(&sim, "admin");
    peer.send(&[
        "/interface/print",
        "=.proplist=rx-byte,tx-byte",
        "?name=ether1",
    ]);
    assert_eq!(
        attrs(&peer.until_done()[0]).0,
        vec![
            (b"rx-byte".to_vec(), b"0".to_vec()),
            (b"tx-byte".to_vec(), b"0".to_vec())
        ]
    );
    peer.send(&["/system/resource/print", "=.proplist=uptime"]);
    assert_eq!(attrs(&peer.until_done()[0]).get("uptime"), Some(&b"0s"[..]));
    clock.advance(61.0);
    peer.send(&["/system/resource/print", "=.proplist=uptime"]);
    assert_eq!(
        attrs(&peer.until_done()[0]).get("uptime"),
        Some(&b"1m1s"[..])
    );
}

#[test]
fn connections_above_max_sessions_are_closed_at_once() {
    let (sim, _clock) = start(|o| o.max_sessions = 3);
    let mut open: Vec<Peer> = (0..3).map(|_| logged_in(&sim, "reader")).collect();
    assert_eq!(sim.session_count(), 3);
    let mut refused = Peer::connect(sim.addr());
    refused.expect_closed();
    assert_eq!(sim.session_count(), 3);
    open.pop();
    wait_until("a session slot is free", || sim.session_count() == 2);
    logged_in(&sim, "reader");
}

#[test]
fn the_default_limit_is_20_sessions() {
    let (sim, _clock) = start(|_| {});
    let _open: Vec<Peer> = (0..20).map(|_| logged_in(&sim, "reader")).collect();
    assert_eq!(sim.session_count(), 20);
    Peer::connect(sim.addr()).expect_closed();
}

#[test]
fn shutdown_closes_sessions_and_the_listener() {
    let (sim, _clock) = start(|_| {});
    let addr = sim.addr();
    let mut peer = logged_in(&sim, "admin");
    peer.send(&["/interface/monitor-traffic", "=interface=ether1"]);
    peer.reply();
    let started = Instant::now();
    sim.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        started.elapsed()
    );
    loop {
        match peer.next() {
            Next::Sentence(_) => continue,
            Next::Closed => break,
            other => panic!("expected the session to close, got {other:?}"),
        }
    }
    assert!(
        TcpStream::connect_timeout(&addr, TIMEOUT).is_err(),
        "still listening"
    );
}

#[test]
fn non_loopback_listen_addresses_are_refused() {
    for listen in ["0.0.0.0", "192.0.2.10", "::", "fe80::1"] {
        let options = Options {
            listen: listen.parse().unwrap(),
            ..Options::default()
        };
        let error = Simulator::start(options).err().map(|e| e.kind());
        assert_eq!(error, Some(ErrorKind::InvalidInput), "{listen}");
    }
}

#[test]
fn ipv6_loopback_works() {
    if let Err(e) = TcpListener::bind("[::1]:0") {
        println!("note: skipping the IPv6 test, this machine cannot bind [::1]: {e}");
        return;
    }
    let (sim, _clock) = start(|o| o.listen = "::1".parse().unwrap());
    assert!(sim.addr().is_ipv6());
    let mut peer = logged_in(&sim, "reader");
    peer.send(&["/system/identity/print"]);
    assert_eq!(peer.until_done().len(), 2);
}
