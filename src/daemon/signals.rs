//! SIGINT and SIGTERM as a socket that becomes readable: the handlers
//! (signal-hook's self-pipe, `signal_hook::low_level::pipe`) write a byte
//! to one end of a socket pair, so a thread waits for a signal in a
//! blocking call (`poll` together with other descriptors, or a read),
//! never by polling a flag.

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::thread;

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::stop::Stop;

/// The read end of the signal socket. Once installed, SIGINT and SIGTERM
/// no longer end the process: whoever holds this decides.
pub struct Signals {
    read: UnixStream,
}

impl Signals {
    /// Installs the handlers for SIGINT and SIGTERM.
    pub fn install() -> io::Result<Signals> {
        let (read, write) = UnixStream::pair()?;
        signal_hook::low_level::pipe::register(SIGINT, write.try_clone()?)?;
        signal_hook::low_level::pipe::register(SIGTERM, write)?;
        Ok(Signals { read })
    }

    /// A [`Stop`] that the first SIGINT or SIGTERM sets, from a thread
    /// blocked on the socket until then.
    pub fn into_stop(self) -> io::Result<Stop> {
        let stop = Stop::new();
        let set = stop.clone();
        let mut read = self.read;
        thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut byte = [0];
                // Interrupted reads are retried by `read_exact`; any other
                // failure of a socket pair is treated as a signal.
                let _ = read.read_exact(&mut byte);
                set.set();
            })?;
        Ok(stop)
    }
}

impl AsFd for Signals {
    /// Readable once a signal has come (and stays readable: nothing
    /// drains it).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_signal_sets_the_stop() {
        let stop = Signals::install().unwrap().into_stop().unwrap();
        assert!(!stop.sleep(Duration::from_millis(20)));
        // SIGTERM to this test process: with the handler installed it
        // only writes to the socket.
        rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::TERM)
            .unwrap();
        assert!(stop.sleep(Duration::from_secs(60)));
    }
}
