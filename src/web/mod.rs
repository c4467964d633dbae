//! The web side of mt-trafmon: a `tiny_http` server on a fixed pool of
//! worker threads ([`server`]) answering one routing table ([`routes`])
//! with the compiled-in page ([`assets`], gzipped; [`inflate`] unzips it
//! for clients without gzip), JSON read from the RRD files and the
//! collectors' health, Prometheus metrics ([`metrics`]) and the settings
//! page's routes ([`setup`], reading bodies with [`json`]), behind
//! the config's allow-list ([`acl`]) and a `Host` check.
//!
//! [`State`] is everything a request may read. Host names of the
//! allow-lists are resolved by a background thread into
//! [`State::resolved`], never during a request. [`escape`] makes request
//! text safe for a log line.
//!
//! Invariant: read-only on the RRD files, and every read of one holds that
//! file's lock for reading ([`Files::reading`]), so it never overlaps the
//! collector's write of the same file (librrd's locks do not exclude
//! threads of one process), and never delays a write of another file.

pub mod assets;
pub mod inflate;
pub mod json;
pub mod metrics;
pub mod routes;
pub mod server;
pub mod setup;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::acl::{self, AllowList};
use crate::collector::Clock;
use crate::config::{Billing, Config, Theme};
use crate::files::Files;
use crate::health::Health;
use crate::query;
use crate::text;
use crate::tz;

/// What the request handlers read.
pub struct State {
    /// The page title.
    pub title: String,
    /// The page's default theme.
    pub theme: Theme,
    /// Who may connect.
    pub allow: AllowList,
    /// Whose `X-Forwarded-For` is believed.
    pub proxies: AllowList,
    /// The names the server answers to besides IP literals and
    /// `localhost` (see [`acl::host_allowed`]): `web.hostnames`, this
    /// machine's host name, and that name with `.local`.
    pub hostnames: Vec<String>,
    /// The addresses the host names of `allow` and `proxies` resolve to.
    pub resolved: RwLock<Resolved>,
    /// The monitored interfaces, in config order.
    pub interfaces: Vec<Served>,
    /// The per-file locks shared with the collectors (see the module
    /// invariant).
    pub files: Files,
    /// The clocks ("now" in the JSON is the server's).
    pub clock: Arc<dyn Clock>,
    /// The settings page ([`setup`]); `None` when it is off or there is
    /// no config file (the demo): its routes answer 404.
    pub setup: Option<setup::Page>,
    /// The time zone of totals and billing cycles, and why it is UTC when
    /// the configured or the machine's zone could not be read.
    pub zone: (tz::Zone, Option<String>),
    /// The clients whose denial was logged last, and when (a list: at
    /// most [`DENIED_REMEMBERED`], searched only when one is denied).
    denied: Mutex<Vec<(IpAddr, Instant)>>,
}

/// The resolved addresses of the allow-lists' host names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    /// For [`State::allow`].
    pub allow: Vec<IpAddr>,
    /// For [`State::proxies`].
    pub proxies: Vec<IpAddr>,
}

/// One interface as the web side sees it.
pub struct Served {
    /// Its id in URLs and JSON: `<router>/<interface>`.
    pub id: String,
    /// The router's name.
    pub router: String,
    /// The interface's name on the router.
    pub name: String,
    /// What the page calls it.
    pub label: String,
    /// Its RRD file.
    pub rrd: PathBuf,
    /// Its collector's health entry; `None` in web-only mode (another
    /// machine collects, and the live values come from the file).
    pub health: Option<Health>,
    /// The query day cache of its file (kept across config changes while
    /// the file stays the same).
    pub cache: Arc<Mutex<query::Cache>>,
    /// Its billing cycle and quota.
    pub billing: Billing,
}

/// How often one client's denied requests are logged, at most.
const DENIED_LOG_EVERY: Duration = Duration::from_secs(60);
/// The most clients whose last denial is remembered for the rate limit.
const DENIED_REMEMBERED: usize = 1024;

impl State {
    /// The state for `config`'s interfaces, reading health from the
    /// entry in `health` with the interface's id (none in web-only mode);
    /// query caches of files that `previous` served are kept.
    pub fn new(
        config: &Config,
        health: &[Health],
        files: Files,
        clock: Arc<dyn Clock>,
        previous: Option<&State>,
    ) -> State {
        let mut interfaces = Vec::new();
        for router in &config.routers {
            for interface in &router.interfaces {
                let id = format!("{}/{}", router.name, interface.name);
                interfaces.push(Served {
                    health: health.iter().find(|h| h.id() == id).cloned(),
                    id,
                    router: router.name.clone(),
                    name: interface.name.clone(),
                    label: interface.label.clone(),
                    rrd: interface.rrd.clone(),
                    cache: previous
                        .and_then(|p| p.interfaces.iter().find(|s| s.rrd == interface.rrd))
                        .map_or_else(Arc::default, |s| s.cache.clone()),
                    billing: interface.billing,
                });
            }
        }
        let mut hostnames = config.web.hostnames.clone();
        if let Some(machine) = machine_host_name() {
            hostnames.push(format!("{machine}.local"));
            hostnames.push(machine);
        }
        State {
            title: config.web.title.clone(),
            theme: config.web.theme,
            allow: config.web.allow.clone(),
            proxies: config.web.trusted_proxies.clone(),
            hostnames,
            resolved: RwLock::new(Resolved::default()),
            interfaces,
            files,
            clock,
            setup: None,
            zone: load_zone(config.web.timezone.as_deref()),
            denied: Mutex::new(Vec::new()),
        }
    }

    /// Resolves the allow-lists' host names with `resolve` and keeps the
    /// answers (a name that does not resolve allows nobody).
    pub fn resolve_hosts(&self, resolve: impl Fn(&str) -> Vec<IpAddr>) {
        let all = |list: &AllowList| list.hosts().iter().flat_map(|h| resolve(h)).collect();
        let resolved = Resolved {
            allow: all(&self.allow),
            proxies: all(&self.proxies),
        };
        *self
            .resolved
            .write()
            .unwrap_or_else(PoisonError::into_inner) = resolved;
    }

    /// Whether a denial of `client` at `now` should be logged: once a
    /// minute per client, and never more than [`DENIED_REMEMBERED`] clients
    /// remembered.
    fn log_denial(&self, client: IpAddr, now: Instant) -> bool {
        let mut denied = self.denied.lock().unwrap_or_else(PoisonError::into_inner);
        let recent = |last: &Instant| now.duration_since(*last) < DENIED_LOG_EVERY;
        if let Some((_, last)) = denied.iter_mut().find(|(c, _)| *c == client) {
            if recent(last) {
                return false;
            }
            *last = now;
            return true;
        }
        if denied.len() >= DENIED_REMEMBERED {
            denied.retain(|(_, last)| recent(last));
            if denied.len() >= DENIED_REMEMBERED {
                return false;
            }
        }
        denied.push((client, now));
        true
    }
}

/// The zone of `web.timezone`, else the machine's; UTC with the reason
/// (logged once here) when it cannot be read.
fn load_zone(configured: Option<&str>) -> (tz::Zone, Option<String>) {
    let tz_var = std::env::var_os("TZ");
    match tz::load(configured, tz_var.as_ref().and_then(|v| v.to_str())) {
        Ok(zone) => (zone, None),
        Err(e) => {
            let why = format!("time zone not usable ({e}); UTC is used");
            log::warn!("web: {}", text::escape(&why));
            (tz::Zone::utc(), Some(why))
        }
    }
}

/// This machine's host name (the kernel's, as `hostname` prints it),
/// normalized; `None` if it cannot be read or is not a host name.
fn machine_host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = acl::normalized_host(name.trim());
    acl::is_host_name(&name).then_some(name)
}

/// Request-derived text (a URL, a host name) made safe for a log line:
/// cut after [`ESCAPED_CHARS`] characters, control characters escaped
/// ([`text::escape`]), in double quotes.
pub fn escape(text: &str) -> String {
    let cut: String = text.chars().take(ESCAPED_CHARS).collect();
    let more = if cut.len() < text.len() { "…" } else { "" };
    format!("\"{}\"{more}", text::escape(&cut))
}

/// See [`escape`].
const ESCAPED_CHARS: usize = 200;

/// Resolves a host name with the system's resolver (for the background
/// thread); failures resolve to nothing.
pub fn system_resolve(host: &str) -> Vec<IpAddr> {
    use std::net::ToSocketAddrs;
    match (host, 0).to_socket_addrs() {
        Ok(addresses) => addresses.map(|a| a.ip().to_canonical()).collect(),
        Err(e) => {
            log::debug!("web: {host} does not resolve: {e}");
            Vec::new()
        }
    }
}
