//! The daemon: what runs for a configuration and its life from start to
//! stop. Where things live:
//!
//! - [`run`] is the daemon's life: it bounds malloc's arenas
//!   ([`crate::rrd::bound_malloc`], before any thread starts), loads the
//!   config, installs the SIGINT/SIGTERM handlers ([`signals`]), starts a
//!   [`Daemon`], then sleeps in one blocking `poll` until a signal comes
//!   (shutdown) or the config file is saved ([`watch`], reload), and at
//!   the end stops the daemon and returns, for `main` to turn into an
//!   exit status.
//! - [`Daemon`] is the collectors ([`Collectors`], a thread per router)
//!   and the web server of the current configuration; [`Daemon::apply`]
//!   applies a changed one without a restart: unchanged routers keep their
//!   sessions, changed ones reconnect once, removed ones stop, new ones
//!   start; the web server gets the new title, theme and allow-lists at
//!   once, moves to a new address or port (keeping the old socket if the
//!   new one cannot be had), and stops or starts on its own while the
//!   collectors go on.
//! - Data directories: when it collects, the daemon first locks every
//!   directory the RRD files live in ([`store::DataDirs`]): a second
//!   collecting mt-trafmon on one of them refuses to start, naming the one
//!   that runs; a directory a reload adds that another process holds
//!   leaves the routers with files there out, with an error. With the
//!   locks held, the leftovers of creations cut off by a kill are removed.
//! - Shutdown: [`Daemon::stop`] stops the web server (its threads wake
//!   at once), then [`Collectors::stop`], which returns once no RRD write
//!   is in progress and none can start.
//!
//! Health: each collector thread keeps one `health::Health` entry per
//! interface true, which the web server reads through
//! [`Collectors::health`].

pub mod collectors;
pub mod signals;
pub mod watch;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;

use crate::collector::Clock;
use crate::config::{self, Config};
use crate::store::{self, DataDirs};
use crate::web::setup::{self, Setup};
use crate::web::{self, server::Server};
pub use collectors::Collectors;
use signals::Signals;
use watch::Watch;

/// How long a stop waits for the collector threads to end.
pub const PATIENCE: Duration = Duration::from_millis(1500);

/// Which parts run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    /// The collectors (off with `-w`).
    pub collect: bool,
    /// The web server, if the config enables it (off with `-c`).
    pub serve: bool,
}

/// Why the daemon could not start (or go on waiting).
#[derive(Debug)]
pub enum Failure {
    /// The config file cannot be used.
    Config(config::Error),
    /// Web only (`-w`), and the config disables the web server.
    NothingToRun,
    /// The SIGINT/SIGTERM handlers could not be installed.
    Signals(std::io::Error),
    /// A collector thread could not be started.
    Start(std::io::Error),
    /// No random numbers for the settings page's key (`getrandom(2)`).
    Random(std::io::Error),
    /// Waiting for signals and config changes failed.
    Wait(std::io::Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Config(e) => write!(f, "{e}"),
            Failure::NothingToRun => write!(
                f,
                "-w (web only) with web.enabled = false in the config: nothing to run"
            ),
            Failure::Signals(e) => write!(f, "cannot install the SIGINT/SIGTERM handlers: {e}"),
            Failure::Start(e) => write!(f, "cannot start the collectors: {e}"),
            Failure::Random(e) => write!(f, "cannot read random numbers from the kernel: {e}"),
            Failure::Wait(e) => write!(f, "cannot wait for signals and config changes: {e}"),
        }
    }
}

impl std::error::Error for Failure {}

/// Runs the daemon for the config file at `path` until SIGINT or SIGTERM
/// (see the module docs); returns once it has stopped cleanly, or why it
/// could not start.
pub fn run(path: &Path, parts: Parts, clock: Arc<dyn Clock>) -> Result<(), Failure> {
    // Before any thread starts: see `rrd::bound_malloc`.
    crate::rrd::bound_malloc();
    let (config, bytes) = config::load_bytes(path).map_err(Failure::Config)?;
    if !parts.collect && !config.web.enabled {
        return Err(Failure::NothingToRun);
    }
    let signals = Signals::install().map_err(Failure::Signals)?;
    log::info!(
        "mt-trafmon {} with config {}",
        env!("CARGO_PKG_VERSION"),
        path.display()
    );
    let mut watch = Watch::new(path);
    let setup = Setup::new(path, !parts.collect).map_err(Failure::Random)?;
    let file = Edited {
        version: setup.version(&bytes),
        setup: Arc::new(setup),
    };
    let mut daemon = Daemon::start(config, parts, clock, Some(file)).map_err(Failure::Start)?;
    let waited = loop {
        match wait(&signals, &watch) {
            Ok(true) => break Ok(()),
            Ok(false) => {
                if let Some(config) = watch.poll() {
                    daemon.apply(config, watch.applied().unwrap_or_default());
                }
            }
            Err(e) => break Err(Failure::Wait(e.into())),
        }
    };
    log::info!("stopping");
    daemon.stop(PATIENCE);
    waited
}

/// Sleeps until a signal has come (`true`) or the config file may have
/// changed (`false`): one blocking `poll` on the signal socket and the
/// watch's descriptor, with the watch's timeout.
fn wait(signals: &Signals, watch: &Watch) -> rustix::io::Result<bool> {
    let mut fds = vec![PollFd::new(signals, PollFlags::IN)];
    if let Some(fd) = watch.fd() {
        fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
    }
    let timeout = watch.timeout().map(|d| Timespec {
        tv_sec: d.as_secs() as i64,
        tv_nsec: i64::from(d.subsec_nanos()),
    });
    match rustix::event::poll(&mut fds, timeout.as_ref()) {
        // A signal interrupts the wait; the next one sees the socket.
        Ok(_) | Err(Errno::INTR) => Ok(!fds[0].revents().is_empty()),
        Err(e) => Err(e),
    }
}

/// The collectors and the web server of the current configuration.
pub struct Daemon {
    config: Config,
    parts: Parts,
    collectors: Collectors,
    server: Option<Server>,
    clock: Arc<dyn Clock>,
    /// The data directories this process collects into, locked.
    data: DataDirs,
    /// The config file the settings page edits, if any.
    file: Option<Edited>,
    /// When the current config began to run (Unix seconds).
    applied_at: f64,
}

/// The config file a daemon runs, for the settings page.
pub struct Edited {
    /// The settings page's lasting part (sessions, login throttle).
    pub setup: Arc<Setup>,
    /// The [`Setup::version`] of the config running.
    pub version: String,
}

impl Daemon {
    /// Starts what `parts` and `config` ask for. A web server that cannot
    /// listen is logged and left out: the collectors matter more. Fails
    /// when another process collects into one of the data directories.
    /// With `file`, the web server serves the settings page for it.
    pub fn start(
        config: Config,
        parts: Parts,
        clock: Arc<dyn Clock>,
        file: Option<Edited>,
    ) -> std::io::Result<Daemon> {
        let collected = collected(&config, parts);
        let data = DataDirs::take(&files(&collected)).map_err(std::io::Error::other)?;
        let collectors = Collectors::start(&collected, clock.clone())?;
        let mut daemon = Daemon {
            config,
            parts,
            collectors,
            server: None,
            applied_at: clock.now().wall,
            clock,
            data,
            file,
        };
        daemon.server = daemon.listen(None);
        Ok(daemon)
    }

    /// The running web server, if any.
    pub fn server(&self) -> Option<&Server> {
        self.server.as_ref()
    }

    /// The collectors.
    pub fn collectors(&self) -> &Collectors {
        &self.collectors
    }

    /// Applies a changed configuration (see the module docs), read from
    /// the file's `bytes`.
    pub fn apply(&mut self, config: Config, bytes: &[u8]) {
        let mut collected = collected(&config, self.parts);
        let held = self.data.add(&files(&collected));
        collected.routers.retain(|router| {
            let blocked = router
                .interfaces
                .iter()
                .any(|i| held.iter().any(|dir| store::directory_of(&i.rrd) == dir));
            if blocked {
                log::error!(
                    "reload: router {} is left out: another process collects into its data directory",
                    router.name
                );
            }
            !blocked
        });
        let changes = match self.collectors.apply(&collected) {
            Ok(changes) => changes,
            Err(e) => {
                log::error!("reload: cannot start a collector: {e}");
                return;
            }
        };
        for name in &changes.started {
            log::info!("reload: collector for {name} (re)started");
        }
        for name in &changes.stopped {
            log::info!("reload: collector for {name} stopped (no longer configured)");
        }
        let old = std::mem::replace(&mut self.config, config);
        if let Some(file) = &mut self.file {
            file.version = file.setup.version(bytes);
        }
        self.applied_at = self.clock.now().wall;
        let web = &self.config.web;
        let wanted = self.parts.serve && web.enabled;
        let moved = old.web.listen != web.listen || old.web.port != web.port;
        self.server = match self.server.take() {
            None if wanted => self.listen(None),
            None => None,
            Some(server) if !wanted => {
                log::info!(
                    "web: disabled by the config; stopping the web server (collectors go on)"
                );
                server.stop();
                None
            }
            Some(server) if moved => match self.listen(Some(&server)) {
                Some(new) => {
                    server.stop();
                    Some(new)
                }
                None => {
                    log::warn!("web: keeping the old socket on {}", server.address());
                    server.set_state(self.state(Some(&server)));
                    Some(server)
                }
            },
            Some(server) => {
                server.set_state(self.state(Some(&server)));
                Some(server)
            }
        };
    }

    /// Stops the web server, then the collectors (waiting up to
    /// `patience` for their threads); returns once no RRD write is in
    /// progress and none can start.
    pub fn stop(self, patience: Duration) {
        if let Some(server) = self.server {
            server.stop();
        }
        let left = self.collectors.stop(patience);
        if left > 0 {
            log::info!("{left} collector(s) still waiting for a router; they write nothing more");
        }
    }

    /// The web state for the current config and collectors.
    fn state(&self, previous: Option<&Server>) -> Arc<web::State> {
        let previous = previous.map(Server::state);
        let mut state = web::State::new(
            &self.config,
            &self.collectors.health(),
            self.collectors.files(),
            self.clock.clone(),
            previous.as_deref(),
        );
        state.setup = self
            .file
            .as_ref()
            .filter(|_| self.config.web.settings)
            .map(|file| setup::Page {
                setup: file.setup.clone(),
                admin: self.config.web.admin_password.clone(),
                applied_version: file.version.clone(),
                applied_at: self.applied_at,
            });
        Arc::new(state)
    }

    /// A server on the configured address, if wanted and possible.
    fn listen(&self, previous: Option<&Server>) -> Option<Server> {
        let web = &self.config.web;
        if !(self.parts.serve && web.enabled) {
            return None;
        }
        match Server::start(web.listen, web.port, self.state(previous)) {
            Ok(server) => Some(server),
            Err(e) => {
                log::error!(
                    "web: cannot listen on port {} of {}: {e}",
                    web.port,
                    web.listen
                );
                None
            }
        }
    }
}

/// The config as far as the collectors go: no routers in web-only mode.
fn collected(config: &Config, parts: Parts) -> Config {
    let mut config = config.clone();
    if !parts.collect {
        config.routers.clear();
    }
    config
}

/// The RRD files of the collectors.
fn files(config: &Config) -> Vec<&Path> {
    config
        .routers
        .iter()
        .flat_map(|r| &r.interfaces)
        .map(|i| i.rrd.as_path())
        .collect()
}
