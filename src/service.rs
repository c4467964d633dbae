//! What the program runs for a configuration: the collectors
//! ([`Daemon`]) and the web server, and how a changed configuration is
//! applied without a restart ([`Service::apply`]): unchanged routers keep
//! their sessions, changed ones reconnect once, removed ones stop, new ones
//! start; the web server gets the new title, theme and allow-lists at once,
//! moves to a new address or port (keeping the old socket if the new one
//! cannot be had), and stops or starts on its own while the collectors go
//! on. [`Watch`] notices that the config file changed.
//!
//! When it collects, it first locks every directory the RRD files live in
//! ([`store::DataDirs`]): a second collecting mt-trafmon on one of them
//! refuses to start, naming the one that runs; a directory a reload adds
//! that another process holds leaves the routers with files there out, with
//! an error. With the locks held, the leftovers of creations cut off by a
//! kill are removed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::collector::Clock;
use crate::config::{self, Config};
use crate::daemon::{Daemon, Stopped};
use crate::store::{self, DataDirs};
use crate::web::{self, server::Server};

/// Which parts run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    /// The collectors (off with `-w`).
    pub collect: bool,
    /// The web server, if the config enables it (off with `-c`).
    pub serve: bool,
}

/// The collectors and the web server of the current configuration.
pub struct Service {
    config: Config,
    parts: Parts,
    daemon: Daemon,
    server: Option<Server>,
    clock: Arc<dyn Clock>,
    /// The data directories this process collects into.
    data: DataDirs,
}

impl Service {
    /// Starts what `parts` and `config` ask for. A web server that cannot
    /// listen is logged and left out: the collectors matter more. Fails
    /// when another process collects into one of the data directories.
    pub fn start(config: Config, parts: Parts, clock: Arc<dyn Clock>) -> std::io::Result<Service> {
        let collected = collected(&config, parts);
        let data = DataDirs::take(&files(&collected)).map_err(std::io::Error::other)?;
        let daemon = Daemon::start(&collected, clock.clone())?;
        let mut service = Service {
            config,
            parts,
            daemon,
            server: None,
            clock,
            data,
        };
        service.server = service.listen(None);
        Ok(service)
    }

    /// The running web server, if any.
    pub fn server(&self) -> Option<&Server> {
        self.server.as_ref()
    }

    /// The collectors.
    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    /// Applies a changed configuration (see the module docs).
    pub fn apply(&mut self, config: Config) {
        let mut collected = collected(&config, self.parts);
        let held = self.data.add(&files(&collected));
        collected.routers.retain(|router| {
            let blocked = router
                .interfaces
                .iter()
                .any(|i| held.iter().any(|dir| store::directory_of(&i.rrd) == dir));
            if blocked {
                log::error!(
                    "reload: router {} is left out: another process collects into its data directory",
                    router.name
                );
            }
            !blocked
        });
        let changes = match self.daemon.apply(&collected) {
            Ok(changes) => changes,
            Err(e) => {
                log::error!("reload: cannot start a collector: {e}");
                return;
            }
        };
        for name in &changes.started {
            log::info!("reload: collector for {name} (re)started");
        }
        for name in &changes.stopped {
            log::info!("reload: collector for {name} stopped (no longer configured)");
        }
        let old = std::mem::replace(&mut self.config, config);
        let web = &self.config.web;
        let wanted = self.parts.serve && web.enabled;
        let moved = old.web.listen != web.listen || old.web.port != web.port;
        self.server = match self.server.take() {
            None if wanted => self.listen(None),
            None => None,
            Some(server) if !wanted => {
                log::info!(
                    "web: disabled by the config; stopping the web server (collectors go on)"
                );
                server.stop();
                None
            }
            Some(server) if moved => match self.listen(Some(&server)) {
                Some(new) => {
                    server.stop();
                    Some(new)
                }
                None => {
                    log::warn!("web: keeping the old socket on {}", server.address());
                    server.set_state(self.state(Some(&server)));
                    Some(server)
                }
            },
            Some(server) => {
                server.set_state(self.state(Some(&server)));
                Some(server)
            }
        };
    }

    /// Stops the web server and the collectors.
    pub fn stop(self, patience: Duration) -> Stopped {
        if let Some(server) = self.server {
            server.stop();
        }
        self.daemon.stop(patience)
    }

    /// The web state for the current config and collectors.
    fn state(&self, previous: Option<&Server>) -> Arc<web::State> {
        let previous = previous.map(Server::state);
        Arc::new(web::State::new(
            &self.config,
            &self.daemon.health(),
            self.daemon.files(),
            self.clock.clone(),
            previous.as_deref(),
        ))
    }

    /// A server on the configured address, if wanted and possible.
    fn listen(&self, previous: Option<&Server>) -> Option<Server> {
        let web = &self.config.web;
        if !(self.parts.serve && web.enabled) {
            return None;
        }
        match Server::start(web.listen, web.port, self.state(previous)) {
            Ok(server) => Some(server),
            Err(e) => {
                log::error!(
                    "web: cannot listen on port {} of {}: {e}",
                    web.port,
                    web.listen
                );
                None
            }
        }
    }
}

/// The config as far as the collectors go: no routers in web-only mode.
fn collected(config: &Config, parts: Parts) -> Config {
    let mut config = config.clone();
    if !parts.collect {
        config.routers.clear();
    }
    config
}

/// The RRD files of the collectors.
fn files(config: &Config) -> Vec<&Path> {
    config
        .routers
        .iter()
        .flat_map(|r| &r.interfaces)
        .map(|i| i.rrd.as_path())
        .collect()
}

/// Notices changes of a config file's content, polled.
pub struct Watch {
    path: PathBuf,
    seen: Option<Vec<u8>>,
    reported: Option<String>,
}

impl Watch {
    /// Watches `path`, taking its current content as seen.
    pub fn new(path: &Path) -> Watch {
        let mut watch = Watch {
            path: path.to_path_buf(),
            seen: None,
            reported: None,
        };
        watch.seen = watch.look();
        watch
    }

    fn look(&self) -> Option<Vec<u8>> {
        std::fs::read(&self.path).ok()
    }

    /// The new configuration if the file changed since the last call and
    /// is valid. An invalid one is logged once (with its line) and `None`
    /// is returned; fixing the file makes the next call return it.
    pub fn poll(&mut self) -> Option<Config> {
        let now = self.look();
        if now.is_none() || now == self.seen {
            return None;
        }
        self.seen = now;
        match config::load(&self.path) {
            Ok(config) => {
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
}
