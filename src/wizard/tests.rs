//! The wizard's dialogue with scripted answers and a fake host: the
//! prompts and their defaults, re-asked answers, the router test's
//! outcomes, editing an existing file, end of input at every prompt, the
//! service offer. The terminal itself is tested through a pseudo-terminal
//! in `tests/wizard.rs`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{BufReader, Read};
use std::rc::Rc;

use super::*;

/// Answers, one line per `read` call, each recorded with whether the
/// terminal's echo was on when it was read.
struct Script {
    lines: VecDeque<Vec<u8>>,
    echo: Rc<Cell<bool>>,
    read: Rc<RefCell<Vec<(String, bool)>>>,
}

impl Read for Script {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let Some(line) = self.lines.pop_front() else {
            return Ok(0);
        };
        self.read
            .borrow_mut()
            .push((String::from_utf8_lossy(&line).into_owned(), self.echo.get()));
        buffer[..line.len()].copy_from_slice(&line);
        Ok(line.len())
    }
}

struct Fake {
    echo: Rc<Cell<bool>>,
    /// What each connection test answers, in turn; then the list below.
    tests: VecDeque<Result<Vec<Interface>, client::Error>>,
    logins: Vec<(String, u16, String, String, Duration)>,
    saved: Option<String>,
    save_error: Option<String>,
    service: bool,
    enable_error: Option<String>,
    enabled: usize,
    state: ServiceState,
    machine: Machine,
    /// The data directory and files `machine` was asked about.
    asked: Vec<(PathBuf, Vec<PathBuf>)>,
    addresses: Vec<IpAddr>,
}

impl Host for Fake {
    fn echo(&mut self, on: bool) -> io::Result<()> {
        self.echo.set(on);
        Ok(())
    }

    fn interfaces(&mut self, login: Login<'_>) -> Result<Vec<Interface>, client::Error> {
        self.logins.push((
            login.host.to_string(),
            login.port,
            login.user.to_string(),
            login.password.to_string(),
            login.timeout,
        ));
        self.tests.pop_front().unwrap_or_else(|| Ok(router_list()))
    }

    fn save(&mut self, _path: &Path, document: &Document) -> Result<(), String> {
        if let Some(error) = &self.save_error {
            return Err(error.clone());
        }
        self.saved = Some(config::render(document).unwrap());
        Ok(())
    }

    fn service_available(&mut self) -> bool {
        self.service
    }

    fn enable_service(&mut self) -> Result<(), String> {
        self.enabled += 1;
        match &self.enable_error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    fn service_state(&mut self) -> ServiceState {
        self.state
    }

    fn machine(&mut self, data_dir: &Path, files: &[PathBuf]) -> Machine {
        self.asked.push((data_dir.to_path_buf(), files.to_vec()));
        self.machine
    }

    fn addresses(&mut self) -> Vec<IpAddr> {
        self.addresses.clone()
    }
}

/// A board with room for the original layout: 20 GiB free, 3 GiB of memory.
const ROOMY: Machine = Machine {
    new_files: 2,
    free_disk: Some(20 << 30),
    available_memory: Some(3 << 30),
};

fn fake() -> Fake {
    Fake {
        echo: Rc::new(Cell::new(true)),
        tests: VecDeque::new(),
        logins: Vec::new(),
        saved: None,
        save_error: None,
        service: false,
        enable_error: None,
        enabled: 0,
        state: ServiceState::Absent,
        machine: ROOMY,
        asked: Vec::new(),
        addresses: vec![
            "127.0.0.1".parse().unwrap(),
            "192.168.88.20".parse().unwrap(),
            "::1".parse().unwrap(),
            "fe80::1".parse().unwrap(),
            "fd00::20".parse().unwrap(),
        ],
    }
}

/// The simulator's interfaces.
fn router_list() -> Vec<Interface> {
    let interface = |name: &str, kind: &str, running, disabled| Interface {
        name: name.to_string(),
        kind: kind.to_string(),
        running,
        disabled,
        comment: None,
    };
    vec![
        interface("ether1", "ether", true, false),
        interface("ether2", "ether", true, false),
        interface("ether3", "ether", false, true),
        interface("bridge1", "bridge", true, false),
        interface("wlan1", "wlan", false, false),
    ]
}

fn new_file() -> Start {
    Start {
        document: Document::default(),
        password: None,
        found: Found::New,
        key: secret::machine_key(),
    }
}

fn existing(text: &str, password: Option<&str>) -> Start {
    Start {
        document: config::document(text, Path::new("t.toml")).unwrap(),
        password: password.map(String::from),
        found: Found::Existing,
        key: secret::machine_key(),
    }
}

struct Run {
    result: Result<Outcome, Stop>,
    transcript: String,
    /// Each answer read, with whether the echo was on.
    read: Vec<(String, bool)>,
    host: Fake,
}

impl Run {
    /// The saved file, validated as the daemon would.
    fn config(&self) -> config::Config {
        let text = self.host.saved.as_deref().expect("a file was saved");
        config::parse(text, Path::new(config::DEFAULT_PATH)).unwrap()
    }

    fn document(&self) -> Document {
        let text = self.host.saved.as_deref().expect("a file was saved");
        config::document(text, Path::new("t.toml")).unwrap()
    }
}

/// Every line the dialogue wrote fits [`WIDTH`] columns. A prompt and the
/// output after its answer share a line here (the answers are not echoed),
/// so the lines are cut after each prompt.
fn assert_fits(transcript: &str) {
    for line in transcript.lines() {
        for part in line.split_inclusive("]: ") {
            assert!(
                part.chars().count() <= WIDTH,
                "{} columns: {part:?} in:\n{transcript}",
                part.chars().count()
            );
        }
    }
}

/// Whether `transcript` says `expected`, whatever the folding of long
/// lines did to the spaces and line ends in it.
fn says(transcript: &str, expected: &str) -> bool {
    let squash = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    squash(transcript).contains(&squash(expected))
}

fn dialogue(start: Start, answers: &[&[u8]], mut host: Fake) -> Run {
    let read = Rc::new(RefCell::new(Vec::new()));
    let script = Script {
        lines: answers.iter().map(|a| [*a, b"\n"].concat()).collect(),
        echo: host.echo.clone(),
        read: read.clone(),
    };
    let mut output = Vec::new();
    let result = run(
        &mut BufReader::new(script),
        &mut output,
        &mut host,
        Path::new(config::DEFAULT_PATH),
        start,
    );
    assert!(host.echo.get(), "the echo is on again at the end");
    let read = read.borrow().clone();
    Run {
        result,
        transcript: String::from_utf8(output).unwrap(),
        read,
        host,
    }
}

/// Every answer of a new collecting and serving machine, mostly defaults.
const HAPPY: [&[u8]; 17] = [
    b"",           // collects
    b"",           // serves
    b"",           // address
    b"",           // API port
    b"",           // user
    b"secret",     // password
    b"",           // router name
    b"1, bridge1", // interfaces
    b"",           // data directory
    b"",           // ether1's file
    b"",           // bridge1's file
    b"",           // layout
    b"",           // web port
    b"",           // title
    b"",           // allow-list
    b"",           // theme
    b"",           // admin password: none
];

#[test]
fn a_new_config_with_the_defaults() {
    let run = dialogue(new_file(), &HAPPY, fake());
    let outcome = run.result.as_ref().unwrap();
    assert_eq!(
        *outcome,
        Outcome {
            collects: true,
            serves: true,
            service_started: false
        }
    );
    let t = &run.transcript;
    for expected in [
        "  mt-trafmon setup\n",
        "This writes a new config file, /etc/mt-trafmon/mt-trafmon.toml.",
        "  Does this machine collect the traffic (talk to the router's API)? [Y/n]: ",
        "  Router address (IP address or host name) [192.168.88.1]: ",
        "  API port (the api service, not api-ssl) [8728]: ",
        "    /user group add name=monitor policy=read,api\n",
        "    /user add name=monitor group=monitor password=...\n",
        "  API user (its group needs the api and read policies) [monitor]: ",
        "  Password (not shown; Enter for none): \n",
        "  Testing the connection to 192.168.88.1 port 8728 ...\n",
        "  OK: logged in as monitor; the router has 5 interfaces.\n",
        "  Router name (in logs and RRD file names) [192.168.88.1]: ",
        "    1  ether1   ether   running\n",
        "    3  ether3   ether   disabled\n",
        "    4  bridge1  bridge  running\n",
        "    5  wlan1    wlan    not running\n",
        "  Interfaces to monitor (numbers or names, with commas) [ether1]: ",
        "  Directory for the RRD files [/var/lib/mt-trafmon]: ",
        "  RRD file of bridge1 [/var/lib/mt-trafmon/192.168.88.1-bridge1.rrd]: ",
        "    original  834.7 MiB  1 s values for a year, 10 s and 1 min for 5 years,\n",
        "    compact    33.4 MiB  1 s values for 8 days, 10 s for 31 days,\n",
        "  New files: 2; free disk: 20480.0 MiB; memory available: 3072.0 MiB.\n",
        "  Layout of new RRD files (original or compact) [original]: ",
        "  Web server port [8080]: ",
        "  Page title [MikroTik Traffic Monitor]: ",
        "private for this machine\n    and the private ranges (127.0.0.0/8, ::1/128, 10.0.0.0/8, 172.16.0.0/12,\n",
        "  Allowed [private]: ",
        "  Theme until a visitor picks one: dark or classic (light) [dark]: ",
        "  Written to /etc/mt-trafmon/mt-trafmon.toml.\n",
        "  To run it: mt-trafmon\n",
        "  The graphs, for browsers at the allowed addresses:\n    http://192.168.88.20:8080/\n    http://[fd00::20]:8080/\n",
    ] {
        assert!(says(t, expected), "{expected:?} missing from:\n{t}");
    }
    assert_fits(t);
    assert!(!t.contains("suggested"), "{t}");
    assert_eq!(
        run.host.asked,
        [(
            PathBuf::from("/var/lib/mt-trafmon"),
            vec![
                PathBuf::from("/var/lib/mt-trafmon/192.168.88.1-ether1.rrd"),
                PathBuf::from("/var/lib/mt-trafmon/192.168.88.1-bridge1.rrd")
            ]
        )],
        "the machine is measured for the chosen files"
    );
    assert!(!t.contains("secret"), "{t}");
    assert!(!t.contains("systemctl"), "no service offer: {t}");

    // The passwords (the router's, the skipped admin one, the last line)
    // are the lines read with the echo off.
    let last = run.read.len() - 1;
    for (n, (answer, echo)) in run.read.iter().enumerate() {
        assert_eq!(*echo, answer != "secret\n" && n != last, "{answer:?}");
    }
    assert_eq!(
        run.host.logins,
        [(
            "192.168.88.1".to_string(),
            8728,
            "monitor".to_string(),
            "secret".to_string(),
            TEST_TIMEOUT
        )]
    );

    let text = run.host.saved.as_deref().unwrap();
    assert!(!text.contains("secret"), "{text}");
    assert!(
        !text.contains("[web]") && !text.contains("[storage]"),
        "{text}"
    );
    let document = run.document();
    let stored = document.router[0].password.as_deref().unwrap();
    assert_eq!(
        secret::deobfuscate(&secret::machine_key(), stored).unwrap(),
        "secret"
    );
    let config = run.config();
    let router = &config.routers[0];
    assert_eq!(
        (router.host.as_str(), router.name.as_str()),
        ("192.168.88.1", "192.168.88.1")
    );
    assert_eq!((router.port, router.user.as_str()), (8728, "monitor"));
    assert_eq!(router.password, "secret");
    let files: Vec<(&str, &Path)> = router
        .interfaces
        .iter()
        .map(|i| (i.name.as_str(), i.rrd.as_path()))
        .collect();
    assert_eq!(
        files,
        [
            (
                "ether1",
                Path::new("/var/lib/mt-trafmon/192.168.88.1-ether1.rrd")
            ),
            (
                "bridge1",
                Path::new("/var/lib/mt-trafmon/192.168.88.1-bridge1.rrd")
            ),
        ]
    );
    assert_eq!(config.storage.profile, Profile::Original);
    assert!(config.web.enabled);
    assert_eq!(config.web.allow, AllowList::default_private());
}

#[test]
fn invalid_answers_are_asked_again_with_the_reason() {
    let answers: &[&[u8]] = &[
        b"maybe",
        b"y",
        b"YES",
        b"not a host!",
        b"\xff\xfe",
        b"\x1b[A",
        b"[fd00::1]",
        b"abc",
        b"0",
        b"70000",
        b"18728",
        b"monitor",
        b"pass word ",
        b"",
        b"9",
        b"ether9",
        b"2,ETHER2",
        b"2, wlan1, 2",
        b"relative/dir",
        b"/srv/rrd/",
        b"/srv/rrd",
        b"/srv/rrd/lan.rrd",
        b"/srv/rrd/lan.rrd",
        b"",
        b"huge",
        b"compact",
        b"80a",
        b"8090",
        b"Home \"net\" 100%",
        b"10.0.0.0/33",
        b"10.0.0.0/8, nas.lan,",
        b"blue",
        b"classic",
        b"pw",
        b"admin-pass-1",
        b"admin-pass-2",
        b"admin-pass-1",
        b"admin-pass-1",
    ];
    let run = dialogue(new_file(), answers, fake());
    run.result.as_ref().unwrap();
    let t = &run.transcript;
    assert!(says(t, "use at least 8 characters; try again."), "{t}");
    assert!(says(t, "the two differ; try again."), "{t}");
    let admin = run.config().web.admin_password.unwrap();
    assert!(
        crate::auth::Hash::parse(&admin)
            .unwrap()
            .verify("admin-pass-1")
    );
    assert!(
        run.read.iter().rev().take(5).all(|(_, echo)| !echo),
        "admin passwords are read without echo"
    );
    for reason in [
        "    answer y or n; try again.\n",
        "    \"not a host!\" is not an IP address (192.168.88.1, fd00::1) or a host name (router.lan); try again.\n",
        "    that is not valid UTF-8 text; try again.\n",
        "    that contains control characters",
        "    \"abc\" is not a port: give a number from 1 to 65535; try again.\n",
        "    \"0\" is not a port",
        "    \"70000\" is not a port",
        "    the router has no interface \"9\"; give numbers from 1 to 5 or names from the list; try again.\n",
        "    the router has no interface \"ETHER2\"",
        "    \"relative/dir\" is not an absolute path (one that starts with /); try again.\n",
        "    \"/srv/rrd/\" ends with /; give the name without it; try again.\n",
        "    /srv/rrd/lan.rrd is already the file of another interface; try again.\n",
        "    answer original or compact; try again.\n",
        "    \"80a\" is not a port",
        "    \"10.0.0.0/33\" is not an address (192.168.1.10, fd00::1), a range (192.168.1.0/24, fd00::/8) or a host name; try again.\n",
        "    answer dark or classic; try again.\n",
        "  RRD file of wlan1 [/srv/rrd/fd00__1-wlan1.rrd]: ",
    ] {
        assert!(says(t, reason), "{reason:?} missing from:\n{t}");
    }
    assert_eq!(run.host.logins[0].0, "fd00::1");
    assert_eq!(
        run.host.logins[0].3, "pass word ",
        "a password keeps its spaces"
    );
    let config = run.config();
    let router = &config.routers[0];
    assert_eq!((router.host.as_str(), router.port), ("fd00::1", 18728));
    assert_eq!(router.user, "monitor");
    let names: Vec<&str> = router.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["ether2", "wlan1"]);
    assert_eq!(router.interfaces[0].rrd, Path::new("/srv/rrd/lan.rrd"));
    assert_eq!(
        router.interfaces[1].rrd,
        Path::new("/srv/rrd/fd00__1-wlan1.rrd")
    );
    assert_eq!(config.storage.profile, Profile::Compact);
    assert_eq!(config.web.port, 8090);
    assert_eq!(config.web.title, "Home \"net\" 100%");
    assert_eq!(config.web.theme, config::Theme::Classic);
    assert_eq!(
        config.web.allow,
        AllowList::parse(&["10.0.0.0/8", "nas.lan"]).unwrap()
    );
}

const EXISTING: &str = r#"
[storage]
data_dir = "/srv/rrd"

[[router]]
name = "home"
host = "10.1.1.1"
port = 18728
user = "monitor"
password = "PASSWORD"
source = "monitor-traffic"
timeout = 2.0

[[router.interface]]
name = "ether2"
label = "LAN"
rrd = "/srv/lan.rrd"

[[router.interface]]
name = "gone1"

[[router]]
host = "10.2.2.2"
user = "other"
password = "x"

[[router.interface]]
name = "ether1"

[web]
listen = "127.0.0.1"
port = 9000
title = "Home"
allow = []
trusted_proxies = ["10.0.0.1"]
"#;

#[test]
fn editing_keeps_the_values_and_what_is_not_asked() {
    let stored = secret::obfuscate(&secret::machine_key(), "pw");
    let text = EXISTING.replace("PASSWORD", &stored);
    let enter: Vec<&[u8]> = vec![b""; 18];
    let run = dialogue(existing(&text, Some("pw")), &enter, fake());
    run.result.as_ref().unwrap();
    let t = &run.transcript;
    for expected in [
        "  Editing /etc/mt-trafmon/mt-trafmon.toml: its values are the defaults",
        "(the file has 1 more router(s); they are kept as they are)",
        "  Router address (IP address or host name) [10.1.1.1]: ",
        "[18728]: ",
        "[monitor]: ",
        "  Password (not shown; Enter keeps the current one): ",
        "  Router name (in logs and RRD file names) [home]: ",
        "(numbers or names, with commas) [ether2]: ",
        "  Directory for the RRD files [/srv/rrd]: ",
        "  RRD file of ether2 [/srv/lan.rrd]: ",
        "  Web server port [9000]: ",
        "  Page title [Home]: ",
        "  Allowed [none]: ",
    ] {
        assert!(says(t, expected), "{expected:?} missing from:\n{t}");
    }
    // The file's shorter timeout is used for the test, with the kept password.
    let login = &run.host.logins[0];
    assert_eq!(
        (login.0.as_str(), login.1, login.3.as_str(), login.4),
        ("10.1.1.1", 18728, "pw", Duration::from_secs(2))
    );
    let document = run.document();
    let router = &document.router[0];
    assert_eq!(
        router.password.as_deref(),
        Some(stored.as_str()),
        "kept as stored"
    );
    assert_eq!(router.source, Some(config::Source::MonitorTraffic));
    assert_eq!(router.timeout, Some(2.0));
    assert_eq!(router.interface.len(), 1, "gone1 is not on the router");
    assert_eq!(router.interface[0].label.as_deref(), Some("LAN"));
    assert_eq!(document.router[1].host, "10.2.2.2");
    assert_eq!(document.router[1].password.as_deref(), Some("x"));
    let config = run.config();
    assert_eq!(config.routers[0].name, "home");
    assert_eq!(
        config.routers[0].interfaces[0].rrd,
        Path::new("/srv/lan.rrd")
    );
    assert_eq!(config.storage.data_dir, Path::new("/srv/rrd"));
    assert_eq!(config.web.listen.to_string(), "127.0.0.1");
    assert_eq!(config.web.port, 9000);
    assert!(config.web.allow.is_empty());
    assert!(!config.web.trusted_proxies.is_empty());
    assert_eq!(config.routers.len(), 2);
}

#[test]
fn a_stored_password_that_cannot_be_read_is_asked_again() {
    let text = EXISTING.replace("PASSWORD", "xor:AAAA");
    let mut answers: Vec<&[u8]> = vec![b""; 18];
    answers[5] = b"new one";
    let run = dialogue(existing(&text, None), &answers, fake());
    run.result.as_ref().unwrap();
    assert!(
        run.transcript
            .contains("The stored password cannot be read on this machine"),
        "{}",
        run.transcript
    );
    assert!(
        run.transcript
            .contains("  Password (not shown; Enter for none): ")
    );
    assert_eq!(run.host.logins[0].3, "new one");
    assert_eq!(run.config().routers[0].password, "new one");

    // A password in a file stays there when Enter keeps it.
    let text = EXISTING.replace("password = \"PASSWORD\"", "password_file = \"pass\"");
    let enter: Vec<&[u8]> = vec![b""; 18];
    let run = dialogue(existing(&text, Some("from file")), &enter, fake());
    run.result.as_ref().unwrap();
    assert_eq!(run.host.logins[0].3, "from file");
    let document = run.document();
    assert_eq!(
        document.router[0].password_file.as_deref(),
        Some(Path::new("pass"))
    );
    assert_eq!(document.router[0].password, None);
}

#[test]
fn a_timeout_out_of_range_in_the_file_is_not_used() {
    for timeout in ["-1.0", "nan", "inf", "1e300"] {
        let text = EXISTING.replace("timeout = 2.0", &format!("timeout = {timeout}"));
        let answers: Vec<&[u8]> = vec![b""; 6];
        let run = dialogue(existing(&text, Some("pw")), &answers, fake());
        assert!(matches!(run.result, Err(Stop::EndOfInput)));
        assert_eq!(run.host.logins[0].4, TEST_TIMEOUT, "{timeout}");
    }
}

fn refused() -> client::Error {
    client::Error::BadCredentials {
        user: "admin".into(),
        message: "invalid user name or password (6)".into(),
    }
}

#[test]
fn a_failed_test_saved_anyway() {
    let mut host = fake();
    host.tests.push_back(Err(refused()));
    let mut answers = HAPPY.to_vec();
    answers.insert(6, b"y");
    answers[8] = b"ether1, vlan 10";
    let run = dialogue(new_file(), &answers, host);
    run.result.as_ref().unwrap();
    let t = &run.transcript;
    for expected in [
        "  FAILED: wrong user name or password (the router said: invalid user name or password (6)); check both\n",
        "  Save these settings anyway? [y/N]: ",
        "  Interfaces to monitor (names, separated by commas) [ether1]: ",
        "  RRD file of vlan 10 [/var/lib/mt-trafmon/192.168.88.1-vlan_10.rrd]: ",
    ] {
        assert!(says(t, expected), "{expected:?} missing from:\n{t}");
    }
    let config = run.config();
    assert_eq!(config.routers[0].password, "secret");
    assert_eq!(config.routers[0].interfaces[1].name, "vlan 10");
}

#[test]
fn a_failed_test_not_saved_writes_nothing() {
    let mut host = fake();
    host.tests.push_back(Err(refused()));
    let answers: &[&[u8]] = &[b"", b"", b"", b"", b"", b"wrong", b"", b"n"];
    let run = dialogue(new_file(), answers, host);
    assert!(
        matches!(run.result, Err(Stop::NotSaved)),
        "{:?}",
        run.result
    );
    assert!(run.host.saved.is_none());
    assert!(
        run.transcript
            .contains("  Change the router settings and test again? [Y/n]: ")
    );
    assert_eq!(
        run.result.unwrap_err().to_string(),
        "setup ended without saving; nothing was written"
    );
}

#[test]
fn a_failed_test_tried_again_with_the_answers_as_defaults() {
    let mut host = fake();
    host.tests.push_back(Err(refused()));
    let mut answers: Vec<&[u8]> = vec![b"", b"", b"10.9.9.9", b"", b"bob", b"wrong", b"", b""];
    answers.extend([b"" as &[u8], b"", b"", b"right"]);
    answers.extend(HAPPY[6..].iter().copied());
    let run = dialogue(new_file(), &answers, host);
    run.result.as_ref().unwrap();
    let t = &run.transcript;
    assert!(t.contains("(IP address or host name) [10.9.9.9]: "), "{t}");
    assert!(t.contains("policies) [bob]: "), "{t}");
    // The refused password is not offered again.
    assert!(
        t.contains("  Password (not shown; the last one was refused): "),
        "{t}"
    );
    assert!(!t.contains("Enter keeps the current one"), "{t}");
    let passwords: Vec<&str> = run.host.logins.iter().map(|l| l.3.as_str()).collect();
    assert_eq!(passwords, ["wrong", "right"]);
    assert_eq!(run.config().routers[0].password, "right");

    // After a refused login, Enter is no password, not the refused one.
    let mut host = fake();
    host.tests.push_back(Err(refused()));
    let mut answers: Vec<&[u8]> = vec![b"", b"", b"", b"", b"", b"wrong", b"", b""];
    answers.extend([b"" as &[u8], b"", b"", b""]);
    answers.extend(HAPPY[6..].iter().copied());
    let run = dialogue(new_file(), &answers, host);
    run.result.as_ref().unwrap();
    let passwords: Vec<&str> = run.host.logins.iter().map(|l| l.3.as_str()).collect();
    assert_eq!(passwords, ["wrong", ""]);
    assert_eq!(run.document().router[0].password, None);

    // The same for a stored password that the router refuses.
    let mut host = fake();
    host.tests.push_back(Err(refused()));
    let text = EXISTING.replace("PASSWORD", "stale");
    let mut answers: Vec<&[u8]> = vec![b""; 8];
    answers.extend([b"" as &[u8], b"", b"", b"new"]);
    answers.extend([b"" as &[u8]; 12]);
    let run = dialogue(existing(&text, Some("stale")), &answers, host);
    run.result.as_ref().unwrap();
    let passwords: Vec<&str> = run.host.logins.iter().map(|l| l.3.as_str()).collect();
    assert_eq!(passwords, ["stale", "new"]);
    assert_eq!(run.config().routers[0].password, "new");

    // Any other failure (here: nothing answers) keeps the typed password
    // for Enter.
    let mut host = fake();
    host.tests.push_back(Err(client::Error::Refused {
        addr: "192.168.88.1:8728".into(),
    }));
    let mut answers: Vec<&[u8]> = vec![b"", b"", b"", b"", b"", b"first", b"", b""];
    answers.extend([b"" as &[u8], b"", b"", b""]);
    answers.extend(HAPPY[6..].iter().copied());
    let run = dialogue(new_file(), &answers, host);
    run.result.as_ref().unwrap();
    assert!(
        run.transcript
            .contains("  Password (not shown; Enter keeps the current one): "),
        "{}",
        run.transcript
    );
    let passwords: Vec<&str> = run.host.logins.iter().map(|l| l.3.as_str()).collect();
    assert_eq!(passwords, ["first", "first"]);
}

#[test]
fn end_of_input_at_any_prompt_writes_nothing() {
    for answered in 0..HAPPY.len() {
        let run = dialogue(new_file(), &HAPPY[..answered], fake());
        assert!(
            matches!(run.result, Err(Stop::EndOfInput)),
            "after {answered} answers: {:?}",
            run.result
        );
        assert!(run.host.saved.is_none(), "after {answered} answers");
    }
    let run = dialogue(new_file(), &HAPPY, fake());
    assert!(run.result.is_ok());
}

#[test]
fn a_web_only_machine_asks_no_router_login() {
    let answers: &[&[u8]] = &[
        b"n",
        b"n",
        b"n",
        b"",
        b"home",
        b"ether1, vlan 10",
        b"/mnt/rrd",
        b"",
        b"",
        b"",
        b"",
        b"",
        b"",
        b"",
    ];
    let run = dialogue(new_file(), answers, fake());
    let outcome = run.result.as_ref().unwrap();
    assert_eq!(
        *outcome,
        Outcome {
            collects: false,
            serves: true,
            service_started: false
        }
    );
    let t = &run.transcript;
    assert!(
        t.contains("    It has to do one of the two at least.\n"),
        "{t}"
    );
    assert!(
        says(
            t,
            "as the collecting machine calls it (its files are <name>-<interface>.rrd) [192.168.88.1]: "
        ),
        "{t}"
    );
    assert!(t.contains("  Interfaces to show (names, separated by commas) [ether1]: "));
    assert!(!t.contains("Password") && !t.contains("Layout"), "{t}");
    assert!(
        says(t, "run it as mt-trafmon -w (the packaged"),
        "web-only machines run with -w: {t}"
    );
    assert!(run.host.logins.is_empty());
    let config = run.config();
    let router = &config.routers[0];
    assert_eq!(
        (router.name.as_str(), router.host.as_str()),
        ("home", "home")
    );
    assert_eq!(
        router.interfaces[1].rrd,
        Path::new("/mnt/rrd/home-vlan_10.rrd")
    );
}

#[test]
fn a_collect_only_machine_turns_the_web_server_off() {
    let mut answers: Vec<&[u8]> = HAPPY[..12].to_vec();
    answers[1] = b"n";
    let run = dialogue(new_file(), &answers, fake());
    run.result.as_ref().unwrap();
    assert!(!run.config().web.enabled);
    assert!(!run.transcript.contains("Web server port"));
}

#[test]
fn the_service_offer() {
    let offer = "  Start the service now and at every boot (systemctl enable --now)? [Y/n]: ";
    let with = |state, root: bool, last: Option<&'static [u8]>| {
        let mut host = fake();
        host.state = state;
        host.service = root;
        let mut answers = HAPPY.to_vec();
        answers.extend(last);
        dialogue(new_file(), &answers, host)
    };

    // Installed and disabled (or enabled by the package but skipped for
    // want of a router): offered; Enter starts it.
    for state in [ServiceState::Disabled, ServiceState::Enabled] {
        let run = with(state, true, Some(b""));
        assert!(run.result.as_ref().unwrap().service_started);
        assert_eq!(run.host.enabled, 1);
        let t = &run.transcript;
        assert!(t.contains(offer), "{t}");
        assert!(t.contains("  The mt-trafmon service is enabled and running.\n"));
        assert!(!t.contains("To run it"), "{t}");
        assert_fits(t);
    }

    // Declined: how to start it, not "mt-trafmon" in a terminal.
    let run = with(ServiceState::Enabled, true, Some(b"n"));
    assert!(!run.result.as_ref().unwrap().service_started);
    assert_eq!(run.host.enabled, 0);
    let t = &run.transcript;
    assert!(
        t.contains(
            "  The service is enabled but not running; start it with\n    sudo systemctl restart mt-trafmon\n"
        ),
        "{t}"
    );
    assert!(!t.contains("To run it: mt-trafmon\n"), "{t}");
    let run = with(ServiceState::Disabled, true, Some(b"n"));
    assert!(
        run.transcript
            .contains("  To run it as a service: sudo systemctl enable --now mt-trafmon\n"),
        "{}",
        run.transcript
    );

    // systemctl fails.
    let mut host = fake();
    host.state = ServiceState::Disabled;
    host.service = true;
    host.enable_error = Some("systemctl enable --now mt-trafmon: exit status: 1".into());
    let mut answers = HAPPY.to_vec();
    answers.push(b"y");
    let run = dialogue(new_file(), &answers, host);
    assert!(!run.result.as_ref().unwrap().service_started);
    assert!(
        run.transcript
            .contains("  That failed: systemctl enable --now mt-trafmon: exit status: 1\n")
    );

    // Already running: nothing to offer, it reads the file by itself.
    let run = with(ServiceState::Running, true, None);
    assert!(run.result.as_ref().unwrap().service_started);
    assert_eq!(run.host.enabled, 0);
    let t = &run.transcript;
    assert!(!t.contains(offer), "{t}");
    assert!(
        says(
            t,
            "The mt-trafmon service is running: it reads the new config by itself"
        ),
        "{t}"
    );
    assert!(!t.contains("To run it"), "{t}");

    // Not root: not offered, but still said how to start it.
    let run = with(ServiceState::Enabled, false, None);
    assert!(!run.transcript.contains(offer), "{}", run.transcript);
    assert!(says(
        &run.transcript,
        "start it with sudo systemctl restart mt-trafmon"
    ));

    // No systemd or no unit: the program itself.
    let run = with(ServiceState::Absent, true, None);
    assert!(!run.transcript.contains("systemctl"), "{}", run.transcript);
    assert!(run.transcript.contains("  To run it: mt-trafmon\n"));

    // Nor to a web-only machine.
    let mut host = fake();
    host.state = ServiceState::Enabled;
    host.service = true;
    let answers: &[&[u8]] = &[b"n", b"", b"", b"", b"", b"", b"", b"", b"", b"", b""];
    let run = dialogue(new_file(), answers, host);
    run.result.as_ref().unwrap();
    assert!(!run.transcript.contains(offer), "{}", run.transcript);
}

#[test]
fn a_file_that_cannot_be_written_stops_the_dialogue() {
    let mut host = fake();
    host.save_error = Some("cannot write /etc/x.toml: Permission denied".into());
    let run = dialogue(new_file(), &HAPPY, host);
    let Err(Stop::File(message)) = &run.result else {
        panic!("{:?}", run.result);
    };
    assert!(message.contains("Permission denied"));
    assert!(!run.transcript.contains("Written to"));
}

#[test]
fn every_client_error_in_plain_words() {
    let login = Login {
        host: "10.0.0.1",
        port: 8729,
        user: "monitor",
        password: "x",
        timeout: TEST_TIMEOUT,
    };
    let addr = "10.0.0.1:8729".to_string();
    let cases: Vec<(client::Error, &str)> = vec![
        (refused(), "wrong user name or password"),
        (
            client::Error::NotAllowed {
                user: "monitor".into(),
                message: "not allowed (9)".into(),
            },
            "user monitor may not use the API: the user's group lacks the api permission",
        ),
        (
            client::Error::Permission {
                command: "/interface/print".into(),
                message: "not enough permissions (9)".into(),
            },
            "lacks the read permission",
        ),
        (
            client::Error::Refused { addr: addr.clone() },
            "nothing answers on port 8729 of 10.0.0.1: the API service is disabled or the port is closed",
        ),
        (
            client::Error::Unreachable {
                addr: addr.clone(),
                detail: "no answer within 5 s".into(),
            },
            "host 10.0.0.1 is unreachable (no answer within 5 s)",
        ),
        (
            client::Error::TlsMismatch { addr: addr.clone() },
            "port 8729 of 10.0.0.1 answers with TLS: that is the api-ssl service",
        ),
        (
            client::Error::Resolve {
                host: "router.lan".into(),
                detail: "failed to lookup address information".into(),
            },
            "host name 10.0.0.1 not found",
        ),
        (
            client::Error::Timeout {
                addr: addr.clone(),
                waiting_for: "the answer to /login".into(),
                after: Duration::from_secs(5),
            },
            "did not answer within 5 s",
        ),
        (
            client::Error::Closed {
                addr: addr.clone(),
                during: "waiting for the answer to /login".into(),
            },
            "the router closed the connection while waiting",
        ),
        (
            client::Error::Protocol {
                addr,
                detail: "bad length".into(),
                recent: "f8".into(),
            },
            "does not speak the RouterOS API (bad length)",
        ),
    ];
    for (error, expected) in cases {
        let text = explain(&error, login);
        assert!(text.contains(expected), "{error:?}: {text}");
        assert!(!text.contains('{'), "no Debug output: {text}");
    }
}

#[test]
fn the_suggested_layout_follows_disk_and_memory() {
    let original = Profile::Original.needed_bytes();
    let memory = Profile::Original.creation_memory();
    let machine = |new_files, free_disk, available_memory| Machine {
        new_files,
        free_disk,
        available_memory,
    };
    // Room for every new file and the margin, and the memory to make one.
    let just = 2 * original + DISK_MARGIN;
    assert_eq!(
        suggest(machine(2, Some(just), Some(memory))),
        Suggestion::Original
    );
    assert_eq!(
        suggest(machine(2, Some(just - 1), Some(memory))),
        Suggestion::CompactForDisk {
            needed: just,
            free: just - 1
        }
    );
    // A 512 MB board with a large card: creation takes little memory
    // (the patched librrd), so the original layout.
    assert_eq!(
        suggest(machine(1, Some(20 << 30), Some(400 << 20))),
        Suggestion::Original
    );
    // Almost no memory left: compact.
    assert_eq!(
        suggest(machine(1, Some(20 << 30), Some(memory / 2))),
        Suggestion::CompactForMemory {
            needed: memory,
            available: memory / 2
        }
    );
    assert_eq!(
        suggest(machine(1, Some(20 << 30), Some(memory - 1))).profile(),
        Profile::Compact
    );
    // Memory that cannot be measured does not count against it; disk does.
    assert_eq!(
        suggest(machine(1, Some(20 << 30), None)),
        Suggestion::Original
    );
    assert_eq!(
        suggest(machine(1, None, Some(8 << 30))),
        Suggestion::CompactUnknownDisk
    );
    // No new file: nothing is made, the layout does not matter.
    assert_eq!(suggest(machine(0, Some(0), Some(0))), Suggestion::Original);
    // No overflow with absurd counts.
    assert_eq!(
        suggest(machine(u64::MAX, Some(u64::MAX - 1), None)).profile(),
        Profile::Compact
    );
}

#[test]
fn a_small_board_is_offered_the_layout_its_card_holds() {
    // A Pi Zero 2 W: 512 MB of memory, 400 MiB of it available; creating a
    // file takes little memory, so a large card gets the original layout.
    let mut host = fake();
    host.machine = Machine {
        new_files: 1,
        free_disk: Some(12 << 30),
        available_memory: Some(400 << 20),
    };
    let mut answers = HAPPY.to_vec();
    answers[7] = b"";
    answers.remove(10);
    let run = dialogue(new_file(), &answers, host);
    run.result.as_ref().unwrap();
    let t = &run.transcript;
    for expected in [
        "  New files: 1; free disk: 12288.0 MiB; memory available: 400.0 MiB.\n",
        "  Layout of new RRD files (original or compact) [original]: ",
    ] {
        assert!(says(t, expected), "{expected:?} missing from:\n{t}");
    }
    assert!(!t.contains("compact is suggested"), "{t}");
    assert_fits(t);
    assert_eq!(run.config().storage.profile, Profile::Original);

    // A small card: the disk decides.
    let mut host = fake();
    host.machine = Machine {
        new_files: 2,
        free_disk: Some(1 << 30),
        available_memory: Some(8 << 30),
    };
    let run = dialogue(new_file(), &HAPPY, host);
    assert!(
        says(
            &run.transcript,
            "compact is suggested: in the original layout the new files and a margin of 512.0 MiB need 2183.3 MiB, and 1024.0 MiB is free."
        ),
        "{}",
        run.transcript
    );
    assert_eq!(run.config().storage.profile, Profile::Compact);

    // The user may still choose the original layout.
    let mut host = fake();
    host.machine.available_memory = Some(400 << 20);
    let mut answers = HAPPY.to_vec();
    answers[11] = b"original";
    let run = dialogue(new_file(), &answers, host);
    assert_eq!(run.config().storage.profile, Profile::Original);

    // A file that names its layout keeps it as the default.
    let text = EXISTING.replace("[storage]\n", "[storage]\nprofile = \"compact\"\n");
    let run = dialogue(existing(&text, Some("pw")), &[b"" as &[u8]; 18], fake());
    assert!(
        run.transcript.contains("(original or compact) [compact]: "),
        "{}",
        run.transcript
    );
}

#[test]
fn the_urls_to_open() {
    let addresses: Vec<IpAddr> = [
        "::1",
        "fd00::20",
        "127.0.0.1",
        "fe80::1",
        "192.168.88.20",
        "10.0.2.15",
        "10.0.2.15",
    ]
    .iter()
    .map(|a| a.parse().unwrap())
    .collect();
    let any6 = config::DEFAULT_LISTEN;
    assert_eq!(
        urls(any6, 8080, &addresses),
        [
            "http://10.0.2.15:8080/",
            "http://192.168.88.20:8080/",
            "http://[fd00::20]:8080/"
        ]
    );
    assert_eq!(
        urls("0.0.0.0".parse().unwrap(), 80, &addresses),
        ["http://10.0.2.15:80/", "http://192.168.88.20:80/"]
    );
    assert_eq!(
        urls("127.0.0.1".parse().unwrap(), 8080, &addresses),
        ["http://127.0.0.1:8080/"]
    );
    assert_eq!(
        urls("fd00::20".parse().unwrap(), 8080, &addresses),
        ["http://[fd00::20]:8080/"]
    );
    // Only loopback: localhost rather than nothing (never [::]).
    assert_eq!(
        urls(any6, 8080, &addresses[..1]),
        ["http://localhost:8080/"]
    );
}

#[test]
fn this_machines_addresses_from_proc() {
    let fib_trie = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 127.0.0.0/8 2 0 2\n        +-- 127.0.0.0/31 1 0 0\n           |-- 127.0.0.0\n              /8 host LOCAL\n           |-- 127.0.0.1\n              /32 host LOCAL\n        |-- 127.255.255.255\n           /32 link BROADCAST\n     +-- 192.0.2.0/24 2 0 2\n           |-- 192.0.2.0\n              /24 link UNICAST\n           |-- 192.0.2.2\n              /32 host LOCAL\n        |-- 192.0.2.255\n           /32 link BROADCAST\nLocal:\n           |-- 192.0.2.2\n              /32 host LOCAL\n           |-- not an address\n              /32 host LOCAL\n";
    assert_eq!(
        local_ipv4(fib_trie),
        [
            "127.0.0.1".parse::<std::net::Ipv4Addr>().unwrap(),
            "192.0.2.2".parse().unwrap()
        ]
    );
    let if_inet6 = "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\nfd000000000000000000000000000002 04 40 00 82     eth0\n00000000000000000000000000000001 01 80 10 80       lo\nzz 01\n0001 01 80 10 80 short\n";
    assert_eq!(
        local_ipv6(if_inet6),
        [
            "fe80::fc:ff:fe00:1".parse::<std::net::Ipv6Addr>().unwrap(),
            "fd00::2".parse().unwrap(),
            "::1".parse().unwrap()
        ]
    );
    assert!(local_ipv4("").is_empty() && local_ipv6("\n\n").is_empty());
}

#[test]
fn long_lines_are_folded_at_spaces() {
    assert_eq!(fold("  short"), "  short");
    let long = format!("  {}", ["word"; 30].join(" "));
    let folded = fold(&long);
    assert!(folded.lines().count() > 1, "{folded}");
    for line in folded.lines() {
        assert!(line.chars().count() <= WIDTH, "{line:?}");
    }
    assert!(folded.lines().skip(1).all(|l| l.starts_with("    word")));
    assert_eq!(folded.split_whitespace().count(), 30, "no word lost");
    // A word longer than a line is not cut.
    let path = format!("/{}", "d".repeat(100));
    assert_eq!(fold(&format!("  {path}")), format!("  {path}"));
    assert_eq!(fold("a\n\nb"), "a\n\nb");
}

#[test]
fn text_from_the_router_is_escaped() {
    let mut host = fake();
    let mut list = router_list();
    list[0].name = "wan\x1b]0;owned\x07".into();
    list[1].kind = "ether\x1b[2J".into();
    host.tests.push_back(Err(client::Error::BadCredentials {
        user: "monitor".into(),
        message: "no\x1b[31m".into(),
    }));
    host.tests.push_back(Ok(list));
    let mut answers: Vec<&[u8]> = vec![b"", b"", b"", b"", b"", b"x", b"", b""];
    answers.extend([b"" as &[u8], b"", b"", b"secret"]);
    answers.extend(HAPPY[6..].iter().copied());
    answers[12] = b"";
    let run = dialogue(new_file(), &answers, host);
    run.result.as_ref().unwrap();
    let t = &run.transcript;
    assert!(!t.contains('\x1b') && !t.contains('\x07'), "{t}");
    for expected in [
        "(the router said: no\\x1b[31m)",
        "    1  wan\\x1b]0;owned\\x07  ether           running\n",
        "    2  ether2                ether\\x1b[2J  running\n",
        // The default picks the running interface whose name is not plain
        // text by its number, so that Enter takes what is shown.
        "(numbers or names, with commas) [1]: ",
        "  RRD file of wan\\x1b]0;owned\\x07 [",
    ] {
        assert!(says(t, expected), "{expected:?} missing from:\n{t}");
    }
    assert_eq!(
        run.config().routers[0].interfaces[0].name,
        "wan\x1b]0;owned\x07"
    );
}

#[test]
fn every_line_fits_80_columns() {
    let run = dialogue(new_file(), &HAPPY, fake());
    assert_fits(&run.transcript);
    let mut host = fake();
    host.tests.push_back(Err(client::Error::Unreachable {
        addr: "192.168.88.1:8728".into(),
        detail: "no answer within 5 s".into(),
    }));
    let run = dialogue(
        new_file(),
        &[b"", b"", b"", b"", b"", b"x", b"", b"n"],
        host,
    );
    assert!(matches!(run.result, Err(Stop::NotSaved)));
    assert_fits(&run.transcript);
    let text = EXISTING.replace("PASSWORD", "xor:AAAA");
    let run = dialogue(existing(&text, None), &[b"" as &[u8]; 18], fake());
    assert_fits(&run.transcript);
    let web_only: &[&[u8]] = &[b"n", b"", b"", b"", b"", b"", b"", b"", b"", b""];
    let run = dialogue(new_file(), web_only, fake());
    assert_fits(&run.transcript);
}

#[test]
fn passwd_asks_twice_without_echo_and_stores_a_hash() {
    let mut host = fake();
    let script = Script {
        lines: [
            &b"short"[..],
            b"long enough",
            b"long enougH",
            b"long enough",
            b"long enough",
        ]
        .iter()
        .map(|a| [*a, b"\n"].concat())
        .collect(),
        echo: host.echo.clone(),
        read: Rc::new(RefCell::new(Vec::new())),
    };
    let read = script.read.clone();
    let mut output = Vec::new();
    let document = config::document(
        "[[router]]\nhost = \"192.0.2.1\"\nuser = \"u\"\npassword = \"p\"\n[[router.interface]]\nname = \"e\"\n",
        Path::new("t.toml"),
    )
    .unwrap();
    passwd(
        &mut BufReader::new(script),
        &mut output,
        &mut host,
        Path::new(config::DEFAULT_PATH),
        document,
    )
    .unwrap();
    let transcript = String::from_utf8(output).unwrap();
    assert!(
        says(&transcript, "use at least 8 characters; try again."),
        "{transcript}"
    );
    assert!(
        says(&transcript, "the two differ; try again."),
        "{transcript}"
    );
    assert!(read.borrow().iter().all(|(_, echo)| !echo), "never echoed");
    assert!(host.echo.get());
    let saved = host.saved.as_deref().unwrap();
    assert!(!saved.contains("long enough"), "{saved}");
    let config = config::parse(saved, Path::new(config::DEFAULT_PATH)).unwrap();
    let hash = crate::auth::Hash::parse(config.web.admin_password.as_deref().unwrap()).unwrap();
    assert!(hash.verify("long enough"));
    assert_eq!(config.routers[0].password, "p", "the rest is kept");
}
