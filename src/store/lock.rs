//! One collecting mt-trafmon per data directory: [`DirLock`] holds an
//! exclusive `flock(2)` on `.mt-trafmon.lock` in a directory that RRD files
//! live in, for as long as the process runs (the kernel drops it when the
//! process ends, even by kill -9, so a stale file never blocks). The file
//! holds the holder's PID, so that a second process started on the same
//! directory (e.g. `sudo mt-trafmon` while the service runs) can say which
//! one runs instead of both writing the same files.
//!
//! The lock is advisory and only mt-trafmon's collecting modes take it;
//! `-w` (web only) reads the files and takes none. [`DataDirs`] is the set
//! a process holds: taken at start (where another holder is an error, and
//! then the creation leftovers are removed) and grown on a reload (where
//! the directories another process holds are returned, to leave out).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

/// The lock file's name in each data directory.
pub const LOCK_FILE: &str = ".mt-trafmon.lock";
/// Longest part of a file read about the holder.
const READ_LIMIT: u64 = 4096;

/// The data directories a process collects into, each locked once.
#[derive(Debug, Default)]
pub struct DataDirs {
    locks: Vec<DirLock>,
}

impl DataDirs {
    /// At start: locks the directory of each of `files` (making it if
    /// missing), then removes the files' creation leftovers
    /// ([`super::remove_leftovers`], each logged). Fails if another process
    /// holds one of the directories. A directory that cannot be made or
    /// locked for another reason is logged and skipped: its files then fail
    /// on their own, visibly.
    pub fn take(files: &[&Path]) -> Result<DataDirs, LockError> {
        let mut dirs = DataDirs::default();
        for dir in super::directories(files.iter().copied()) {
            dirs.lock(&dir)?;
        }
        for file in files {
            for (leftover, result) in super::remove_leftovers(file) {
                match result {
                    Ok(()) => log::info!(
                        "removed {}, left by a creation that was cut off",
                        leftover.display()
                    ),
                    Err(e) => log::warn!("cannot remove {}: {e}", leftover.display()),
                }
            }
        }
        Ok(dirs)
    }

    /// On a reload: locks the directories of `files` not held yet, and
    /// returns those another process holds (each logged as an error), as
    /// [`super::directory_of`] names them.
    pub fn add(&mut self, files: &[&Path]) -> Vec<PathBuf> {
        let mut held = Vec::new();
        for dir in super::directories(files.iter().copied()) {
            if let Err(e) = self.lock(&dir) {
                log::error!("reload: {e}");
                held.push(dir);
            }
        }
        held
    }

    /// Locks `dir` unless already held here (under any name).
    fn lock(&mut self, dir: &Path) -> Result<(), LockError> {
        let made = super::make_directories(dir).map_err(|e| e.to_string());
        let canonical = made.and_then(|()| std::fs::canonicalize(dir).map_err(|e| e.to_string()));
        let canonical = match canonical {
            Ok(canonical) => canonical,
            Err(e) => {
                log::warn!(
                    "cannot lock {} (one collector per data directory): {e}",
                    dir.display()
                );
                return Ok(());
            }
        };
        if self.locks.iter().any(|l| l.dir == canonical) {
            return Ok(());
        }
        match DirLock::acquire(&canonical) {
            Ok(lock) => self.locks.push(lock),
            Err(e @ LockError::Held { .. }) => return Err(e),
            Err(e) => log::warn!("{e}"),
        }
        Ok(())
    }
}

/// A data directory this process collects into, locked until dropped.
#[derive(Debug)]
pub struct DirLock {
    dir: PathBuf,
    _file: File,
}

/// Why a directory could not be locked.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it.
    Held {
        /// The directory.
        dir: PathBuf,
        /// Who holds it, as far as can be told.
        holder: Holder,
    },
    /// The directory or its lock file could not be made or opened.
    Io {
        /// The lock file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// What can be told about the process that holds a lock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holder {
    /// Its PID, from the lock file.
    pub pid: Option<u32>,
    /// Its systemd unit, from `/proc/PID/cgroup`.
    pub unit: Option<String>,
    /// Its command line, from `/proc/PID/cmdline` (escaped, shortened).
    pub command: Option<String>,
}

impl DirLock {
    /// Locks `dir` (which must exist) for this process; fails at once if
    /// another process holds it. A new lock file is given to the owner of
    /// `dir` when running as root, so that the service's user can open it
    /// later.
    pub fn acquire(dir: &Path) -> Result<DirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let existed = path.exists();
        // Read-only is enough to lock: a lock file another user made
        // (and this one cannot write) still works, just without our PID.
        // Never through a symbolic link: a root run must not truncate
        // whatever a link planted in the directory points to.
        let (mut file, writable) = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o644)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&path)
        {
            Ok(file) => (file, true),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && existed => {
                (File::open(&path).map_err(io)?, false)
            }
            Err(e) => return Err(io(e)),
        };
        if !existed {
            if let Some((uid, gid)) = super::new_owner(dir).map_err(io)? {
                std::os::unix::fs::fchown(&file, Some(uid), Some(gid)).map_err(io)?;
            }
        }
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let mut text = String::new();
                let _ = (&file).take(64).read_to_string(&mut text);
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    holder: Holder::of(text.trim().parse().ok()),
                });
            }
            Err(e) => return Err(io(e.into())),
        }
        if writable {
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| writeln!(file, "{}", std::process::id()))
                .map_err(io)?;
        }
        Ok(DirLock {
            dir: dir.to_path_buf(),
            _file: file,
        })
    }

    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Holder {
    /// What `/proc` tells about `pid` (nothing if it is hidden, as under
    /// the service's `ProtectProc=invisible`).
    fn of(pid: Option<u32>) -> Holder {
        let Some(pid) = pid else {
            return Holder::default();
        };
        let proc = PathBuf::from(format!("/proc/{pid}"));
        let unit = read_small(&proc.join("cgroup")).and_then(|text| unit_of(&text));
        let command = read_small(&proc.join("cmdline")).and_then(|text| command_of(&text));
        Holder {
            pid: Some(pid),
            unit,
            command,
        }
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(pid) = self.pid {
            parts.push(format!("PID {pid}"));
        }
        if let Some(unit) = &self.unit {
            parts.push(format!("systemd unit {unit}"));
        }
        if let Some(command) = &self.command {
            parts.push(format!("`{command}`"));
        }
        match parts.is_empty() {
            true => f.write_str("PID unknown"),
            false => f.write_str(&parts.join(", ")),
        }
    }
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Held { dir, holder } => write!(
                f,
                "another mt-trafmon ({holder}) is collecting into {}: only one may write its RRD files; stop that one first (for the service: systemctl stop mt-trafmon), or start this one with -w to serve the web pages only",
                dir.display()
            ),
            LockError::Io { path, source } => write!(
                f,
                "cannot lock {} (one collector per data directory): {source}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for LockError {}

fn read_small(path: &Path) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)
        .ok()?
        .take(READ_LIMIT)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

/// The systemd service or scope a process runs in, from its
/// `/proc/PID/cgroup` (the last component of the cgroup v2 path, if it
/// names a unit).
fn unit_of(cgroup: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(cgroup);
    let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    let last = path.rsplit('/').next()?;
    (last.ends_with(".service") || last.ends_with(".scope"))
        .then(|| crate::text::escape(last).into_owned())
}

/// A command line from `/proc/PID/cmdline` (NUL-separated arguments) as
/// one escaped line of at most 200 characters.
fn command_of(cmdline: &[u8]) -> Option<String> {
    let words: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(crate::text::escape_bytes)
        .collect();
    if words.is_empty() {
        return None;
    }
    let line = words.join(" ");
    Some(match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_are_described_from_proc() {
        assert_eq!(
            unit_of(b"0::/system.slice/mt-trafmon.service\n"),
            Some("mt-trafmon.service".into())
        );
        assert_eq!(
            unit_of(b"0::/user.slice/user-0.slice/session-4.scope\n"),
            Some("session-4.scope".into())
        );
        assert_eq!(unit_of(b"0::/\n"), None);
        assert_eq!(
            command_of(b"/usr/bin/mt-trafmon\0--config\0/etc/mt-trafmon/mt-trafmon.toml\0"),
            Some("/usr/bin/mt-trafmon --config /etc/mt-trafmon/mt-trafmon.toml".into())
        );
        assert_eq!(
            command_of(b"a\x1b[31m\0b\n"),
            Some("a\\x1b[31m b\\n".into())
        );
        assert_eq!(command_of(b""), None);
        let long = command_of(&[b'x'; 300]).unwrap();
        assert_eq!(long.chars().count(), 201);
        let holder = Holder {
            pid: Some(42),
            unit: Some("mt-trafmon.service".into()),
            command: Some("mt-trafmon".into()),
        };
        assert_eq!(
            holder.to_string(),
            "PID 42, systemd unit mt-trafmon.service, `mt-trafmon`"
        );
        assert_eq!(Holder::default().to_string(), "PID unknown");
    }

    #[test]
    fn a_second_lock_on_a_directory_fails_and_names_the_first() {
        let dir = std::env::temp_dir().join(format!("mt-trafmon-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = DirLock::acquire(&dir).expect("first lock");
        assert_eq!(first.dir(), dir);
        let pid = std::process::id();
        assert_eq!(
            std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap(),
            format!("{pid}\n")
        );
        // flock conflicts between two opens of the file, in one process too.
        match DirLock::acquire(&dir) {
            Err(LockError::Held { dir: held, holder }) => {
                assert_eq!(held, dir);
                assert_eq!(holder.pid, Some(pid));
                let message = LockError::Held { dir: held, holder }.to_string();
                assert!(message.contains(&format!("PID {pid}")), "{message}");
                assert!(message.contains(&dir.display().to_string()), "{message}");
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        let again = DirLock::acquire(&dir).expect("free again once dropped");
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
