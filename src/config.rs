//! The configuration: the TOML file's types, every default (here and
//! nowhere else), and [`validate`], which turns what was read into a
//! [`Config`] whose fields can be trusted.
//!
//! Reading is split from checking: [`load`] reads the file and [`parse`]
//! the text; both read what the text refers to outside itself (the machine
//! id for `xor:` passwords, `password_file`s) into an [`Outside`] at this
//! edge, and [`validate`] is pure over the parsed [`Document`] and that
//! [`Outside`], so the tests feed strings and values. An unknown key or a wrong type is an
//! error that names the key and its line; a value that parses but makes no
//! sense (port 0, two interfaces writing one file) is an error that names
//! the router and interface.
//!
//! A password may be written in the original's `xor:` obfuscation (see
//! [`secret`]; obfuscation, not encryption: anyone who can read the file and
//! the machine id can undo it), so imported files work as they are.
//! [`Document`] is the file's shape for writing too: [`render`] turns one
//! into text and [`save`] writes it atomically, readable by its owner only.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::acl::{self, AllowList};
use crate::auth;
use crate::routeros::client::DEFAULT_PORT;
use crate::secret;
use crate::store::Profile;

mod file;

/// The installed configuration file.
pub const DEFAULT_PATH: &str = "/etc/mt-trafmon/mt-trafmon.toml";
/// Where RRD files go unless an interface names its own.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/mt-trafmon";
/// Seconds a connection attempt or a router reply may take (the original's
/// socket timeout).
pub const DEFAULT_TIMEOUT: f64 = 10.0;
/// The web server's port (the original's).
pub const DEFAULT_WEB_PORT: u16 = 8080;
/// The default `web.listen`: every IPv4 and IPv6 address.
pub const DEFAULT_LISTEN: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
/// The page title (the original's).
pub const DEFAULT_TITLE: &str = "MikroTik Traffic Monitor";
/// The group of the packaged service's user, which may read the config.
pub const SERVICE_GROUP: &str = "mt-trafmon";

/// A validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Storage settings.
    pub storage: Storage,
    /// The routers to collect from, at least one.
    pub routers: Vec<Router>,
    /// The web server.
    pub web: Web,
}

/// The web server's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Web {
    /// Whether it runs at all.
    pub enabled: bool,
    /// The address it listens on; `::` (the default) means every IPv4 and
    /// IPv6 address.
    pub listen: IpAddr,
    /// Its TCP port.
    pub port: u16,
    /// The page title.
    pub title: String,
    /// The page's theme until a visitor picks one.
    pub theme: Theme,
    /// Who may connect (empty: nobody).
    pub allow: AllowList,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: AllowList,
    /// Host names the server answers to besides IP addresses, `localhost`
    /// and this machine's name (normalized: lower case, no trailing dot).
    pub hostnames: Vec<String>,
    /// Whether the settings page (`/setup`) is served at all.
    pub settings: bool,
    /// The settings page's admin password hash (its stored form, checked by
    /// [`auth::Hash::parse`]); `None`: nothing can be changed there.
    pub admin_password: Option<String>,
    /// The time zone of totals and billing cycles (an IANA name such as
    /// `Europe/Berlin`); `None`: the machine's (`TZ`, `/etc/localtime`).
    pub timezone: Option<String>,
}

/// The page's colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    /// The original's dark palette.
    Dark,
    /// Light, like rrdtool's default ("White (classic)" in the original).
    Classic,
}

impl Theme {
    /// Every theme, the default first.
    pub const ALL: [Theme; 2] = [Theme::Dark, Theme::Classic];

    /// The name used in the config, URLs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Classic => "classic",
        }
    }
}

/// Where and how RRD files are kept.
#[derive(Clone, Debug, PartialEq)]
pub struct Storage {
    /// Directory for RRD files without an explicit path.
    pub data_dir: PathBuf,
    /// Retention profile for files created from now on.
    pub profile: Profile,
}

/// One router and what to read from it.
#[derive(Clone, PartialEq)]
pub struct Router {
    /// A short name for logs and file names (defaults to the host).
    pub name: String,
    /// Address or host name.
    pub host: String,
    /// API port.
    pub port: u16,
    /// API user.
    pub user: String,
    /// Its password (from `password`, or read from `password_file`).
    pub password: String,
    /// Where the rates come from.
    pub source: Source,
    /// How long a connection attempt or a reply may take.
    pub timeout: Duration,
    /// The monitored interfaces, at least one.
    pub interfaces: Vec<Interface>,
}

impl fmt::Debug for Router {
    /// Like the derived form, with the password left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("source", &self.source)
            .field("timeout", &self.timeout)
            .field("interfaces", &self.interfaces)
            .finish()
    }
}

/// Where a router's rates come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The 64-bit byte counters, once per second (exact volume; gaps
    /// backfilled when provable).
    Counters,
    /// The router's `monitor-traffic` rates, as the original did.
    MonitorTraffic,
}

impl Source {
    /// Every source, the default first.
    pub const ALL: [Source; 2] = [Source::Counters, Source::MonitorTraffic];

    /// The name used in the config and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Source::Counters => "counters",
            Source::MonitorTraffic => "monitor-traffic",
        }
    }
}

/// One monitored interface.
#[derive(Clone, Debug, PartialEq)]
pub struct Interface {
    /// The router's name for it.
    pub name: String,
    /// What the page calls it (defaults to the name).
    pub label: String,
    /// Its RRD file.
    pub rrd: PathBuf,
    /// Its billing cycle and quota.
    pub billing: Billing,
}

/// An interface's billing cycle and quota (`billing_day`, `quota`,
/// `quota_direction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Billing {
    /// The day of the month a cycle starts on, 1 to 28.
    pub day: u8,
    /// The quota, if any.
    pub quota: Option<Quota>,
}

impl Default for Billing {
    fn default() -> Billing {
        Billing {
            day: 1,
            quota: None,
        }
    }
}

/// A volume allowed per billing cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Bytes per cycle, above 0.
    pub bytes: u64,
    /// Which traffic counts.
    pub direction: Direction,
}

/// Which traffic counts against a quota (`quota_direction`, read as a
/// string and checked in [`validate`]: no deserializer of its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Received and sent.
    Both,
    /// Received only.
    Rx,
    /// Sent only.
    Tx,
}

impl Direction {
    /// The name used in the config and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Both => "both",
            Direction::Rx => "rx",
            Direction::Tx => "tx",
        }
    }
}

/// Parses a volume such as `500 GB`, `1.5 TiB` or `800000000` (bytes):
/// decimal (kB, MB, GB, TB, PB) and binary (KiB, MiB, GiB, TiB, PiB)
/// units; above 0 and at most 2^62 bytes.
pub fn parse_volume(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "PB" => 1_000_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "PiB" => 1 << 50,
        other => {
            return Err(format!(
                "unknown unit {other:?} (B, kB, MB, GB, TB, PB, KiB, MiB, GiB, TiB or PiB)"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a number with a unit, like \"500 GB\""))?;
    let bytes = (value * factor as f64).round();
    match bytes >= 1.0 && bytes <= (1u64 << 62) as f64 {
        true => Ok(bytes as u64),
        false => Err(format!("{text:?} is out of range (1 B to 4 EiB)")),
    }
}

/// Why a configuration could not be used.
#[derive(Debug)]
pub enum Error {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The text is not valid TOML for this schema (unknown key, wrong type).
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is out of range or contradicts another.
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key, e.g. `router[0].port`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => {
                write!(f, "cannot read config {}: {source}", path.display())
            }
            Error::Parse { path, message } => {
                write!(f, "config {}: {}", path.display(), message.trim_end())
            }
            Error::Invalid { path, key, message } => {
                write!(f, "config {}: {key}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for Error {}

/// The largest config file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// The largest `password_file` read, in bytes.
pub const MAX_PASSWORD_FILE_BYTES: u64 = 64 << 10;

/// Reads and validates the file at `path`, with what it refers to.
pub fn load(path: &Path) -> Result<Config, Error> {
    load_bytes(path).map(|(config, _)| config)
}

/// [`load`], with the bytes read (their hash is the version the settings
/// page compares).
pub fn load_bytes(path: &Path) -> Result<(Config, Vec<u8>), Error> {
    let bytes = read_bounded(path, MAX_FILE_BYTES).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((parse_bytes(&bytes, path)?, bytes))
}

/// [`parse`] of a file's bytes, which must be UTF-8.
pub fn parse_bytes(bytes: &[u8], path: &Path) -> Result<Config, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
    })?;
    parse(text, path)
}

/// Parses and validates config text, reading what it refers to; `path` is
/// named in errors and is the base of relative `password_file` paths.
pub fn parse(text: &str, path: &Path) -> Result<Config, Error> {
    let file = document(text, path)?;
    let outside = Outside::read(&file, path);
    validate(file, path, &outside)
}

/// The text as a [`Document`] (TOML syntax and the schema only).
pub fn document(text: &str, path: &Path) -> Result<Document, Error> {
    file::read(text).map_err(|message| Error::Parse {
        path: path.to_path_buf(),
        message,
    })
}

/// The first `limit` bytes of the file at `path`; a longer file is an
/// `InvalidData` error.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(bytes)
}

/// What a config's text refers to outside itself, read at the edge
/// ([`Outside::read`]) so that [`validate`] does no I/O. (No `Debug`: it
/// holds passwords.)
#[derive(Default)]
pub struct Outside {
    /// The machine's key for `xor:` passwords ([`secret::machine_key`]);
    /// read only when a password has that form.
    pub key: Option<secret::Key>,
    /// Each `password_file`, as [`password_file_path`] resolves it, with
    /// its text or the reason it could not be read.
    pub password_files: Vec<(PathBuf, Result<String, String>)>,
}

impl Outside {
    /// Reads the machine id if a password of `file` is in the `xor:` form,
    /// and every `password_file` it names; `path` is the config's own.
    pub fn read(file: &Document, path: &Path) -> Outside {
        let xor = file.router.iter().any(|r| {
            r.password
                .as_deref()
                .is_some_and(|p| p.starts_with(secret::PREFIX))
        });
        let password_files = file
            .router
            .iter()
            .filter_map(|r| r.password_file.as_deref())
            .map(|file| {
                let file = password_file_path(path, file);
                let text = read_bounded(&file, MAX_PASSWORD_FILE_BYTES)
                    .map_err(|e| e.to_string())
                    .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8 text".into()));
                (file, text)
            })
            .collect();
        Outside {
            key: xor.then(secret::machine_key),
            password_files,
        }
    }
}

/// Where a `password_file` is: relative to the config's directory.
pub fn password_file_path(config: &Path, file: &Path) -> PathBuf {
    config.parent().unwrap_or(Path::new(".")).join(file)
}

/// The file as written, before validation: what [`parse`] reads and what
/// [`render`] writes (the wizard and the ini importer build one). `None`
/// and empty fields take their defaults and are not written.
#[derive(Debug, Default, PartialEq)]
pub struct Document {
    /// `[storage]`.
    pub storage: StorageSection,
    /// `[[router]]`.
    pub router: Vec<RouterSection>,
    /// `[web]`.
    pub web: WebSection,
}

/// `[storage]` as written.
#[derive(Debug, Default, PartialEq)]
pub struct StorageSection {
    /// `data_dir`.
    pub data_dir: Option<PathBuf>,
    /// `profile`.
    pub profile: Option<Profile>,
}

/// `[[router]]` as written.
#[derive(Default, PartialEq)]
pub struct RouterSection {
    /// `name`.
    pub name: Option<String>,
    /// `host`.
    pub host: String,
    /// `port`.
    pub port: Option<u16>,
    /// `user`.
    pub user: String,
    /// Plain, or the original's `xor:` obfuscation (see [`secret`]).
    pub password: Option<String>,
    /// `password_file`.
    pub password_file: Option<PathBuf>,
    /// `source`.
    pub source: Option<Source>,
    /// `timeout`, seconds.
    pub timeout: Option<f64>,
    /// `[[router.interface]]`.
    pub interface: Vec<InterfaceSection>,
    /// `billing_day`: 1 to 28, the default of its interfaces (accounting keys, issue 14).
    pub billing_day: Option<u16>,
    /// `quota`: a volume with a unit, like `"500 GB"`.
    pub quota: Option<String>,
    /// `quota_direction`: `both`, `rx` or `tx`.
    pub quota_direction: Option<String>,
}

impl fmt::Debug for RouterSection {
    /// Like the derived form, with the password left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterSection")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_file", &self.password_file)
            .field("source", &self.source)
            .field("timeout", &self.timeout)
            .field("interface", &self.interface)
            .finish()
    }
}

/// `[[router.interface]]` as written.
#[derive(Debug, Default, PartialEq)]
pub struct InterfaceSection {
    /// `name`.
    pub name: String,
    /// `label`.
    pub label: Option<String>,
    /// `rrd`.
    pub rrd: Option<PathBuf>,
    /// `billing_day`: 1 to 28 (accounting keys, issue 14).
    pub billing_day: Option<u16>,
    /// `quota`: a volume with a unit, like `"500 GB"`.
    pub quota: Option<String>,
    /// `quota_direction`: `both`, `rx` or `tx`.
    pub quota_direction: Option<String>,
}

/// `[web]` as written.
#[derive(Debug, Default, PartialEq)]
pub struct WebSection {
    /// `enabled`.
    pub enabled: Option<bool>,
    /// `listen`.
    pub listen: Option<IpAddr>,
    /// `port`.
    pub port: Option<u16>,
    /// `title`.
    pub title: Option<String>,
    /// `theme`.
    pub theme: Option<Theme>,
    /// `allow`.
    pub allow: Option<Vec<String>>,
    /// `trusted_proxies`.
    pub trusted_proxies: Vec<String>,
    /// `hostnames`.
    pub hostnames: Vec<String>,
    /// `settings`.
    pub settings: Option<bool>,
    /// `admin_password`: the hash `mt-trafmon passwd` writes.
    pub admin_password: Option<String>,
    /// `timezone`: an IANA name (accounting, issue 14).
    pub timezone: Option<String>,
}

impl StorageSection {
    fn is_empty(&self) -> bool {
        *self == StorageSection::default()
    }
}

impl WebSection {
    fn is_empty(&self) -> bool {
        *self == WebSection::default()
    }
}

/// The TOML text of `document`; an error names a value TOML cannot hold.
pub fn render(document: &Document) -> Result<String, String> {
    file::write(document)
}

/// Writes a config file atomically: a temporary file beside it, written,
/// flushed to disk and renamed over the target (then the directory is
/// flushed), so a crash leaves the old file or the new one, never half of
/// one. The file is readable by its owner only (it may hold a password),
/// or also by its group (mode 0640): the group `mt-trafmon` when that
/// group exists and the writer may give the file to it (root, on an
/// installed system), so that the service can read it; or the group the
/// new file got anyway (the packaged service saving from the settings
/// page into its setgid directory) when the file it replaces was readable
/// by that group.
pub fn save(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let directory = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = directory.join(format!(".{name}.{}.tmp", std::process::id()));
    let old = std::fs::metadata(path).ok();
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        let given = service_group()
            .is_some_and(|group| rustix::fs::fchown(&file, None, Some(group)).is_ok());
        let kept = || -> std::io::Result<bool> {
            let gid = file.metadata()?.gid();
            Ok(old
                .as_ref()
                .is_some_and(|old| old.mode() & 0o040 != 0 && old.gid() == gid))
        };
        if given || kept()? {
            rustix::fs::fchmod(&file, rustix::fs::Mode::from_raw_mode(0o640))?;
        }
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        std::fs::File::open(directory)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// The group the packaged service runs as, if this system has it.
fn service_group() -> Option<rustix::fs::Gid> {
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == SERVICE_GROUP)
            .then(|| fields.nth(1)?.parse().ok())
            .flatten()
            .map(rustix::fs::Gid::from_raw)
    })
}

/// Checks a parsed file and fills in the defaults, with `outside` holding
/// what the file refers to ([`Outside::read`]); `path` is named in errors.
/// Pure: no I/O, no clock.
pub fn validate(file: Document, path: &Path, outside: &Outside) -> Result<Config, Error> {
    let invalid = |key: String, message: String| Error::Invalid {
        path: path.to_path_buf(),
        key,
        message,
    };
    let storage = Storage {
        data_dir: file
            .storage
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
        profile: file.storage.profile.unwrap_or(Profile::Original),
    };
    if file.router.is_empty() {
        let flag = match path == Path::new(DEFAULT_PATH) {
            true => String::new(),
            false => format!(" --config {}", path.display()),
        };
        return Err(invalid(
            "router".into(),
            format!(
                "no router configured; set one up with the wizard, `mt-trafmon -s{flag}` (as root for the service's file), or add a [[router]] table with host, user, password and an [[router.interface]]"
            ),
        ));
    }
    let mut routers = Vec::new();
    for (r, router) in file.router.into_iter().enumerate() {
        let key = |field: &str| format!("router[{r}].{field}");
        if router.host.trim().is_empty() {
            return Err(invalid(key("host"), "is empty".into()));
        }
        let port = router.port.unwrap_or(DEFAULT_PORT);
        if port == 0 {
            return Err(invalid(key("port"), "must be 1 to 65535".into()));
        }
        let password = match (router.password, router.password_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    key("password_file"),
                    "give either password or password_file, not both".into(),
                ));
            }
            (Some(password), None) if password.starts_with(secret::PREFIX) => {
                let decoded = match &outside.key {
                    Some(machine) => {
                        secret::deobfuscate(machine, &password).map_err(|e| e.to_string())
                    }
                    None => Err("the machine id was not read".into()),
                };
                decoded.map_err(|e| {
                    invalid(
                        key("password"),
                        format!(
                            "the xor: password cannot be read ({e}); it is tied to the machine id of the machine that wrote it: give the password in plain text or in password_file"
                        ),
                    )
                })?
            }
            (Some(password), None) => password,
            (None, Some(file)) => {
                let file = password_file_path(path, &file);
                let text = outside
                    .password_files
                    .iter()
                    .find(|(read, _)| *read == file)
                    .map_or(Err("it was not read"), |(_, text)| {
                        text.as_deref().map_err(String::as_str)
                    })
                    .map_err(|e| {
                        invalid(
                            key("password_file"),
                            format!("cannot read {}: {e}", file.display()),
                        )
                    })?;
                text.trim_end_matches(['\r', '\n']).to_string()
            }
            (None, None) => String::new(),
        };
        let timeout = router.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if !(0.1..=600.0).contains(&timeout) {
            return Err(invalid(
                key("timeout"),
                format!(
                    "{} s is out of range (0.1 to 600)",
                    crate::text::shortest(timeout)
                ),
            ));
        }
        let name = router.name.unwrap_or_else(|| router.host.clone());
        if router.interface.is_empty() {
            return Err(invalid(
                key("interface"),
                "no interface to monitor; add [[router.interface]] with a name".into(),
            ));
        }
        let mut interfaces = Vec::new();
        for (i, interface) in router.interface.into_iter().enumerate() {
            if interface.name.is_empty() {
                return Err(invalid(
                    format!("router[{r}].interface[{i}].name"),
                    "is empty".into(),
                ));
            }
            let rrd = interface.rrd.unwrap_or_else(|| {
                storage.data_dir.join(format!(
                    "{}-{}.rrd",
                    file_name_part(&name),
                    file_name_part(&interface.name)
                ))
            });
            let billing = billing(
                [interface.billing_day, router.billing_day],
                [&interface.quota, &router.quota],
                [&interface.quota_direction, &router.quota_direction],
            )
            .map_err(|(own, field, message)| {
                let key = match own {
                    true => format!("router[{r}].interface[{i}].{field}"),
                    false => key(field),
                };
                invalid(key, message)
            })?;
            interfaces.push(Interface {
                label: interface.label.unwrap_or_else(|| interface.name.clone()),
                name: interface.name,
                rrd,
                billing,
            });
        }
        routers.push(Router {
            name,
            host: router.host,
            port,
            user: router.user,
            password,
            source: router.source.unwrap_or(Source::Counters),
            timeout: Duration::from_secs_f64(timeout),
            interfaces,
        });
    }
    let mut seen: Vec<(&Path, String)> = Vec::new();
    for router in &routers {
        for interface in &router.interfaces {
            let here = format!("{}/{}", router.name, interface.name);
            if let Some((_, other)) = seen.iter().find(|(p, _)| *p == interface.rrd) {
                return Err(invalid(
                    format!("{here} rrd"),
                    format!(
                        "{} is also the file of {other}; give each interface its own",
                        interface.rrd.display()
                    ),
                ));
            }
            seen.push((&interface.rrd, here));
        }
    }
    let web = file.web;
    let port = web.port.unwrap_or(DEFAULT_WEB_PORT);
    if port == 0 {
        return Err(invalid("web.port".into(), "must be 1 to 65535".into()));
    }
    let list = |key: &str, entries: &[String]| {
        AllowList::parse(entries).map_err(|e: acl::Error| invalid(key.into(), e.to_string()))
    };
    if let Some(name) = &web.timezone {
        if !crate::tz::valid_name(name) {
            return Err(invalid(
                "web.timezone".into(),
                format!(
                    "{name:?} is not a time zone name like \"Europe/Berlin\" (see /usr/share/zoneinfo)"
                ),
            ));
        }
    }
    let web = Web {
        timezone: web.timezone.clone(),
        enabled: web.enabled.unwrap_or(true),
        listen: web.listen.unwrap_or(DEFAULT_LISTEN),
        port,
        title: web.title.unwrap_or_else(|| DEFAULT_TITLE.to_string()),
        theme: web.theme.unwrap_or(Theme::Dark),
        allow: match &web.allow {
            Some(entries) => list("web.allow", entries)?,
            None => AllowList::default_private(),
        },
        trusted_proxies: list("web.trusted_proxies", &web.trusted_proxies)?,
        hostnames: web
            .hostnames
            .iter()
            .map(|name| match acl::is_host_name(name) {
                true => Ok(acl::normalized_host(name)),
                false => Err(invalid(
                    "web.hostnames".into(),
                    format!("{name:?} is not a host name"),
                )),
            })
            .collect::<Result<_, _>>()?,
        settings: web.settings.unwrap_or(true),
        admin_password: match web.admin_password {
            Some(hash) => match auth::Hash::parse(&hash) {
                Ok(_) => Some(hash),
                Err(e) => return Err(invalid("web.admin_password".into(), e)),
            },
            None => None,
        },
    };
    Ok(Config {
        storage,
        routers,
        web,
    })
}

/// An interface's [`Billing`] from its keys and its router's (`[interface,
/// router]`; the interface's win). Errors: whether the key is the
/// interface's own, the key, and why.
fn billing(
    day: [Option<u16>; 2],
    quota: [&Option<String>; 2],
    direction: [&Option<String>; 2],
) -> Result<Billing, (bool, &'static str, String)> {
    // The interface's value if it has one, else the router's; whether the
    // interface's.
    fn pick<T>([own, router]: [Option<T>; 2]) -> Option<(bool, T)> {
        own.map(|v| (true, v)).or(router.map(|v| (false, v)))
    }
    let day = match pick(day) {
        Some((own, d)) if !(1..=28).contains(&d) => {
            let why = format!("{d} is out of range (1 to 28, so that every month has it)");
            return Err((own, "billing_day", why));
        }
        Some((_, d)) => d as u8,
        None => 1,
    };
    let direction = match pick(direction.map(Option::as_deref)) {
        None | Some((_, "both")) => Direction::Both,
        Some((_, "rx")) => Direction::Rx,
        Some((_, "tx")) => Direction::Tx,
        Some((own, other)) => {
            let why = format!("{other:?} is not one of both, rx, tx");
            return Err((own, "quota_direction", why));
        }
    };
    let quota = match pick(quota.map(Option::as_deref)) {
        Some((own, text)) => {
            let bytes = parse_volume(text).map_err(|e| (own, "quota", e))?;
            Some(Quota { bytes, direction })
        }
        None => None,
    };
    Ok(Billing { day, quota })
}

/// A router or interface name as part of a file name: letters, digits,
/// `.`, `_` and `-` stay; anything else (`/`, spaces, `:`) becomes `_`.
pub fn file_name_part(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '_',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Config, Error> {
        parse(text, Path::new("/etc/mt-trafmon/test.toml"))
    }

    const MINIMAL: &str = r#"
[[router]]
host = "192.0.2.1"
user = "monitor"
password = "secret"

[[router.interface]]
name = "ether1"
"#;

    #[test]
    fn the_simplest_case_takes_the_defaults() {
        let config = check(MINIMAL).unwrap();
        assert_eq!(config.storage.data_dir, Path::new(DEFAULT_DATA_DIR));
        assert_eq!(config.storage.profile, Profile::Original);
        let router = &config.routers[0];
        assert_eq!(router.name, "192.0.2.1");
        assert_eq!(router.port, 8728);
        assert_eq!(router.source, Source::Counters);
        assert_eq!(router.timeout, Duration::from_secs(10));
        assert_eq!(router.interfaces[0].label, "ether1");
        assert_eq!(
            router.interfaces[0].rrd,
            Path::new("/var/lib/mt-trafmon/192.0.2.1-ether1.rrd")
        );
        assert!(
            !format!("{router:?}").contains("secret"),
            "Debug redacts the password"
        );
    }

    #[test]
    fn everything_spelled_out() {
        let config = check(
            r#"
[storage]
data_dir = "/srv/rrd"
profile = "compact"

[[router]]
name = "home"
host = "::1"
port = 18728
user = "u"
password = "p"
source = "monitor-traffic"
timeout = 2.5

[[router.interface]]
name = "ether1"
label = "WAN"
rrd = "/srv/wan.rrd"

[[router.interface]]
name = "vlan/10 guests"
"#,
        )
        .unwrap();
        assert_eq!(config.storage.profile, Profile::Compact);
        let router = &config.routers[0];
        assert_eq!(
            (router.port, router.source),
            (18728, Source::MonitorTraffic)
        );
        assert_eq!(router.timeout, Duration::from_millis(2500));
        assert_eq!(router.interfaces[0].rrd, Path::new("/srv/wan.rrd"));
        assert_eq!(
            router.interfaces[1].rrd,
            Path::new("/srv/rrd/home-vlan_10_guests.rrd")
        );
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_key_and_line() {
        let error = check(&MINIMAL.replace("user =", "usr ="))
            .unwrap_err()
            .to_string();
        assert!(error.contains("usr") && error.contains("line 4"), "{error}");
        let error = check(&MINIMAL.replace("\"secret\"", "42"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("line 5") && error.contains("string"),
            "{error}"
        );
        let error = check("[storage]\nprofile = \"huge\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("huge") && error.contains("line 2"),
            "{error}"
        );
        let error = check(&format!("{MINIMAL}[web]\nprot = 1\n"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("prot") && error.contains("line 10"),
            "{error}"
        );
        let error = check(&format!("{MINIMAL}[web]\nlisten = \"everywhere\"\n"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 10"), "{error}");
    }

    #[test]
    fn values_that_make_no_sense() {
        let invalid = |text: &str, key: &str| {
            let error = check(text).unwrap_err();
            assert!(
                matches!(&error, Error::Invalid { key: k, .. } if k == key),
                "{error}"
            );
        };
        invalid("", "router");
        invalid(
            &MINIMAL.replace("host = \"192.0.2.1\"", "host = \"\""),
            "router[0].host",
        );
        invalid(
            &MINIMAL.replace("user =", "port = 0\nuser ="),
            "router[0].port",
        );
        invalid(
            &MINIMAL.replace("user =", "timeout = 0\nuser ="),
            "router[0].timeout",
        );
        invalid(
            &MINIMAL.replace("[[router.interface]]\nname = \"ether1\"\n", ""),
            "router[0].interface",
        );
        invalid(
            &MINIMAL.replace(
                "password = \"secret\"",
                "password = \"a\"\npassword_file = \"b\"",
            ),
            "router[0].password_file",
        );
        invalid(
            &format!(
                "{MINIMAL}\n[[router.interface]]\nname = \"x\"\nrrd = \"/var/lib/mt-trafmon/192.0.2.1-ether1.rrd\"\n"
            ),
            "192.0.2.1/x rrd",
        );
        let missing = MINIMAL.replace(
            "password = \"secret\"",
            "password_file = \"/nonexistent/pass\"",
        );
        let error = check(&missing).unwrap_err().to_string();
        assert!(error.contains("/nonexistent/pass"), "{error}");
    }

    #[test]
    fn the_web_section() {
        let web = check(MINIMAL).unwrap().web;
        assert!(web.enabled);
        assert_eq!(web.listen, "::".parse::<IpAddr>().unwrap());
        assert_eq!((web.port, web.theme), (8080, Theme::Dark));
        assert_eq!(web.title, "MikroTik Traffic Monitor");
        assert_eq!(web.allow, AllowList::default_private());
        assert!(web.trusted_proxies.is_empty());
        assert!(web.hostnames.is_empty());
        let web = check(&format!(
            "{MINIMAL}[web]\nenabled = false\nlisten = \"127.0.0.1\"\nport = 8081\ntitle = \"Home\"\ntheme = \"classic\"\nallow = []\ntrusted_proxies = [\"10.0.0.1\"]\nhostnames = [\"Traffic.Example.\", \"pi\"]\n"
        ))
        .unwrap()
        .web;
        assert!(!web.enabled);
        assert_eq!(web.listen, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!((web.port, web.theme), (8081, Theme::Classic));
        assert!(web.allow.is_empty(), "an empty list is kept: nobody");
        assert_eq!(
            web.trusted_proxies,
            AllowList::parse(&["10.0.0.1"]).unwrap()
        );
        let error = check(&format!("{MINIMAL}[web]\nallow = [\"10.0.0.0/33\"]\n")).unwrap_err();
        assert!(
            matches!(&error, Error::Invalid { key, .. } if key == "web.allow"),
            "{error}"
        );
        assert_eq!(web.hostnames, ["traffic.example", "pi"]);
        let error = check(&format!("{MINIMAL}[web]\nport = 0\n")).unwrap_err();
        assert!(
            matches!(&error, Error::Invalid { key, .. } if key == "web.port"),
            "{error}"
        );
        let error = check(&format!("{MINIMAL}[web]\nhostnames = [\"a b\"]\n")).unwrap_err();
        assert!(
            matches!(&error, Error::Invalid { key, .. } if key == "web.hostnames"),
            "{error}"
        );
    }

    #[test]
    fn validation_is_pure_over_what_was_read_outside() {
        let path = Path::new("/etc/mt-trafmon/test.toml");
        let with_file = MINIMAL.replace("password = \"secret\"", "password_file = \"pass\"");
        let file = document(&with_file, path).unwrap();
        let read = |text: Result<&str, &str>| Outside {
            key: None,
            password_files: vec![(
                PathBuf::from("/etc/mt-trafmon/pass"),
                text.map(String::from).map_err(String::from),
            )],
        };
        let config = validate(file, path, &read(Ok("from the file\r\n\n"))).unwrap();
        assert_eq!(config.routers[0].password, "from the file");
        let file = document(&with_file, path).unwrap();
        let error = validate(file, path, &read(Err("Permission denied")))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("router[0].password_file")
                && error.contains("cannot read /etc/mt-trafmon/pass: Permission denied"),
            "{error}"
        );

        let key = secret::Key::from_machine_id("a test machine");
        let stored = secret::obfuscate(&key, "hidden");
        let with_xor = MINIMAL.replace("\"secret\"", &format!("{stored:?}"));
        let outside = Outside {
            key: Some(key),
            password_files: Vec::new(),
        };
        let config = validate(document(&with_xor, path).unwrap(), path, &outside).unwrap();
        assert_eq!(config.routers[0].password, "hidden");
        let other = Outside {
            key: Some(secret::Key::from_machine_id("another machine")),
            password_files: Vec::new(),
        };
        assert!(validate(document(&with_xor, path).unwrap(), path, &other).is_err());
    }

    #[test]
    fn the_edge_reads_only_what_the_file_refers_to_and_bounds_it() {
        let dir =
            std::env::temp_dir().join(format!("mt-trafmon-config-outside-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        let plain = document(MINIMAL, &path).unwrap();
        let outside = Outside::read(&plain, &path);
        assert!(outside.key.is_none() && outside.password_files.is_empty());
        let xor = document(&MINIMAL.replace("\"secret\"", "\"xor:AAAA\""), &path).unwrap();
        assert!(Outside::read(&xor, &path).key.is_some());

        std::fs::write(dir.join("pass"), "p\n").unwrap();
        let text = MINIMAL.replace("password = \"secret\"", "password_file = \"pass\"");
        let outside = Outside::read(&document(&text, &path).unwrap(), &path);
        assert_eq!(
            outside.password_files,
            [(dir.join("pass"), Ok("p\n".to_string()))]
        );
        std::fs::write(
            dir.join("pass"),
            vec![b'x'; MAX_PASSWORD_FILE_BYTES as usize + 1],
        )
        .unwrap();
        let error = parse(&text, &path).unwrap_err().to_string();
        assert!(error.contains("larger than"), "{error}");

        let long = format!("{MINIMAL}{}", "#\n".repeat(MAX_FILE_BYTES as usize / 2 + 1));
        std::fs::write(&path, long).unwrap();
        assert!(matches!(load(&path), Err(Error::Io { .. })));
        std::fs::write(&path, MINIMAL).unwrap();
        assert!(load(&path).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn xor_passwords_render_and_save() {
        let stored = secret::obfuscate(&secret::machine_key(), "pa%ss\"word");
        let config = check(&MINIMAL.replace("\"secret\"", &format!("{stored:?}"))).unwrap();
        assert_eq!(config.routers[0].password, "pa%ss\"word");
        let error = check(&MINIMAL.replace("\"secret\"", "\"xor:AAAA\""))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("router[0].password") && error.contains("machine"),
            "{error}"
        );

        let document = Document {
            router: vec![RouterSection {
                host: "::1".into(),
                user: "u \"q\"".into(),
                password: Some(stored),
                interface: vec![InterfaceSection {
                    name: "vlan 10".into(),
                    ..InterfaceSection::default()
                }],
                ..RouterSection::default()
            }],
            web: WebSection {
                theme: Some(Theme::Classic),
                allow: Some(vec!["10.0.0.0/8".into()]),
                ..WebSection::default()
            },
            ..Document::default()
        };
        let text = render(&document).unwrap();
        assert!(
            !text.contains("[storage]"),
            "empty sections are not written:\n{text}"
        );
        let config = check(&text).unwrap();
        assert_eq!(config.routers[0].user, "u \"q\"");
        assert_eq!(config.routers[0].password, "pa%ss\"word");
        assert_eq!(config.web.theme, Theme::Classic);

        let dir = std::env::temp_dir().join(format!("mt-trafmon-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mt-trafmon.toml");
        std::fs::write(&path, "old").unwrap();
        save(&path, &text).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert!(mode == 0o600 || mode == 0o640, "{mode:o}");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        assert!(save(&dir.join("missing/x.toml"), "x").is_err());
        if service_group().is_none() {
            // Group-readable stays so (the service saving from the settings
            // page); owner-only stays so.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            save(&path, "a").unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            save(&path, "b").unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640, "never readable by others");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            save(&path, "c").unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The commented example the package installs (debian/mt-trafmon.toml)
    /// shows every key with its default: uncommented (all but
    /// `password_file`, which excludes `password`), it must parse, and give
    /// what the defaults in this file give.
    #[test]
    fn the_shipped_example_shows_the_defaults() {
        let example = include_str!("../debian/mt-trafmon.toml");
        let setting = |line: &'static str| -> Option<&'static str> {
            let rest = line.strip_prefix("# ")?;
            let key = rest.split(" = ").next()?;
            let is_key =
                rest.contains(" = ") && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            let is_table = rest.starts_with('[') && rest.ends_with(']');
            ((is_key && key != "password_file") || is_table).then_some(rest)
        };
        let text: Vec<&str> = example.lines().filter_map(setting).collect();
        assert!(text.len() > 20, "the example's settings: {text:?}");
        let example = check(&text.join("\n")).unwrap();
        let defaults = check(
            "[[router]]\nname = \"gw\"\nhost = \"192.168.88.1\"\nuser = \"monitor\"\npassword = \"secret\"\n\
             [[router.interface]]\nname = \"ether1\"\nlabel = \"WAN\"\n",
        )
        .unwrap();
        assert_eq!(example, defaults);
    }

    #[test]
    fn file_name_parts() {
        assert_eq!(file_name_part("ether1"), "ether1");
        assert_eq!(file_name_part("vlan/10 guests"), "vlan_10_guests");
        assert_eq!(file_name_part("fe80::1"), "fe80__1");
        assert_eq!(file_name_part("ß"), "_");
    }
}
