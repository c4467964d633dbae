//! The setup wizard as a person meets it: the real binary on a
//! pseudo-terminal (made its controlling terminal with util-linux's
//! `setsid -c`, so that a typed Ctrl-C is a real SIGINT), answering the
//! in-process simulated router and scripted loopback peers. Covers the
//! happy path, each connection-test failure, re-asked answers, "save
//! anyway" yes and no, Ctrl-C, SIGTERM, end of input, the first start
//! without a config (into the daemon) and the password's echo.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mt_trafmon::sim::Simulator;
use rustix::termios::{LocalModes, tcgetattr};

mod support;

use support::TestDir;

const BIN: &str = env!("CARGO_BIN_EXE_mt-trafmon");

/// How long any expected output may take (the slowest step is a 1 s
/// connection test).
const PATIENCE: Duration = Duration::from_secs(20);

/// The binary running on a pseudo-terminal, and what it has written to it.
struct Session {
    child: Child,
    master: File,
    output: Arc<Mutex<Vec<u8>>>,
    /// The thread that copies the terminal's output; it ends when the
    /// child and its terminal are gone.
    reader: thread::JoinHandle<()>,
    /// How much of the output the expectations have consumed.
    seen: usize,
}

impl Session {
    fn start<S: AsRef<OsStr>>(args: &[S]) -> Session {
        use rustix::fs::{Mode, OFlags};
        use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .expect("open a pseudo-terminal");
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = rustix::fs::open(
            name.as_c_str(),
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        let child = Command::new("setsid")
            .arg("--ctty")
            .arg(BIN)
            .args(args)
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .env_remove("RUST_LOG")
            .env_remove("JOURNAL_STREAM")
            .spawn()
            .expect("run setsid (util-linux) with mt-trafmon");
        let master = File::from(master);
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = output.clone();
        let reader = thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // Ends with EIO once the child and its terminal are gone.
            while let Ok(n @ 1..) = reader.read(&mut buffer) {
                sink.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
        Session {
            child,
            master,
            output,
            reader,
            seen: 0,
        }
    }

    /// Everything written so far, with the terminal's `\r` removed.
    fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).replace('\r', "")
    }

    /// Waits until `text` appears after what earlier expectations consumed.
    /// Runs of spaces and line ends count as one space on both sides, as
    /// the wizard folds long lines; trailing ones are not consumed.
    fn expect(&mut self, text: &str) {
        let text = squash(text.trim_end()).0;
        let started = Instant::now();
        loop {
            let transcript = self.transcript();
            let (rest, ends) = squash(transcript.get(self.seen..).unwrap_or(""));
            if let Some(at) = rest.find(&text) {
                self.seen += ends[at + text.len() - 1];
                return;
            }
            if started.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!("{text:?} did not appear; the transcript:\n{transcript}");
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types `bytes` (a line ending is not added).
    fn type_bytes(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }

    /// Waits for `prompt`, then types `line` and Enter.
    fn answer(&mut self, prompt: &str, line: &str) {
        self.expect(prompt);
        self.type_bytes(format!("{line}\r").as_bytes());
    }

    /// Whether the terminal echoes what is typed, now.
    fn echoes(&self) -> bool {
        tcgetattr(&self.master)
            .unwrap()
            .local_modes
            .contains(LocalModes::ECHO)
    }

    /// Waits for the process to end; its status and the whole transcript.
    fn finish(mut self) -> (ExitStatus, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!("did not end; the transcript:\n{}", self.transcript());
            }
            thread::sleep(Duration::from_millis(10));
        };
        // The last output is in once the reader has met the end.
        while !self.reader.is_finished() {
            if started.elapsed() > PATIENCE {
                panic!(
                    "the terminal stayed open; the transcript:\n{}",
                    self.transcript()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
        (status, self.transcript())
    }
}

/// `text` with each run of whitespace as one space, and for each byte of
/// that the end (exclusive) of what it stands for in `text`.
fn squash(text: &str) -> (String, Vec<usize>) {
    let mut squashed = String::with_capacity(text.len());
    let mut ends = Vec::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        let end = at + c.len_utf8();
        if c.is_whitespace() {
            if squashed.ends_with(' ') {
                *ends.last_mut().unwrap() = end;
                continue;
            }
            squashed.push(' ');
            ends.push(end);
        } else {
            squashed.push(c);
            ends.extend(std::iter::repeat_n(end, c.len_utf8()));
        }
    }
    (squashed, ends)
}

fn simulator() -> Simulator {
    Simulator::start(mt_trafmon::sim::Options::default()).expect("simulator starts")
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts `-s --config <path>` and answers up to the connection test.
fn up_to_the_test(path: &Path, port: u16, user: &str, password: &str) -> Session {
    let mut session = Session::start(&[OsStr::new("-s"), "--config".as_ref(), path.as_os_str()]);
    session.answer("(talk to the router's API)? [Y/n]: ", "");
    session.answer("serve the web pages? [Y/n]: ", "");
    session.answer(
        "Router address (IP address or host name) [192.168.88.1]: ",
        "127.0.0.1",
    );
    session.answer(
        "API port (the api service, not api-ssl) [8728]: ",
        &port.to_string(),
    );
    session.answer(
        "API user (its group needs the api and read policies) [monitor]: ",
        user,
    );
    session.answer("Password (not shown; Enter for none): ", password);
    session
}

/// A failed connection test, not saved: its message, and nothing written.
fn failed_and_not_saved(port: u16, user: &str, password: &str, message: &str) {
    let dir = TestDir::new("wizard-failed");
    let path = dir.path("mt-trafmon.toml");
    let mut session = up_to_the_test(&path, port, user, password);
    session.expect(&format!("  FAILED: {message}"));
    session.answer("  Save these settings anyway? [y/N]: ", "");
    session.answer("  Change the router settings and test again? [Y/n]: ", "n");
    let (status, transcript) = session.finish();
    assert_eq!(status.code(), Some(1), "{transcript}");
    assert!(
        transcript.contains("mt-trafmon: setup ended without saving; nothing was written"),
        "{transcript}"
    );
    assert!(!path.exists());
    assert!(
        !transcript.contains(password),
        "the password is not echoed: {transcript}"
    );
}

#[test]
fn happy_path_with_re_asked_answers() {
    let sim = simulator();
    let dir = TestDir::new("wizard-happy");
    let path = dir.path("etc/mt-trafmon.toml");
    let data = dir.path("data");
    let data = data.to_str().unwrap();
    let mut session = Session::start(&[OsStr::new("-s"), "--config".as_ref(), path.as_os_str()]);
    session.expect("  mt-trafmon setup\n");
    session.expect(&format!(
        "This writes a new config file, {}.",
        path.display()
    ));
    session.answer("(talk to the router's API)? [Y/n]: ", "maybe");
    session.answer("    answer y or n; try again.\n", "y");
    session.answer("serve the web pages? [Y/n]: ", "");
    session.answer("[192.168.88.1]: ", "127.0.0.1:8728");
    session.answer(
        "is not an IP address (192.168.88.1, fd00::1) or a host name (router.lan); try again.\n",
        "127.0.0.1",
    );
    session.answer("[8728]: ", "http");
    session.answer(
        "\"http\" is not a port: give a number from 1 to 65535; try again.\n",
        &sim.addr().port().to_string(),
    );
    session.answer("[monitor]: ", "admin");
    session.expect("Password (not shown; Enter for none): ");
    assert!(!session.echoes(), "no echo while the password is typed");
    session.type_bytes(b"secret\r");
    session.expect("  OK: logged in as admin; the router has 5 interfaces.\n");
    assert!(session.echoes(), "the echo is back after the password");
    session.answer(
        "Router name (in logs and RRD file names) [127.0.0.1]: ",
        "home",
    );
    for row in [
        "    1  ether1   ether   running\n",
        "    2  ether2   ether   running\n",
        "    3  ether3   ether   disabled\n",
        "    4  bridge1  bridge  running\n",
        "    5  wlan1    wlan    running\n",
    ] {
        session.expect(row);
    }
    session.answer("(numbers or names, with commas) [ether1]: ", "9");
    session.answer("the router has no interface \"9\"; give numbers from 1 to 5 or names from the list; try again.\n", "1, bridge1");
    session.answer(
        "Directory for the RRD files [/var/lib/mt-trafmon]: ",
        "data",
    );
    session.answer(
        "is not an absolute path (one that starts with /); try again.\n",
        data,
    );
    session.answer(
        &format!("RRD file of ether1 [{data}/home-ether1.rrd]: "),
        "",
    );
    session.answer(
        &format!("RRD file of bridge1 [{data}/home-bridge1.rrd]: "),
        "",
    );
    // The default depends on this machine's disk and memory.
    session.answer("(original or compact) [", "compact");
    session.answer("Web server port [8080]: ", "0");
    session.answer("\"0\" is not a port", "18090");
    session.answer("Page title [MikroTik Traffic Monitor]: ", "Home");
    session.answer("Allowed [private]: ", "127.0.0.1, 10.0.0.0/33");
    session.answer(
        "\"10.0.0.0/33\" is not an address",
        "127.0.0.1, 192.168.1.0/24",
    );
    session.answer("dark or classic (light) [dark]: ", "classic");
    session.answer("Admin password (not shown; Enter to skip): ", "settings-pw");
    session.answer("The same again: ", "settings-pw");
    session.expect(&format!("  Written to {}.\n", path.display()));
    session.expect(&format!(
        "  To run it: mt-trafmon --config {}\n",
        path.display()
    ));
    // Where to point a browser: this machine's addresses, never [::].
    session.expect("  The graphs, for browsers at the allowed addresses:\n    http://");
    session.expect(":18090/\n");
    let (status, transcript) = session.finish();
    assert_eq!(status.code(), Some(0), "{transcript}");
    assert!(!transcript.contains("secret"), "{transcript}");
    assert!(!transcript.contains("[::]"), "{transcript}");
    // 80 columns, but for the long temporary paths of this test.
    for line in transcript
        .lines()
        .filter(|l| !l.contains("mt-trafmon-test-"))
    {
        assert!(line.chars().count() <= 80, "{line:?}");
    }

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert!(mode == 0o600 || mode == 0o640, "{mode:o}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("password = \"xor:"), "{text}");
    assert!(!text.contains("secret"), "{text}");
    let config = mt_trafmon::config::load(&path).unwrap();
    let router = &config.routers[0];
    assert_eq!(
        (router.name.as_str(), router.host.as_str()),
        ("home", "127.0.0.1")
    );
    assert_eq!(
        (router.port, router.password.as_str()),
        (sim.addr().port(), "secret")
    );
    let names: Vec<&str> = router.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["ether1", "bridge1"]);
    assert_eq!(
        router.interfaces[1].rrd,
        Path::new(data).join("home-bridge1.rrd")
    );
    assert_eq!(config.storage.profile, mt_trafmon::store::Profile::Compact);
    assert_eq!(
        (config.web.port, config.web.title.as_str()),
        (18090, "Home")
    );
    assert_eq!(config.web.theme, mt_trafmon::config::Theme::Classic);
    let admin = config.web.admin_password.as_deref().unwrap();
    assert!(
        mt_trafmon::auth::Hash::parse(admin)
            .unwrap()
            .verify("settings-pw")
    );
    assert!(
        !transcript.contains("settings-pw"),
        "not echoed: {transcript}"
    );
}

#[test]
fn wrong_password() {
    let sim = simulator();
    failed_and_not_saved(
        sim.addr().port(),
        "admin",
        "wrong1",
        "wrong user name or password (the router said: invalid user name or password (6)); check both",
    );
}

#[test]
fn user_without_the_api_policy() {
    let sim = simulator();
    failed_and_not_saved(
        sim.addr().port(),
        "noapi",
        "secret",
        "user noapi may not use the API: the user's group lacks the api permission (policy 'api')",
    );
}

#[test]
fn user_without_the_read_policy() {
    let sim = simulator();
    failed_and_not_saved(
        sim.addr().port(),
        "noread",
        "secret",
        "user noread may log in but not read the interfaces: the user's group lacks the read permission (policy 'read')",
    );
}

#[test]
fn api_service_disabled_or_port_closed() {
    let port = closed_port();
    failed_and_not_saved(
        port,
        "admin",
        "secret",
        &format!(
            "nothing answers on port {port} of 127.0.0.1: the API service is disabled or the port is closed"
        ),
    );
}

#[test]
fn an_api_ssl_port() {
    // What a TLS server sends to a client that does not speak TLS: an alert
    // record (handshake failure), then it closes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.read(&mut [0u8; 256]);
            let _ = stream.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
        }
    });
    failed_and_not_saved(
        port,
        "admin",
        "secret",
        &format!("port {port} of 127.0.0.1 answers with TLS: that is the api-ssl service"),
    );
}

#[test]
fn an_unreachable_router_in_an_existing_file() {
    // A listener that never accepts: once its accept queue is full, the
    // kernel drops further SYNs, so the wizard's attempt gets no answer.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(stream) => held.push(stream),
            Err(_) => break,
        }
        assert!(held.len() < 5000, "the accept queue never filled");
    }
    let dir = TestDir::new("wizard-unreachable");
    let path = dir.path("mt-trafmon.toml");
    // The file's 1 s timeout keeps the test short.
    let before = format!(
        "[[router]]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"admin\"\npassword = \"secret\"\ntimeout = 1.0\n\n[[router.interface]]\nname = \"ether1\"\n",
        addr.port()
    );
    std::fs::write(&path, &before).unwrap();
    let mut session = Session::start(&[OsStr::new("-s"), "--config".as_ref(), path.as_os_str()]);
    session.expect("its values are the defaults");
    session.answer("? [Y/n]: ", "");
    session.answer("? [Y/n]: ", "");
    session.answer("(IP address or host name) [127.0.0.1]: ", "");
    session.answer(&format!("[{}]: ", addr.port()), "");
    session.answer("[admin]: ", "");
    session.answer("  Password (not shown; Enter keeps the current one): ", "");
    session.expect(
        "  FAILED: host 127.0.0.1 is unreachable (no answer within 1 s): check the address",
    );
    session.answer("  Save these settings anyway? [y/N]: ", "n");
    session.answer("  Change the router settings and test again? [Y/n]: ", "no");
    let (status, transcript) = session.finish();
    assert_eq!(status.code(), Some(1), "{transcript}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        before,
        "the file is untouched"
    );
    drop(listener);
}

#[test]
fn save_anyway_after_a_failed_test() {
    let sim = simulator();
    let dir = TestDir::new("wizard-anyway");
    let path = dir.path("mt-trafmon.toml");
    let mut session = up_to_the_test(&path, sim.addr().port(), "admin", "later");
    session.expect("  FAILED: wrong user name or password");
    session.answer("  Save these settings anyway? [y/N]: ", "y");
    session.answer("[127.0.0.1]: ", "");
    session.answer(
        "Interfaces to monitor (names, separated by commas) [ether1]: ",
        "ether1, vlan 10",
    );
    session.answer("[/var/lib/mt-trafmon]: ", dir.0.to_str().unwrap());
    session.answer("RRD file of ether1", "");
    session.answer("RRD file of vlan 10", "");
    for prompt in [
        "(original or compact) [",
        "[8080]: ",
        "Traffic Monitor]: ",
        "Allowed [private]: ",
        "[dark]: ",
        "Enter to skip): ",
    ] {
        session.answer(prompt, "");
    }
    let (status, transcript) = session.finish();
    assert_eq!(status.code(), Some(0), "{transcript}");
    assert!(transcript.contains("Written to"), "{transcript}");
    let config = mt_trafmon::config::load(&path).unwrap();
    assert_eq!(config.routers[0].password, "later");
    assert_eq!(config.routers[0].interfaces[1].name, "vlan 10");
}

#[test]
fn ctrl_c_at_a_prompt_writes_nothing() {
    let dir = TestDir::new("wizard-ctrl-c");
    let path = dir.path("mt-trafmon.toml");
    let mut session = Session::start(&[OsStr::new("-s"), "--config".as_ref(), path.as_os_str()]);
    session.answer("? [Y/n]: ", "");
    session.answer("? [Y/n]: ", "");
    session.expect("[192.168.88.1]: ");
    session.type_bytes(b"10.0\x03");
    session.expect("  Interrupted: nothing was written.\n");
    let (status, transcript) = session.finish();
    assert_eq!(status.signal(), Some(2), "ended by SIGINT: {transcript}");
    assert!(!transcript.contains("panicked") && !transcript.contains("RUST_BACKTRACE"));
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(&dir.0).unwrap().count(),
        0,
        "no stray file"
    );
}

#[test]
fn ctrl_c_at_the_password_prompt_turns_the_echo_back_on() {
    let dir = TestDir::new("wizard-ctrl-c-password");
    let path = dir.path("mt-trafmon.toml");
    let mut session = up_to_the_test(&path, closed_port(), "admin", "");
    // The test fails at once (closed port); try again, then stop at the
    // password.
    session.answer("  Save these settings anyway? [y/N]: ", "");
    session.answer("  Change the router settings and test again? [Y/n]: ", "");
    for prompt in ["[127.0.0.1]: ", "]: ", "[admin]: "] {
        session.answer(prompt, "");
    }
    session.expect("Password (not shown; Enter keeps the current one): ");
    assert!(!session.echoes());
    session.type_bytes(b"pq7z\x03");
    session.expect("  Interrupted: nothing was written.\n");
    assert!(session.echoes(), "the terminal echoes again");
    let (status, transcript) = session.finish();
    assert_eq!(status.signal(), Some(2), "{transcript}");
    assert!(!transcript.contains("pq7z"), "{transcript}");
    assert!(!path.exists());
}

#[test]
fn end_of_input_writes_nothing() {
    let dir = TestDir::new("wizard-eof");
    let path = dir.path("mt-trafmon.toml");
    // A file that is not a config: the wizard starts from the defaults and
    // leaves it alone unless it gets to the end.
    std::fs::write(&path, "[[router]\n").unwrap();
    let mut session = Session::start(&[OsStr::new("-s"), "--config".as_ref(), path.as_os_str()]);
    session.expect(&format!(
        "  {} cannot be used (TOML parse error at line 1, column 10: unclosed array table",
        path.display()
    ));
    session.answer("? [Y/n]: ", "");
    session.expect("? [Y/n]: ");
    session.type_bytes(b"\x04");
    let (status, transcript) = session.finish();
    assert_eq!(status.code(), Some(1), "{transcript}");
    assert!(
        transcript.contains("mt-trafmon: setup cancelled (end of input); nothing was written"),
        "{transcript}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "[[router]\n");
}

#[test]
fn a_web_only_machine() {
    let dir = TestDir::new("wizard-web-only");
    let path = dir.path("mt-trafmon.toml");
    let mut session = Session::start(&[OsStr::new("-s"), "--config".as_ref(), path.as_os_str()]);
    session.answer("(talk to the router's API)? [Y/n]: ", "n");
    session.answer("serve the web pages? [Y/n]: ", "");
    session.answer(
        "(its files are <name>-<interface>.rrd) [192.168.88.1]: ",
        "home",
    );
    session.answer(
        "Interfaces to show (names, separated by commas) [ether1]: ",
        "ether1,ether2",
    );
    session.answer("[/var/lib/mt-trafmon]: ", "/mnt/rrd");
    session.answer("RRD file of ether1 [/mnt/rrd/home-ether1.rrd]: ", "");
    session.answer(
        "RRD file of ether2 [/mnt/rrd/home-ether2.rrd]: ",
        "/mnt/rrd/lan.rrd",
    );
    for prompt in [
        "[8080]: ",
        "Traffic Monitor]: ",
        "Allowed [private]: ",
        "[dark]: ",
        "Enter to skip): ",
    ] {
        session.answer(prompt, "");
    }
    session.expect(&format!(
        "run it as mt-trafmon -w --config {}\n",
        path.display()
    ));
    let (status, transcript) = session.finish();
    assert_eq!(status.code(), Some(0), "{transcript}");
    assert!(!transcript.contains("Password") && !transcript.contains("Testing"));
    let config = mt_trafmon::config::load(&path).unwrap();
    assert_eq!(config.routers[0].name, "home");
    assert_eq!(
        config.routers[0].interfaces[1].rrd,
        Path::new("/mnt/rrd/lan.rrd")
    );
}

#[test]
fn the_first_start_at_a_terminal_runs_the_wizard_then_the_daemon() {
    let sim = simulator();
    let dir = TestDir::new("wizard-first-start");
    let path = dir.path("mt-trafmon.toml");
    let mut session = Session::start(&[OsStr::new("--config"), path.as_os_str()]);
    session.expect("This writes a new config file");
    session.answer("(talk to the router's API)? [Y/n]: ", "");
    session.answer("serve the web pages? [Y/n]: ", "n");
    session.answer("[192.168.88.1]: ", "127.0.0.1");
    session.answer("[8728]: ", &sim.addr().port().to_string());
    session.answer("[monitor]: ", "reader");
    session.answer("Password (not shown; Enter for none): ", "secret");
    session.answer("[127.0.0.1]: ", "sim");
    session.answer("[ether1]: ", "2");
    session.answer("[/var/lib/mt-trafmon]: ", dir.0.to_str().unwrap());
    session.answer("RRD file of ether2", "");
    session.answer("(original or compact) [", "compact");
    session.expect("Written to");
    // Then the daemon: it logs its start, collects, and stops on Ctrl-C.
    session.expect(&format!("with config {}", path.display()));
    thread::sleep(Duration::from_millis(500));
    session.type_bytes(b"\x03");
    let (status, transcript) = session.finish();
    assert_eq!(status.code(), Some(0), "a clean stop: {transcript}");
    assert!(!transcript.contains("Interrupted"), "{transcript}");
}

#[test]
fn sigterm_at_the_password_prompt_turns_the_echo_back_on_too() {
    let dir = TestDir::new("wizard-sigterm");
    let path = dir.path("mt-trafmon.toml");
    let mut session = Session::start(&[OsStr::new("-s"), "--config".as_ref(), path.as_os_str()]);
    for prompt in ["? [Y/n]: ", "? [Y/n]: ", "]: ", "]: ", "]: "] {
        session.answer(prompt, "");
    }
    session.expect("Password (not shown; Enter for none): ");
    assert!(!session.echoes());
    support::terminate(&session.child);
    session.expect("  Interrupted: nothing was written.\n");
    assert!(session.echoes());
    let (status, transcript) = session.finish();
    assert_eq!(status.signal(), Some(15), "ended by SIGTERM: {transcript}");
    assert!(!path.exists());
}

#[test]
fn passwd_sets_the_admin_password_without_echo() {
    let dir = TestDir::new("wizard-passwd");
    let path = dir.path("mt-trafmon.toml");
    let before = "[[router]]\nhost = \"192.0.2.1\"\nuser = \"u\"\npassword = \"p\"\n\n[[router.interface]]\nname = \"ether1\"\n";
    std::fs::write(&path, before).unwrap();
    let mut session = Session::start(&[OsStr::new("passwd"), "-c".as_ref(), path.as_os_str()]);
    session.expect("Admin password (not shown): ");
    assert!(!session.echoes());
    session.type_bytes(b"first try\r");
    session.answer("The same again: ", "other try");
    session.answer(
        "the two differ; try again.\n  Admin password (not shown): ",
        "first try",
    );
    session.answer("The same again: ", "first try");
    session.expect("  Saved; a running daemon uses it within a few seconds.\n");
    assert!(session.echoes());
    let (status, transcript) = session.finish();
    assert_eq!(status.code(), Some(0), "{transcript}");
    assert!(
        !transcript.contains("first try"),
        "not echoed: {transcript}"
    );
    let config = mt_trafmon::config::load(&path).unwrap();
    let admin = config.web.admin_password.as_deref().unwrap();
    assert!(
        mt_trafmon::auth::Hash::parse(admin)
            .unwrap()
            .verify("first try")
    );
    assert_eq!(config.routers[0].password, "p", "the rest is kept");

    // Ctrl-C at the prompt: the echo back on, nothing written.
    let written = std::fs::read(&path).unwrap();
    let mut session =
        Session::start(&[OsStr::new("passwd"), "--config".as_ref(), path.as_os_str()]);
    session.expect("Admin password (not shown): ");
    support::terminate(&session.child);
    session.expect("  Interrupted: nothing was written.\n");
    assert!(session.echoes());
    let (status, _) = session.finish();
    assert_eq!(status.signal(), Some(15));
    assert_eq!(std::fs::read(&path).unwrap(), written);
}
