//! The running daemon: starts a collector thread per router, stops them on
//! request, and installs the SIGINT/SIGTERM flag. `main` and the demo both
//! run the collectors through it.
//!
//! Shutdown never cuts an RRD write in half: collectors write only while
//! holding the shared write guard for reading, and [`Stopped::exit`] takes it
//! for writing and ends the process holding it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::collector::{self, Clock, Job, RouterHealth};
use crate::config::Config;

/// The collectors of a configuration, running.
pub struct Daemon {
    stop: Arc<AtomicBool>,
    writes: Arc<RwLock<()>>,
    threads: Vec<JoinHandle<()>>,
    /// One health state per router, in config order.
    pub health: Vec<Arc<Mutex<RouterHealth>>>,
}

impl Daemon {
    /// Starts one collector thread per router.
    pub fn start(config: &Config, clock: Arc<dyn Clock>) -> std::io::Result<Daemon> {
        let stop = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(RwLock::new(()));
        let mut threads = Vec::new();
        let mut health = Vec::new();
        for router in &config.routers {
            let state = Arc::new(Mutex::new(RouterHealth::new(router)));
            let job = Job {
                router: router.clone(),
                profile: config.storage.profile,
                health: state.clone(),
                stop: stop.clone(),
                writes: writes.clone(),
                clock: clock.clone(),
            };
            let thread = thread::Builder::new()
                .name(format!("collect {}", router.name))
                .spawn(move || collector::run(job))?;
            threads.push(thread);
            health.push(state);
        }
        Ok(Daemon {
            stop,
            writes,
            threads,
            health,
        })
    }

    /// Asks the collectors to stop and waits for them up to `patience`
    /// (a collector blocked on a silent router may take longer; it is left
    /// behind, and [`Stopped::exit`] makes sure it is not writing).
    pub fn stop(self, patience: Duration) -> Stopped {
        self.stop.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + patience;
        for thread in &self.threads {
            while !thread.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
        }
        Stopped {
            writes: self.writes,
        }
    }

    /// The file guard: collectors hold it shared while they write an RRD
    /// file; whoever must not overlap a write (shutdown, the web server's
    /// reads) takes it exclusively.
    pub fn files(&self) -> Arc<RwLock<()>> {
        self.writes.clone()
    }

    /// A snapshot of every router's health.
    pub fn snapshot(&self) -> Vec<RouterHealth> {
        self.health
            .iter()
            .map(|h| h.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect()
    }
}

/// A daemon asked to stop.
pub struct Stopped {
    writes: Arc<RwLock<()>>,
}

impl Stopped {
    /// Ends the process with `code` once no RRD write is in progress, and
    /// without letting another one start.
    pub fn exit(self, code: i32) -> ! {
        let _guard = self.writes.write().unwrap_or_else(PoisonError::into_inner);
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
