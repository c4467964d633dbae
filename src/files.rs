//! The one home of the lock between RRD writes and RRD reads in this
//! process: a reader/writer lock per file, with the normal meaning.
//!
//! librrd's own locks are `fcntl` locks, which do not exclude threads of
//! one process, so a fetch running while an update rewrites the same file
//! could read it half-written. Here a collector holds its file's lock for
//! writing ([`Files::write`]) around each update, and a web request holds
//! it for reading ([`Files::read`]) around each read. Locks are per file,
//! so a read of one interface never delays the write of another; std's
//! `RwLock` on Linux lets no new reader in while a writer waits, so a
//! write waits at most for the reads already running on that file, never
//! for a queue of later ones.
//!
//! Stopping without cutting a write in half: whoever retires a writer
//! sets its stop flag first, then calls [`Files::settle`], which takes
//! every file's lock for writing once. A write already in flight finishes
//! first; a writer checks its stop flag under the lock, so it writes
//! nothing afterwards.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// The per-file locks of one process, shared by the collectors and the
/// web server. Cloning gives another handle on the same locks.
#[derive(Clone, Debug, Default)]
pub struct Files {
    locks: Arc<Mutex<HashMap<PathBuf, Arc<RwLock<()>>>>>,
}

impl Files {
    /// No locks yet: one is made the first time a path is named.
    pub fn new() -> Files {
        Files::default()
    }

    /// Runs `write` (an RRD update of `path`) holding `path`'s lock for
    /// writing.
    pub fn writing<T>(&self, path: &Path, write: impl FnOnce() -> T) -> T {
        let lock = self.lock(path);
        let _guard = lock.write().unwrap_or_else(PoisonError::into_inner);
        write()
    }

    /// Runs `read` (a fetch, info or last of `path`) holding `path`'s lock
    /// for reading.
    pub fn reading<T>(&self, path: &Path, read: impl FnOnce() -> T) -> T {
        let lock = self.lock(path);
        let _guard = lock.read().unwrap_or_else(PoisonError::into_inner);
        read()
    }

    /// Waits until no write that started before this call is in progress
    /// on any file (see the module docs).
    pub fn settle(&self) {
        let locks: Vec<Arc<RwLock<()>>> = self
            .locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for lock in locks {
            drop(lock.write().unwrap_or_else(PoisonError::into_inner));
        }
    }

    fn lock(&self, path: &Path) -> Arc<RwLock<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        // A known path (each write of the collector's) copies nothing.
        if let Some(lock) = locks.get(path) {
            return lock.clone();
        }
        locks.entry(path.to_path_buf()).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn a_read_of_one_file_does_not_hold_up_the_write_of_another() {
        let files = Files::new();
        let (entered, wait_entered) = mpsc::channel();
        let (release, wait_release) = mpsc::channel::<()>();
        let reader = {
            let files = files.clone();
            thread::spawn(move || {
                files.reading(Path::new("a.rrd"), || {
                    entered.send(()).unwrap();
                    wait_release.recv().unwrap();
                })
            })
        };
        wait_entered.recv().unwrap();
        // Would deadlock (the reader waits for `release`) if the locks
        // were one lock.
        assert_eq!(files.writing(Path::new("b.rrd"), || 7), 7);
        release.send(()).unwrap();
        reader.join().unwrap();
    }

    #[test]
    fn settle_waits_for_a_write_in_flight() {
        let files = Files::new();
        let (entered, wait_entered) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let writer = {
            let files = files.clone();
            thread::spawn(move || {
                files.writing(Path::new("a.rrd"), || {
                    entered.send(()).unwrap();
                    thread::sleep(Duration::from_millis(200));
                    done_tx.send(()).unwrap();
                })
            })
        };
        wait_entered.recv().unwrap();
        files.settle();
        // The write had finished before settle returned.
        assert!(done_rx.try_recv().is_ok());
        writer.join().unwrap();
    }
}
