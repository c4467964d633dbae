//! A stop request that sleeping threads wake up for: the one way a thread
//! of the daemon waits for time to pass ([`Stop::sleep`]) or for the end
//! ([`Stop::wait`]), so that an idle daemon sleeps in one call instead of
//! polling a flag, and a stop or a reload still reaches every sleeper at
//! once.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A flag that, once set, stays set and wakes every thread sleeping on it.
/// Cloning gives another handle on the same flag.
#[derive(Clone, Debug, Default)]
pub struct Stop {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    set: Mutex<bool>,
    changed: Condvar,
}

impl Stop {
    /// A flag not set yet.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Sets the flag and wakes every sleeper.
    pub fn set(&self) {
        *self.flag() = true;
        self.inner.changed.notify_all();
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        *self.flag()
    }

    /// Sleeps for `duration` unless the flag is or becomes set first;
    /// returns whether it is set.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now().checked_add(duration);
        let mut set = self.flag();
        while !*set {
            let left = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if left.is_zero() {
                break;
            }
            set = match deadline {
                Some(_) => {
                    self.inner
                        .changed
                        .wait_timeout(set, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .inner
                    .changed
                    .wait(set)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
        *set
    }

    /// Sleeps until the flag is set.
    pub fn wait(&self) {
        self.sleep(Duration::MAX);
    }

    fn flag(&self) -> MutexGuard<'_, bool> {
        self.inner
            .set
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn a_sleeper_wakes_when_the_flag_is_set() {
        let stop = Stop::new();
        let sleeper = {
            let stop = stop.clone();
            thread::spawn(move || {
                let started = Instant::now();
                let set = stop.sleep(Duration::from_secs(600));
                (set, started.elapsed())
            })
        };
        thread::sleep(Duration::from_millis(50));
        stop.set();
        let (set, slept) = sleeper.join().unwrap();
        assert!(set);
        assert!(slept < Duration::from_secs(60), "woke after {slept:?}");
        assert!(stop.is_set());
    }

    #[test]
    fn a_sleep_without_a_stop_lasts_its_duration() {
        let stop = Stop::new();
        let started = Instant::now();
        assert!(!stop.sleep(Duration::from_millis(30)));
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn a_set_flag_does_not_sleep_at_all() {
        let stop = Stop::new();
        stop.set();
        assert!(stop.sleep(Duration::MAX));
        stop.wait();
    }
}
