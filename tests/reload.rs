//! Live reload: the real binary collecting from the simulator on loopback
//! while its config file is edited under it. Each change must show within
//! 5 s without a restart: title, theme, allow-list, router credentials
//! (one reconnect), interfaces added and removed, web port (old socket
//! closed; a taken port keeps the old one), web disabled and enabled again
//! with the collector writing throughout, and an invalid edit that keeps the
//! running config until it is fixed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod support;

use mt_trafmon::sim::{Options, Simulator};
use support::{Killed, TestDir, free_port, rrdtool};

const BIN: &str = env!("CARGO_BIN_EXE_mt-trafmon");
/// The promise: changes apply within this.
const WITHIN: Duration = Duration::from_secs(5);

/// Sends a GET and returns status and body; `None` if nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.get(9..12)?.parse().ok()?;
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Some((status, body))
}

fn json(port: u16, path: &str) -> serde_json::Value {
    let (status, body) = get(port, path).expect("the server answers");
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Waits up to `limit` for `ready`; returns how long it took.
fn within(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        thread::sleep(Duration::from_millis(100));
    }
    started.elapsed()
}

struct Setup {
    dir: TestDir,
    sim: Simulator,
    config: PathBuf,
    log: PathBuf,
}

impl Setup {
    fn write(&self, password: &str, interfaces: &[&str], web: &str) {
        let mut text = format!(
            "[storage]\ndata_dir = {:?}\nprofile = \"compact\"\n\n[[router]]\nname = \"sim\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"reader\"\npassword = \"{password}\"\ntimeout = 1.5\n",
            self.dir.0.display().to_string(),
            self.sim.addr().port()
        );
        for name in interfaces {
            text.push_str(&format!("\n[[router.interface]]\nname = \"{name}\"\n"));
        }
        text.push_str(&format!("\n[web]\nlisten = \"127.0.0.1\"\n{web}"));
        // Written whole and renamed, as editors and the wizard do.
        let temporary = self.dir.path("new.toml");
        std::fs::write(&temporary, text).unwrap();
        std::fs::rename(&temporary, &self.config).unwrap();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn rrd_last(&self, interface: &str) -> Option<i64> {
        let path = self.dir.path(&format!("sim-{interface}.rrd"));
        if !path.exists() {
            return None;
        }
        rrdtool(&["last", path.to_str().unwrap()])
            .trim()
            .parse()
            .ok()
    }
}

fn start(setup: &Setup) -> Killed {
    let log = std::fs::File::create(&setup.log).unwrap();
    Killed(
        Command::new(BIN)
            .arg("--config")
            .arg(&setup.config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap(),
    )
}

#[test]
fn edits_apply_without_a_restart() {
    let dir = TestDir::new("reload");
    let setup = Setup {
        config: dir.path("mt-trafmon.toml"),
        log: dir.path("daemon.log"),
        sim: Simulator::start(Options::default()).unwrap(),
        dir,
    };
    let port = free_port();
    setup.write(
        "secret",
        &["ether1"],
        &format!("port = {port}\ntitle = \"One\"\n"),
    );
    let _daemon = start(&setup);
    within(Duration::from_secs(15), "first samples", || {
        get(port, "/healthz").is_some_and(|(s, _)| s == 200)
    });
    let connects = |s: &Setup| s.log().matches("connected to").count();
    assert_eq!(connects(&setup), 1);

    // Title and theme.
    setup.write(
        "secret",
        &["ether1"],
        &format!("port = {port}\ntitle = \"Two\"\ntheme = \"classic\"\n"),
    );
    within(WITHIN, "the new title", || {
        let list = json(port, "/api/interfaces");
        list["title"] == "Two" && list["theme"] == "classic"
    });
    assert_eq!(connects(&setup), 1, "the collector kept its session");

    // An invalid edit keeps the running config and says where it is wrong.
    let valid = std::fs::read_to_string(&setup.config).unwrap();
    std::fs::write(
        &setup.config,
        valid.replace("title = \"Two\"", "title = Three"),
    )
    .unwrap();
    within(WITHIN, "the error in the log", || {
        setup.log().contains("keeping the running config")
    });
    let log = setup.log();
    assert!(
        log.contains("line") && log.contains(setup.config.to_str().unwrap()),
        "{log}"
    );
    assert_eq!(json(port, "/api/interfaces")["title"], "Two");
    setup.write(
        "secret",
        &["ether1"],
        &format!("port = {port}\ntitle = \"Three\"\n"),
    );
    within(WITHIN, "the fixed file applied", || {
        json(port, "/api/interfaces")["title"] == "Three"
    });

    // Interfaces added and removed: the collector restarts once with them.
    setup.write("secret", &["ether1", "ether2"], &format!("port = {port}\n"));
    within(WITHIN + Duration::from_secs(5), "ether2 collected", || {
        setup.rrd_last("ether2").is_some()
            && json(port, "/api/live")["interfaces"][1]["ts"].is_number()
    });
    assert_eq!(connects(&setup), 2, "one reconnect");
    setup.write("secret", &["ether2"], &format!("port = {port}\n"));
    within(WITHIN, "ether1 gone", || {
        json(port, "/api/interfaces")["interfaces"]
            .as_array()
            .unwrap()
            .len()
            == 1
    });
    let stopped_at = setup.rrd_last("ether1").unwrap();
    thread::sleep(Duration::from_secs(2));
    assert_eq!(
        setup.rrd_last("ether1"),
        Some(stopped_at),
        "ether1 is no longer written"
    );

    // Credentials: a wrong password is tried (and fails), the right one
    // reconnects.
    setup.write("wrong", &["ether2"], &format!("port = {port}\n"));
    within(WITHIN, "the login failure", || {
        json(port, "/api/live")["interfaces"][0]["state"] == "error"
    });
    setup.write("secret", &["ether2"], &format!("port = {port}\n"));
    within(WITHIN + Duration::from_secs(5), "collecting again", || {
        json(port, "/api/live")["interfaces"][0]["state"] == "ok"
    });

    // Port: moves; a taken port keeps the old socket.
    let second = free_port();
    setup.write("secret", &["ether2"], &format!("port = {second}\n"));
    within(WITHIN, "the new port", || get(second, "/healthz").is_some());
    within(WITHIN, "the old port closed", || {
        get(port, "/healthz").is_none()
    });
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    setup.write(
        "secret",
        &["ether2"],
        &format!("port = {taken_port}\ntitle = \"Kept\"\n"),
    );
    within(WITHIN, "the bind failure logged", || {
        setup.log().contains("keeping the old socket")
    });
    assert_eq!(
        json(second, "/api/interfaces")["title"],
        "Kept",
        "still served, new settings"
    );
    drop(taken);

    // Web disabled: the port closes, the collector goes on; enabled again.
    setup.write(
        "secret",
        &["ether2"],
        &format!("port = {second}\nenabled = false\n"),
    );
    within(WITHIN, "the web server stopped", || {
        get(second, "/healthz").is_none()
    });
    let before = setup.rrd_last("ether2").unwrap();
    within(WITHIN, "the collector writing on", || {
        setup.rrd_last("ether2").unwrap() > before + 1
    });
    setup.write("secret", &["ether2"], &format!("port = {second}\n"));
    within(WITHIN, "the web server back", || {
        get(second, "/healthz").is_some()
    });

    // The allow-list, last (it shuts this test out).
    setup.write(
        "secret",
        &["ether2"],
        &format!("port = {second}\nallow = [\"10.0.0.0/8\"]\n"),
    );
    within(WITHIN, "loopback denied", || {
        get(second, "/api/live").is_some_and(|(s, _)| s == 403)
    });
    assert!(Path::new(&setup.log).exists());
}
