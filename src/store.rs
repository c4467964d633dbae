//! The RRD files: the retention profiles a new file is created with,
//! opening an existing file (whose layout is checked, never changed), and
//! creating a missing one in the background so that sampling goes on
//! meanwhile.
//!
//! A new file is written under a temporary name in its directory and
//! renamed into place when complete, so a file at the configured path is
//! always whole; a leftover temporary file (the process was stopped during
//! a creation) is removed before the next attempt. Before creating, the
//! free space of the file system is checked against the file's size, and
//! the available memory too: librrd 1.7 builds the whole file in memory
//! before writing it (835 MB for the original profile), so creations run
//! one at a time and are refused with a clear message when the machine
//! lacks the memory, instead of waking the OOM killer.
//!
//! librrd is called only through [`crate::rrd`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use serde::{Deserialize, Serialize};

use crate::rrd;

/// The data sources of every file: bit/s in, bit/s out. GAUGE, because the
/// collector writes rates; heartbeat 3 s, minimum 0, no maximum (the
/// original's definition).
pub const DATA_SOURCES: [&str; 2] = ["DS:rx:GAUGE:3:0:U", "DS:tx:GAUGE:3:0:U"];

/// How much history a new file keeps, and at which resolutions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// The original's layout, 834.7 MiB per file: 1 s for a year, 10 s and
    /// 1 min (with 1 min peaks) for 5 years, 5 min (with peaks) for 10.
    Original,
    /// For small SD cards, 33.4 MiB per file: 1 s for 8 days, 10 s for 31
    /// days, 1 min (with peaks) for 366 days, 1 h (with peaks) for 10
    /// years. Each peak row is the largest 1 s value in it.
    Compact,
}

impl Profile {
    /// The archives, as `rrdtool create` takes them.
    pub fn archives(self) -> &'static [&'static str] {
        match self {
            Profile::Original => &[
                "RRA:AVERAGE:0.5:1:31557600",
                "RRA:AVERAGE:0.5:10:15778800",
                "RRA:AVERAGE:0.5:60:2629800",
                "RRA:MAX:0.5:60:2629800",
                "RRA:AVERAGE:0.5:300:1051920",
                "RRA:MAX:0.5:300:1051920",
            ],
            Profile::Compact => &[
                "RRA:AVERAGE:0.5:1:691200",
                "RRA:AVERAGE:0.5:10:267840",
                "RRA:AVERAGE:0.5:60:527040",
                "RRA:MAX:0.5:60:527040",
                "RRA:AVERAGE:0.5:3600:87840",
                "RRA:MAX:0.5:3600:87840",
            ],
        }
    }

    /// Every definition for `rrd::create`: the data sources, then the
    /// archives.
    pub fn definitions(self) -> Vec<String> {
        DATA_SOURCES
            .iter()
            .chain(self.archives())
            .map(|d| d.to_string())
            .collect()
    }

    /// The size of the data area: rows × data sources × 8 bytes. The file
    /// adds a header of a few KiB.
    pub fn data_bytes(self) -> u64 {
        let rows: u64 = self
            .archives()
            .iter()
            .filter_map(|a| a.rsplit(':').next()?.parse::<u64>().ok())
            .sum();
        rows * DATA_SOURCES.len() as u64 * 8
    }

    /// What a new file needs on disk, with room for its header.
    pub fn needed_bytes(self) -> u64 {
        self.data_bytes() + HEADER_ALLOWANCE
    }
}

/// Room for a file's header and the file system's own overhead.
const HEADER_ALLOWANCE: u64 = 1 << 20;
/// Memory left for everything else while librrd builds a file.
const MEMORY_MARGIN: u64 = 64 << 20;
/// Held while librrd builds a file, so that several missing files do not
/// each take their full size in memory at once.
static CREATING: Mutex<()> = Mutex::new(());

/// Why a file cannot be used.
#[derive(Debug)]
pub enum Error {
    /// The file exists but is not laid out as mt-trafmon writes.
    Layout {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        found: String,
    },
    /// Not enough free space to create the file.
    NoSpace {
        /// The file.
        path: PathBuf,
        /// Bytes the file needs.
        needed: u64,
        /// Bytes free for this process.
        free: u64,
    },
    /// A file system operation failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        doing: &'static str,
        /// What the system said.
        source: std::io::Error,
    },
    /// Not enough memory for librrd to build the file.
    NoMemory {
        /// The file.
        path: PathBuf,
        /// Bytes librrd allocates for it.
        needed: u64,
        /// Bytes the kernel reports as available.
        available: u64,
    },
    /// librrd refused.
    Rrd(rrd::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Layout { path, found } => write!(
                f,
                "{} is not an mt-trafmon RRD file (expected step 1 s and GAUGE data sources rx, tx; found {found}); it is left untouched: point the interface's rrd at another path",
                path.display()
            ),
            Error::NoSpace { path, needed, free } => write!(
                f,
                "not enough space to create {}: it needs {} and {} is free; free some space or choose the compact profile (storage.profile = \"compact\")",
                path.display(),
                mib(*needed),
                mib(*free)
            ),
            Error::NoMemory {
                path,
                needed,
                available,
            } => write!(
                f,
                "not enough memory to create {}: librrd builds the whole file in memory ({}), and {} is available; choose the compact profile (storage.profile = \"compact\") or create the file on a larger machine of the same CPU architecture",
                path.display(),
                mib(*needed),
                mib(*available)
            ),
            Error::Io {
                path,
                doing,
                source,
            } => {
                write!(f, "{doing} {} failed: {source}", path.display())
            }
            Error::Rrd(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Opens an existing file: checks its layout and returns its last update.
///
/// librrd reports the last update in whole seconds, while the file keeps
/// microseconds; the next whole second is returned so that no update is
/// ever stamped at or before the real last update (at most one second of a
/// restart is given up for it).
pub fn open(path: &Path) -> Result<f64, Error> {
    let info = rrd::info(path).map_err(Error::Rrd)?;
    check_layout(&info).map_err(|found| Error::Layout {
        path: path.to_path_buf(),
        found,
    })?;
    Ok(info.last_update as f64 + 1.0)
}

/// Whether the layout is one the collector can write: step 1 s, GAUGE data
/// sources `rx` and `tx` in that order with a heartbeat of at least 2 s.
/// On refusal, says what was found.
pub fn check_layout(info: &rrd::Info) -> Result<(), String> {
    let names: Vec<&str> = info.data_sources.iter().map(|d| d.name.as_str()).collect();
    let gauge = info
        .data_sources
        .iter()
        .all(|d| d.kind == "GAUGE" && d.heartbeat >= 2);
    if info.step == 1 && names == ["rx", "tx"] && gauge {
        return Ok(());
    }
    let sources: Vec<String> = info
        .data_sources
        .iter()
        .map(|d| format!("{} {} heartbeat {}", d.name, d.kind, d.heartbeat))
        .collect();
    Err(format!(
        "step {} s, data sources [{}]",
        info.step,
        sources.join(", ")
    ))
}

/// Creates the file at `path` with `profile`, its last update at `start`
/// (Unix seconds): checks free space, makes the directory, writes a
/// temporary file and renames it into place. Never replaces an existing
/// file.
pub fn create(path: &Path, profile: Profile, start: i64) -> Result<(), Error> {
    let directory = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(directory).map_err(|source| Error::Io {
        path: directory.to_path_buf(),
        doing: "creating directory",
        source,
    })?;
    let temporary = temporary_path(path);
    remove_if_present(&temporary)?;
    let needed = profile.needed_bytes();
    let free = free_bytes(directory)?;
    if free < needed {
        return Err(Error::NoSpace {
            path: path.to_path_buf(),
            needed,
            free,
        });
    }
    let _one_at_a_time = CREATING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(available) = available_memory() {
        let needed = profile.data_bytes();
        if available < needed + MEMORY_MARGIN {
            return Err(Error::NoMemory {
                path: path.to_path_buf(),
                needed,
                available,
            });
        }
    }
    let created = rrd::create(&temporary, 1, start, true, &profile.definitions());
    if let Err(error) = created {
        let _ = std::fs::remove_file(&temporary);
        return Err(Error::Rrd(error));
    }
    // hard_link fails if the target exists, so a file that appeared
    // meanwhile is never replaced.
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    linked.map_err(|source| Error::Io {
        path: path.to_path_buf(),
        doing: "moving the new file into place as",
        source,
    })
}

/// A file being created on a thread of its own.
#[derive(Debug)]
pub struct Creation {
    handle: Option<JoinHandle<Result<(), Error>>>,
}

impl Creation {
    /// Starts creating `path` (see [`create`]) on its own thread.
    pub fn start(path: PathBuf, profile: Profile, start: i64) -> Creation {
        let handle = thread::Builder::new()
            .name("rrd-create".into())
            .spawn(move || create(&path, profile, start));
        Creation {
            handle: handle.ok(),
        }
    }

    /// `None` while the creation runs; then its result, once.
    pub fn poll(&mut self) -> Option<Result<(), Error>> {
        let handle = self.handle.take()?;
        if !handle.is_finished() {
            self.handle = Some(handle);
            return None;
        }
        Some(handle.join().unwrap_or_else(|_| {
            Err(Error::Io {
                path: PathBuf::new(),
                doing: "creating an RRD file (the thread panicked) at",
                source: std::io::Error::other("panic"),
            })
        }))
    }
}

/// The name a file is created under before it is moved into place.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.creating"))
}

fn remove_if_present(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
            path: path.to_path_buf(),
            doing: "removing the unfinished file",
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Bytes available to an unprivileged process on the file system of `dir`.
fn free_bytes(dir: &Path) -> Result<u64, Error> {
    let stat = rustix::fs::statvfs(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        doing: "checking the free space of",
        source: e.into(),
    })?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// The kernel's estimate of memory available without swapping
/// (`MemAvailable` in `/proc/meminfo`), if it can be read.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_available(&text)
}

/// `MemAvailable` from the text of `/proc/meminfo`, in bytes.
fn parse_mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_sizes() {
        // The original's data area (docs/original.md, section 1).
        assert_eq!(Profile::Original.data_bytes(), 875_197_440);
        assert_eq!(Profile::Compact.data_bytes(), 35_020_800);
        assert_eq!(
            Profile::Original.definitions()[..3],
            [
                "DS:rx:GAUGE:3:0:U".to_string(),
                "DS:tx:GAUGE:3:0:U".to_string(),
                "RRA:AVERAGE:0.5:1:31557600".to_string()
            ]
        );
    }

    #[test]
    fn layouts() {
        let source = |name: &str, kind: &str| rrd::DataSource {
            name: name.into(),
            kind: kind.into(),
            heartbeat: 3,
            min: Some(0.0),
            max: None,
        };
        let info = |step, data_sources| rrd::Info {
            step,
            last_update: 0,
            data_sources,
            archives: Vec::new(),
        };
        assert!(check_layout(&info(1, vec![source("rx", "GAUGE"), source("tx", "GAUGE")])).is_ok());
        assert_eq!(
            check_layout(&info(
                300,
                vec![source("in", "COUNTER"), source("out", "COUNTER")]
            )),
            Err(
                "step 300 s, data sources [in COUNTER heartbeat 3, out COUNTER heartbeat 3]".into()
            )
        );
        assert!(
            check_layout(&info(1, vec![source("tx", "GAUGE"), source("rx", "GAUGE")])).is_err()
        );
    }

    #[test]
    fn available_memory_is_read_from_meminfo() {
        let meminfo = "MemTotal:        1000000 kB\nMemFree:          20000 kB\nMemAvailable:     512000 kB\n";
        assert_eq!(parse_mem_available(meminfo), Some(512_000 * 1024));
        assert_eq!(parse_mem_available("MemTotal: 1 kB\n"), None);
        assert_eq!(parse_mem_available("MemAvailable: lots\n"), None);
        assert!(available_memory().is_some_and(|m| m > 0));
        let error = Error::NoMemory {
            path: PathBuf::from("/var/lib/mt-trafmon/r-ether1.rrd"),
            needed: Profile::Original.data_bytes(),
            available: 400 << 20,
        };
        assert!(error.to_string().contains("834.7 MiB") && error.to_string().contains("compact"));
    }

    #[test]
    fn temporary_names() {
        assert_eq!(
            temporary_path(Path::new("/var/lib/x/r-ether1.rrd")),
            Path::new("/var/lib/x/.r-ether1.rrd.creating")
        );
    }
}
