//! The running daemon: a collector thread per router, started, replaced
//! and stopped as the configuration says ([`Daemon::apply`]), and the
//! SIGINT/SIGTERM flag. `main`, the demo and live reload all run the
//! collectors through it.
//!
//! Shutdown never cuts an RRD write in half: collectors write only while
//! holding their file's lock ([`Files`]) with their stop flag unset, and
//! [`Stopped::exit`] settles the locks after every flag is set. A replaced
//! collector gets its stop flag set and the locks are settled, after which
//! it writes nothing (it checks the flag under the lock), so its
//! replacement may start on the same files at once: never two writers on
//! one file.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::collector::{self, Clock, Job};
use crate::config::{self, Config};
use crate::files::Files;
use crate::health::{self, Health};
use crate::stop::Stop;
use crate::store::Profile;

/// The collectors of a configuration, running.
pub struct Daemon {
    files: Files,
    clock: Arc<dyn Clock>,
    collectors: Vec<Collector>,
}

/// One router's collector thread.
struct Collector {
    router: config::Router,
    profile: Profile,
    stop: Stop,
    thread: JoinHandle<()>,
    health: Vec<Health>,
}

/// What [`Daemon::apply`] changed, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Routers whose collector started (new, or replaced after a change).
    pub started: Vec<String>,
    /// Routers whose collector stopped for good.
    pub stopped: Vec<String>,
}

impl Daemon {
    /// Starts one collector thread per router of `config`.
    pub fn start(config: &Config, clock: Arc<dyn Clock>) -> std::io::Result<Daemon> {
        let mut daemon = Daemon {
            files: Files::new(),
            clock,
            collectors: Vec::new(),
        };
        daemon.apply(config)?;
        Ok(daemon)
    }

    /// Makes the running collectors those of `config`: a router whose
    /// settings (connection, interfaces, files, profile) are unchanged
    /// keeps its collector and its session; a changed one is replaced (so
    /// it reconnects once); a removed one is stopped; a new one started.
    pub fn apply(&mut self, config: &Config) -> std::io::Result<Changes> {
        let mut changes = Changes::default();
        let profile = config.storage.profile;
        let (mut kept, retired): (Vec<Collector>, Vec<Collector>) =
            std::mem::take(&mut self.collectors)
                .into_iter()
                .partition(|c| c.profile == profile && config.routers.contains(&c.router));
        for collector in &retired {
            collector.stop.set();
            if !config
                .routers
                .iter()
                .any(|r| r.name == collector.router.name)
            {
                changes.stopped.push(collector.router.name.clone());
            }
        }
        if !retired.is_empty() {
            // A write in flight ends; later ones see the stop flag. The
            // retired threads then end on their own (one blocked on a
            // silent router at its timeout).
            self.files.settle();
        }
        for router in &config.routers {
            if let Some(i) = kept.iter().position(|c| c.router == *router) {
                self.collectors.push(kept.swap_remove(i));
                continue;
            }
            let stop = Stop::new();
            let health = collector::health_entries(router);
            let job = Job {
                router: router.clone(),
                profile,
                health: health.clone(),
                stop: stop.clone(),
                files: self.files.clone(),
                clock: self.clock.clone(),
            };
            let thread = thread::Builder::new()
                .name(format!("collect {}", router.name))
                .spawn(move || collector::run(job))?;
            changes.started.push(router.name.clone());
            self.collectors.push(Collector {
                router: router.clone(),
                profile,
                stop,
                thread,
                health,
            });
        }
        Ok(changes)
    }

    /// The health entry of every interface of every router.
    pub fn health(&self) -> Vec<Health> {
        self.collectors
            .iter()
            .flat_map(|c| c.health.iter().cloned())
            .collect()
    }

    /// The per-file locks the collectors write under; the web server
    /// reads under them too.
    pub fn files(&self) -> Files {
        self.files.clone()
    }

    /// A snapshot of every interface's health, in config order.
    pub fn snapshot(&self) -> Vec<health::Entry> {
        self.health().iter().map(Health::snapshot).collect()
    }

    /// Asks the collectors to stop and waits for them up to `patience`
    /// (a collector blocked on a silent router may take longer; it is left
    /// behind, and [`Stopped::exit`] makes sure it is not writing).
    pub fn stop(self, patience: Duration) -> Stopped {
        for collector in &self.collectors {
            collector.stop.set();
        }
        let deadline = Instant::now() + patience;
        for collector in &self.collectors {
            while !collector.thread.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
        }
        Stopped { files: self.files }
    }
}

/// A daemon asked to stop.
pub struct Stopped {
    files: Files,
}

impl Stopped {
    /// Ends the process with `code` once no RRD write is in progress
    /// (every collector's stop flag is set, so none starts another).
    pub fn exit(self, code: i32) -> ! {
        self.files.settle();
        std::process::exit(code)
    }
}

/// A flag that SIGINT and SIGTERM set.
pub fn signal_flag() -> std::io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, flag.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, flag.clone())?;
    Ok(flag)
}

/// Waits until `flag` is set.
pub fn wait_for(flag: &AtomicBool) {
    while !flag.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(50));
    }
}
