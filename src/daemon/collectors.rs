//! The collector threads of a configuration, one per router: started,
//! replaced and stopped as the configuration says ([`Collectors::apply`]),
//! and stopped for good by [`Collectors::stop`].
//!
//! Never two writers on one file, and shutdown never cuts an RRD write in
//! half: collectors write only while holding their file's lock ([`Files`])
//! with their stop flag unset. A replaced collector gets its stop flag set
//! and the locks are settled ([`Files::settle`]: a write in flight ends),
//! after which it writes nothing (it checks the flag under the lock), so
//! its replacement may start on the same files at once; [`Collectors::stop`]
//! does the same for all of them before it returns.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::collector::{self, Clock, Job};
use crate::config::{self, Config};
use crate::files::Files;
use crate::health::{self, Health};
use crate::stop::Stop;
use crate::store::Profile;

/// The collectors of a configuration, running.
pub struct Collectors {
    files: Files,
    clock: Arc<dyn Clock>,
    running: Vec<Collector>,
}

/// One router's collector thread.
struct Collector {
    router: config::Router,
    profile: Profile,
    stop: Stop,
    /// Set when the thread has ended.
    ended: Stop,
    /// One entry per interface, in config order.
    health: Vec<Health>,
}

/// Sets its [`Stop`] when dropped: at the end of a thread, however it
/// ends.
struct SetOnDrop(Stop);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// What [`Collectors::apply`] changed, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Routers whose collector started (new, or replaced after a change).
    pub started: Vec<String>,
    /// Routers whose collector stopped for good.
    pub stopped: Vec<String>,
}

impl Collectors {
    /// Starts one collector thread per router of `config`.
    pub fn start(config: &Config, clock: Arc<dyn Clock>) -> std::io::Result<Collectors> {
        let mut collectors = Collectors {
            files: Files::new(),
            clock,
            running: Vec::new(),
        };
        collectors.apply(config)?;
        Ok(collectors)
    }

    /// Makes the running collectors those of `config`: a router whose
    /// settings (connection, interfaces, files, profile) are unchanged
    /// keeps its collector and its session; a changed one is replaced (so
    /// it reconnects once); a removed one is stopped; a new one started.
    pub fn apply(&mut self, config: &Config) -> std::io::Result<Changes> {
        let mut changes = Changes::default();
        let profile = config.storage.profile;
        let (mut kept, retired): (Vec<Collector>, Vec<Collector>) =
            std::mem::take(&mut self.running)
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
                self.running.push(kept.swap_remove(i));
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
            let ended = Stop::new();
            let on_end = SetOnDrop(ended.clone());
            thread::Builder::new()
                .name(format!("collect {}", router.name))
                .spawn(move || {
                    let _on_end = on_end;
                    collector::run(job);
                })?;
            changes.started.push(router.name.clone());
            self.running.push(Collector {
                router: router.clone(),
                profile,
                stop,
                ended,
                health,
            });
        }
        Ok(changes)
    }

    /// The health entry of every interface of every router, in config
    /// order.
    pub fn health(&self) -> Vec<Health> {
        self.running
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

    /// Stops every collector: sets the stop flags, waits up to `patience`
    /// for the threads to end (one blocked on a silent router may take
    /// longer; it is left behind, and writes nothing more), and returns
    /// once no RRD write is in progress. Returns how many were left
    /// behind.
    pub fn stop(self, patience: Duration) -> usize {
        for collector in &self.running {
            collector.stop.set();
        }
        let deadline = Instant::now() + patience;
        let left = self
            .running
            .iter()
            .filter(|c| {
                !c.ended
                    .sleep(deadline.saturating_duration_since(Instant::now()))
            })
            .count();
        self.files.settle();
        left
    }
}
