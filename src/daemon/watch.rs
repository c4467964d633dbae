//! Noticing that the config file was saved, without reading it every
//! second: inotify wakes the daemon's wait when the file is written and
//! closed (a watch on the file) or when a file of its name is renamed or
//! created in its directory (a watch on the directory, and for a symbolic
//! link also on the directory of the file it points at; the watch on the
//! file then moves to the new one). Writes of other files in the
//! directory (RRD files kept next to the config) wake nothing. The file
//! is read only then, and applied only if its content changed and is
//! valid. Where inotify cannot be had (no permission to watch the
//! directory, a file system without it, the directory removed), the file's
//! status (device, inode, size, modification and change times) is looked
//! at once a [`TICK`] instead, and the file read only when that changes.

use std::ffi::OsString;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io::Errno;

use crate::config::{self, Config};

/// How often the file's status is looked at without inotify.
pub const TICK: Duration = Duration::from_secs(1);

/// Watches one config file.
pub struct Watch {
    path: PathBuf,
    seen: Option<Vec<u8>>,
    /// The bytes of the last config [`Watch::poll`] returned.
    applied: Option<Vec<u8>>,
    reported: Option<String>,
    how: How,
}

enum How {
    /// Events of the watched directories (`directories`: their watch
    /// descriptors; `names`: the file names that matter in them) and of
    /// the file.
    Inotify {
        fd: OwnedFd,
        directories: Vec<i32>,
        names: Vec<OsString>,
    },
    /// The file's status when last looked at.
    Ticks { stamp: Option<Stamp> },
}

/// Device, inode, size, modification and change time (seconds and
/// nanoseconds): a save changes at least one of them.
type Stamp = (u64, u64, u64, i64, i64, i64, i64);

impl Watch {
    /// Watches `path`, taking its current content as seen.
    pub fn new(path: &Path) -> Watch {
        let how = inotify_on(path).unwrap_or_else(|e| {
            log::info!(
                "reload: cannot watch {} with inotify ({e}); looking at its status every {} s",
                path.display(),
                TICK.as_secs()
            );
            How::Ticks { stamp: stamp(path) }
        });
        Watch::with(path, how)
    }

    fn with(path: &Path, how: How) -> Watch {
        Watch {
            path: path.to_path_buf(),
            seen: read(path),
            applied: None,
            reported: None,
            how,
        }
    }

    /// The descriptor that becomes readable when the file may have
    /// changed; `None` without inotify.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.how {
            How::Inotify { fd, .. } => Some(fd.as_fd()),
            How::Ticks { .. } => None,
        }
    }

    /// The longest to wait before calling [`Watch::poll`] again: `None`
    /// (until [`Watch::fd`] is readable) with inotify, [`TICK`] without.
    pub fn timeout(&self) -> Option<Duration> {
        match self.how {
            How::Inotify { .. } => None,
            How::Ticks { .. } => Some(TICK),
        }
    }

    /// The new configuration if the file changed since it was last seen
    /// and is valid. An invalid one is logged once (with its line) and
    /// `None` is returned; fixing the file makes a later call return it.
    /// Returns at once when nothing happened.
    pub fn poll(&mut self) -> Option<Config> {
        if !self.touched() {
            return None;
        }
        let now = read(&self.path);
        if now.is_none() || now == self.seen {
            return None;
        }
        self.seen = now;
        let bytes = self.seen.as_deref().unwrap_or_default();
        match config::parse_bytes(bytes, &self.path) {
            Ok(config) => {
                self.applied = self.seen.clone();
                self.reported = None;
                log::info!("reload: {} changed; applying it", self.path.display());
                Some(config)
            }
            Err(e) => {
                let message = e.to_string();
                if self.reported.as_ref() != Some(&message) {
                    log::error!("reload: {message}; keeping the running config");
                    self.reported = Some(message);
                }
                None
            }
        }
    }

    /// The bytes of the config the last [`Watch::poll`] returned (the
    /// file as it was read, not read again).
    pub fn applied(&self) -> Option<&[u8]> {
        self.applied.as_deref()
    }

    /// Whether the file may have changed since the last call: an event
    /// for its name (the queue drained), or a new status.
    fn touched(&mut self) -> bool {
        let lost = match &mut self.how {
            How::Ticks { stamp: seen } => {
                let now = stamp(&self.path);
                let touched = now != *seen;
                *seen = now;
                return touched;
            }
            How::Inotify {
                fd,
                directories,
                names,
            } => match drain(fd, directories, names) {
                Ok(true) => {
                    // The file may be a new one now (renamed into place):
                    // watch that. If it is gone, a file renamed or created
                    // under its name later brings the watch back.
                    let _ = inotify::add_watch(&*fd, &self.path, WatchFlags::CLOSE_WRITE);
                    return true;
                }
                Ok(false) => return false,
                Err(why) => why,
            },
        };
        log::warn!(
            "reload: no longer notified of changes to {} ({lost}); looking at its status every {} s",
            self.path.display(),
            TICK.as_secs()
        );
        self.how = How::Ticks {
            stamp: stamp(&self.path),
        };
        true
    }
}

/// An inotify descriptor on the file at `path` and on the directories of
/// `path` and of the file it points at.
fn inotify_on(path: &Path) -> rustix::io::Result<How> {
    let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
    let mut places = vec![path.to_path_buf()];
    if let Ok(target) = std::fs::canonicalize(path) {
        places.push(target);
    }
    let mut directories = Vec::new();
    let mut names = Vec::new();
    for place in &places {
        let directory = match place.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let events = WatchFlags::MOVED_TO
            | WatchFlags::CREATE
            | WatchFlags::DELETE_SELF
            | WatchFlags::MOVE_SELF
            | WatchFlags::ONLYDIR;
        directories.push(inotify::add_watch(&fd, directory, events)?);
        names.extend(place.file_name().map(|n| n.to_os_string()));
    }
    inotify::add_watch(&fd, path, WatchFlags::CLOSE_WRITE)?;
    Ok(How::Inotify {
        fd,
        directories,
        names,
    })
}

/// Reads every queued event: whether one concerned the file (written and
/// closed, or a name in `names` renamed or created in a directory of
/// `directories`; or events were lost), or why the watch no longer works.
fn drain(fd: &OwnedFd, directories: &[i32], names: &[OsString]) -> Result<bool, String> {
    let mut buffer = [MaybeUninit::uninit(); 4096];
    let mut events = inotify::Reader::new(fd, &mut buffer);
    let mut touched = false;
    loop {
        let event = match events.next() {
            Ok(event) => event,
            Err(Errno::WOULDBLOCK) => return Ok(touched),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.to_string()),
        };
        let flags = event.events();
        let lost = ReadFlags::IGNORED | ReadFlags::DELETE_SELF | ReadFlags::MOVE_SELF;
        if !directories.contains(&event.wd()) {
            // The file's own watch: written and closed (its end, when the
            // file is replaced, is no news).
            touched |= flags.contains(ReadFlags::CLOSE_WRITE);
        } else if flags.intersects(lost) {
            return Err("its directory was moved or removed".into());
        } else {
            touched |= event
                .file_name()
                .is_some_and(|name| names.iter().any(|n| n.as_bytes() == name.to_bytes()));
        }
        touched |= flags.contains(ReadFlags::QUEUE_OVERFLOW);
    }
}

/// The file's content, if it can be read (and is not larger than a config
/// may be).
fn read(path: &Path) -> Option<Vec<u8>> {
    config::read_bounded(path, config::MAX_FILE_BYTES).ok()
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::event::{PollFd, PollFlags, Timespec};

    const CONFIG: &str = "[[router]]\nhost = \"192.0.2.1\"\nuser = \"u\"\npassword = \"p\"\n\n[[router.interface]]\nname = \"ether1\"\n\n[web]\ntitle = \"One\"\n";

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir = std::env::temp_dir()
                .join(format!("mt-trafmon-watch-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Saves `text` as editors do: a temporary file renamed into place.
    fn save(path: &Path, text: &str) {
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, text).unwrap();
        std::fs::rename(&temporary, path).unwrap();
    }

    /// Whether the watch's descriptor becomes readable within `ms`.
    fn readable(watch: &Watch, ms: i64) -> bool {
        let mut fds = [PollFd::from_borrowed_fd(watch.fd().unwrap(), PollFlags::IN)];
        let timeout = Timespec {
            tv_sec: ms / 1000,
            tv_nsec: ms % 1000 * 1_000_000,
        };
        rustix::event::poll(&mut fds, Some(&timeout)).unwrap() == 1
    }

    fn title(config: Option<Config>) -> Option<String> {
        config.map(|c| c.web.title)
    }

    #[test]
    fn inotify_wakes_for_a_save_of_the_file_and_not_for_others() {
        let dir = Dir::new("inotify");
        let path = dir.0.join("c.toml");
        std::fs::write(&path, CONFIG).unwrap();
        let mut watch = Watch::new(&path);
        assert_eq!(watch.timeout(), None, "no ticks with inotify");
        assert!(!readable(&watch, 0));
        assert_eq!(title(watch.poll()), None, "nothing happened");

        // Another file created in the directory: woken, but not for this
        // file; then written (an RRD file next to the config, each second):
        // nothing; renamed into place: woken, not for this file.
        std::fs::write(dir.0.join("other"), "x").unwrap();
        assert!(readable(&watch, 5000));
        assert_eq!(title(watch.poll()), None);
        std::fs::write(dir.0.join("other"), "y").unwrap();
        std::fs::write(dir.0.join("other"), "z").unwrap();
        assert!(!readable(&watch, 100));
        save(&dir.0.join("other"), "z");
        assert!(readable(&watch, 5000));
        assert_eq!(title(watch.poll()), None);
        assert!(!readable(&watch, 0), "the queue was drained");

        save(&path, &CONFIG.replace("One", "Two"));
        assert!(readable(&watch, 5000));
        assert_eq!(title(watch.poll()), Some("Two".into()));

        // Written in place (the new file, after the rename, is watched):
        // applied once closed; the same content again is not a change.
        std::fs::write(&path, CONFIG.replace("One", "Three")).unwrap();
        assert!(readable(&watch, 5000));
        assert_eq!(title(watch.poll()), Some("Three".into()));
        std::fs::write(&path, CONFIG.replace("One", "Three")).unwrap();
        assert!(readable(&watch, 5000));
        assert_eq!(title(watch.poll()), None);

        // Invalid: kept out until fixed.
        save(&path, "[web\n");
        assert!(readable(&watch, 5000));
        assert_eq!(title(watch.poll()), None);
        assert!(
            watch
                .reported
                .as_ref()
                .is_some_and(|m| m.contains("line 1"))
        );
        save(&path, &CONFIG.replace("One", "Four"));
        assert!(readable(&watch, 5000));
        assert_eq!(title(watch.poll()), Some("Four".into()));
    }

    #[test]
    fn a_symbolic_link_is_watched_where_it_points() {
        let dir = Dir::new("link");
        std::fs::create_dir_all(dir.0.join("real")).unwrap();
        let target = dir.0.join("real/c.toml");
        std::fs::write(&target, CONFIG).unwrap();
        let link = dir.0.join("c.toml");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut watch = Watch::new(&link);
        save(&target, &CONFIG.replace("One", "Two"));
        assert!(readable(&watch, 5000));
        assert_eq!(title(watch.poll()), Some("Two".into()));
    }

    #[test]
    fn without_inotify_the_status_is_looked_at_each_tick() {
        let dir = Dir::new("ticks");
        let path = dir.0.join("c.toml");
        std::fs::write(&path, CONFIG).unwrap();
        let mut watch = Watch::with(
            &path,
            How::Ticks {
                stamp: stamp(&path),
            },
        );
        assert!(watch.fd().is_none());
        assert_eq!(watch.timeout(), Some(TICK));
        assert_eq!(title(watch.poll()), None);
        save(&path, &CONFIG.replace("One", "Two"));
        assert_eq!(title(watch.poll()), Some("Two".into()));
        assert_eq!(title(watch.poll()), None);
    }

    #[test]
    fn a_removed_directory_falls_back_to_ticks() {
        let dir = Dir::new("gone");
        let sub = dir.0.join("etc");
        std::fs::create_dir_all(&sub).unwrap();
        let path = sub.join("c.toml");
        std::fs::write(&path, CONFIG).unwrap();
        let mut watch = Watch::new(&path);
        assert!(watch.fd().is_some());
        std::fs::remove_dir_all(&sub).unwrap();
        assert!(readable(&watch, 5000));
        assert_eq!(title(watch.poll()), None, "no file to read");
        assert_eq!(watch.timeout(), Some(TICK));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(&path, CONFIG.replace("One", "Back")).unwrap();
        assert_eq!(title(watch.poll()), Some("Back".into()));
    }
}
