//! The setup wizard (`mt-trafmon -s`, and the first start at a terminal):
//! a line-based dialogue that asks what this machine does (collect from
//! the router, serve the web pages, or both), then the router, the
//! interfaces, the storage and the web server, tests the router connection
//! and writes the config file.
//!
//! The dialogue ([`run`]) reads answers from any `BufRead` and writes to any
//! `Write`, so tests script it; what it needs from the world (echo off for
//! the password, the router test, writing the file, the systemd service)
//! goes through the [`Host`] trait. [`System`] is the real host and
//! [`run_terminal`] the edge: the existing file, the machine key, Ctrl-C.
//!
//! Prompts are plain lines of at most 80 columns that work on a serial
//! console: no cursor movement and no colour, each with its default in
//! brackets (Enter takes it); text from the router is escaped. The layout
//! of new RRD files defaults to what the machine can take ([`suggest`]),
//! and the end says how the program runs and which URLs to open
//! ([`urls`]). A bad answer is refused with the reason and asked again.
//! Nothing is written before the last answer; end of input stops the
//! dialogue with [`Stop::EndOfInput`], and Ctrl-C (or SIGTERM) ends the
//! process, after the terminal's echo is restored, with nothing written.
//!
//! A newly typed password is stored in the original's `xor:` form (see
//! [`secret`]; obfuscation, not encryption: the file's mode is what protects
//! it), so a config shown on screen or pasted into a bug report does not
//! give the password away; a stored password that is kept stays as it was
//! (plain, `xor:` or `password_file`).

use std::fmt;
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::acl::{self, AllowList};
use crate::auth;
use crate::config::{self, Document, InterfaceSection, RouterSection, StorageSection, WebSection};
use crate::routeros::client::{self, Client, DEFAULT_PORT, Interface};
use crate::secret::{self, Key};
use crate::store::{self, Profile};
use crate::text::escape;

/// The longest the connection test waits for each step (the original's 5 s);
/// a shorter `router.timeout` in the file being edited wins.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the packaged systemd unit may be installed.
pub const UNIT_PATHS: [&str; 3] = [
    "/etc/systemd/system/mt-trafmon.service",
    "/lib/systemd/system/mt-trafmon.service",
    "/usr/lib/systemd/system/mt-trafmon.service",
];

/// The router address offered when there is none yet (RouterOS's default).
const DEFAULT_HOST: &str = "192.168.88.1";

/// The router user offered when there is none yet: a user of its own that
/// may only read, as README.md recommends (the dialogue says how to make
/// it on the router).
const DEFAULT_USER: &str = "monitor";

/// The widest line the dialogue writes (longer text is folded at spaces).
pub const WIDTH: usize = 80;

/// Disk space that the original layout's new files must leave free for the
/// wizard to suggest that layout (logs, upgrades, the rest of the system).
pub const DISK_MARGIN: u64 = 512 << 20;

/// The allow-list answer that stands for the default list.
const PRIVATE: &str = "private";

/// What the wizard starts from.
pub struct Start {
    /// The file as it is now (empty for a new one).
    pub document: Document,
    /// The first router's stored password, when it can be read here.
    pub password: Option<String>,
    /// How the file was found.
    pub found: Found,
    /// This machine's key for `xor:` passwords.
    pub key: Key,
}

/// How the config file was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// There is none yet.
    New,
    /// It exists and its values are the defaults.
    Existing,
    /// It exists but is not a config (the reason); it is replaced only when
    /// the dialogue ends.
    Unusable(String),
}

/// How the dialogue ended well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The machine collects from the router.
    pub collects: bool,
    /// The machine serves the web pages.
    pub serves: bool,
    /// The packaged service runs this config (the wizard started it, or it
    /// was running and reads the new file by itself).
    pub service_started: bool,
}

/// Why the dialogue ended without a config written.
#[derive(Debug)]
pub enum Stop {
    /// The input ended (Ctrl-D) before the last answer.
    EndOfInput,
    /// The router test failed and the user chose neither to save nor to try
    /// again.
    NotSaved,
    /// The config file cannot be read or written (the message says why and
    /// what to do).
    File(String),
    /// Reading or writing the terminal failed.
    Terminal(io::Error),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::EndOfInput => write!(f, "setup cancelled (end of input); nothing was written"),
            Stop::NotSaved => write!(f, "setup ended without saving; nothing was written"),
            Stop::File(message) => write!(f, "{message}"),
            Stop::Terminal(e) => write!(f, "the terminal failed ({e}); nothing was written"),
        }
    }
}

impl std::error::Error for Stop {}

/// A router login for the connection test.
#[derive(Clone, Copy, Debug)]
pub struct Login<'a> {
    /// Address or host name.
    pub host: &'a str,
    /// API port.
    pub port: u16,
    /// API user.
    pub user: &'a str,
    /// Its password.
    pub password: &'a str,
    /// Deadline of each step (connect, each reply).
    pub timeout: Duration,
}

/// What the dialogue needs from the world besides the lines it reads and
/// writes.
pub trait Host {
    /// Turns the terminal's echo of typed characters off, or back on.
    fn echo(&mut self, on: bool) -> io::Result<()>;
    /// Connects, logs in and lists the router's interfaces.
    fn interfaces(&mut self, login: Login<'_>) -> Result<Vec<Interface>, client::Error>;
    /// Writes the config file, then reads it back as the daemon would; the
    /// error says what went wrong and what to do.
    fn save(&mut self, path: &Path, document: &Document) -> Result<(), String>;
    /// Whether to offer the packaged service: running as root on a machine
    /// booted with systemd, with the unit installed.
    fn service_available(&mut self) -> bool;
    /// `systemctl enable --now mt-trafmon`.
    fn enable_service(&mut self) -> Result<(), String>;
    /// Whether the packaged service is there, enabled, running.
    fn service_state(&mut self) -> ServiceState;
    /// What the machine has for new RRD files in `data_dir`, `files` being
    /// the chosen interfaces' files.
    fn machine(&mut self, data_dir: &Path, files: &[PathBuf]) -> Machine;
    /// This machine's addresses (any order; loopback ones are left out of
    /// what the dialogue prints).
    fn addresses(&mut self) -> Vec<IpAddr>;
}

/// The packaged service, as `systemctl` sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceState {
    /// No systemd, or no `mt-trafmon.service`.
    Absent,
    /// Installed, neither enabled nor running.
    Disabled,
    /// Enabled (starts at boot) but not running now.
    Enabled,
    /// Running now.
    Running,
}

/// What the machine has for new RRD files, as measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine {
    /// Files to be made: the chosen interfaces' files that do not exist yet.
    pub new_files: u64,
    /// Bytes free for the daemon on the data directory's file system (that
    /// of its nearest existing ancestor), if known.
    pub free_disk: Option<u64>,
    /// Bytes of memory available to the daemon (the smallest of the
    /// kernel's and the cgroup's estimates), if known.
    pub available_memory: Option<u64>,
}

/// The layout the wizard suggests for new RRD files, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suggestion {
    /// The original layout: its new files fit with [`DISK_MARGIN`] to
    /// spare, and the memory to make one is there (or no file is made).
    Original,
    /// Compact, because the original layout's new files need `needed`
    /// bytes (with [`DISK_MARGIN`]) and `free` are free.
    CompactForDisk {
        /// The new files in the original layout, plus the margin.
        needed: u64,
        /// Free bytes.
        free: u64,
    },
    /// Compact, because making an original file takes `needed` bytes of
    /// memory and `available` are there.
    CompactForMemory {
        /// [`Profile::creation_memory`].
        needed: u64,
        /// Available bytes.
        available: u64,
    },
    /// Compact, because the free disk space cannot be measured.
    CompactUnknownDisk,
}

impl Suggestion {
    /// The suggested layout.
    pub fn profile(self) -> Profile {
        match self {
            Suggestion::Original => Profile::Original,
            _ => Profile::Compact,
        }
    }
}

/// The rule for the default layout of new files: original when all the new
/// files fit in it with [`DISK_MARGIN`] left free and one can be made in
/// the memory available ([`Profile::creation_memory`]; memory that cannot
/// be measured does not count against it); compact otherwise. No new file: original (nothing is made).
pub fn suggest(machine: Machine) -> Suggestion {
    if machine.new_files == 0 {
        return Suggestion::Original;
    }
    let Some(free) = machine.free_disk else {
        return Suggestion::CompactUnknownDisk;
    };
    let needed = Profile::Original
        .needed_bytes()
        .saturating_mul(machine.new_files)
        .saturating_add(DISK_MARGIN);
    if free < needed {
        return Suggestion::CompactForDisk { needed, free };
    }
    let needed = Profile::Original.creation_memory();
    match machine.available_memory {
        Some(available) if available < needed => Suggestion::CompactForMemory { needed, available },
        _ => Suggestion::Original,
    }
}

/// The dialogue. `path` is where the config goes; `start` what it starts
/// from. Returns what the machine does, or why nothing was written.
///
/// One function per question group, each returning what was answered:
/// `roles`, `router` (with `connection` when this machine collects),
/// `interfaces`, `storage` (with `layout`), `web_pages`; then the file is
/// written, and `service` and `closing` say how it runs. A new group is one
/// function and one call here.
pub fn run(
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    host: &mut dyn Host,
    path: &Path,
    mut start: Start,
) -> Result<Outcome, Stop> {
    let mut talk = Talk { input, output };
    let mut document = std::mem::take(&mut start.document);
    greet(&mut talk, path, &start.found)?;
    let roles = roles(&mut talk, &document)?;

    let mut section = match document.router.is_empty() {
        true => RouterSection::default(),
        false => document.router.remove(0),
    };
    let old_interfaces = std::mem::take(&mut section.interface);
    let others = document.router.len();
    let router = router(&mut talk, host, &start, roles, section, others)?;
    let mut section = router.section;

    let old_names: Vec<&str> = old_interfaces.iter().map(|i| i.name.as_str()).collect();
    let chosen = interfaces(&mut talk, roles, router.listed, &old_names)?;

    let storage = storage(
        &mut talk,
        host,
        roles,
        &document.storage,
        &router.name,
        &chosen,
        &old_interfaces,
    )?;
    document.storage.data_dir = storage.data_dir;
    if let Some(profile) = storage.profile {
        document.storage.profile = profile;
    }
    section.interface = storage.interfaces;

    document.web.enabled = (!roles.serves).then_some(false);
    if roles.serves {
        document.web = web_pages(&mut talk, std::mem::take(&mut document.web))?;
        settings_password(&mut talk, host, &mut document.web)?;
    }

    document.router.insert(0, section);
    host.save(path, &document).map_err(Stop::File)?;
    talk.say("")?;
    talk.say(&format!("  Written to {}.", path.display()))?;

    let state = service(&mut talk, host, path, roles)?;
    closing(&mut talk, host, path, roles, state, &document.web)?;
    Ok(Outcome {
        collects: roles.collects,
        serves: roles.serves,
        service_started: state == ServiceState::Running,
    })
}

/// The banner: which file is written, and how the dialogue works.
fn greet(talk: &mut Talk, path: &Path, found: &Found) -> Result<(), Stop> {
    talk.say("")?;
    talk.say(&"=".repeat(60))?;
    talk.say("  mt-trafmon setup")?;
    talk.say(&"=".repeat(60))?;
    talk.say("")?;
    match found {
        Found::New => talk.say(&format!("  This writes a new config file, {}.", path.display()))?,
        Found::Existing => talk.say(&format!(
            "  Editing {}: its values are the defaults (comments in it are not kept).",
            path.display()
        ))?,
        Found::Unusable(why) => talk.say(&format!(
            "  {} cannot be used ({why});\n  starting from the defaults. The file is replaced only at the end.",
            path.display()
        ))?,
    }
    talk.say(
        "  Enter takes the value in [brackets]. Ctrl-C or Ctrl-D leaves without writing anything.",
    )?;
    talk.say("")
}

/// What this machine does.
#[derive(Clone, Copy, Debug)]
struct Roles {
    /// It collects from the router.
    collects: bool,
    /// It serves the web pages.
    serves: bool,
}

/// Whether this machine collects, serves, or both (not neither).
fn roles(talk: &mut Talk, document: &Document) -> Result<Roles, Stop> {
    loop {
        let collects = talk.yes_no(
            "Does this machine collect the traffic (talk to the router's API)?",
            true,
        )?;
        let serves = talk.yes_no(
            "Does this machine serve the web pages?",
            document.web.enabled.unwrap_or(true),
        )?;
        if collects || serves {
            return Ok(Roles { collects, serves });
        }
        talk.say("    It has to do one of the two at least.")?;
    }
}

/// The router group's answers.
struct RouterAnswers {
    /// The first router's section: address, port, user, password and name
    /// as answered; its interfaces still to be chosen.
    section: RouterSection,
    /// The name its files go by.
    name: String,
    /// The router's interfaces, when the connection test passed.
    listed: Option<Vec<Interface>>,
}

/// The first router: its login, tested (`connection`), and its name when
/// this machine collects; only the name its files go by when it serves
/// another machine's files. `others` is how many more routers the file has.
fn router(
    talk: &mut Talk,
    host: &mut dyn Host,
    start: &Start,
    roles: Roles,
    mut section: RouterSection,
    others: usize,
) -> Result<RouterAnswers, Stop> {
    let old_name = section.name.take();
    talk.say("")?;
    talk.say("Router")?;
    if others > 0 {
        talk.say(&format!(
            "  (the file has {others} more router(s); they are kept as they are)"
        ))?;
    }
    let mut listed = None;
    let name;
    if roles.collects {
        listed = connection(talk, host, start, &mut section)?;
        name = talk.ask(
            "Router name (in logs and RRD file names)",
            old_name.as_deref().unwrap_or(&section.host),
            check_text,
        )?;
    } else {
        talk.say("  This machine only reads the RRD files that the collecting machine writes (e.g. over NFS); it does not connect to the router.")?;
        let default_name = match (&old_name, section.host.is_empty()) {
            (Some(name), _) => name.clone(),
            (None, false) => section.host.clone(),
            (None, true) => DEFAULT_HOST.to_string(),
        };
        name = talk.ask(
            "Router name, as the collecting machine calls it (its files are <name>-<interface>.rrd)",
            &default_name,
            check_text,
        )?;
        if section.host.is_empty() {
            section.host = name.clone();
        }
    }
    section.name = (name != section.host).then(|| name.clone());
    Ok(RouterAnswers {
        section,
        name,
        listed,
    })
}

/// The router's address, port, user and password, asked into `section`
/// and tested until the login works or the user saves them anyway (then
/// `None`: no interface list). A newly typed password is stored in the
/// `xor:` form; a kept one stays as it was.
fn connection(
    talk: &mut Talk,
    host: &mut dyn Host,
    start: &Start,
    section: &mut RouterSection,
) -> Result<Option<Vec<Interface>>, Stop> {
    if section.user.is_empty() {
        talk.say("  mt-trafmon only reads: give it a user of its own on the router, whose group has the read and api policies only, e.g. in the router's terminal:")?;
        talk.say("    /user group add name=monitor policy=read,api")?;
        talk.say("    /user add name=monitor group=monitor password=...")?;
    }
    // A newly typed password, and whether the router refused the last
    // login (then Enter keeps no password: the refused one is not
    // offered again).
    let mut typed: Option<String> = None;
    let mut refused = false;
    let mut listed = None;
    loop {
        let default_host = match section.host.is_empty() {
            true => DEFAULT_HOST.to_string(),
            false => section.host.clone(),
        };
        section.host = talk.ask(
            "Router address (IP address or host name)",
            &default_host,
            check_host,
        )?;
        let port = talk.ask(
            "API port (the api service, not api-ssl)",
            &section.port.unwrap_or(DEFAULT_PORT).to_string(),
            check_port,
        )?;
        section.port = (port != DEFAULT_PORT).then_some(port);
        let default_user = match section.user.is_empty() {
            true => DEFAULT_USER.to_string(),
            false => section.user.clone(),
        };
        section.user = talk.ask(
            "API user (its group needs the api and read policies)",
            &default_user,
            check_text,
        )?;
        let stored = section.password.is_some() || section.password_file.is_some();
        let keep = match refused {
            true => None,
            false => typed.clone().or_else(|| start.password.clone()),
        };
        if stored && keep.is_none() && !refused && typed.is_none() {
            talk.say("  The stored password cannot be read on this machine (an xor: password is tied to the machine that wrote it); enter it again.")?;
        }
        let prompt = match (keep.is_some(), refused) {
            (true, _) => "Password (not shown; Enter keeps the current one)",
            (false, true) => "Password (not shown; the last one was refused)",
            (false, false) => "Password (not shown; Enter for none)",
        };
        let entered = talk.password(host, prompt)?;
        let password = match (entered.is_empty(), keep) {
            (true, Some(kept)) => kept,
            _ => {
                typed = Some(entered.clone());
                entered
            }
        };
        // The file's value is not validated yet: out of the daemon's
        // range (or not a number), it is not used.
        let timeout = section
            .timeout
            .filter(|seconds| (0.1..=600.0).contains(seconds))
            .map_or(TEST_TIMEOUT, Duration::from_secs_f64)
            .min(TEST_TIMEOUT);
        talk.say(&format!(
            "  Testing the connection to {} port {port} ...",
            section.host
        ))?;
        let login = Login {
            host: &section.host,
            port,
            user: &section.user,
            password: &password,
            timeout,
        };
        match host.interfaces(login) {
            Ok(interfaces) => {
                talk.say(&format!(
                    "  OK: logged in as {}; the router has {} interfaces.",
                    section.user,
                    interfaces.len()
                ))?;
                listed = Some(interfaces);
                break;
            }
            Err(error) => {
                refused = matches!(error, client::Error::BadCredentials { .. });
                talk.say(&format!("  FAILED: {}", escape(&explain(&error, login))))?;
                if talk.yes_no("Save these settings anyway?", false)? {
                    break;
                }
                if !talk.yes_no("Change the router settings and test again?", true)? {
                    return Err(Stop::NotSaved);
                }
            }
        }
    }
    if let Some(password) = typed {
        section.password = (!password.is_empty()).then(|| secret::obfuscate(&start.key, &password));
        section.password_file = None;
    }
    Ok(listed)
}

/// The interfaces to monitor (or show): picked from the router's list when
/// the test gave one, else typed as names. `old_names` are the file's.
fn interfaces(
    talk: &mut Talk,
    roles: Roles,
    listed: Option<Vec<Interface>>,
    old_names: &[&str],
) -> Result<Vec<String>, Stop> {
    talk.say("")?;
    talk.say("Interfaces")?;
    match listed {
        Some(list) if !list.is_empty() => {
            talk.say("  The router's interfaces:")?;
            // Names and types come from the router: escaped before they
            // reach the terminal.
            let rows: Vec<(String, String)> = list
                .iter()
                .map(|i| (escape(&i.name).into_owned(), escape(&i.kind).into_owned()))
                .collect();
            let width = rows
                .iter()
                .map(|(name, _)| name.chars().count())
                .max()
                .unwrap_or(0);
            let kind_width = rows
                .iter()
                .map(|(_, kind)| kind.chars().count())
                .max()
                .unwrap_or(0);
            for (number, (interface, (name, kind))) in list.iter().zip(&rows).enumerate() {
                let state = match (interface.disabled, interface.running) {
                    (true, _) => "disabled",
                    (false, true) => "running",
                    (false, false) => "not running",
                };
                talk.say(&format!(
                    "  {:>3}  {name:<width$}  {kind:<kind_width$}  {state}",
                    number + 1
                ))?;
            }
            // The default names the interfaces, or gives the number of one
            // whose name is not plain text (Enter must pick what it shows).
            let token = |index: usize| match escape(&list[index].name) {
                std::borrow::Cow::Borrowed(name) => name.to_string(),
                std::borrow::Cow::Owned(_) => (index + 1).to_string(),
            };
            let kept: Vec<String> = old_names
                .iter()
                .filter_map(|name| list.iter().position(|i| i.name == *name))
                .map(token)
                .collect();
            let default = match kept.is_empty() {
                false => kept.join(", "),
                true => token(
                    list.iter()
                        .position(|i| i.running && !i.disabled)
                        .unwrap_or(0),
                ),
            };
            talk.ask(
                "Interfaces to monitor (numbers or names, with commas)",
                &default,
                |answer| pick(answer, &list),
            )
        }
        _ => {
            let default = match old_names.is_empty() {
                true => "ether1".to_string(),
                false => old_names.join(", "),
            };
            let prompt = match roles.collects {
                true => "Interfaces to monitor (names, separated by commas)",
                false => "Interfaces to show (names, separated by commas)",
            };
            talk.ask(prompt, &default, names)
        }
    }
}

/// The storage group's answers.
struct Storage {
    /// `storage.data_dir` (`None`: the default).
    data_dir: Option<PathBuf>,
    /// The chosen interfaces' sections, with their files.
    interfaces: Vec<InterfaceSection>,
    /// `storage.profile` (`None` inside: original), when it was asked (only
    /// a collecting machine makes files).
    profile: Option<Option<Profile>>,
}

/// The data directory, each chosen interface's RRD file (`name` is the
/// router's; `old` the file's interface sections) and, when this machine
/// collects, the layout of new files (`layout`).
fn storage(
    talk: &mut Talk,
    host: &mut dyn Host,
    roles: Roles,
    current: &StorageSection,
    name: &str,
    chosen: &[String],
    old: &[InterfaceSection],
) -> Result<Storage, Stop> {
    talk.say("")?;
    talk.say("Storage")?;
    let data_dir = talk.ask(
        "Directory for the RRD files",
        &current
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(config::DEFAULT_DATA_DIR))
            .to_string_lossy(),
        |answer| check_path(answer).map(PathBuf::from),
    )?;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut interfaces = Vec::new();
    for interface_name in chosen {
        let old = old.iter().find(|i| i.name == *interface_name);
        let derived = data_dir.join(format!(
            "{}-{}.rrd",
            config::file_name_part(name),
            config::file_name_part(interface_name)
        ));
        let default = old
            .and_then(|i| i.rrd.clone())
            .unwrap_or_else(|| derived.clone());
        let file = talk.ask(
            &format!("RRD file of {}", escape(interface_name)),
            &default.to_string_lossy(),
            |answer| {
                let file = PathBuf::from(check_path(answer)?);
                match files.contains(&file) {
                    true => Err(format!("{answer} is already the file of another interface")),
                    false => Ok(file),
                }
            },
        )?;
        interfaces.push(InterfaceSection {
            name: interface_name.clone(),
            label: old.and_then(|i| i.label.clone()),
            rrd: (file != derived).then(|| file.clone()),
            billing_day: old.and_then(|i| i.billing_day),
            quota: old.and_then(|i| i.quota.clone()),
            quota_direction: old.and_then(|i| i.quota_direction.clone()),
        });
        files.push(file);
    }
    let profile = match roles.collects {
        true => {
            let profile = layout(talk, host, &data_dir, &files, current.profile)?;
            Some((profile != Profile::Original).then_some(profile))
        }
        false => None,
    };
    Ok(Storage {
        data_dir: (data_dir != Path::new(config::DEFAULT_DATA_DIR)).then_some(data_dir),
        interfaces,
        profile,
    })
}

/// The layout of new RRD files: both shown with their sizes, and the
/// default the file's own choice (`current`), else what the machine can
/// take for the new ones among `files` in `data_dir` ([`suggest`]).
fn layout(
    talk: &mut Talk,
    host: &mut dyn Host,
    data_dir: &Path,
    files: &[PathBuf],
    current: Option<Profile>,
) -> Result<Profile, Stop> {
    let machine = host.machine(data_dir, files);
    talk.say("  Each interface's RRD file is made once, at its full size:")?;
    talk.say(&format!(
        "    original  {:>9}  1 s values for a year, 10 s and 1 min for 5 years,\n                         5 min for 10 years (the Python original's layout)",
        store::mib(Profile::Original.data_bytes())
    ))?;
    talk.say(&format!(
        "    compact   {:>9}  1 s values for 8 days, 10 s for 31 days,\n                         1 min for a year, 1 h for 10 years",
        store::mib(Profile::Compact.data_bytes())
    ))?;
    let known = |bytes: Option<u64>| bytes.map_or("unknown".to_string(), store::mib);
    talk.say(&format!(
        "  New files: {}; free disk: {}; memory available: {}.",
        machine.new_files,
        known(machine.free_disk),
        known(machine.available_memory)
    ))?;
    let suggestion = suggest(machine);
    match suggestion {
        Suggestion::Original => {}
        Suggestion::CompactForDisk { needed, free } => talk.say(&format!(
            "  compact is suggested: in the original layout the new files and a margin of {} need {}, and {} is free.",
            store::mib(DISK_MARGIN),
            store::mib(needed),
            store::mib(free)
        ))?,
        Suggestion::CompactForMemory { needed, available } => talk.say(&format!(
            "  compact is suggested: making an original file needs {} of memory, and {} is available.",
            store::mib(needed),
            store::mib(available)
        ))?,
        Suggestion::CompactUnknownDisk => {
            talk.say("  compact is suggested: the free disk space cannot be measured.")?
        }
    }
    // The file's own choice stays; else the machine's.
    let default = current.unwrap_or(suggestion.profile());
    talk.ask(
        "Layout of new RRD files (original or compact)",
        match default {
            Profile::Compact => "compact",
            Profile::Original => "original",
        },
        |answer| match answer {
            "original" => Ok(Profile::Original),
            "compact" => Ok(Profile::Compact),
            _ => Err("answer original or compact".to_string()),
        },
    )
}

/// The web server's port, the page title, who may open the pages and the
/// default theme; `web` is the file's section, returned with the answers.
fn web_pages(talk: &mut Talk, mut web: WebSection) -> Result<WebSection, Stop> {
    talk.say("")?;
    talk.say("Web pages")?;
    let port = talk.ask(
        "Web server port",
        &web.port.unwrap_or(config::DEFAULT_WEB_PORT).to_string(),
        check_port,
    )?;
    web.port = (port != config::DEFAULT_WEB_PORT).then_some(port);
    let title = talk.ask(
        "Page title",
        web.title.as_deref().unwrap_or(config::DEFAULT_TITLE),
        check_text,
    )?;
    web.title = (title != config::DEFAULT_TITLE).then_some(title);
    let default_allow = acl::DEFAULT.map(String::from).to_vec();
    talk.say(&format!(
        "  Who may open the pages: addresses (192.168.1.10), ranges (192.168.1.0/24) or host names, separated by commas; none for nobody; {PRIVATE} for this machine and the private ranges ({}).",
        default_allow.join(", ")
    ))?;
    let allow = talk.ask(
        "Allowed",
        &match web.allow.as_deref() {
            Some([]) => "none".to_string(),
            Some(list) if *list != default_allow => list.join(", "),
            _ => PRIVATE.to_string(),
        },
        |answer| {
            match answer {
                "none" => return Ok(Vec::new()),
                PRIVATE => return Ok(default_allow.clone()),
                _ => {}
            }
            let entries: Vec<String> = answer
                .split(',')
                .map(|entry| entry.trim().to_string())
                .filter(|entry| !entry.is_empty())
                .collect();
            AllowList::parse(&entries).map_err(|e| e.to_string())?;
            Ok(entries)
        },
    )?;
    web.allow = (allow != default_allow).then_some(allow);
    let theme = talk.ask(
        "Theme until a visitor picks one: dark or classic (light)",
        web.theme.unwrap_or(config::Theme::Dark).name(),
        |answer| match answer {
            "dark" => Ok(config::Theme::Dark),
            "classic" => Ok(config::Theme::Classic),
            _ => Err("answer dark or classic".to_string()),
        },
    )?;
    web.theme = (theme != config::Theme::Dark).then_some(theme);
    Ok(web)
}

/// The packaged service after the file is written: offered to be enabled
/// and started when it is installed but not running (it runs only the
/// default file, and only for a collecting machine). Returns its state.
fn service(
    talk: &mut Talk,
    host: &mut dyn Host,
    path: &Path,
    roles: Roles,
) -> Result<ServiceState, Stop> {
    let packaged = path == Path::new(config::DEFAULT_PATH);
    // The packaged service reads only the default file.
    let mut state = match roles.collects && packaged {
        true => host.service_state(),
        false => ServiceState::Absent,
    };
    let offer = "Start the service now and at every boot (systemctl enable --now)?";
    if matches!(state, ServiceState::Disabled | ServiceState::Enabled)
        && host.service_available()
        && talk.yes_no(offer, true)?
    {
        match host.enable_service() {
            Ok(()) => {
                talk.say("  The mt-trafmon service is enabled and running.")?;
                state = ServiceState::Running;
            }
            Err(message) => talk.say(&format!("  That failed: {message}"))?,
        }
    } else if state == ServiceState::Running {
        talk.say("  The mt-trafmon service is running: it reads the new config by itself, within a few seconds.")?;
    }
    Ok(state)
}

/// The last words: how to run the program (the service in `state`), and
/// the URLs of the pages when this machine serves them (`web`).
fn closing(
    talk: &mut Talk,
    host: &mut dyn Host,
    path: &Path,
    roles: Roles,
    state: ServiceState,
    web: &WebSection,
) -> Result<(), Stop> {
    let config_flag = match path == Path::new(config::DEFAULT_PATH) {
        true => String::new(),
        false => format!(" --config {}", path.display()),
    };
    match (roles.collects, state) {
        (false, _) => talk.say(&format!(
            "  This machine only serves the pages: run it as mt-trafmon -w{config_flag} (the packaged service runs without -w: add it with systemctl edit mt-trafmon)."
        ))?,
        (true, ServiceState::Running) => {}
        (true, ServiceState::Enabled) => talk.say(
            "  The service is enabled but not running; start it with\n    sudo systemctl restart mt-trafmon",
        )?,
        (true, ServiceState::Disabled) => {
            talk.say("  To run it as a service: sudo systemctl enable --now mt-trafmon")?
        }
        (true, ServiceState::Absent) => talk.say(&format!("  To run it: mt-trafmon{config_flag}"))?,
    }
    if roles.serves {
        let port = web.port.unwrap_or(config::DEFAULT_WEB_PORT);
        let listen = web.listen.unwrap_or(config::DEFAULT_LISTEN);
        talk.say("  The graphs, for browsers at the allowed addresses:")?;
        for url in urls(listen, port, &host.addresses()) {
            talk.say(&format!("    {url}"))?;
        }
    }
    Ok(())
}

/// The addresses to open the pages at: for a server listening on every
/// address (`::`, or `0.0.0.0` for IPv4 only), each of this machine's
/// addresses but loopback and IPv6 link-local ones (a browser needs a zone
/// for those), else the one it listens on; `localhost` when none is left.
pub fn urls(listen: IpAddr, port: u16, addresses: &[IpAddr]) -> Vec<String> {
    let url = |address: &IpAddr| match address {
        IpAddr::V4(v4) => format!("http://{v4}:{port}/"),
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}/"),
    };
    let mut chosen: Vec<IpAddr> = match listen {
        IpAddr::V6(any) if any.is_unspecified() => addresses.to_vec(),
        IpAddr::V4(any) if any.is_unspecified() => {
            addresses.iter().copied().filter(IpAddr::is_ipv4).collect()
        }
        one => return vec![url(&one)],
    };
    chosen.retain(|address| match address {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_unspecified(),
        IpAddr::V6(v6) => {
            !v6.is_loopback() && !v6.is_unspecified() && (v6.segments()[0] & 0xffc0) != 0xfe80
        }
    });
    crate::order::sort_by_key(&mut chosen, |address| (address.is_ipv6(), *address));
    chosen.dedup();
    match chosen.is_empty() {
        true => vec![format!("http://localhost:{port}/")],
        false => chosen.iter().map(url).collect(),
    }
}

/// What a failed connection test means, in plain words, with what to do.
pub fn explain(error: &client::Error, login: Login<'_>) -> String {
    use client::Error as E;
    let Login {
        host, port, user, ..
    } = login;
    match error {
        E::BadCredentials { message, .. } => {
            format!("wrong user name or password (the router said: {message}); check both")
        }
        E::NotAllowed { .. } => format!(
            "user {user} may not use the API: the user's group lacks the api permission (policy 'api'); on the router: /user group set <group> policy=...,api"
        ),
        E::Permission { .. } => format!(
            "user {user} may log in but not read the interfaces: the user's group lacks the read permission (policy 'read')"
        ),
        E::Refused { .. } => format!(
            "nothing answers on port {port} of {host}: the API service is disabled or the port is closed; on the router: /ip service enable api (port 8728)"
        ),
        E::Unreachable { detail, .. } => format!(
            "host {host} is unreachable ({detail}): check the address, that the router is on, and that no firewall drops the connection"
        ),
        E::Resolve { detail, .. } => {
            format!("host name {host} not found ({detail}); check it, or give the IP address")
        }
        E::Timeout { after, .. } => format!(
            "connected to {host} port {port}, but the router did not answer within {} s: is this the API port, and is the router overloaded?",
            crate::text::shortest(after.as_secs_f64())
        ),
        E::TlsMismatch { .. } => format!(
            "port {port} of {host} answers with TLS: that is the api-ssl service; give the plain API port (8728) and enable the api service"
        ),
        E::Closed { during, .. } => format!(
            "the router closed the connection while {during}: too many API sessions, or the api service is not available from this address"
        ),
        E::Fatal { reason } => format!("the router ended the session: {reason}"),
        E::Protocol { detail, .. } => format!(
            "what answers on port {port} of {host} does not speak the RouterOS API ({detail}); is it the API port?"
        ),
        E::Trap { .. } | E::UnknownInterface { .. } | E::Io { .. } => error.to_string(),
    }
}

/// The dialogue's two ends.
struct Talk<'a> {
    input: &'a mut dyn BufRead,
    output: &'a mut dyn Write,
}

impl Talk<'_> {
    /// Writes `text`, each of its lines folded to [`WIDTH`].
    fn say(&mut self, text: &str) -> Result<(), Stop> {
        writeln!(self.output, "{}", fold(text))
            .and_then(|()| self.output.flush())
            .map_err(Stop::Terminal)
    }

    /// One line without its line ending; `None` at end of input.
    fn line(&mut self) -> Result<Option<Vec<u8>>, Stop> {
        let mut line = Vec::new();
        let read = self
            .input
            .read_until(b'\n', &mut line)
            .map_err(Stop::Terminal)?;
        if read == 0 {
            return Ok(None);
        }
        while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            line.pop();
        }
        Ok(Some(line))
    }

    /// Asks until `check` accepts the answer (trimmed; empty means
    /// `default`) or the input ends.
    fn ask<T>(
        &mut self,
        prompt: &str,
        default: &str,
        mut check: impl FnMut(&str) -> Result<T, String>,
    ) -> Result<T, Stop> {
        // The dialogue itself is not generic: one copy of it in the binary
        // however many types the answers have.
        let mut value = None;
        self.ask_until(prompt, default, &mut |answer| {
            check(answer).map(|checked| value = Some(checked))
        })?;
        value.ok_or(Stop::EndOfInput)
    }

    /// [`Talk::ask`] for a `check` that keeps the value it accepts.
    fn ask_until(
        &mut self,
        prompt: &str,
        default: &str,
        check: &mut dyn FnMut(&str) -> Result<(), String>,
    ) -> Result<(), Stop> {
        // Too long for one line, the prompt goes on lines of its own and
        // the default after it.
        let shown = match default.is_empty() {
            true => format!("  {prompt}: "),
            false => format!("  {prompt} [{default}]: "),
        };
        let shown = match shown.chars().count() <= WIDTH {
            true => shown,
            false => format!("{}\n  [{default}]: ", fold(&format!("  {prompt}"))),
        };
        loop {
            write!(self.output, "{shown}")
                .and_then(|()| self.output.flush())
                .map_err(Stop::Terminal)?;
            let Some(line) = self.line()? else {
                self.say("")?;
                return Err(Stop::EndOfInput);
            };
            let reason = match String::from_utf8(line) {
                Err(_) => "that is not valid UTF-8 text".to_string(),
                Ok(text) if text.chars().any(char::is_control) => {
                    "that contains control characters (arrow keys and the like are not understood here)".to_string()
                }
                Ok(text) => {
                    let answer = match text.trim() {
                        "" => default,
                        answer => answer,
                    };
                    match check(answer) {
                        Ok(()) => return Ok(()),
                        Err(reason) => reason,
                    }
                }
            };
            self.say(&format!("    {reason}; try again."))?;
        }
    }

    /// Asks until the answer is y, yes, n or no (any case); Enter takes
    /// `default`, shown as `[Y/n]` or `[y/N]`.
    fn yes_no(&mut self, question: &str, default: bool) -> Result<bool, Stop> {
        let shown = match default {
            true => "Y/n",
            false => "y/N",
        };
        self.ask(question, shown, |answer| {
            match answer.to_ascii_lowercase().as_str() {
                "y" | "yes" => Ok(true),
                "n" | "no" => Ok(false),
                _ if answer == shown => Ok(default),
                _ => Err("answer y or n".to_string()),
            }
        })
    }

    /// Reads a password with the terminal's echo off; the line ending is
    /// removed, nothing else (spaces are part of a password).
    fn password(&mut self, host: &mut dyn Host, prompt: &str) -> Result<String, Stop> {
        loop {
            // Echo goes off before the prompt, so that nothing typed after
            // the prompt appears can be echoed.
            host.echo(false).map_err(Stop::Terminal)?;
            let shown = write!(self.output, "  {prompt}: ").and_then(|()| self.output.flush());
            let line = shown.map_err(Stop::Terminal).and_then(|()| self.line());
            let restored = host.echo(true).map_err(Stop::Terminal);
            let line = line?;
            restored?;
            self.say("")?;
            let Some(line) = line else {
                return Err(Stop::EndOfInput);
            };
            match String::from_utf8(line) {
                Ok(password) => return Ok(password),
                Err(_) => self.say("    that is not valid UTF-8 text; try again.")?,
            }
        }
    }
}

/// `text` with each line longer than [`WIDTH`] folded at spaces, the
/// folded parts indented two more than the line. A word longer than a line
/// stays whole.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (number, line) in text.split('\n').enumerate() {
        if number > 0 {
            out.push('\n');
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let mut width = 0;
        for word in line.trim_start_matches(' ').split(' ') {
            let length = word.chars().count();
            if width == 0 {
                out.push_str(&line[..indent]);
                width = indent;
            } else if width + 1 + length > WIDTH {
                out.push('\n');
                out.push_str(&line[..indent]);
                out.push_str("  ");
                width = indent + 2;
            } else {
                out.push(' ');
                width += 1;
            }
            out.push_str(word);
            width += length;
        }
    }
    out
}

fn check_port(answer: &str) -> Result<u16, String> {
    match answer.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!(
            "{answer:?} is not a port: give a number from 1 to 65535"
        )),
    }
}

fn check_host(answer: &str) -> Result<String, String> {
    let bare = answer
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(answer);
    if bare.parse::<std::net::IpAddr>().is_ok() || acl::is_host_name(bare) {
        return Ok(bare.to_string());
    }
    Err(format!(
        "{answer:?} is not an IP address (192.168.88.1, fd00::1) or a host name (router.lan)"
    ))
}

fn check_text(answer: &str) -> Result<String, String> {
    match answer.is_empty() {
        true => Err("this cannot be empty".to_string()),
        false => Ok(answer.to_string()),
    }
}

fn check_path(answer: &str) -> Result<String, String> {
    if !answer.starts_with('/') {
        return Err(format!(
            "{answer:?} is not an absolute path (one that starts with /)"
        ));
    }
    if answer.len() > 1 && answer.ends_with('/') {
        return Err(format!("{answer:?} ends with /; give the name without it"));
    }
    Ok(answer.to_string())
}

/// Interface names, separated by commas, each once.
fn names(answer: &str) -> Result<Vec<String>, String> {
    let mut chosen: Vec<String> = Vec::new();
    for name in answer.split(',').map(str::trim) {
        if !name.is_empty() && !chosen.iter().any(|c| c == name) {
            chosen.push(name.to_string());
        }
    }
    match chosen.is_empty() {
        true => Err("give at least one interface name".to_string()),
        false => Ok(chosen),
    }
}

/// Interfaces from the numbered list, by number or name.
fn pick(answer: &str, list: &[Interface]) -> Result<Vec<String>, String> {
    let mut chosen: Vec<String> = Vec::new();
    for item in names(answer)? {
        let found = match item.parse::<usize>() {
            Ok(number) => number.checked_sub(1).and_then(|index| list.get(index)),
            Err(_) => list.iter().find(|i| i.name == item),
        };
        let Some(interface) = found else {
            return Err(format!(
                "the router has no interface {item:?}; give numbers from 1 to {} or names from the list",
                list.len()
            ));
        };
        if !chosen.contains(&interface.name) {
            chosen.push(interface.name.clone());
        }
    }
    Ok(chosen)
}

/// The connection test (the wizard's and the settings page's): connects,
/// logs in and lists the router's interfaces, each step within
/// `login.timeout`.
pub fn list_interfaces(login: Login<'_>) -> Result<Vec<Interface>, client::Error> {
    let options = client::Options {
        connect_timeout: login.timeout,
        io_timeout: login.timeout,
    };
    let mut client = Client::connect(login.host, login.port, options)?;
    client.login(login.user, login.password)?;
    let interfaces = client.interfaces()?;
    client.quit();
    Ok(interfaces)
}

/// Whether standard input and standard output are both terminals, as the
/// wizard needs.
pub fn terminal_available() -> bool {
    io::stdin().is_terminal() && io::stdout().is_terminal()
}

/// The real [`Host`].
pub struct System {
    /// Set once the config file has been written.
    written: Arc<AtomicBool>,
}

impl Host for System {
    fn echo(&mut self, on: bool) -> io::Result<()> {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let stdin = io::stdin();
        let mut modes = tcgetattr(&stdin)?;
        modes.local_modes.set(LocalModes::ECHO, on);
        tcsetattr(&stdin, OptionalActions::Now, &modes)?;
        Ok(())
    }

    fn interfaces(&mut self, login: Login<'_>) -> Result<Vec<Interface>, client::Error> {
        list_interfaces(login)
    }

    fn save(&mut self, path: &Path, document: &Document) -> Result<(), String> {
        let text = config::render(document)
            .map_err(|e| format!("cannot turn the answers into TOML ({e}); nothing was written"))?;
        config::parse(&text, path).map_err(|e| {
            format!("the daemon would refuse these answers ({e}); nothing was written")
        })?;
        if let Some(directory) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(directory).map_err(|e| cannot_write(path, &e.to_string()))?;
        }
        config::save(path, &text).map_err(|e| cannot_write(path, &e.to_string()))?;
        self.written.store(true, Ordering::SeqCst);
        config::load(path).map(drop).map_err(|e| {
            format!(
                "{} was written, but the daemon refuses it: {e}",
                path.display()
            )
        })
    }

    fn service_available(&mut self) -> bool {
        rustix::process::geteuid().is_root()
            && Path::new("/run/systemd/system").is_dir()
            && UNIT_PATHS.iter().any(|unit| Path::new(unit).exists())
    }

    fn enable_service(&mut self) -> Result<(), String> {
        let status = std::process::Command::new("systemctl")
            .args(["enable", "--now", "mt-trafmon"])
            .status()
            .map_err(|e| format!("cannot run systemctl: {e}"))?;
        match status.success() {
            true => Ok(()),
            false => Err(format!("systemctl enable --now mt-trafmon: {status}")),
        }
    }

    fn service_state(&mut self) -> ServiceState {
        if !Path::new("/run/systemd/system").is_dir()
            || !UNIT_PATHS.iter().any(|unit| Path::new(unit).exists())
        {
            return ServiceState::Absent;
        }
        let says_yes = |verb: &str| {
            std::process::Command::new("systemctl")
                .args([verb, "--quiet", "mt-trafmon"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        };
        match (says_yes("is-active"), says_yes("is-enabled")) {
            (true, _) => ServiceState::Running,
            (false, true) => ServiceState::Enabled,
            (false, false) => ServiceState::Disabled,
        }
    }

    fn machine(&mut self, data_dir: &Path, files: &[PathBuf]) -> Machine {
        let new_files = files
            .iter()
            .filter(|file| !matches!(file.try_exists(), Ok(true)))
            .count();
        Machine {
            new_files: new_files as u64,
            free_disk: data_dir
                .ancestors()
                .find(|directory| directory.is_dir())
                .and_then(|directory| store::free_bytes(directory).ok()),
            available_memory: Some(store::available_memory().bytes),
        }
    }

    fn addresses(&mut self) -> Vec<IpAddr> {
        let read = |path: &str| {
            let mut text = String::new();
            let file = std::fs::File::open(path);
            // Both files are a few KB; the limit only bounds a surprise.
            let read = file.and_then(|f| f.take(1 << 20).read_to_string(&mut text));
            read.map(|_| text).unwrap_or_default()
        };
        let mut addresses: Vec<IpAddr> = local_ipv4(&read("/proc/net/fib_trie"))
            .into_iter()
            .map(IpAddr::V4)
            .collect();
        addresses.extend(
            local_ipv6(&read("/proc/net/if_inet6"))
                .into_iter()
                .map(IpAddr::V6),
        );
        addresses
    }
}

/// This machine's own IPv4 addresses, from the text of `/proc/net/fib_trie`
/// (each `/32 host LOCAL` route, under the address it is for).
fn local_ipv4(fib_trie: &str) -> Vec<std::net::Ipv4Addr> {
    let mut addresses = Vec::new();
    let mut last = None;
    for line in fib_trie.lines() {
        let line = line.trim();
        if let Some(address) = line.strip_prefix("|-- ") {
            last = address.parse().ok();
        } else if line == "/32 host LOCAL" {
            if let Some(address) = last.filter(|a| !addresses.contains(a)) {
                addresses.push(address);
            }
        }
    }
    addresses
}

/// This machine's IPv6 addresses, from the text of `/proc/net/if_inet6`
/// (the first field of each line, 32 hexadecimal digits).
fn local_ipv6(if_inet6: &str) -> Vec<std::net::Ipv6Addr> {
    if_inet6
        .lines()
        .filter_map(|line| {
            let hex = line.split_whitespace().next()?;
            let bits = u128::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.len() == 32)?;
            Some(std::net::Ipv6Addr::from(bits))
        })
        .collect()
}

fn cannot_write(path: &Path, reason: &str) -> String {
    format!(
        "cannot write {}: {reason}; run the wizard as root (sudo mt-trafmon -s) or give another file with --config PATH",
        path.display()
    )
}

/// The wizard at this process's terminal: reads the file at `path` for the
/// defaults, runs the dialogue on standard input and output, and on Ctrl-C
/// (or SIGTERM) restores the terminal, says whether anything was written
/// and ends the process by that signal. Call it only when
/// [`terminal_available`].
pub fn run_terminal(path: &Path) -> Result<Outcome, Stop> {
    let key = secret::machine_key();
    let (document, found) = match std::fs::read_to_string(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => (Document::default(), Found::New),
        Err(e) => {
            return Err(Stop::File(format!(
                "cannot read {}: {e}; run the wizard as root (sudo mt-trafmon -s) or give another file with --config PATH",
                path.display()
            )));
        }
        Ok(text) => match config::document(&text, path) {
            Ok(document) => (document, Found::Existing),
            Err(e) => {
                let why = match e {
                    config::Error::Parse { message, .. } => message,
                    other => other.to_string(),
                };
                (Document::default(), Found::Unusable(why))
            }
        },
    };
    let directory = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if directory.is_dir() {
        if let Err(e) = rustix::fs::access(directory, rustix::fs::Access::WRITE_OK) {
            return Err(Stop::File(cannot_write(
                path,
                &io::Error::from(e).to_string(),
            )));
        }
    }
    let password = document.router.first().and_then(|router| {
        match (&router.password, &router.password_file) {
            (Some(stored), None) if stored.starts_with(secret::PREFIX) => {
                secret::deobfuscate(&key, stored).ok()
            }
            (Some(stored), None) => Some(stored.clone()),
            (None, Some(file)) => std::fs::read_to_string(directory.join(file))
                .ok()
                .map(|text| text.trim_end_matches(['\r', '\n']).to_string()),
            _ => None,
        }
    });
    let start = Start {
        document,
        password,
        found,
        key,
    };

    let mut start = Some(start);
    let mut outcome = None;
    at_terminal(path, &mut |input, output, system| {
        let start = start.take().ok_or(Stop::NotSaved)?;
        outcome = Some(run(input, output, system, path, start)?);
        Ok(())
    })?;
    outcome.ok_or(Stop::NotSaved)
}

/// A dialogue [`at_terminal`] runs: over the terminal's input and output,
/// with the real host.
type Dialogue<'a> =
    dyn FnMut(&mut dyn BufRead, &mut dyn Write, &mut System) -> Result<(), Stop> + 'a;

/// Runs `dialogue` on this process's terminal with a [`System`] host; on
/// Ctrl-C (or SIGTERM) restores the terminal, says whether the file at
/// `path` was already written and ends the process by that signal.
/// (Not generic, so that its thread is compiled once.)
fn at_terminal(path: &Path, dialogue: &mut Dialogue<'_>) -> Result<(), Stop> {
    let stdin = io::stdin();
    let saved = rustix::termios::tcgetattr(&stdin).map_err(|e| Stop::Terminal(e.into()))?;
    let written = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    // The number of the signal that came, 0 for none.
    let received = Arc::new(AtomicUsize::new(0));
    let mut handlers = Vec::new();
    for signal in [SIGINT, SIGTERM] {
        let handler = signal_hook::flag::register_usize(signal, received.clone(), signal as usize);
        handlers.push(handler.map_err(Stop::Terminal)?);
    }
    // The main thread may be blocked reading the terminal (the signal
    // handler restarts the read), so a thread of its own acts on Ctrl-C
    // (and SIGTERM): the echo back on, a word on what was written, then the
    // signal's own ending.
    let watcher = {
        let (written, finished, path) = (written.clone(), finished.clone(), path.to_path_buf());
        thread::spawn(move || {
            while !finished.load(Ordering::SeqCst) {
                let signal = received.load(Ordering::SeqCst) as i32;
                if signal != 0 {
                    let _ = rustix::termios::tcsetattr(
                        io::stdin(),
                        rustix::termios::OptionalActions::Now,
                        &saved,
                    );
                    let what = match written.load(Ordering::SeqCst) {
                        true => format!("the config was already written to {}", path.display()),
                        false => "nothing was written".to_string(),
                    };
                    eprintln!("\n  Interrupted: {what}.");
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                    std::process::exit(128 + signal);
                }
                thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let mut system = System { written };
    let result = dialogue(&mut stdin.lock(), &mut io::stdout(), &mut system);
    finished.store(true, Ordering::SeqCst);
    for handler in handlers {
        signal_hook::low_level::unregister(handler);
    }
    let _ = watcher.join();
    result
}

/// `mt-trafmon passwd`: sets the settings page's admin password in the
/// config file at `path` (which must be one the daemon accepts), asked
/// twice without echo, stored as a salted hash ([`auth::new_hash`]); the
/// rest of the file's values are kept (its comments are not).
pub fn passwd_terminal(path: &Path) -> Result<(), Stop> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Stop::File(format!(
            "cannot read {}: {e}; set the router up first with `sudo mt-trafmon -s`, or give the file with --config PATH",
            path.display()
        ))
    })?;
    let document = config::document(&text, path).map_err(|e| Stop::File(e.to_string()))?;
    let mut document = Some(document);
    at_terminal(path, &mut |input, output, system| {
        let document = document.take().ok_or(Stop::NotSaved)?;
        passwd(input, output, system, path, document)
    })
}

/// The dialogue of `mt-trafmon passwd` over any input and output (see
/// [`passwd_terminal`]).
pub fn passwd(
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    host: &mut dyn Host,
    path: &Path,
    mut document: Document,
) -> Result<(), Stop> {
    let mut talk = Talk { input, output };
    talk.say(&format!(
        "  The settings page's admin password, stored as a salted hash in {}.",
        path.display()
    ))?;
    let Some(hash) = admin_password(&mut talk, host, false)? else {
        return Err(Stop::NotSaved);
    };
    document.web.admin_password = Some(hash);
    host.save(path, &document).map_err(Stop::File)?;
    talk.say("  Saved; a running daemon uses it within a few seconds.")
}

/// The wizard's question for the settings page's admin password, which
/// Enter skips (keeping the one set, if any); not asked when the page is
/// off.
fn settings_password(
    talk: &mut Talk<'_>,
    host: &mut dyn Host,
    web: &mut WebSection,
) -> Result<(), Stop> {
    if web.settings == Some(false) {
        return Ok(());
    }
    talk.say(match web.admin_password.is_some() {
        true => "  The settings page (/setup) has an admin password: type a new one, or press Enter to keep it.",
        false => "  With an admin password, these settings can be changed in the browser (/setup); without one the page changes nothing (mt-trafmon passwd sets one later).",
    })?;
    if let Some(hash) = admin_password(talk, host, true)? {
        web.admin_password = Some(hash);
    }
    Ok(())
}

/// Asks for a new admin password of the settings page, twice, without
/// echo; returns its hash ([`auth::new_hash`]), or `None` when `optional`
/// and the answer is empty.
fn admin_password(
    talk: &mut Talk<'_>,
    host: &mut dyn Host,
    optional: bool,
) -> Result<Option<String>, Stop> {
    let prompt = match optional {
        true => "Admin password (not shown; Enter to skip)",
        false => "Admin password (not shown)",
    };
    loop {
        let password = talk.password(host, prompt)?;
        if password.is_empty() && optional {
            return Ok(None);
        }
        if password.chars().count() < MIN_ADMIN_PASSWORD {
            talk.say(&format!(
                "    use at least {MIN_ADMIN_PASSWORD} characters; try again."
            ))?;
            continue;
        }
        if talk.password(host, "The same again")? != password {
            talk.say("    the two differ; try again.")?;
            continue;
        }
        return auth::new_hash(&password)
            .map(Some)
            .map_err(|e| Stop::File(format!("cannot make a random salt: {e}")));
    }
}

/// The shortest admin password accepted.
pub const MIN_ADMIN_PASSWORD: usize = 8;

#[cfg(test)]
mod tests;
