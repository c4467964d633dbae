//! The settings page's routes on the real `mt-trafmon` binary, over TCP on
//! loopback, while it collects from the simulator: login (wrong, right,
//! throttled), the session cookie, config, the connection test against the
//! simulator, save → applied by the live reload, a changed host without the
//! password, a cross-origin POST, a hand edit between load and save, a
//! port change, logout, `web.settings = false`; and every answer of these
//! routes, head and body, searched for the router's password.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod support;

use mt_trafmon::auth::Hash;
use mt_trafmon::sim::{Options, Simulator, User};
use serde_json::{Value, json};
use support::{Killed, TestDir, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_mt-trafmon");
/// The router's password: must never come back from the server.
const ROUTER_PASSWORD: &str = "Rtr-pw.9c4e!zQ";
const ADMIN_PASSWORD: &str = "admin pass 1";

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    /// The body as JSON, which must be byte for byte what serde_json
    /// writes for it: keys sorted, its number formats (as these answers
    /// always were).
    fn json(&self) -> Value {
        let value: Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {} {}", self.head, self.body));
        assert_eq!(value.to_string(), self.body, "{}", self.head);
        value
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// The client: every answer is kept for the password check at the end.
struct Client {
    address: SocketAddr,
    cookie: Option<String>,
    seen: Vec<String>,
}

impl Client {
    fn send(
        &mut self,
        method: &str,
        path: &str,
        origin: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut stream = TcpStream::connect(self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let host = format!("127.0.0.1:{}", self.address.port());
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        if let Some(origin) = origin {
            request += &format!("Origin: {origin}\r\n");
        }
        if let Some(cookie) = &self.cookie {
            request += &format!("Cookie: theme=dark; mt_session={cookie}\r\n");
        }
        let body = body.map(Value::to_string).unwrap_or_default();
        if method == "POST" {
            request += &format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            );
        }
        request += "\r\n";
        request += &body;
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        // Lossy: the settings page's files come gzipped.
        let answer = String::from_utf8_lossy(&answer).into_owned();
        self.seen.push(answer.clone());
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        Answer {
            status: head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0),
            head: head.to_string(),
            body: body.to_string(),
        }
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.address.port())
    }

    fn get(&mut self, path: &str) -> Answer {
        self.send("GET", path, None, None)
    }

    fn post(&mut self, path: &str, body: Value) -> Answer {
        let origin = self.origin();
        self.send("POST", path, Some(&origin), Some(&body))
    }
}

fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// The form as the page would send it back unchanged: each router with its
/// index and no password.
fn form(config: &Value) -> Value {
    let routers: Vec<Value> = config["routers"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let mut r = r.clone();
            r["original"] = json!(n);
            r["password"] = Value::Null;
            r.as_object_mut().unwrap().remove("password_set");
            r
        })
        .collect();
    json!({
        "version": config["version"],
        "config": {"storage": config["storage"], "routers": routers, "web": config["web"]},
    })
}

#[test]
fn every_settings_route_of_the_real_daemon() {
    let dir = TestDir::new("setup");
    let sim = Simulator::start(Options {
        users: vec![User {
            password: ROUTER_PASSWORD.into(),
            ..Options::default_users().remove(1)
        }],
        ..Options::default()
    })
    .unwrap();
    let port = free_port();
    let path = dir.path("mt-trafmon.toml");
    let admin = Hash::new(ADMIN_PASSWORD, b"a salt for tests", 1000).to_string();
    std::fs::write(
        &path,
        format!(
            "[storage]\ndata_dir = {:?}\nprofile = \"compact\"\n\
             [[router]]\nname = \"sim\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"reader\"\npassword = \"{ROUTER_PASSWORD}\"\n\
             [[router.interface]]\nname = \"ether1\"\nlabel = \"WAN\"\n\
             [web]\nlisten = \"127.0.0.1\"\nport = {port}\nadmin_password = \"{admin}\"\n",
            dir.0.display().to_string(),
            sim.addr().port()
        ),
    )
    .unwrap();
    let (_daemon, mut client) = start(&path, &[], port);

    // Before the login.
    let state = client.get("/api/setup/state").json();
    assert_eq!(state["password_set"], true);
    assert_eq!(state["logged_in"], false);
    assert_eq!(state["web_only"], false);
    assert_eq!(client.get("/api/setup/config").status, 401);
    assert_eq!(client.get("/api/setup/nope").status, 404);
    // Bodies: 1 KiB for every request but a POST to /api/setup/ (64 KiB).
    let pad = |n: usize| json!({ "password": 5, "pad": "x".repeat(n) });
    let origin = client.origin();
    let big = client.send("POST", "/api/live", Some(&origin), Some(&pad(2000)));
    assert_eq!(big.status, 413, "{}", big.head);
    let big = client.post("/api/setup/login", pad(2000));
    assert_eq!(big.status, 400, "read, and refused as JSON: {}", big.body);
    let big = client.post("/api/setup/login", pad(64 << 10));
    assert_eq!(big.status, 413, "{}", big.head);
    let answer = client.get("/api/setup/login");
    assert_eq!((answer.status, answer.header("Allow")), (405, Some("POST")));
    let wrong = client.post("/api/setup/login", json!({"password": "nope"}));
    assert_eq!(
        (wrong.status, wrong.json()["error"].as_str()),
        (401, Some("wrong password"))
    );
    assert!(wrong.header("Set-Cookie").is_none());
    let login = json!({"password": ADMIN_PASSWORD});
    for origin in [Some("http://evil.example"), Some("null"), None] {
        let answer = client.send("POST", "/api/setup/login", origin, Some(&login));
        assert_eq!(answer.status, 403, "Origin {origin:?}: {}", answer.body);
        assert!(answer.header("Set-Cookie").is_none());
    }

    // The login.
    let answer = client.post("/api/setup/login", login.clone());
    assert_eq!(answer.status, 200, "{}", answer.body);
    let cookie = answer.header("Set-Cookie").unwrap().to_string();
    let token = cookie
        .strip_prefix("mt_session=")
        .and_then(|c| c.split(';').next())
        .unwrap();
    assert_eq!(token.len(), 64, "256 random bits in hex: {cookie}");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.split("; ").any(|p| p == part), "{part} in {cookie}");
    }
    client.cookie = Some(token.to_string());
    assert_eq!(client.get("/api/setup/state").json()["logged_in"], true);

    // The config, without the router's password.
    let config = client.get("/api/setup/config").json();
    assert_eq!(config["routers"][0]["host"], "127.0.0.1");
    assert_eq!(config["routers"][0]["password_set"], true);
    assert!(config["routers"][0].get("password").is_none());
    assert_eq!(config["web"]["port"], port);
    assert_eq!(config["profiles"], json!(["original", "compact"]));
    let version = config["version"].as_str().unwrap().to_string();
    assert_eq!(
        client.get("/api/setup/state").json()["applied_version"],
        version
    );

    // The connection test, with the stored password and with typed ones.
    let test = json!({"router": 0, "host": "127.0.0.1", "port": sim.addr().port(), "user": "reader", "password": null});
    let answer = client.post("/api/setup/interfaces", test.clone()).json();
    assert_eq!(answer["ok"], true, "{answer}");
    let names: Vec<&str> = answer["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"ether1") && names.contains(&"ether2"),
        "{names:?}"
    );
    assert!(answer["interfaces"][0]["type"].is_string());
    let mut moved = test.clone();
    moved["host"] = json!("localhost");
    let answer = client.post("/api/setup/interfaces", moved.clone());
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["field"], "password");
    let mut wrong = test.clone();
    wrong["port"] = json!("8728");
    let answer = client.post("/api/setup/interfaces", wrong);
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.json()["field"], "port", "a value of the wrong type");
    let mut typed = test.clone();
    typed["router"] = Value::Null;
    typed["password"] = json!("not it");
    let answer = client.post("/api/setup/interfaces", typed.clone()).json();
    assert_eq!(answer["ok"], false);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("wrong user name or password"),
        "{answer}"
    );
    typed["password"] = json!(ROUTER_PASSWORD);
    assert_eq!(
        client.post("/api/setup/interfaces", typed).json()["ok"],
        true
    );

    // Save: a title and a second interface, applied by the daemon.
    let mut save = form(&config);
    save["config"]["web"]["title"] = json!("Settings test");
    save["config"]["routers"][0]["interfaces"]
        .as_array_mut()
        .unwrap()
        .push(
            json!({"name": "ether2", "label": null, "rrd": null, "type": "ether", "running": true}),
        );
    let answer = client.post("/api/setup/save", save.clone());
    assert_eq!(answer.status, 200, "{}", answer.body);
    let saved = answer.json();
    assert_eq!(saved["redirect"], Value::Null);
    let new_version = saved["version"].as_str().unwrap().to_string();
    assert_ne!(new_version, version);
    wait_until(Duration::from_secs(10), "the save applied", || {
        client.get("/api/setup/state").json()["applied_version"] == new_version.as_str()
    });
    let (_, interfaces) = support::http_get(port, "/api/interfaces");
    let interfaces: Value = serde_json::from_str(&interfaces).unwrap();
    assert_eq!(interfaces["title"], "Settings test");
    wait_until(Duration::from_secs(10), "ether2 collected", || {
        let (_, live) = support::http_get(port, "/api/live");
        let live: Value = serde_json::from_str(&live).unwrap_or_default();
        live["interfaces"].as_array().is_some_and(|list| {
            list.iter()
                .any(|i| i["id"] == "sim/ether2" && i["rx"].as_f64().is_some_and(|rx| rx > 0.0))
        })
    });
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(&format!("password = \"{ROUTER_PASSWORD}\"")),
        "kept: {text}"
    );
    assert!(text.contains(&admin), "the admin hash is kept");

    // Refusals leave the file as it is.
    let config = client.get("/api/setup/config").json();
    let before = std::fs::read(&path).unwrap();
    let mut host_changed = form(&config);
    host_changed["config"]["routers"][0]["host"] = json!("localhost");
    let answer = client.post("/api/setup/save", host_changed);
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.json()["errors"][0]["field"], "routers.0.password");
    let mut bad_port = form(&config);
    bad_port["config"]["web"]["port"] = json!(0);
    let answer = client.post("/api/setup/save", bad_port);
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.json()["errors"][0]["field"], "web.port");
    // A value of the wrong type or out of range is refused by the body's
    // reading, naming its field.
    let cases = [
        ("/config/web/listen", json!("300.1.1.1"), "web.listen"),
        ("/config/web/port", json!(70000), "web.port"),
        ("/config/web/allow", json!("10.0.0.0/8"), "web.allow"),
        ("/config/web/enabled", json!("yes"), "web.enabled"),
        ("/config/routers/0/port", json!("8728"), "routers.0.port"),
        ("/config/routers/0/timeout", json!([1]), "routers.0.timeout"),
        (
            "/config/routers/0/interfaces/0/name",
            json!(7),
            "routers.0.interfaces.0.name",
        ),
        ("/config/storage/profile", json!("huge"), "storage.profile"),
    ];
    for (pointer, value, field) in cases {
        let mut bad = form(&config);
        *bad.pointer_mut(pointer).unwrap() = value;
        let answer = client.post("/api/setup/save", bad);
        assert_eq!(answer.status, 422, "{field}: {}", answer.body);
        assert_eq!(
            answer.json()["errors"][0]["field"],
            field,
            "{}",
            answer.body
        );
    }
    let mut cross = form(&config);
    cross["config"]["web"]["title"] = json!("from elsewhere");
    let answer = client.send(
        "POST",
        "/api/setup/save",
        Some("http://192.168.1.66:8080"),
        Some(&cross),
    );
    assert_eq!(answer.status, 403);
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing written");
    let mut edited = String::from_utf8(before).unwrap();
    edited.push_str("# a hand edit\n");
    std::fs::write(&path, &edited).unwrap();
    let mut late = form(&config);
    late["config"]["web"]["title"] = json!("too late");
    let answer = client.post("/api/setup/save", late);
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert!(
        answer.json()["error"]
            .as_str()
            .unwrap()
            .contains("changed on disk")
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        edited,
        "the hand edit stays"
    );

    // A new port: the answer says where, and the server moves there.
    let config = client.get("/api/setup/config").json();
    let new_port = free_port();
    let mut moving = form(&config);
    moving["config"]["web"]["port"] = json!(new_port);
    let answer = client.post("/api/setup/save", moving);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let saved = answer.json();
    assert_eq!(
        saved["redirect"],
        format!("http://127.0.0.1:{new_port}/setup")
    );
    client.address = SocketAddr::from(([127, 0, 0, 1], new_port));
    wait_until(Duration::from_secs(10), "the new port", || {
        TcpStream::connect(client.address).is_ok()
    });
    let state = client.get("/api/setup/state").json();
    assert_eq!(state["applied_version"], saved["version"]);
    assert_eq!(state["logged_in"], true, "the session goes along");

    // Logout.
    let answer = client.post("/api/setup/logout", json!({}));
    assert_eq!(answer.status, 200);
    assert!(answer.header("Set-Cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(client.get("/api/setup/config").status, 401);
    assert_eq!(
        client.post("/api/setup/save", form(&config)).json()["error"],
        "log in first"
    );

    // The throttle: five failures are free, then waits from 1 s doubling.
    client.cookie = None;
    let wrong = json!({"password": "guess"});
    for n in 0..6 {
        assert_eq!(
            client.post("/api/setup/login", wrong.clone()).status,
            401,
            "attempt {n}"
        );
    }
    let answer = client.post("/api/setup/login", login.clone());
    assert_eq!(
        answer.status, 429,
        "even the right password waits: {}",
        answer.body
    );
    assert_eq!(answer.header("Retry-After"), Some("1"));
    assert_eq!(answer.json()["retry_after"], 1);
    thread::sleep(Duration::from_millis(1100));
    assert_eq!(client.post("/api/setup/login", wrong.clone()).status, 401);
    let answer = client.post("/api/setup/login", login.clone());
    assert_eq!(answer.status, 429);
    assert_eq!(answer.header("Retry-After"), Some("2"));
    thread::sleep(Duration::from_millis(2100));
    let answer = client.post("/api/setup/login", login);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let cookie = answer.header("Set-Cookie").unwrap();
    client.cookie = cookie
        .strip_prefix("mt_session=")
        .and_then(|c| c.split(';').next())
        .map(String::from);

    // The page turned off from the page: 404 from then on, and the graph
    // page is told (it hides its link).
    let settings = |port: u16| {
        let (_, interfaces) = support::http_get(port, "/api/interfaces");
        serde_json::from_str::<Value>(&interfaces).unwrap()["settings"].clone()
    };
    assert_eq!(settings(client.address.port()), true);
    assert_eq!(client.get("/setup.css").status, 200);
    let config = client.get("/api/setup/config").json();
    let mut off = form(&config);
    off["config"]["web"]["settings"] = json!(false);
    assert_eq!(client.post("/api/setup/save", off).status, 200);
    wait_until(Duration::from_secs(10), "the page off", || {
        client.get("/api/setup/state").status == 404
    });
    for path in ["/setup", "/setup.js", "/setup.css", "/api/setup/config"] {
        assert_eq!(client.get(path).status, 404, "{path}");
    }
    assert_eq!(settings(client.address.port()), false);

    // Not one answer of these routes holds the router's password or the
    // admin hash.
    assert!(client.seen.len() > 40, "{} answers", client.seen.len());
    for answer in &client.seen {
        assert!(!answer.contains(ROUTER_PASSWORD), "{answer}");
        assert!(!answer.contains(&admin), "{answer}");
        assert!(!answer.contains(ADMIN_PASSWORD), "{answer}");
    }
}

#[test]
fn a_web_only_machine_changes_only_the_web_keys() {
    let dir = TestDir::new("setup-web-only");
    let port = free_port();
    let path = dir.path("mt-trafmon.toml");
    let admin = Hash::new(ADMIN_PASSWORD, b"a salt for tests", 1000).to_string();
    std::fs::write(
        &path,
        format!(
            "[storage]\ndata_dir = {:?}\n\
             [[router]]\nname = \"gw\"\nhost = \"192.0.2.1\"\nuser = \"reader\"\npassword = \"{ROUTER_PASSWORD}\"\n\
             [[router.interface]]\nname = \"ether1\"\n\
             [web]\nlisten = \"127.0.0.1\"\nport = {port}\nadmin_password = \"{admin}\"\n",
            dir.0.display().to_string(),
        ),
    )
    .unwrap();
    let (_daemon, mut client) = start(&path, &["-w"], port);
    assert_eq!(client.get("/api/setup/state").json()["web_only"], true);
    let answer = client.post("/api/setup/login", json!({"password": ADMIN_PASSWORD}));
    let cookie = answer.header("Set-Cookie").unwrap();
    client.cookie = cookie
        .strip_prefix("mt_session=")
        .and_then(|c| c.split(';').next())
        .map(String::from);
    let config = client.get("/api/setup/config").json();
    assert_eq!(config["web_only"], true);
    let mut save = form(&config);
    save["config"]["web"]["title"] = json!("Web only");
    save["config"]["routers"][0]["host"] = json!("192.0.2.99");
    save["config"]["routers"][0]["password"] = json!("typed");
    save["config"]["storage"]["data_dir"] = json!("/elsewhere");
    let answer = client.post("/api/setup/save", save);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let config = mt_trafmon::config::load(&path).unwrap();
    assert_eq!(config.web.title, "Web only");
    assert_eq!(
        config.routers[0].host, "192.0.2.1",
        "routers are not the page's here"
    );
    assert_eq!(config.routers[0].password, ROUTER_PASSWORD);
    assert_eq!(config.storage.data_dir, dir.0);
    for answer in &client.seen {
        assert!(!answer.contains(ROUTER_PASSWORD), "{answer}");
    }
}

/// Starts the binary with `flags` on the config at `path`, serving on
/// `port`, and a client for it once it accepts connections.
fn start(path: &std::path::Path, flags: &[&str], port: u16) -> (Killed, Client) {
    let daemon = Killed(
        Command::new(BIN)
            .args(flags)
            .arg("--config")
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = Client {
        address: SocketAddr::from(([127, 0, 0, 1], port)),
        cookie: None,
        seen: Vec::new(),
    };
    wait_until(Duration::from_secs(20), "the server", || {
        TcpStream::connect(client.address).is_ok()
    });
    (daemon, client)
}
