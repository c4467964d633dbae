//! The RRD files: the retention profiles a new file is created with,
//! opening an existing file (whose layout is checked, never changed),
//! creating a missing one in the background so that sampling goes on
//! meanwhile, and the data directories' lock ([`DirLock`]: one collecting
//! process per directory).
//!
//! A new file is written under a temporary name in its directory (librrd
//! writes `.NAME.creating` + six random characters and renames it to
//! `.NAME.creating`), flushed to disk, and linked into place when complete,
//! so a file at the configured path is always whole. Leftovers of a
//! creation that was cut off (the process killed) are removed at start
//! ([`remove_leftovers`]) and before every creation; nothing else is ever
//! removed.
//!
//! Creation takes bounded memory: the librrd built by
//! `scripts/build-librrd.sh` is patched (`scripts/librrd-create.patch`) to
//! write the rows from a 64 KiB buffer, where stock librrd 1.7 builds the
//! whole file in memory first (835 MB for the original profile). Creations
//! run one at a time, and the free space and available memory are checked
//! under the same lock, so two creations never both pass a check that only
//! one of them fits. When running as root, new files and directories are
//! given to the owner of their directory, so that a root run never locks
//! the service's user out of them.
//!
//! librrd is called only through [`crate::rrd`].

mod lock;
mod memory;

pub use lock::{DataDirs, DirLock, Holder, LockError};
pub use memory::{Available, Source as MemorySource};

use std::fmt;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use crate::rrd;

/// The data sources of every file: bit/s in, bit/s out. GAUGE, because the
/// collector writes rates; heartbeat 3 s, minimum 0, no maximum (the
/// original's definition).
pub const DATA_SOURCES: [&str; 2] = ["DS:rx:GAUGE:3:0:U", "DS:tx:GAUGE:3:0:U"];

/// How much history a new file keeps, and at which resolutions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// Every profile, the default first.
    pub const ALL: [Profile; 2] = [Profile::Original, Profile::Compact];

    /// The name used in the config and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Original => "original",
            Profile::Compact => "compact",
        }
    }

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

    /// The memory that creating a file of this layout takes beyond the
    /// daemon's own: the same small [`CREATE_MEMORY`] for every layout,
    /// since the patched librrd writes the rows from a small buffer. The
    /// setup wizard's suggested layout follows this too.
    pub fn creation_memory(self) -> u64 {
        CREATE_MEMORY
    }
}

/// Room for a file's header and the file system's own overhead.
const HEADER_ALLOWANCE: u64 = 1 << 20;
/// Memory a creation takes beyond the daemon's own, with room to spare:
/// the patched librrd's 64 KiB row buffer, the header, stdio's buffer
/// (`scripts/measure-create.sh` measures the daemon's peak RSS while it
/// creates an original file).
pub const CREATE_MEMORY: u64 = 1 << 20;
/// Held while a file is checked for and created: creations run one at a
/// time, and each one's checks see the space the ones before it took.
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
        /// The profile it would be created with.
        profile: Profile,
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
    /// Not enough memory left to create the file.
    NoMemory {
        /// The file.
        path: PathBuf,
        /// Bytes a creation takes ([`CREATE_MEMORY`]).
        needed: u64,
        /// What is available, and where that figure comes from.
        available: Available,
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
            Error::NoSpace {
                path,
                profile,
                needed,
                free,
            } => {
                write!(
                    f,
                    "not enough space to create {}: it needs {} and {} is free; free some space",
                    path.display(),
                    mib(*needed),
                    mib(*free)
                )?;
                if *profile != Profile::Compact {
                    write!(
                        f,
                        " or choose the compact profile (storage.profile = \"compact\", {} per file)",
                        mib(Profile::Compact.data_bytes())
                    )?;
                }
                Ok(())
            }
            Error::NoMemory {
                path,
                needed,
                available,
            } => write!(
                f,
                "not enough memory to create {}: creating a file takes {} and {} is available ({}); stop other programs or give the machine or the service more memory",
                path.display(),
                mib(*needed),
                mib(available.bytes),
                available.source
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

/// Bytes as MiB with one decimal, as messages show sizes.
pub fn mib(bytes: u64) -> String {
    format!(
        "{} MiB",
        crate::text::fixed(bytes as f64 / (1024.0 * 1024.0), 1)
    )
}

/// Opens an existing file: checks its layout and returns its last update.
///
/// librrd reports the last update in whole seconds (the file keeps
/// microseconds, which only another program's update at a fraction sets):
/// that whole second is returned. The collector writes lines at whole
/// seconds, so its first line lies after the real last update anyway, and
/// the second after it (at a restart, the one right after the previous
/// run's last write) is written from what was measured in it.
pub fn open(path: &Path) -> Result<f64, Error> {
    let info = rrd::info(path).map_err(Error::Rrd)?;
    check_layout(&info).map_err(|found| Error::Layout {
        path: path.to_path_buf(),
        found,
    })?;
    Ok(info.last_update as f64)
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
/// (Unix seconds): makes the directory, then, one creation at a time,
/// removes the file's leftovers, checks free space and memory, has librrd
/// write a temporary file, flushes it to disk and links it into place.
/// Never replaces an existing file.
pub fn create(path: &Path, profile: Profile, start: i64) -> Result<(), Error> {
    create_checked(path, profile, start, &check_resources)
}

/// [`create`], with the checks passed in (tests watch when they run).
fn create_checked(
    path: &Path,
    profile: Profile,
    start: i64,
    check: &dyn Fn(&Path, &Path, Profile) -> Result<(), Error>,
) -> Result<(), Error> {
    let directory = directory_of(path);
    make_directories(directory)?;
    let _one_at_a_time = CREATING.lock().unwrap_or_else(PoisonError::into_inner);
    for (leftover, result) in remove_leftovers(path) {
        result.map_err(|source| Error::Io {
            path: leftover,
            doing: "removing the unfinished file",
            source,
        })?;
    }
    if path.symlink_metadata().is_ok() {
        return Err(Error::Io {
            path: path.to_path_buf(),
            doing: "creating",
            source: std::io::ErrorKind::AlreadyExists.into(),
        });
    }
    check(path, directory, profile)?;
    let temporary = temporary_path(path);
    let created = rrd::create(&temporary, 1, start, true, &profile.definitions());
    if let Err(error) = created {
        let _ = std::fs::remove_file(&temporary);
        return Err(Error::Rrd(error));
    }
    let finished = finish(&temporary, directory).and_then(|()| {
        // hard_link fails if the target exists, so a file that appeared
        // meanwhile is never replaced.
        std::fs::hard_link(&temporary, path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            doing: "moving the new file into place as",
            source,
        })
    });
    let _ = std::fs::remove_file(&temporary);
    finished?;
    // The link itself on disk too.
    File::open(directory)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::Io {
            path: directory.to_path_buf(),
            doing: "flushing the directory",
            source,
        })
}

/// The checks before a creation (run under the creation lock): the
/// directory is writable, the file system has room for the file, and
/// memory is left for the creation itself.
fn check_resources(path: &Path, directory: &Path, profile: Profile) -> Result<(), Error> {
    rustix::fs::access(directory, rustix::fs::Access::WRITE_OK).map_err(|e| Error::Io {
        path: directory.to_path_buf(),
        doing: "creating a file in",
        source: e.into(),
    })?;
    let needed = profile.needed_bytes();
    let free = free_bytes(directory)?;
    if free < needed {
        return Err(Error::NoSpace {
            path: path.to_path_buf(),
            profile,
            needed,
            free,
        });
    }
    let available = available_memory();
    if available.bytes < profile.creation_memory() {
        return Err(Error::NoMemory {
            path: path.to_path_buf(),
            needed: profile.creation_memory(),
            available,
        });
    }
    Ok(())
}

/// Flushes the file librrd wrote to disk (so that a power cut never
/// leaves a short file at the final path) and, when running as root, gives
/// it to the owner of its directory.
fn finish(temporary: &Path, directory: &Path) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: temporary.to_path_buf(),
        doing: "flushing the new file",
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(temporary)
        .map_err(io)?;
    file.sync_all().map_err(io)?;
    if let Some((uid, gid)) = new_owner(directory).map_err(io)? {
        std::os::unix::fs::fchown(&file, Some(uid), Some(gid)).map_err(io)?;
    }
    Ok(())
}

/// The directory a file lives in (`.` for a bare name).
pub fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The directories of `files`, each once, in order of first appearance.
pub fn directories<'a>(files: impl IntoIterator<Item = &'a Path>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for file in files {
        let dir = directory_of(file).to_path_buf();
        if !out.contains(&dir) {
            out.push(dir);
        }
    }
    out
}

/// Makes `dir` and its missing parents; when running as root, each new
/// directory is given to the owner of the closest one that existed.
pub fn make_directories(dir: &Path) -> Result<(), Error> {
    let io = |path: &Path, source| Error::Io {
        path: path.to_path_buf(),
        doing: "creating directory",
        source,
    };
    let mut missing = Vec::new();
    let mut existing = dir;
    while !existing.exists() {
        missing.push(existing);
        match existing.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => existing = parent,
            _ => {
                existing = Path::new(".");
                break;
            }
        }
    }
    let owner = match missing.is_empty() {
        true => None,
        false => new_owner(existing).map_err(|e| io(existing, e))?,
    };
    for new in missing.into_iter().rev() {
        match std::fs::create_dir(new) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(new, e)),
            _ => {}
        }
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::lchown(new, Some(uid), Some(gid)).map_err(|e| io(new, e))?;
        }
    }
    Ok(())
}

/// Whom new files and directories in `dir` should belong to: its owner
/// when this process runs as root (a root run's files stay usable by the
/// service's user), else `None` (they are this process's own).
fn new_owner(dir: &Path) -> std::io::Result<Option<(u32, u32)>> {
    if !rustix::process::geteuid().is_root() {
        return Ok(None);
    }
    let meta = std::fs::metadata(dir)?;
    Ok(Some((meta.uid(), meta.gid())))
}

/// Removes what an interrupted creation of `path` left in its directory:
/// this module's `.NAME.creating` and librrd's `.NAME.creating` + six
/// letters or digits (`mkstemp`), regular files only; nothing else is
/// touched. Returns each file removed or that could not be, with the
/// outcome.
pub fn remove_leftovers(path: &Path) -> Vec<(PathBuf, std::io::Result<()>)> {
    let Some(name) = path.file_name() else {
        return Vec::new();
    };
    let prefix = format!(".{}.creating", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(directory_of(path)) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| is_leftover(&prefix, &entry.file_name().to_string_lossy()))
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| {
            let leftover = entry.path();
            let result = std::fs::remove_file(&leftover);
            (leftover, result)
        })
        .collect()
}

/// Whether `name` is `prefix` or `prefix` + six ASCII letters or digits.
fn is_leftover(prefix: &str, name: &str) -> bool {
    match name.strip_prefix(prefix) {
        Some("") => true,
        Some(suffix) => suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()),
        None => false,
    }
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

/// Memory this process may take now: the smallest of the kernel's and its
/// cgroup's estimates.
pub fn available_memory() -> Available {
    memory::available()
}

/// Bytes available to an unprivileged process on the file system of `dir`.
pub fn free_bytes(dir: &Path) -> Result<u64, Error> {
    let stat = rustix::fs::statvfs(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        doing: "checking the free space of",
        source: e.into(),
    })?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
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
    fn messages_name_the_path_the_need_and_what_is_free() {
        let path = PathBuf::from("/var/lib/mt-trafmon/r-ether1.rrd");
        let no_space = |profile| Error::NoSpace {
            path: path.clone(),
            profile,
            needed: profile.needed_bytes(),
            free: 20 << 20,
        };
        let original = no_space(Profile::Original).to_string();
        assert_eq!(
            original,
            "not enough space to create /var/lib/mt-trafmon/r-ether1.rrd: it needs 835.7 MiB and 20.0 MiB is free; free some space or choose the compact profile (storage.profile = \"compact\", 33.4 MiB per file)"
        );
        let compact = no_space(Profile::Compact).to_string();
        assert_eq!(
            compact,
            "not enough space to create /var/lib/mt-trafmon/r-ether1.rrd: it needs 34.4 MiB and 20.0 MiB is free; free some space"
        );
        let no_memory = Error::NoMemory {
            path: path.clone(),
            needed: CREATE_MEMORY,
            available: Available {
                bytes: 512 << 10,
                source: MemorySource::Cgroup(PathBuf::from(
                    "/sys/fs/cgroup/system.slice/mt-trafmon.service",
                )),
            },
        };
        assert_eq!(
            no_memory.to_string(),
            "not enough memory to create /var/lib/mt-trafmon/r-ether1.rrd: creating a file takes 1.0 MiB and 0.5 MiB is available (the limit in /sys/fs/cgroup/system.slice/mt-trafmon.service/memory.max); stop other programs or give the machine or the service more memory"
        );
    }

    #[test]
    fn temporary_names() {
        assert_eq!(
            temporary_path(Path::new("/var/lib/x/r-ether1.rrd")),
            Path::new("/var/lib/x/.r-ether1.rrd.creating")
        );
        let prefix = ".r-ether1.rrd.creating";
        assert!(is_leftover(prefix, ".r-ether1.rrd.creating"));
        assert!(is_leftover(prefix, ".r-ether1.rrd.creatingaZ09xY"));
        assert!(!is_leftover(prefix, ".r-ether1.rrd.creatingaZ09x"));
        assert!(!is_leftover(prefix, ".r-ether1.rrd.creatingaZ09xYz"));
        assert!(!is_leftover(prefix, ".r-ether1.rrd.creatingaZ09-Y"));
        assert!(!is_leftover(prefix, "r-ether1.rrd"));
        assert!(!is_leftover(prefix, ".r-ether2.rrd.creatingaZ09xY"));
        assert_eq!(
            directories([
                Path::new("/a/x.rrd"),
                Path::new("/b/y.rrd"),
                Path::new("/a/z.rrd"),
                Path::new("w.rrd")
            ]),
            [Path::new("/a"), Path::new("/b"), Path::new(".")]
        );
    }

    fn test_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mt-trafmon-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn only_leftovers_of_the_file_are_removed() {
        let dir = test_dir("leftovers");
        let file = dir.join("r-ether1.rrd");
        let names = [
            ".r-ether1.rrd.creating",
            ".r-ether1.rrd.creatingAb3dE9",
            ".r-ether1.rrd.creatingAb3dE",
            ".r-ether1.rrd.creating.bak",
            ".r-ether2.rrd.creatingAb3dE9",
            "r-ether1.rrd",
            "notes.txt",
        ];
        for name in names {
            std::fs::write(dir.join(name), name).unwrap();
        }
        // Named like a leftover, but a directory and a symbolic link: kept.
        std::fs::create_dir(dir.join(".r-ether1.rrd.creatingDIR000")).unwrap();
        std::os::unix::fs::symlink(
            dir.join("notes.txt"),
            dir.join(".r-ether1.rrd.creatingLINK00"),
        )
        .unwrap();
        let mut removed: Vec<String> = remove_leftovers(&file)
            .into_iter()
            .map(|(path, result)| {
                result.unwrap();
                path.file_name().unwrap().to_string_lossy().into_owned()
            })
            .collect();
        crate::order::sort(&mut removed);
        assert_eq!(
            removed,
            [".r-ether1.rrd.creating", ".r-ether1.rrd.creatingAb3dE9"]
        );
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        crate::order::sort(&mut left);
        assert_eq!(
            left,
            [
                ".r-ether1.rrd.creating.bak",
                ".r-ether1.rrd.creatingAb3dE",
                ".r-ether1.rrd.creatingDIR000",
                ".r-ether1.rrd.creatingLINK00",
                ".r-ether2.rrd.creatingAb3dE9",
                "notes.txt",
                "r-ether1.rrd",
            ]
        );
        assert!(remove_leftovers(&dir.join("missing/x.rrd")).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Two creations started together: whichever is checked second is
    /// checked only once the first file is complete, so its free-space
    /// check sees the space that file took.
    #[test]
    fn checks_run_under_the_creation_lock() {
        let dir = test_dir("lock");
        let files = [dir.join("sub/a.rrd"), dir.join("sub/b.rrd")];
        let seen = Mutex::new(Vec::new());
        let barrier = std::sync::Barrier::new(2);
        thread::scope(|scope| {
            for file in &files {
                let (seen, barrier, files) = (&seen, &barrier, &files);
                scope.spawn(move || {
                    barrier.wait();
                    let check = |path: &Path, directory: &Path, _: Profile| {
                        let complete: Vec<bool> = files.iter().map(|f| f.exists()).collect();
                        assert_eq!(directory, path.parent().unwrap());
                        seen.lock().unwrap().push((path.to_path_buf(), complete));
                        Ok(())
                    };
                    create_checked(file, Profile::Compact, 1_700_000_000, &check).unwrap();
                });
            }
        });
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 2);
        let (first, second) = (&seen[0], &seen[1]);
        assert_eq!(first.1, [false, false], "{seen:?}");
        let first_index = files.iter().position(|f| *f == first.0).unwrap();
        assert!(
            second.1[first_index],
            "second check before the first file was complete: {seen:?}"
        );
        for file in &files {
            let info = rrd::info(file).unwrap();
            assert_eq!(info.last_update, 1_700_000_000);
            assert_eq!(info.archives.len(), 6);
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        crate::order::sort(&mut names);
        assert_eq!(names, ["a.rrd", "b.rrd"], "no temporary file is left");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_check_creates_nothing_and_an_existing_file_is_kept() {
        let dir = test_dir("refused");
        let file = dir.join("x.rrd");
        let refuse = |path: &Path, _: &Path, profile: Profile| {
            Err(Error::NoSpace {
                path: path.to_path_buf(),
                profile,
                needed: 2,
                free: 1,
            })
        };
        let error = create_checked(&file, Profile::Compact, 1_700_000_000, &refuse).unwrap_err();
        assert!(matches!(error, Error::NoSpace { .. }), "{error}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::write(&file, "mine").unwrap();
        let error = create(&file, Profile::Compact, 1_700_000_000).unwrap_err();
        assert!(error.to_string().contains("creating"), "{error}");
        assert!(error.to_string().contains("exists"), "{error}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
