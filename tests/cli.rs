//! The `mt-trafmon` binary as a user runs it: `--version`, usage errors and
//! their exit status, the exit status without a config or a terminal,
//! `import-ini` on a sample of the original's ini, and `--demo` printing
//! rates read from the built-in simulated router and serving the page on
//! the port it is given.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

mod support;

const BIN: &str = env!("CARGO_BIN_EXE_mt-trafmon");

#[test]
fn version_and_usage_errors() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("mt-trafmon {}\n", env!("CARGO_PKG_VERSION"))
    );
    let out = Command::new(BIN).arg("-v").output().unwrap();
    assert!(out.status.success());

    let out = Command::new(BIN).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));

    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--demo"));

    let out = Command::new(BIN).args(["-w", "-c"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exclude each other"));

    // The wizard needs a terminal; here standard input is not one.
    let out = Command::new(BIN).arg("-s").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the setup wizard needs a terminal"),
        "{stderr}"
    );
}

#[test]
fn without_a_config_and_a_terminal_it_names_the_wizard() {
    let out = Command::new(BIN)
        .args(["--config", "/nonexistent/mt-trafmon.toml"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "a status of its own");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no config file at /nonexistent/mt-trafmon.toml")
            && stderr.contains("`mt-trafmon -s --config /nonexistent/mt-trafmon.toml`"),
        "{stderr}"
    );

    // A file that is there but wrong is another matter: status 1.
    let dir = support::TestDir::new("cli-bad-config");
    let path = dir.path("mt-trafmon.toml");
    std::fs::write(&path, "[[router]]\nhost = 1\n").unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(path.to_str().unwrap()));
}

#[test]
fn the_shipped_config_without_a_router_names_the_wizard() {
    // The package's example, every line a comment: what a new user has
    // before running the wizard.
    let dir = support::TestDir::new("cli-no-router");
    let path = dir.path("mt-trafmon.toml");
    std::fs::copy("debian/mt-trafmon.toml", &path).unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no router configured")
            && stderr.contains(&format!("`mt-trafmon -s --config {}`", path.display())),
        "{stderr}"
    );
}

#[test]
fn demo_collects_from_the_simulated_router_and_cleans_up() {
    // --port 0: any free port, so the test never depends on 8080.
    let mut child = Command::new(BIN)
        .args(["--demo", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (send, receive) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if send.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut rows = 0;
    while rows < 2 {
        let Ok(line) = receive.recv_timeout(Duration::from_secs(30)) else {
            child.kill().unwrap();
            panic!("demo printed no rate row in time; output so far: {lines:#?}");
        };
        // Rate rows start with a UTC time, hh:mm:ss.
        if line.as_bytes().get(2) == Some(&b':') && line.contains("bit/s") {
            rows += 1;
        }
        lines.push(line);
    }
    let text = lines.join("\n");
    assert!(text.contains("simulated router on 127.0.0.1:"), "{text}");
    assert!(text.contains("pre-filled 3 days"), "{text}");
    assert!(
        text.contains("ether1 rx / tx") && text.contains("ether2 rx / tx"),
        "{text}"
    );
    // The busy WAN port moves megabits.
    assert!(lines.last().unwrap().contains("Mbit/s"), "{text}");
    let directory = text
        .split("RRD files in ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .map(std::path::PathBuf::from)
        .unwrap();
    assert!(directory.join("demo-ether1.rrd").exists());

    // The address it printed is the one it serves the page on.
    let port: u16 = text
        .split("open http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no page address in {text}"));
    assert_ne!(port, 0);
    let mut page = TcpStream::connect(("127.0.0.1", port)).unwrap();
    page.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    page.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    page.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // A second demo on the same port finds it taken: it says so and how to
    // pick another, exits 1 and leaves no directory behind.
    let second = Command::new(BIN)
        .args(["--demo", "--port", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains(&format!("127.0.0.1:{port}")) && said.contains("--port 0"),
        "{said}"
    );
    let second_directory = String::from_utf8_lossy(&second.stdout)
        .split("RRD files in ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .map(std::path::PathBuf::from)
        .unwrap();
    assert!(
        !second_directory.exists(),
        "{second_directory:?} left behind"
    );

    support::terminate(&child);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "demo did not stop"
        );
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(!directory.exists(), "the demo removes its files");
}

#[test]
fn port_is_for_the_demo_only() {
    let out = Command::new(BIN).args(["--port", "9000"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("web.port"), "{stderr}");
}

#[test]
fn import_ini_writes_a_config_the_daemon_reads() {
    let dir = support::TestDir::new("import");
    let ini = dir.path("mt-trafmon.ini");
    std::fs::write(
        &ini,
        "[router]\nhost = 127.0.0.1\nuser = monitor\npassword_plain = 100%% sure\ninterface = ether2\n\
         [storage]\nrrd_file = traffic.rrd\n[web]\nport = 8090\npage_title = Home\ndark_graph = false\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("import-ini")
        .arg(&ini)
        .arg("--cwd")
        .arg(&dir.0)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("note: "));

    let output = dir.path("mt-trafmon.toml");
    let run = |force: bool| {
        let mut command = Command::new(BIN);
        command
            .arg("import-ini")
            .arg(&ini)
            .arg("--output")
            .arg(&output)
            .arg("--cwd")
            .arg(&dir.0);
        if force {
            command.arg("--force");
        }
        command.output().unwrap()
    };
    assert!(run(false).status.success());
    assert_eq!(std::fs::read_to_string(&output).unwrap(), printed);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&output).unwrap().permissions().mode() & 0o777;
    assert!(mode == 0o600 || mode == 0o640, "{mode:o}");
    let again = run(false);
    assert_eq!(again.status.code(), Some(1), "an existing file is kept");
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert!(run(true).status.success());

    let config = mt_trafmon::config::load(&output).unwrap();
    assert_eq!(config.routers[0].password, "100% sure");
    assert_eq!(config.routers[0].interfaces[0].rrd, dir.path("traffic.rrd"));
    assert_eq!(config.web.port, 8090);

    let missing = Command::new(BIN)
        .args(["import-ini", "/nonexistent/mt.ini"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/mt.ini"));
}
