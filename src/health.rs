//! What is true right now about each monitored interface: one [`Health`]
//! entry per interface, written by its collector and read by the web side
//! (`/api/interfaces`, `/api/live`, `/healthz`) and the demo.
//!
//! An entry holds the router session's state as its collector last saw it
//! (connected, and the problem of the current failure streak only: it is
//! cleared as soon as a read works again, so nothing shows an error that
//! was already resolved), whether the router lists the interface, the
//! state of its RRD file with the reason in words when it cannot be
//! created, opened or written, and the latest sample. [`Entry::status`]
//! turns that into the one state the JSON shows. Pure but for the mutex;
//! reads no clock (times come in).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::config;
use crate::rrd;
use crate::store;

/// One interface's entry, shared: cloning gives another handle on it.
#[derive(Clone, Debug)]
pub struct Health {
    id: Arc<str>,
    entry: Arc<Mutex<Entry>>,
}

/// What is known of one interface.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    /// The router's name from the config.
    pub router: String,
    /// The router's name for the interface.
    pub name: String,
    /// Its label.
    pub label: String,
    /// Its RRD file.
    pub rrd: PathBuf,
    /// Whether the router's session is up.
    pub connected: bool,
    /// The router's current problem (the failure streak going on), if any.
    pub router_problem: Option<Problem>,
    /// Set while the router does not list the interface.
    pub missing: Option<Problem>,
    /// The file's state.
    pub file: FileState,
    /// The last sample: wall-clock time and rates in bit/s.
    pub last_sample: Option<Sample>,
    /// Update lines written.
    pub samples_written: u64,
    /// Seconds filled in by backfill.
    pub seconds_backfilled: f64,
    /// Seconds written as unknown or given up.
    pub seconds_lost: f64,
    /// The router's byte counters (received, sent) as last read, with
    /// `source = "counters"`; set together with `last_sample`.
    pub counters: Option<(u64, u64)>,
    /// Failed writes of the file.
    pub write_errors: u64,
    /// Sessions with the router opened after the first.
    pub reconnects: u64,
}

/// A problem going on: since when (wall clock) and what it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Wall-clock Unix time it started.
    pub since: f64,
    /// What it is, in words (router text escaped).
    pub message: String,
}

/// The latest rates of an interface.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Wall-clock Unix time the reply arrived.
    pub at: f64,
    /// Received bit/s.
    pub rx_bps: f64,
    /// Sent bit/s.
    pub tx_bps: f64,
}

/// Where an interface's RRD file stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum FileState {
    /// Not looked at yet.
    #[default]
    Pending,
    /// Being created (samples are held meanwhile).
    Creating,
    /// Open, and the last write (if any) worked.
    Ready,
    /// Cannot be created, opened or written; tried again.
    Failed(FileProblem),
}

/// Why a file cannot be used: the reason in words and the whole message.
#[derive(Clone, Debug, PartialEq)]
pub struct FileProblem {
    /// The kind of reason.
    pub reason: Reason,
    /// The full message (paths, sizes, librrd's words).
    pub message: String,
}

/// The reasons a person can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The file system is full (or the free space is too small).
    NoSpace,
    /// Not enough memory to create the file.
    NoMemory,
    /// The file or its directory may not be read or written.
    PermissionDenied,
    /// The file exists but is not laid out as mt-trafmon writes.
    ForeignLayout,
    /// Another process holds librrd's lock on it.
    Locked,
    /// Anything else (the message says what).
    Other,
}

/// What the JSON and `/healthz` show for an interface.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// The latest sample.
    pub sample: Option<Sample>,
    /// `ok`, `waiting`, `stale` or `error`.
    pub state: &'static str,
    /// Why, for `error` (and for a stale sample when known).
    pub error: Option<String>,
    /// Whether its collector has a session; `None` in web-only mode.
    pub connected: Option<bool>,
    /// The file's state (`pending`, `creating`, `ready`, `failed`); `None`
    /// in web-only mode.
    pub file: Option<&'static str>,
    /// Whether nothing of it is being stored right now (its file fails, or
    /// the router does not list it), however fresh the sample.
    pub failing: bool,
}

impl Health {
    /// A fresh entry for `interface` of the router called `router`.
    pub fn new(router: &str, interface: &config::Interface) -> Health {
        let entry = Entry {
            router: router.to_string(),
            name: interface.name.clone(),
            label: interface.label.clone(),
            rrd: interface.rrd.clone(),
            ..Entry::default()
        };
        Health {
            id: format!("{router}/{}", interface.name).into(),
            entry: Arc::new(Mutex::new(entry)),
        }
    }

    /// `<router>/<interface>`, as in URLs and logs.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A copy of the entry as it is now.
    pub fn snapshot(&self) -> Entry {
        self.lock().clone()
    }

    /// Changes the entry.
    pub fn update<T>(&self, change: impl FnOnce(&mut Entry) -> T) -> T {
        change(&mut self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entry> {
        self.entry.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Entry {
    /// The state at wall time `now`; a sample up to `live_seconds` old is
    /// live.
    pub fn status(&self, now: f64, live_seconds: f64) -> Status {
        let router_error = self
            .router_problem
            .as_ref()
            .map(|p| format!("router: {}", p.message));
        let file_error = match &self.file {
            FileState::Failed(problem) => Some(format!(
                "file {}: {}",
                problem.reason.words(),
                problem.message
            )),
            _ => None,
        };
        let missing = self
            .missing
            .as_ref()
            .map(|p| format!("router: {}", p.message));
        let live = self.last_sample.is_some_and(|s| now - s.at <= live_seconds);
        let (state, error) = if let Some(error) = file_error.clone().or(missing.clone()) {
            ("error", Some(error))
        } else if live {
            ("ok", None)
        } else if router_error.is_some() && (!self.connected || self.last_sample.is_none()) {
            ("error", router_error)
        } else if self.last_sample.is_some() {
            ("stale", router_error)
        } else {
            ("waiting", None)
        };
        Status {
            sample: self.last_sample,
            state,
            error,
            connected: Some(self.connected),
            file: Some(self.file.word()),
            failing: file_error.is_some() || missing.is_some(),
        }
    }
}

impl FileState {
    /// One word for the JSON.
    pub fn word(&self) -> &'static str {
        match self {
            FileState::Pending => "pending",
            FileState::Creating => "creating",
            FileState::Ready => "ready",
            FileState::Failed(_) => "failed",
        }
    }
}

impl Reason {
    /// The reason in a few words.
    pub fn words(self) -> &'static str {
        match self {
            Reason::NoSpace => "no space",
            Reason::NoMemory => "no memory",
            Reason::PermissionDenied => "permission denied",
            Reason::ForeignLayout => "foreign layout",
            Reason::Locked => "locked by another process",
            Reason::Other => "unusable",
        }
    }

    /// The reason an I/O error gives.
    fn of_io(error: &std::io::Error) -> Reason {
        match error.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                Reason::PermissionDenied
            }
            std::io::ErrorKind::StorageFull => Reason::NoSpace,
            std::io::ErrorKind::OutOfMemory => Reason::NoMemory,
            _ => Reason::Other,
        }
    }

    /// The reason a librrd failure gives.
    fn of_rrd(error: &rrd::Error) -> Reason {
        match error.kind() {
            rrd::ErrorKind::NoSpace => Reason::NoSpace,
            rrd::ErrorKind::NoMemory => Reason::NoMemory,
            rrd::ErrorKind::PermissionDenied => Reason::PermissionDenied,
            rrd::ErrorKind::Locked => Reason::Locked,
            rrd::ErrorKind::NotFound | rrd::ErrorKind::Other => Reason::Other,
        }
    }
}

impl FileProblem {
    /// Why a file could not be created or opened.
    pub fn from_store(error: &store::Error) -> FileProblem {
        let reason = match error {
            store::Error::Layout { .. } => Reason::ForeignLayout,
            store::Error::NoSpace { .. } => Reason::NoSpace,
            store::Error::NoMemory { .. } => Reason::NoMemory,
            store::Error::Io { source, .. } => Reason::of_io(source),
            store::Error::Rrd(error) => Reason::of_rrd(error),
        };
        FileProblem {
            reason,
            message: error.to_string(),
        }
    }

    /// Why a write failed.
    pub fn from_rrd(error: &rrd::Error) -> FileProblem {
        FileProblem {
            reason: Reason::of_rrd(error),
            message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const NOW: f64 = 1_800_000_000.0;

    fn entry() -> Entry {
        Entry {
            router: "home".into(),
            name: "ether1".into(),
            connected: true,
            file: FileState::Ready,
            last_sample: Some(Sample {
                at: NOW - 0.5,
                rx_bps: 1.0,
                tx_bps: 2.0,
            }),
            ..Entry::default()
        }
    }

    #[test]
    fn a_failing_file_is_an_error_in_words_however_fresh_the_sample() {
        let mut entry = entry();
        assert_eq!(entry.status(NOW, 5.0).state, "ok");
        let error = store::Error::NoSpace {
            path: "/var/lib/mt-trafmon/home-ether1.rrd".into(),
            profile: store::Profile::Compact,
            needed: 35 << 20,
            free: 1 << 20,
        };
        entry.file = FileState::Failed(FileProblem::from_store(&error));
        let status = entry.status(NOW, 5.0);
        assert_eq!(status.state, "error");
        assert!(status.failing);
        assert_eq!(status.file, Some("failed"));
        let text = status.error.unwrap();
        assert!(text.starts_with("file no space: "), "{text}");
        let layout = store::Error::Layout {
            path: "/x.rrd".into(),
            found: "step 300 s".into(),
        };
        assert_eq!(
            FileProblem::from_store(&layout).reason,
            Reason::ForeignLayout
        );
        let denied = store::Error::Io {
            path: "/x".into(),
            doing: "creating",
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        assert_eq!(
            FileProblem::from_store(&denied).reason.words(),
            "permission denied"
        );
    }

    #[test]
    fn a_resolved_router_problem_is_not_shown() {
        let mut entry = entry();
        entry.router_problem = Some(Problem {
            since: NOW - 61.0,
            message: "connection refused".into(),
        });
        entry.connected = false;
        entry.last_sample = Some(Sample {
            at: NOW - 30.0,
            rx_bps: 0.0,
            tx_bps: 0.0,
        });
        assert_eq!(entry.status(NOW, 5.0).state, "error");
        // The collector clears the problem when a read works again; a stall
        // after that is stale without an old reason.
        entry.router_problem = None;
        entry.connected = true;
        let status = entry.status(NOW, 5.0);
        assert_eq!((status.state, status.error), ("stale", None));
    }

    #[test]
    fn a_missing_interface_is_an_error() {
        let mut entry = entry();
        entry.missing = Some(Problem {
            since: NOW - 3.0,
            message: "the router does not list ether1".into(),
        });
        let status = entry.status(NOW, 5.0);
        assert_eq!(status.state, "error");
        assert!(status.failing);
    }

    #[test]
    fn handles_share_one_entry() {
        let interface = config::Interface {
            name: "ether1".into(),
            label: "WAN".into(),
            rrd: Path::new("/x.rrd").into(),
            billing: config::Billing::default(),
        };
        let health = Health::new("home", &interface);
        let other = health.clone();
        other.update(|e| e.connected = true);
        assert!(health.snapshot().connected);
        assert_eq!(health.id(), "home/ether1");
        assert_eq!(health.snapshot().label, "WAN");
    }
}
