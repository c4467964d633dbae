//! Tests of the routing table: every route and its statuses, against a
//! [`State`] built from a config string, with a fixed clock and health set
//! by hand, and for the series real RRD files made through `crate::rrd`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::collector::{self, Clock, Now};
use crate::config;
use crate::files::Files;
use crate::health::{FileProblem, Health, Problem};
use crate::store::{self, Profile};
use crate::web::State;

const NOW: f64 = 1_800_000_000.5;

struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> Now {
        Now {
            mono: 0.0,
            wall: NOW,
        }
    }
}

struct Setup {
    state: State,
    health: Vec<Health>,
    dir: PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn setup(web: &str) -> Setup {
    let dir = std::env::temp_dir().join(format!(
        "mt-trafmon-routes-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        "[storage]\ndata_dir = {dir:?}\nprofile = \"compact\"\n\
         [[router]]\nname = \"home\"\nhost = \"127.0.0.1\"\nuser = \"u\"\npassword = \"p\"\n\
         [[router.interface]]\nname = \"ether1\"\nlabel = \"WAN\"\n\
         [[router.interface]]\nname = \"ether2\"\n{web}"
    );
    let config = config::parse(&text, Path::new("test.toml")).unwrap();
    let health: Vec<Health> = config
        .routers
        .iter()
        .flat_map(collector::health_entries)
        .collect();
    let state = State::new(&config, &health, Files::new(), Arc::new(Fixed), None);
    Setup { state, health, dir }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn get(state: &State, url: &str) -> Reply {
    request(state, "GET", url, "127.0.0.1")
}

fn request(state: &State, method: &str, url: &str, peer: &str) -> Reply {
    route(
        state,
        &Req {
            method,
            url,
            peer: peer.parse().unwrap(),
            host: None,
            forwarded_for: None,
            accept_encoding: None,
            if_none_match: None,
            setup: Default::default(),
        },
    )
}

fn json_of(reply: &Reply) -> serde_json::Value {
    assert_eq!(reply.content_type, "application/json");
    serde_json::from_slice(reply.body.bytes()).unwrap()
}

fn set_sample(setup: &Setup, index: usize, at: f64, rx: f64, tx: f64) {
    setup.health[index].update(|h| {
        h.connected = true;
        h.last_sample = Some(Sample {
            at,
            rx_bps: rx,
            tx_bps: tx,
        });
    });
}

/// Sets the router's session state in every entry, as its collector does.
fn set_router(setup: &Setup, connected: bool, problem: Option<&str>) {
    for health in &setup.health {
        health.update(|h| {
            h.connected = connected;
            h.router_problem = problem.map(|message| Problem {
                since: NOW - 3.0,
                message: message.to_string(),
            });
        });
    }
}

#[test]
fn the_allow_list_comes_first() {
    let setup = setup("[web]\nallow = [\"10.0.0.0/8\", \"::ffff:0:0/96\", \"router.lan\"]\n");
    let denied = request(&setup.state, "GET", "/api/live", "192.168.1.9");
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.body.bytes(),
        "403 Forbidden \u{2014} 192.168.1.9 is not in the allowed list.\n".as_bytes()
    );
    assert_eq!(
        request(&setup.state, "POST", "/", "192.168.1.9").status,
        403,
        "before the method"
    );
    assert_eq!(
        request(&setup.state, "GET", "/api/live", "10.9.8.7").status,
        200
    );
    assert_eq!(
        request(&setup.state, "GET", "/api/live", "::ffff:10.1.1.1").status,
        200,
        "a mapped address is its IPv4 address"
    );
    // A host name allows the addresses it resolves to, once resolved (in
    // the background), never during the request.
    assert_eq!(request(&setup.state, "GET", "/", "192.168.7.7").status, 403);
    setup.state.resolve_hosts(|host| match host {
        "router.lan" => vec!["192.168.7.7".parse().unwrap()],
        _ => Vec::new(),
    });
    assert_eq!(request(&setup.state, "GET", "/", "192.168.7.7").status, 200);
    setup.state.resolve_hosts(|_| Vec::new());
    assert_eq!(request(&setup.state, "GET", "/", "192.168.7.7").status, 403);

    let empty = self::setup("[web]\nallow = []\n");
    assert_eq!(request(&empty.state, "GET", "/", "127.0.0.1").status, 403);
    let default = self::setup("");
    for allowed in [
        "127.0.0.1",
        "::1",
        "192.168.88.20",
        "172.16.0.1",
        "fd00::5",
        "fe80::1",
    ] {
        assert_eq!(
            request(&default.state, "GET", "/", allowed).status,
            200,
            "{allowed}"
        );
    }
    for denied in ["8.8.8.8", "2001:db8::1", "172.32.0.1"] {
        assert_eq!(
            request(&default.state, "GET", "/", denied).status,
            403,
            "{denied}"
        );
    }
}

#[test]
fn forwarded_for_only_from_trusted_proxies() {
    let setup = setup("[web]\nallow = [\"10.0.0.0/8\"]\ntrusted_proxies = [\"127.0.0.1\"]\n");
    let with = |peer: &str, chain: &str| {
        route(
            &setup.state,
            &Req {
                method: "GET",
                url: "/",
                peer: peer.parse::<IpAddr>().unwrap(),
                host: None,
                forwarded_for: Some(chain),
                accept_encoding: None,
                if_none_match: None,
                setup: Default::default(),
            },
        )
        .status
    };
    assert_eq!(
        with("127.0.0.1", "10.1.2.3"),
        200,
        "the proxy vouches for the client"
    );
    assert_eq!(
        with("127.0.0.1", "8.8.8.8"),
        403,
        "the client behind the proxy"
    );
    assert_eq!(
        with("10.1.2.3", "8.8.8.8"),
        200,
        "not a proxy: the header is ignored"
    );
    assert_eq!(
        with("8.8.8.8", "10.1.2.3"),
        403,
        "a forged header does not help"
    );
}

#[test]
fn methods_paths_and_malformed_queries() {
    let setup = setup("");
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "BREW"] {
        let reply = request(&setup.state, method, "/", "127.0.0.1");
        assert_eq!(reply.status, 405, "{method}");
        assert!(reply.headers.contains(&("Allow", "GET, HEAD".into())));
    }
    assert_eq!(
        request(&setup.state, "HEAD", "/api/live", "127.0.0.1").status,
        200
    );
    assert_eq!(
        get(&setup.state, "/api/live/").status,
        200,
        "trailing slash"
    );
    assert_eq!(get(&setup.state, "//").status, 200);
    assert_eq!(get(&setup.state, "/nope").status, 404);
    assert_eq!(get(&setup.state, "/favicon.ico").status, 404);
    assert_eq!(get(&setup.state, "/../Cargo.toml").status, 404);
    let bad = get(&setup.state, "/api/series?start=%zz");
    assert_eq!(bad.status, 400);
    assert!(
        json_of(&bad)["error"]
            .as_str()
            .unwrap()
            .contains("%-escape")
    );
    assert_eq!(get(&setup.state, "/?x=%ff").status, 400, "not UTF-8");
    let old = get(&setup.state, "/anything?graph=1&range=6h&width=800&_=123");
    assert_eq!(old.status, 303);
    assert!(
        old.headers
            .contains(&("Location", "/?range=6h&width=800".into()))
    );
    // The query is rebuilt from the decoded values, percent-encoded: no
    // character of the request reaches the header raw.
    let injected = get(
        &setup.state,
        "/?graph=1&range=1h\r\nSet-Cookie:+a=b&title=%0D%0AX:%20y&t%C3%A9=%E2%82%AC",
    );
    assert_eq!(injected.status, 303);
    assert_eq!(
        injected.headers,
        [(
            "Location",
            "/?range=1h%0D%0ASet-Cookie%3A%20a%3Db&title=%0D%0AX%3A%20y&t%C3%A9=%E2%82%AC".into()
        )]
    );
}

#[test]
fn only_names_of_this_server_are_answered() {
    let setup = setup("[web]\nhostnames = [\"Traffic.Example.\"]\n");
    let with = |host: Option<&str>, peer: &str| {
        route(
            &setup.state,
            &Req {
                method: "GET",
                url: "/api/live",
                peer: peer.parse::<IpAddr>().unwrap(),
                host,
                forwarded_for: None,
                accept_encoding: None,
                if_none_match: None,
                setup: Default::default(),
            },
        )
    };
    for host in [
        None,
        Some("127.0.0.1:8080"),
        Some("localhost"),
        Some("traffic.example:80"),
    ] {
        assert_eq!(with(host, "127.0.0.1").status, 200, "{host:?}");
    }
    let rebound = with(Some("evil.example\u{1b}[2J"), "127.0.0.1");
    assert_eq!(rebound.status, 421);
    let text = String::from_utf8(rebound.body.bytes().to_vec()).unwrap();
    assert!(text.contains("web.hostnames"), "{text}");
    assert!(
        text.contains("\"evil.example\\u{1b}[2J\""),
        "escaped: {text}"
    );
    assert_eq!(
        with(Some("evil.example"), "8.8.8.8").status,
        403,
        "the allow-list comes first"
    );
}

#[test]
fn query_strings() {
    let params = parse_query("a=1&b=&c=x+y%2Fz&a=2&&d").unwrap();
    let expected: Vec<(String, String)> = [("a", "1"), ("c", "x y/z"), ("a", "2")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(params, expected, "blank values dropped, order kept");
    assert_eq!(Params(&params).get("a"), Some("2"), "the last wins");
    assert!(parse_query("a=%4").is_err());
    assert_eq!(parse_query("t=%C3%A9").unwrap()[0].1, "é");
}

#[test]
fn assets_with_etags_and_gzip() {
    let setup = setup("");
    let page = get(&setup.state, "/?range=6h&style=line");
    assert_eq!(
        (page.status, page.content_type),
        (200, "text/html; charset=utf-8")
    );
    assert_eq!(page.cache, "no-cache");
    let asset = assets::find("/app.js").unwrap();
    let etag = asset.etag;
    let with = |encoding: &'static str, etag: &'static str| {
        route(
            &setup.state,
            &Req {
                method: "GET",
                url: "/app.js",
                peer: "127.0.0.1".parse().unwrap(),
                host: None,
                forwarded_for: None,
                accept_encoding: Some(encoding),
                if_none_match: Some(etag),
                setup: Default::default(),
            },
        )
    };
    let again = with("gzip, deflate, br", etag);
    assert_eq!(again.status, 304);
    assert!(again.body.bytes().is_empty());
    let zipped = |encoding: &'static str| with(encoding, "\"other\"");
    let reply = zipped("gzip, br");
    assert_eq!(reply.status, 200);
    let gzipped = asset.gzip.len() < asset.size;
    assert_eq!(
        reply.headers.contains(&("Content-Encoding", "gzip".into())),
        gzipped
    );
    assert!(
        !zipped("gzip;q=0, br")
            .headers
            .iter()
            .any(|(k, _)| *k == "Content-Encoding")
    );
    let plain = zipped("identity");
    assert!(!plain.headers.iter().any(|(k, _)| *k == "Content-Encoding"));
    assert_eq!(plain.body.bytes().len(), asset.size);
    assert!(plain.body.bytes().starts_with(b"(()=>{'use strict';"));
}

#[test]
fn interfaces_live_and_the_originals_live() {
    let setup = setup("[web]\ntitle = \"Home <b>\"\ntheme = \"classic\"\n");
    let list = json_of(&get(&setup.state, "/api/interfaces"));
    assert_eq!(list["title"], "Home <b>");
    assert_eq!(list["theme"], "classic");
    assert_eq!(list["now"], NOW);
    assert_eq!(list["interfaces"][0]["id"], "home/ether1");
    assert_eq!(list["interfaces"][0]["label"], "WAN");
    assert_eq!(list["interfaces"][1]["label"], "ether2");
    assert_eq!(list["interfaces"][0]["state"], "waiting");

    let original = get(&setup.state, "/live");
    assert_eq!(original.body.bytes(), br#"{"rx":0,"tx":0,"ts":null}"#);
    let live = json_of(&get(&setup.state, "/api/live"));
    assert!(live["interfaces"][0]["ts"].is_null() && live["interfaces"][0]["rx"].is_null());

    set_sample(&setup, 0, NOW - 1.0, 46_654_168.4, 1_817_766.6);
    set_sample(&setup, 1, NOW - 12.0, 1.0, 2.0);
    let original = json_of(&get(&setup.state, "/live"));
    assert_eq!(
        original,
        serde_json::json!({"rx": 46654168, "tx": 1817767, "ts": NOW - 1.0})
    );
    let live = json_of(&get(&setup.state, "/api/live"));
    assert_eq!(live["now"], NOW);
    assert_eq!(live["interfaces"][0]["rx"], 46_654_168.4);
    assert_eq!(live["interfaces"][0]["state"], "ok");
    assert_eq!(live["interfaces"][1]["state"], "stale");
    set_router(&setup, false, Some("connection refused"));
    let live = json_of(&get(&setup.state, "/api/live"));
    assert_eq!(live["interfaces"][1]["state"], "error");
    assert_eq!(live["interfaces"][1]["error"], "router: connection refused");
    // Byte for byte what serde_json writes for these values (keys sorted,
    // its number formats), as these answers always were.
    for url in [
        "/api/interfaces",
        "/api/live",
        "/api/rrdtool",
        "/api/series?start=x",
    ] {
        let reply = get(&setup.state, url);
        let canonical = serde_json::to_vec(&json_of(&reply)).unwrap();
        assert_eq!(reply.body.bytes(), canonical, "{url}");
    }
}

#[test]
fn healthz_says_what_is_stale() {
    let setup = setup("");
    let reply = get(&setup.state, "/healthz");
    assert_eq!(reply.status, 503);
    let text = String::from_utf8(reply.body.bytes().to_vec()).unwrap();
    assert!(text.contains("home/ether1: no sample yet"), "{text}");
    set_sample(&setup, 0, NOW - 2.0, 1.0, 1.0);
    set_sample(&setup, 1, NOW - 42.0, 1.0, 1.0);
    set_router(&setup, true, Some("timed out"));
    let reply = get(&setup.state, "/healthz");
    let text = String::from_utf8(reply.body.bytes().to_vec()).unwrap();
    assert_eq!(reply.status, 503);
    assert_eq!(
        text,
        "home/ether2: no sample for 42 s (router: timed out)\n"
    );
    set_sample(&setup, 1, NOW - 9.0, 1.0, 1.0);
    assert_eq!(get(&setup.state, "/healthz").status, 200);
}

#[test]
fn a_file_that_cannot_be_made_or_written_is_failing_in_words() {
    let setup = setup("");
    set_sample(&setup, 0, NOW - 0.5, 1.0, 1.0);
    set_sample(&setup, 1, NOW - 0.5, 1.0, 1.0);
    let path = setup.dir.join("home-ether1.rrd");
    let error = store::Error::NoMemory {
        path: path.clone(),
        needed: Profile::Original.data_bytes(),
        available: store::Available {
            bytes: 300 << 10,
            source: store::MemorySource::Sysinfo,
        },
    };
    setup.health[0].update(|h| h.file = FileState::Failed(FileProblem::from_store(&error)));
    setup.health[1].update(|h| h.file = FileState::Ready);
    let reply = get(&setup.state, "/healthz");
    assert_eq!(reply.status, 503);
    let text = String::from_utf8(reply.body.bytes().to_vec()).unwrap();
    assert!(
        text.starts_with("home/ether1: not stored (file no memory: ") && !text.contains("ether2"),
        "{text}"
    );
    for url in ["/api/interfaces", "/api/live"] {
        let json = json_of(&get(&setup.state, url));
        let first = &json["interfaces"][0];
        assert_eq!(first["state"], "error", "{url}");
        assert_eq!(first["file"], "failed", "{url}");
        assert!(
            first["error"]
                .as_str()
                .unwrap()
                .starts_with("file no memory: "),
            "{url}: {first}"
        );
        assert_eq!(json["interfaces"][1]["state"], "ok", "{url}");
        assert_eq!(json["interfaces"][1]["file"], "ready", "{url}");
    }
    let series = get(
        &setup.state,
        &format!(
            "/api/series?iface=home/ether1&start={}&end={}",
            NOW as i64 - 60,
            NOW as i64
        ),
    );
    assert_eq!(series.status, 503);
    let message = json_of(&series)["error"].as_str().unwrap().to_string();
    assert!(
        message.contains("cannot be created (no memory)") && !message.contains("collector creates"),
        "{message}"
    );
}

/// A compact file with 1000 bit/s received and 8 bit/s sent in every
/// second of the hour before `NOW`.
fn fill(setup: &Setup, index: usize) {
    let path = &setup.state.interfaces[index].rrd;
    let end = NOW as i64 - 100;
    let start = end - 3600;
    store::create(path, Profile::Compact, start).unwrap();
    let lines: Vec<String> = (start + 1..=end)
        .map(|t| crate::rrd::update_line(t as f64, Some(1000.0), Some(8.0)))
        .collect();
    crate::rrd::update(path, &lines).unwrap();
}

#[test]
fn series_answers_and_refusals() {
    let setup = setup("");
    let end = NOW as i64 - 100;
    let url = |q: &str| format!("/api/series?{q}");
    let missing = get(
        &setup.state,
        &url(&format!("start={}&end={end}", end - 600)),
    );
    assert_eq!(missing.status, 503, "no file yet");
    assert!(
        json_of(&missing)["error"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
    fill(&setup, 0);
    for (query, status) in [
        ("start=1&end=x".to_string(), 400),
        ("end=5".to_string(), 400),
        ("start=10&end=5".to_string(), 400),
        ("start=-5&end=5".to_string(), 400),
        ("start=1&end=5&points=0".to_string(), 400),
        ("start=1&end=5&points=99999999999".to_string(), 400),
        ("start=1&end=5&points=-1".to_string(), 400),
        ("start=1&end=5&iface=nope".to_string(), 404),
        ("start=1&end=5&iface=home%2Fether1".to_string(), 200),
    ] {
        assert_eq!(get(&setup.state, &url(&query)).status, status, "{query}");
    }
    let series = json_of(&get(
        &setup.state,
        &url(&format!("start={}&end={end}&points=60", end - 600)),
    ));
    assert_eq!(series["step"], 10);
    assert_eq!(series["iface"], "home/ether1");
    assert_eq!(series["rx"].as_array().unwrap().len(), 60);
    assert!(series["rx"].as_array().unwrap().iter().all(|v| v == 1000));
    assert_eq!(series["rx_peak"][0], 1000);
    assert_eq!(series["summary"]["rx_avg"], 1000.0);
    assert_eq!(series["summary"]["tx_bytes"], 600.0);
    assert_eq!(series["summary"]["rx_bytes"], 75_000.0);
    assert_eq!(series["summary"]["known"], 1.0);
    let fine = json_of(&get(
        &setup.state,
        &url(&format!("start={}&end={end}&points=600", end - 600)),
    ));
    assert_eq!(fine["step"], 1);
    assert!(fine["rx_peak"].is_null(), "1 s peaks are the averages");
    let since = json_of(&get(
        &setup.state,
        &url(&format!(
            "start={}&end={}&points=60&since={}",
            end - 600,
            end + 100,
            end - 50
        )),
    ));
    let (t0, step) = (
        since["t0"].as_i64().unwrap(),
        since["step"].as_i64().unwrap(),
    );
    assert_eq!(step, 15);
    assert_eq!(t0, end - 50, "a multiple of the step");
    let rx = since["rx"].as_array().unwrap();
    assert_eq!(
        rx.len() as i64,
        (since["end"].as_i64().unwrap() - t0) / step,
        "only the points from since on"
    );
    let known = since["known"].as_array().unwrap();
    assert_eq!(known.len(), rx.len());
    for (i, value) in rx.iter().enumerate() {
        let point_start = t0 + i as i64 * step;
        // Known: the seconds up to the last update; a point partly after
        // it is the average of its known seconds, and says how many.
        let seconds = (end - point_start).clamp(0, step);
        assert_eq!(known[i], seconds, "point {i}");
        match seconds > 0 {
            true => assert_eq!(value, 1000, "point {i}"),
            false => assert!(value.is_null(), "after the last update: a gap, not 0"),
        }
    }
    assert_eq!(since["summary"]["known"].as_f64().unwrap(), 600.0 / 700.0);
}

#[test]
fn rrdtool_command_for_the_view() {
    let setup = setup("[web]\ntitle = \"Home\"\n");
    // No file yet: the original's step rule.
    let command = json_of(&get(&setup.state, "/api/rrdtool?range=1h&theme=classic"));
    let command = command["command"].as_str().unwrap();
    assert!(command.starts_with("rrdtool graph output.png --start now-1h --end now --step 3 "));
    assert!(command.contains("--title Home"));
    assert!(!command.contains("--color"));
    fill(&setup, 1);
    let reply = json_of(&get(
        &setup.state,
        "/api/rrdtool?iface=home/ether2&start=1000&end=2000000&width=1000",
    ));
    let command = reply["command"].as_str().unwrap();
    let file = setup.state.interfaces[1].rrd.display().to_string();
    assert!(
        command.contains("--step 1999 "),
        "more seconds than pixels: {command}"
    );
    assert!(command.contains(&format!("DEF:rx_raw={file}:rx:AVERAGE")));
    assert!(command.contains("--color 'BACK#1a1d26'"));
    assert_eq!(get(&setup.state, "/api/rrdtool?iface=x").status, 404);
}

/// Web-only mode (`-w`): no collector here, so the live values and the
/// health come from the files another machine writes.
#[test]
fn web_only_reads_live_values_from_the_file() {
    let mut setup = setup("");
    let config = config::parse(
        &format!(
            "[storage]\ndata_dir = {:?}\n[[router]]\nname = \"home\"\nhost = \"h\"\nuser = \"u\"\n\
             [[router.interface]]\nname = \"ether1\"\n[[router.interface]]\nname = \"ether2\"\n",
            setup.dir
        ),
        Path::new("test.toml"),
    )
    .unwrap();
    setup.state = State::new(&config, &[], Files::new(), Arc::new(Fixed), None);
    assert!(setup.state.interfaces.iter().all(|s| s.health.is_none()));
    fill(&setup, 0);
    let live = json_of(&get(&setup.state, "/api/live"));
    let first = &live["interfaces"][0];
    assert_eq!(
        first["ts"],
        NOW as i64 as f64 - 100.0,
        "the file's last update"
    );
    assert_eq!(
        (first["rx"].as_f64(), first["tx"].as_f64()),
        (Some(1000.0), Some(8.0))
    );
    assert_eq!(first["state"], "stale", "100 s old");
    assert_eq!(live["interfaces"][1]["state"], "waiting");
    assert!(
        live["interfaces"][1]["error"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
    let original = json_of(&get(&setup.state, "/live"));
    assert_eq!(original["rx"], 1000);
    let health = get(&setup.state, "/healthz");
    assert_eq!(health.status, 503);
    let text = String::from_utf8(health.body.bytes().to_vec()).unwrap();
    assert!(
        text.starts_with("home/ether1: no sample for 100 s\n"),
        "{text}"
    );
}

/// `/metrics`: behind the allow-list, the Prometheus content type, the
/// collector's counters and sample from one snapshot.
#[test]
fn metrics_for_prometheus() {
    let setup = setup("[web]\nallow = [\"10.0.0.0/8\"]\n");
    let denied = request(&setup.state, "GET", "/metrics", "192.168.1.9");
    assert_eq!(denied.status, 403);
    set_sample(&setup, 0, NOW - 0.25, 8e6, 1e6);
    setup.health[0].update(|h| {
        h.counters = Some((1_000_000, 2_000));
        h.reconnects = 2;
    });
    let reply = request(&setup.state, "GET", "/metrics", "10.1.2.3");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.content_type,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(reply.cache, "no-store");
    let text = String::from_utf8(reply.body.bytes().to_vec()).unwrap();
    for line in [
        "mt_trafmon_interface_bytes_total{router=\"home\",interface=\"ether1\",direction=\"rx\"} 1000000\n",
        "mt_trafmon_interface_bytes_total{router=\"home\",interface=\"ether1\",direction=\"tx\"} 2000\n",
        "mt_trafmon_interface_bytes_per_second{router=\"home\",interface=\"ether1\",direction=\"rx\"} 1000000\n",
        "mt_trafmon_interface_last_sample_timestamp_seconds{router=\"home\",interface=\"ether1\"} 1800000000.25\n",
        "mt_trafmon_interface_unknown_seconds_total{router=\"home\",interface=\"ether2\"} 0\n",
        "mt_trafmon_router_connected{router=\"home\"} 1\n",
        "mt_trafmon_router_reconnects_total{router=\"home\"} 2\n",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    assert!(
        !text.contains("interface=\"ether2\",direction"),
        "ether2 has neither counters nor a sample yet:\n{text}"
    );
    set_router(&setup, false, Some("connection refused"));
    let reply = request(&setup.state, "GET", "/metrics/", "10.1.2.3");
    let text = String::from_utf8(reply.body.bytes().to_vec()).unwrap();
    assert!(text.contains("mt_trafmon_router_connected{router=\"home\"} 0\n"));
}

#[test]
fn series_are_heavy_and_the_rest_light() {
    for url in [
        "/api/series",
        "/api/series/",
        "/api/series?iface=a&start=1&end=2",
    ] {
        assert!(heavy(url), "{url}");
    }
    for url in [
        "/",
        "/api/live",
        "/healthz",
        "/metrics",
        "/app.css",
        "/api/seriesx",
        "/x?/api/series",
    ] {
        assert!(!heavy(url), "{url}");
    }
    let busy = busy();
    assert_eq!(busy.status, 503);
    assert_eq!(busy.headers, [("Retry-After", "1".to_string())]);
    assert!(String::from_utf8_lossy(busy.body.bytes()).contains("\"error\""));
}

#[test]
fn denials_are_logged_once_a_minute_per_client_for_at_most_1024_clients() {
    let setup = setup("");
    let state = &setup.state;
    let start = std::time::Instant::now();
    let at = |seconds| start + std::time::Duration::from_secs(seconds);
    let first: IpAddr = "10.0.0.1".parse().unwrap();
    assert!(state.log_denial(first, at(0)));
    assert!(!state.log_denial(first, at(59)));
    assert!(state.log_denial(first, at(60)));
    for i in 1..1024_u32 {
        let client = std::net::Ipv4Addr::from(0x0b00_0000 + i).into();
        assert!(state.log_denial(client, at(60)), "{client}");
    }
    let late = "12.0.0.1".parse().unwrap();
    assert!(!state.log_denial(late, at(61)), "1024 remembered");
    assert!(!state.log_denial(first, at(61)), "still remembered");
    assert!(state.log_denial(late, at(120)), "the others forgotten");
    assert!(!state.log_denial(late, at(121)));
    assert!(state.log_denial(first, at(121)));
}
