//! The real `mt-trafmon` binary and its RRD files' lifecycle, against the
//! simulator on loopback: an original-profile file (835 MB) created under a
//! data limit far below its size, a kill -9 in the middle of a creation and
//! the next start removing what it left (and nothing else), one collector
//! per data directory (a second one refuses and names the first; `-w` is
//! let through), and files a root run makes staying usable by the data
//! directory's owner; a reload into a directory another process holds.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod support;

use mt_trafmon::sim::{Options, Simulator};
use support::{Killed, TestDir, free_port, rrdtool};

const BIN: &str = env!("CARGO_BIN_EXE_mt-trafmon");
/// Creating an 835 MB file on a loaded machine, with its fsync.
const ORIGINAL_CREATION: Duration = Duration::from_secs(180);

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A config for the simulator's `interfaces`, files in `data`, the web
/// server off unless a port is given (then on 127.0.0.1 only).
fn write_config(
    path: &Path,
    data: &Path,
    sim: &Simulator,
    profile: &str,
    interfaces: &[&str],
    web_port: Option<u16>,
) {
    let mut text = format!(
        "[storage]\ndata_dir = {:?}\nprofile = \"{profile}\"\n\n[[router]]\nname = \"sim\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"reader\"\npassword = \"secret\"\n",
        data.display().to_string(),
        sim.addr().port()
    );
    for name in interfaces {
        text.push_str(&format!("\n[[router.interface]]\nname = \"{name}\"\n"));
    }
    match web_port {
        Some(port) => text.push_str(&format!(
            "\n[web]\nlisten = \"127.0.0.1\"\nport = {port}\nallow = [\"127.0.0.1\"]\n"
        )),
        None => text.push_str("\n[web]\nenabled = false\n"),
    }
    std::fs::write(path, text).unwrap();
}

/// A running binary whose log a thread collects, so that a wait can end
/// as soon as it logs an error; killed when dropped.
struct Running {
    child: Killed,
    log: Arc<Mutex<String>>,
    reader: Option<thread::JoinHandle<()>>,
}

/// Starts the binary (through `wrapper`, e.g. prlimit, if given) with its
/// log on a pipe.
fn start(wrapper: &[&str], args: &[&str], config: &Path) -> Running {
    let mut command = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut command = Command::new(program);
            command.args(rest).arg(BIN);
            command
        }
        None => Command::new(BIN),
    };
    command
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    Running {
        child: Killed(child),
        log,
        reader: Some(reader),
    }
}

impl Running {
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits up to `limit` for the process to end; its status and log.
    fn finish(mut self, limit: Duration) -> (ExitStatus, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < limit,
                "the process did not end within {limit:?}: {}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        (status, self.log())
    }

    /// SIGTERM, then its status and log.
    fn stop(self) -> (ExitStatus, String) {
        support::terminate(&self.child.0);
        self.finish(Duration::from_secs(10))
    }

    /// Waits until `ready` holds, up to `limit`; fails at once if the
    /// process logs an error or ends.
    fn wait_until(&mut self, limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
        let started = Instant::now();
        while !ready() {
            let log = self.log();
            assert!(
                !log.contains("ERROR") && self.child.0.try_wait().unwrap().is_none(),
                "while waiting for {what}: {log}"
            );
            assert!(
                started.elapsed() < limit,
                "timed out waiting for {what}: {log}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until `file` exists and has been written at or after `time`.
    fn wait_for_writes(&mut self, file: &Path, time: f64, limit: Duration) {
        self.wait_until(limit, "the RRD file to be created and written", || {
            file.exists() && rrd_last(file) as f64 >= time
        });
    }
}

fn rrd_last(path: &Path) -> i64 {
    rrdtool(&["last", path.to_str().unwrap()])
        .trim()
        .parse()
        .unwrap()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Stock librrd allocates the whole file (835 MB) before writing it and
/// fails under this limit ("cannot allocate memory"); the daemon's patched
/// librrd writes it from a small buffer. RLIMIT_DATA counts the heap and
/// private writable mappings, not the file mapped shared by updates.
#[test]
fn an_original_file_is_created_within_a_128_mib_data_limit() {
    let dir = TestDir::new("bounded");
    let sim = Simulator::start(Options::default()).unwrap();
    let config = dir.path("mt-trafmon.toml");
    write_config(&config, &dir.0, &sim, "original", &["ether1"], None);
    let limit = format!("--data={}", 128u64 << 20);
    let mut daemon = start(&["prlimit", &limit, "--"], &[], &config);
    let file = dir.path("sim-ether1.rrd");
    let started = now();
    daemon.wait_for_writes(&file, started, ORIGINAL_CREATION);
    let (status, log) = daemon.stop();
    assert!(status.success(), "{log}");
    assert!(!log.contains("failed"), "{log}");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 875_199_776);
    assert_eq!(
        names_in(&dir.0),
        [".mt-trafmon.lock", "mt-trafmon.toml", "sim-ether1.rrd"]
    );
    // The same limit stops stock rrdtool creating the same layout: the
    // limit is one the unpatched creation cannot pass.
    let stock = Command::new("prlimit")
        .args([&limit, "--", "rrdtool", "create"])
        .arg(dir.path("stock.rrd"))
        .args(support::ORIGINAL_DEFINITIONS)
        .env_remove("RRDCACHED_ADDRESS")
        .output()
        .unwrap();
    assert!(!stock.status.success());
    assert!(
        String::from_utf8_lossy(&stock.stdout).contains("cannot allocate memory")
            || String::from_utf8_lossy(&stock.stderr).contains("cannot allocate memory"),
        "{stock:?}"
    );
}

/// A kill -9 while librrd writes the file leaves its temporary file (the
/// final name never appears); the next start removes it and creates the
/// file, and leaves alone everything that is not a leftover of a
/// configured file.
#[test]
fn a_creation_cut_off_by_kill_9_leaves_nothing_after_the_next_start() {
    let dir = TestDir::new("leftover");
    let sim = Simulator::start(Options::default()).unwrap();
    let config = dir.path("mt-trafmon.toml");
    write_config(&config, &dir.0, &sim, "original", &["ether1"], None);
    let file = dir.path("sim-ether1.rrd");
    let temporary = |name: &str| {
        name.starts_with(".sim-ether1.rrd.creating")
            && name.len() == ".sim-ether1.rrd.creating".len() + 6
    };
    let mut daemon = start(&[], &[], &config);
    let mut leftover = None;
    daemon.wait_until(ORIGINAL_CREATION, "librrd's temporary file", || {
        leftover = names_in(&dir.0).into_iter().find(|n| temporary(n));
        leftover.is_some() || file.exists()
    });
    daemon.child.0.kill().unwrap();
    daemon.child.0.wait().unwrap();
    let leftover = leftover.expect("the file was created before the temporary file was seen");
    assert!(!file.exists());
    assert_eq!(
        names_in(&dir.0),
        [
            ".mt-trafmon.lock".to_string(),
            leftover.clone(),
            "mt-trafmon.toml".into()
        ]
    );

    // Named like leftovers but not of a configured file, or not in the
    // pattern: they stay. This module's own temporary name goes too.
    let keep = [
        ".sim-ether2.rrd.creatingAb3dE9",
        ".sim-ether1.rrd.creatingAb3dE",
        ".sim-ether1.rrd.creating~",
        "notes.txt",
    ];
    for name in keep.iter().chain(&[".sim-ether1.rrd.creating"]) {
        std::fs::write(dir.path(name), "x").unwrap();
    }
    let mut daemon = start(&[], &[], &config);
    let started = now();
    daemon.wait_for_writes(&file, started, ORIGINAL_CREATION);
    let (status, log) = daemon.stop();
    assert!(status.success(), "{log}");
    assert!(
        log.contains(&format!("removed {}", dir.path(&leftover).display())),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "removed {}",
            dir.path(".sim-ether1.rrd.creating").display()
        )),
        "{log}"
    );
    let mut expected: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
    expected.extend([".mt-trafmon.lock", "mt-trafmon.toml", "sim-ether1.rrd"].map(String::from));
    expected.sort();
    assert_eq!(names_in(&dir.0), expected);
}

/// A second collector on the same data directory (same config, or another
/// config whose files live there) refuses to start and names the running
/// one; `-w` only reads and starts; once the first has stopped, the data
/// directory is free again.
#[test]
fn a_second_collector_on_a_data_directory_refuses_and_names_the_first() {
    let dir = TestDir::new("single");
    let sim = Simulator::start(Options::default()).unwrap();
    let data = dir.path("data");
    let config = dir.path("one.toml");
    write_config(&config, &data, &sim, "compact", &["ether1"], None);
    let mut first = start(&[], &["-c"], &config);
    let file = data.join("sim-ether1.rrd");
    first.wait_for_writes(&file, now(), Duration::from_secs(60));
    let pid = first.child.0.id();

    let other = dir.path("other.toml");
    write_config(&other, &data, &sim, "compact", &["ether2"], None);
    for config in [&config, &other] {
        let second = start(&[], &[], config);
        let (status, log) = second.finish(Duration::from_secs(20));
        assert_eq!(status.code(), Some(1), "{log}");
        assert!(
            log.contains(&format!("another mt-trafmon (PID {pid}")),
            "{log}"
        );
        assert!(log.contains(&data.display().to_string()), "{log}");
        assert!(log.contains(BIN), "the command line is named: {log}");
    }
    assert!(!data.join("sim-ether2.rrd").exists());

    // Web only: starts and serves the files the first one writes.
    let port = free_port();
    let web = dir.path("web.toml");
    write_config(&web, &data, &sim, "compact", &["ether1"], Some(port));
    let mut reader = start(&[], &["-w"], &web);
    reader.wait_until(
        Duration::from_secs(20),
        "the web-only process to answer",
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    let (status, log) = reader.stop();
    assert!(status.success(), "{log}");
    assert!(!log.contains("another mt-trafmon"), "{log}");

    let last = rrd_last(&file);
    let (status, log) = first.stop();
    assert!(status.success(), "{log}");
    let mut second = start(&[], &["-c"], &config);
    second.wait_for_writes(&file, last as f64 + 2.0, Duration::from_secs(30));
    let (status, log) = second.stop();
    assert!(status.success(), "{log}");
}

/// A reload that adds a router whose files live in a directory another
/// process collects into leaves that router out, with an error, and keeps
/// the others going.
#[test]
fn a_reload_into_a_held_directory_leaves_that_router_out() {
    let dir = TestDir::new("reload-held");
    let sim = Simulator::start(Options::default()).unwrap();
    let (held, own) = (dir.path("held"), dir.path("own"));
    let first = dir.path("first.toml");
    write_config(&first, &held, &sim, "compact", &["ether1"], None);
    let mut holder = start(&[], &[], &first);
    holder.wait_for_writes(&held.join("sim-ether1.rrd"), now(), Duration::from_secs(60));

    let config = dir.path("second.toml");
    write_config(&config, &own, &sim, "compact", &["ether2"], None);
    let mut second = start(&[], &[], &config);
    let own_file = own.join("sim-ether2.rrd");
    second.wait_for_writes(&own_file, now(), Duration::from_secs(60));
    let mut text = std::fs::read_to_string(&config).unwrap();
    text = text.replace("\n[web]", &format!(
        "\n[[router]]\nname = \"other\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"reader\"\npassword = \"secret\"\n\n[[router.interface]]\nname = \"wlan1\"\nrrd = {:?}\n\n[web]",
        sim.addr().port(),
        held.join("other-wlan1.rrd").display().to_string()
    ));
    std::fs::write(&config, text).unwrap();
    let wait = Instant::now();
    while !second.log().contains("router other is left out") {
        assert!(wait.elapsed() < Duration::from_secs(20), "{}", second.log());
        thread::sleep(Duration::from_millis(50));
    }
    // The router that stayed goes on writing.
    let last = rrd_last(&own_file);
    while rrd_last(&own_file) < last + 2 {
        assert!(wait.elapsed() < Duration::from_secs(40), "{}", second.log());
        thread::sleep(Duration::from_millis(50));
    }
    let (status, log) = second.stop();
    assert!(status.success(), "{log}");
    assert!(
        log.contains(&format!("another mt-trafmon (PID {}", holder.child.0.id())),
        "{log}"
    );
    assert!(!held.join("other-wlan1.rrd").exists(), "{log}");
    let (status, log) = holder.stop();
    assert!(status.success(), "{log}");
}

/// Run as root (as with sudo), the files and directories the daemon makes
/// in a data directory belong to that directory's owner, so that the
/// service's user can go on with them: here user and group 65534 (nobody)
/// take over with setpriv. Without root there is nothing to check.
#[test]
fn files_a_root_run_makes_stay_usable_by_the_data_directorys_owner() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("not root: files_a_root_run_makes… checks nothing");
        return;
    }
    let dir = TestDir::new("owner");
    let sim = Simulator::start(Options::default()).unwrap();
    let data = dir.path("data");
    std::fs::create_dir(&data).unwrap();
    std::os::unix::fs::chown(&data, Some(65534), Some(65534)).unwrap();
    let config = dir.path("mt-trafmon.toml");
    write_config(
        &config,
        &data.join("sub"),
        &sim,
        "compact",
        &["ether1"],
        None,
    );
    let file = data.join("sub/sim-ether1.rrd");
    let mut root = start(&[], &[], &config);
    root.wait_for_writes(&file, now(), Duration::from_secs(60));
    let (status, log) = root.stop();
    assert!(status.success(), "{log}");
    let owner = |path: PathBuf| {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        (path, meta.uid(), meta.gid())
    };
    for made in [
        data.join("sub"),
        data.join("sub/.mt-trafmon.lock"),
        file.clone(),
    ] {
        let (path, uid, gid) = owner(made);
        assert_eq!((uid, gid), (65534, 65534), "{}", path.display());
    }

    let last = rrd_last(&file);
    let mut nobody = start(
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ],
        &[],
        &config,
    );
    nobody.wait_for_writes(&file, last as f64 + 2.0, Duration::from_secs(30));
    let (status, log) = nobody.stop();
    assert!(status.success(), "{log}");
    assert!(!log.contains("ERROR") && !log.contains("WARN"), "{log}");
}
