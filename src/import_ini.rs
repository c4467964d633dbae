//! The importer for the original's `mt-trafmon.ini`: reads it exactly as
//! the original did (Python's `configparser` with its defaults, overlaid on
//! the original's default values) and writes a TOML config for this
//! program that keeps using the existing RRD file, with notes on what could
//! not be carried over or was changed (`docs/original.md`, sections 5 and
//! 6).
//!
//! The `configparser` rules reproduced here: lines end at `\n`, `\r\n` or
//! `\r`; `#` and `;` start full-line comments (also indented; no inline
//! comments); `[name]` opens a section (names are case-sensitive, the text
//! runs to the last `]`); a key ends at the first `=` or `:`; keys are
//! lower-cased; a line indented deeper than its key line continues the
//! value, and blank lines inside a value are kept (trailing ones dropped);
//! a duplicate section or key, a line before any section, or a line that is
//! none of these is an error; `[DEFAULT]` supplies fallbacks for every
//! section. Values are interpolated when read, as Python's `get` does:
//! `%%` is `%`, `%(key)s` is another key of the section (or `[DEFAULT]`),
//! up to 10 levels deep; any other `%` is an error naming the key (the
//! original stopped with a traceback), not a crash. Only the keys the
//! original reads are interpolated, so a bad `%` elsewhere is harmless, as
//! it was. One deliberate difference: a leading UTF-8 byte order mark is
//! skipped (Python would have stopped at it).
//!
//! [`import`] is pure: the ini text, the ini's path (the original's script
//! directory, for the default RRD file), the working directory (for a
//! relative `rrd_file`) and the machine's [`Key`] in, an [`Import`] out.
//! [`run`] reads the file and the machine id around it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::acl;
use crate::config::{
    self, Document, InterfaceSection, RouterSection, Source, StorageSection, Theme, WebSection,
};
use crate::secret::{self, Key, is_python_space};

/// The original's default allow-list (`DEFAULT_ALLOW`).
pub const ORIGINAL_ALLOW: &str = "127.0.0.1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16";

/// The original's default values, overlaid by the file (`DEFAULTS`); the
/// default `rrd_file`, which depends on where the script was, is added by
/// [`import`].
const DEFAULTS: [(&str, &[(&str, &str)]); 3] = [
    (
        "router",
        &[
            ("host", "192.168.88.1"),
            ("user", "admin"),
            ("password", ""),
            ("password_plain", ""),
            ("interface", "ether1"),
        ],
    ),
    ("storage", &[]),
    (
        "web",
        &[
            ("enabled", "true"),
            ("port", "8080"),
            ("page_title", "MikroTik Traffic Monitor"),
            ("allow", ORIGINAL_ALLOW),
            ("dark_graph", "true"),
        ],
    ),
];

/// How deep `%(key)s` references may nest (`MAX_INTERPOLATION_DEPTH`).
const MAX_DEPTH: usize = 10;

/// What the import produced.
#[derive(Debug)]
pub struct Import {
    /// What could not be carried over, was changed, or needs checking; one
    /// sentence each.
    pub notes: Vec<String>,
    /// The RRD file the imported interface writes, if the ini named one.
    pub rrd: Option<PathBuf>,
    source: PathBuf,
    file: Document,
}

impl Import {
    /// The TOML config: a comment naming the source and listing the notes,
    /// then the settings. (The importer's values always fit in TOML; the
    /// error is passed on rather than hidden.)
    pub fn toml(&self) -> Result<String, String> {
        let mut text = format!(
            "# Imported from {} by `mt-trafmon import-ini`.\n",
            self.source.display()
        );
        if !self.notes.is_empty() {
            text.push_str("# Notes from the import:\n");
            for note in &self.notes {
                text.push_str("# - ");
                text.push_str(note);
                text.push('\n');
            }
        }
        text.push('\n');
        text.push_str(&config::render(&self.file)?);
        Ok(comment_safe(text))
    }
}

/// Why an ini file could not be imported.
#[derive(Debug)]
pub enum Error {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not UTF-8 text (the original could not read it either).
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// A line `configparser` rejects; the original stopped at startup.
    Syntax {
        /// The line, counting from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A value that cannot be read or used.
    Value {
        /// The section.
        section: String,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Error::NotUtf8 { path } => write!(f, "{} is not UTF-8 text", path.display()),
            Error::Syntax { line, message } => write!(f, "line {line}: {message}"),
            Error::Value {
                section,
                key,
                message,
            } => write!(f, "[{section}] {key}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// Reads the ini at `ini_path` and this machine's id (the original's
/// paths and fallbacks), imports it with `cwd` as the original's working
/// directory, and notes when the RRD file it names does not exist.
pub fn run(ini_path: &Path, cwd: &Path) -> Result<Import, Error> {
    let bytes = std::fs::read(ini_path).map_err(|source| Error::Io {
        path: ini_path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| Error::NotUtf8 {
        path: ini_path.to_path_buf(),
    })?;
    // The script directory (default RRD file) is where the ini is, wherever
    // `cwd` points.
    let ini_path = std::path::absolute(ini_path).unwrap_or_else(|_| ini_path.to_path_buf());
    let mut import = import(&text, &ini_path, cwd, &secret::machine_key())?;
    if let Some(rrd) = &import.rrd {
        match rrd.try_exists() {
            Ok(true) => {}
            Ok(false) => import.notes.push(format!(
                "the RRD file {} does not exist; a new one will be created there",
                rrd.display()
            )),
            Err(e) => import.notes.push(format!(
                "the RRD file {} cannot be checked: {e}",
                rrd.display()
            )),
        }
    }
    Ok(import)
}

/// Imports ini `text` read from `ini_path`; `cwd` stands for the
/// original's working directory and `key` for this machine's key.
pub fn import(text: &str, ini_path: &Path, cwd: &Path, key: &Key) -> Result<Import, Error> {
    let script_dir = match ini_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => cwd.join(dir),
        _ => cwd.to_path_buf(),
    };
    let default_rrd = script_dir.join("traffic.rrd");
    let ini = Ini::parse(text, &default_rrd.to_string_lossy())?;
    let mut notes = Vec::new();
    ini.note_unread(&mut notes);

    let host = ini.single_line("router", "host")?;
    let user = ini.single_line("router", "user")?;
    let password = password(&ini, key, &mut notes)?;
    let interface = ini.single_line("router", "interface")?;
    for (name, value) in [("host", &host), ("interface", &interface)] {
        if value.is_empty() {
            return Err(ini.invalid("router", name, "is empty"));
        }
    }
    for (name, default) in [
        ("host", "192.168.88.1"),
        ("user", "admin"),
        ("interface", "ether1"),
    ] {
        if !ini.in_file("router", name) {
            notes.push(format!(
                "[router] has no {name}; the original's default {default:?} is used"
            ));
        }
    }
    let rrd = rrd_file(&ini, cwd, &mut notes)?;

    let enabled = python_bool(&ini.get("web", "enabled")?);
    let port = port(&ini.get("web", "port")?, &mut notes);
    let title = ini.get("web", "page_title")?;
    let allow = allow(&ini.get("web", "allow")?, &mut notes);
    let dark = python_bool(&ini.get("web", "dark_graph")?);
    let theme = if dark { Theme::Dark } else { Theme::Classic };
    if ini.in_file("web", "dark_graph") {
        notes.push(format!(
            "[web] dark_graph = {:?} (the graph's background) became theme = {:?}",
            ini.raw("web", "dark_graph").unwrap_or_default(),
            theme.name()
        ));
    }
    notes.push(
        "the original served IPv4 only (0.0.0.0); this program listens on :: (IPv6 and IPv4) unless [web] listen says otherwise"
            .into(),
    );
    notes.push(
        "the original read the router's monitor-traffic rates; the import reads the interface byte counters (source = \"counters\": same bit/s in the same file, exact volume); set source = \"monitor-traffic\" to keep the original's method"
            .into(),
    );

    let rrd_text = match &rrd {
        Some(path) => Some(
            path.to_str()
                .ok_or_else(|| {
                    ini.invalid(
                        "storage",
                        "rrd_file",
                        &format!(
                            "{} is not UTF-8 and cannot be written to TOML",
                            path.display()
                        ),
                    )
                })?
                .to_string(),
        ),
        None => None,
    };
    let file = Document {
        storage: StorageSection::default(),
        router: vec![RouterSection {
            host,
            user,
            password,
            source: Some(Source::Counters),
            interface: vec![InterfaceSection {
                name: interface,
                rrd: rrd_text.map(PathBuf::from),
                ..InterfaceSection::default()
            }],
            ..RouterSection::default()
        }],
        web: WebSection {
            enabled: Some(enabled),
            port: Some(port),
            title: Some(title),
            theme: Some(theme),
            allow,
            ..WebSection::default()
        },
    };
    Ok(Import {
        notes,
        rrd,
        source: ini_path.to_path_buf(),
        file,
    })
}

/// The password as the original chose it (`get_password`): `password_plain`
/// stripped if not blank, else `password` through [`secret::deobfuscate`].
/// An `xor:` password is written back obfuscated with the same key, a plain
/// one as plain text; one that cannot be decoded, or none, is left out.
fn password(ini: &Ini, key: &Key, notes: &mut Vec<String>) -> Result<Option<String>, Error> {
    let plain = ini.single_line("router", "password_plain")?;
    let plain = plain.trim_matches(is_python_space);
    if !plain.is_empty() {
        notes.push(
            "the password comes from [router] password_plain (it takes priority, as in the original) and is written as plain text"
                .into(),
        );
        return Ok(Some(plain.to_string()));
    }
    // Not `single_line`: base64 split over continuation lines decodes, as
    // Python skips the line ends.
    let stored = ini.get("router", "password")?;
    let obfuscated = stored.starts_with(secret::PREFIX);
    if !obfuscated && stored.contains('\n') {
        return Err(ini.invalid(
            "router",
            "password",
            "spans several lines: a line indented deeper than the key's line continues its value",
        ));
    }
    let password = match secret::deobfuscate(key, &stored) {
        Ok(password) => password,
        Err(error) => {
            notes.push(format!(
                "[router] password cannot be read back: {error}; the original would have sent the stored text itself as the password; set password in [[router]] (or put the password in password_plain and import again)"
            ));
            return Ok(None);
        }
    };
    if password.trim_matches(is_python_space).is_empty() {
        notes.push(
            "the ini holds no password (the original would have asked for one); set password in [[router]]"
                .into(),
        );
        return Ok(None);
    }
    if obfuscated {
        Ok(Some(secret::obfuscate(key, &password)))
    } else {
        notes
            .push("[router] password is plain text in the ini and is written as plain text".into());
        Ok(Some(password))
    }
}

/// `rrd_file`: absolute as written, relative against `cwd` (the original
/// handed the path to librrd, which opened it in the working directory).
fn rrd_file(ini: &Ini, cwd: &Path, notes: &mut Vec<String>) -> Result<Option<PathBuf>, Error> {
    let value = ini.single_line("storage", "rrd_file")?;
    if value.is_empty() {
        notes.push(
            "[storage] rrd_file is empty (the original could not write anywhere); the file will be created in the data directory"
                .into(),
        );
        return Ok(None);
    }
    let written = Path::new(&value);
    if !ini.in_file("storage", "rrd_file") {
        notes.push(format!(
            "[storage] has no rrd_file; the original used traffic.rrd next to the script, taken to be {value}"
        ));
    } else if written.is_relative() {
        notes.push(format!(
            "[storage] rrd_file {value:?} is relative: the original opened it in its own working directory, taken to be {} (so the file is {}); check",
            cwd.display(),
            cwd.join(written).display()
        ));
        if value.starts_with('~') {
            notes.push(
                "[storage] rrd_file starts with ~, which the original did not expand (a directory named ~)".into(),
            );
        }
    }
    // `components` drops `.` and doubled slashes; `..` stays (symbolic links).
    Ok(Some(cwd.join(written).components().collect()))
}

/// The port as `validate_port` took it: Python's `int()`, 8080 if that
/// fails (silently) or the number is outside 1..=65535 (with a warning).
fn port(value: &str, notes: &mut Vec<String>) -> u16 {
    match python_int(value) {
        Some(port) if (1..=65535).contains(&port) => port as u16,
        Some(_) => {
            notes.push(format!(
                "[web] port {value:?} is out of range; the original used 8080 (with a warning), and so does the import"
            ));
            8080
        }
        None => {
            notes.push(format!(
                "[web] port {value:?} is not a number; the original used 8080 without a word, and so does the import"
            ));
            8080
        }
    }
}

/// The allow-list as `parse_acl` read it: comma-separated, stripped, empty
/// entries skipped; an entry with `/` is a network (host bits allowed) or,
/// if invalid, dropped with a warning; anything else an address or a host
/// name. The original's default list is left out, so this program's
/// default (the same ranges, plus their IPv6 counterparts) applies.
fn allow(value: &str, notes: &mut Vec<String>) -> Option<Vec<String>> {
    let mut entries = Vec::new();
    for entry in value.split(',') {
        let entry = entry.trim_matches(is_python_space);
        if entry.is_empty() {
            continue;
        }
        if entry.contains('/') {
            let Some(net) = python_network(entry) else {
                notes.push(format!(
                    "[web] allow entry {entry:?} is not a network; the original ignored it (with a warning), and so does the import"
                ));
                continue;
            };
            if entry.parse::<acl::Entry>().is_ok() {
                entries.push(entry.to_string());
            } else {
                notes.push(format!("[web] allow entry {entry:?} is written as {net}"));
                entries.push(net.to_string());
            }
        } else if entry.parse::<acl::Entry>().is_ok() {
            entries.push(entry.to_string());
        } else {
            notes.push(format!(
                "[web] allow entry {entry:?} is neither an address nor a host name; dropped (the original's look-up of it could only fail)"
            ));
        }
    }
    let original: Vec<&str> = ORIGINAL_ALLOW.split(", ").collect();
    if entries == original {
        notes.push(
            "[web] allow is the original's default list; left out, so this program's default applies: the same ranges plus 127.0.0.0/8, ::1 and the private and link-local IPv6 ranges"
                .into(),
        );
        return None;
    }
    if entries.is_empty() {
        notes.push("[web] allow is empty: every client is refused, as in the original".into());
    }
    Some(entries)
}

/// `ipaddress.ip_network(entry, strict=False)`: an address, one `/`, then
/// a prefix length in ASCII digits or, for IPv4, a netmask or host mask in
/// dotted form.
fn python_network(entry: &str) -> Option<ipnet::IpNet> {
    use std::net::{IpAddr, Ipv4Addr};
    let (address, prefix) = entry.split_once('/')?;
    let address: IpAddr = address.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let length = if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) {
        let digits = prefix.trim_start_matches('0');
        if digits.len() > 3 {
            return None;
        }
        digits.parse::<u32>().unwrap_or(0)
    } else if address.is_ipv4() {
        let mask = u32::from(prefix.parse::<Ipv4Addr>().ok()?);
        if mask.leading_ones() + mask.trailing_zeros() == 32 {
            mask.leading_ones()
        } else if mask.leading_zeros() + mask.trailing_ones() == 32 {
            mask.leading_zeros()
        } else {
            return None;
        }
    } else {
        return None;
    };
    let length = u8::try_from(length).ok().filter(|&l| l <= max)?;
    ipnet::IpNet::new(address, length)
        .ok()
        .map(|net| net.trunc())
}

/// The original's boolean rule: false only for `false`, `0` or `no`
/// (stripped, any case); anything else, `off` included, is true.
fn python_bool(value: &str) -> bool {
    let value = value.trim_matches(is_python_space).to_lowercase();
    !matches!(value.as_str(), "false" | "0" | "no")
}

/// Python's `int(text)` for ASCII text: surrounding white space, one sign,
/// digits with single `_` between them. Values beyond `i64` saturate (they
/// are out of any port's range anyway). Python also accepts non-ASCII
/// decimal digits (`８０８０`); they count as not a number here.
fn python_int(text: &str) -> Option<i64> {
    let text = text.trim_matches(is_python_space);
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let mut value: i64 = 0;
    for byte in digits.bytes().filter(|&b| b != b'_') {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value
            .saturating_mul(10)
            .saturating_add(i64::from(byte - b'0'));
    }
    Some(if negative { -value } else { value })
}

/// Replaces characters a TOML file may not hold (controls other than tab
/// and line ends) so that user text in the notes cannot break the file.
fn comment_safe(text: String) -> String {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\t' && c != '\n')
    {
        return text;
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' && c != '\n' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// A parsed ini file: the original's defaults with the file laid over them.
#[derive(Debug)]
struct Ini {
    /// `[DEFAULT]`: fallbacks for every section.
    defaults: Vec<Entry>,
    sections: Vec<Section>,
}

#[derive(Debug)]
struct Section {
    name: String,
    /// Where the file opened it, if it did.
    line: Option<usize>,
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    key: String,
    /// The value's lines, joined when the file has been read.
    lines: Vec<String>,
    value: String,
    /// Where the file set it, if it did.
    line: Option<usize>,
}

/// Which section lines go to.
#[derive(Clone, Copy)]
enum Target {
    Default,
    Section(usize),
}

impl Ini {
    /// `configparser.read` over the original's defaults (`default_rrd` is
    /// the default `rrd_file`).
    fn parse(text: &str, default_rrd: &str) -> Result<Ini, Error> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut ini = Ini {
            defaults: Vec::new(),
            sections: DEFAULTS
                .iter()
                .map(|(name, values)| Section {
                    name: name.to_string(),
                    line: None,
                    entries: values
                        .iter()
                        .map(|(k, v)| Entry::default_value(k, v))
                        .collect(),
                })
                .collect(),
        };
        ini.sections[1]
            .entries
            .push(Entry::default_value("rrd_file", default_rrd));

        let mut target: Option<Target> = None;
        let mut option: Option<usize> = None;
        let mut indent_level = 0;
        for (index, line) in python_lines(text).enumerate() {
            let number = index + 1;
            let value = line.trim_matches(is_python_space);
            if value.starts_with('#') || value.starts_with(';') {
                continue;
            }
            if value.is_empty() {
                if let (Some(target), Some(option)) = (target, option) {
                    ini.entries_mut(target)[option].lines.push(String::new());
                }
                continue;
            }
            let indent = line.chars().take_while(|&c| is_python_space(c)).count();
            if let (Some(target), Some(option)) = (target, option) {
                if indent > indent_level {
                    ini.entries_mut(target)[option]
                        .lines
                        .push(value.to_string());
                    continue;
                }
            }
            indent_level = indent;
            if let Some(name) = section_header(value) {
                target = Some(ini.open_section(name, number)?);
                option = None;
                continue;
            }
            let Some(current) = target else {
                return Err(Error::Syntax {
                    line: number,
                    message: format!("{value:?} comes before the first [section]"),
                });
            };
            let Some(at) = value.find(['=', ':']) else {
                return Err(Error::Syntax {
                    line: number,
                    message: format!("{value:?} is not `key = value`"),
                });
            };
            let key = value[..at].trim_end_matches(is_python_space).to_lowercase();
            if key.is_empty() {
                return Err(Error::Syntax {
                    line: number,
                    message: format!("{value:?} has no key before the {:?}", &value[at..=at]),
                });
            }
            let text = value[at + 1..].trim_matches(is_python_space).to_string();
            let section_name = match current {
                Target::Default => "DEFAULT".to_string(),
                Target::Section(s) => ini.sections[s].name.clone(),
            };
            let entries = ini.entries_mut(current);
            let position = match entries.iter().position(|e| e.key == key) {
                Some(p) => {
                    if let Some(first) = entries[p].line {
                        return Err(Error::Syntax {
                            line: number,
                            message: format!(
                                "[{section_name}] {key} is set again (first on line {first})"
                            ),
                        });
                    }
                    entries[p] = Entry::from_file(key, text, number);
                    p
                }
                None => {
                    entries.push(Entry::from_file(key, text, number));
                    entries.len() - 1
                }
            };
            option = Some(position);
        }
        for entry in ini
            .defaults
            .iter_mut()
            .chain(ini.sections.iter_mut().flat_map(|s| s.entries.iter_mut()))
        {
            if entry.line.is_some() {
                let joined = entry.lines.join("\n");
                entry.value = joined.trim_end_matches(is_python_space).to_string();
            }
        }
        Ok(ini)
    }

    fn open_section(&mut self, name: &str, line: usize) -> Result<Target, Error> {
        if name == "DEFAULT" {
            return Ok(Target::Default);
        }
        match self.sections.iter().position(|s| s.name == name) {
            Some(s) => {
                if let Some(first) = self.sections[s].line {
                    return Err(Error::Syntax {
                        line,
                        message: format!(
                            "section [{name}] is opened again (first on line {first})"
                        ),
                    });
                }
                self.sections[s].line = Some(line);
                Ok(Target::Section(s))
            }
            None => {
                self.sections.push(Section {
                    name: name.to_string(),
                    line: Some(line),
                    entries: Vec::new(),
                });
                Ok(Target::Section(self.sections.len() - 1))
            }
        }
    }

    fn entries_mut(&mut self, target: Target) -> &mut Vec<Entry> {
        match target {
            Target::Default => &mut self.defaults,
            Target::Section(s) => &mut self.sections[s].entries,
        }
    }

    fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The value before interpolation: the section's, else `[DEFAULT]`'s.
    fn raw(&self, section: &str, key: &str) -> Option<&str> {
        self.section(section)
            .and_then(|s| s.entries.iter().find(|e| e.key == key))
            .or_else(|| self.defaults.iter().find(|e| e.key == key))
            .map(|e| e.value.as_str())
    }

    fn in_file(&self, section: &str, key: &str) -> bool {
        self.section(section)
            .and_then(|s| s.entries.iter().find(|e| e.key == key))
            .is_some_and(|e| e.line.is_some())
    }

    /// `get(section, key)`: the interpolated value. Every key asked for has
    /// a default.
    fn get(&self, section: &str, key: &str) -> Result<String, Error> {
        let raw = self.raw(section, key).unwrap_or_default();
        let mut out = String::new();
        self.interpolate(section, key, raw, 1, &mut out)?;
        Ok(out)
    }

    /// [`Ini::get`] for values that must fit on one line (names, paths,
    /// passwords).
    fn single_line(&self, section: &str, key: &str) -> Result<String, Error> {
        let value = self.get(section, key)?;
        if value.contains('\n') {
            return Err(self.invalid(
                section,
                key,
                "spans several lines: a line indented deeper than the key's line continues its value",
            ));
        }
        Ok(value)
    }

    /// `BasicInterpolation._interpolate_some`.
    fn interpolate(
        &self,
        section: &str,
        key: &str,
        value: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Err(self.invalid(
                section,
                key,
                &format!("%(…)s references nest deeper than {MAX_DEPTH} levels (a loop?)"),
            ));
        }
        let mut rest = value;
        while let Some(at) = rest.find('%') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            if let Some(after) = rest.strip_prefix("%%") {
                out.push('%');
                rest = after;
            } else if let Some(after) = rest.strip_prefix("%(") {
                let name = after
                    .find(')')
                    .filter(|&end| end > 0 && after[end + 1..].starts_with('s'))
                    .map(|end| (&after[..end], &after[end + 2..]));
                let Some((name, after)) = name else {
                    return Err(self.invalid(
                        section,
                        key,
                        &format!("bad %(name)s reference in {rest:?}; write %% for a literal %"),
                    ));
                };
                let name = name.to_lowercase();
                let Some(referred) = self.raw(section, &name) else {
                    return Err(self.invalid(
                        section,
                        key,
                        &format!("%({name})s names no key of [{section}] or [DEFAULT]"),
                    ));
                };
                if referred.contains('%') {
                    self.interpolate(section, key, referred, depth + 1, out)?;
                } else {
                    out.push_str(referred);
                }
                rest = after;
            } else {
                return Err(self.invalid(
                    section,
                    key,
                    &format!(
                        "'%' must be followed by '%' or '(' (found {rest:?}); the original stopped with an error reading this value; write %% for a literal %"
                    ),
                ));
            }
        }
        out.push_str(rest);
        Ok(())
    }

    fn invalid(&self, section: &str, key: &str, message: &str) -> Error {
        Error::Value {
            section: section.to_string(),
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    /// Notes for sections and keys of the file that the original never read.
    fn note_unread(&self, notes: &mut Vec<String>) {
        for section in self.sections.iter().filter(|s| s.line.is_some()) {
            let known = DEFAULTS
                .iter()
                .find(|(name, _)| *name == section.name)
                .map(|(_, values)| values);
            let Some(known) = known else {
                let hint = if DEFAULTS
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(&section.name))
                {
                    " (section names are case-sensitive)"
                } else {
                    ""
                };
                notes.push(format!(
                    "section [{}] is not one the original read{hint}; ignored",
                    section.name
                ));
                continue;
            };
            for entry in section.entries.iter().filter(|e| e.line.is_some()) {
                let read = known.iter().any(|(k, _)| *k == entry.key)
                    || (section.name == "storage" && entry.key == "rrd_file");
                if !read {
                    notes.push(format!(
                        "[{}] {} is not a key the original read; ignored",
                        section.name, entry.key
                    ));
                }
            }
        }
    }
}

impl Entry {
    fn default_value(key: &str, value: &str) -> Entry {
        Entry {
            key: key.to_string(),
            lines: Vec::new(),
            value: value.to_string(),
            line: None,
        }
    }

    fn from_file(key: String, first: String, line: usize) -> Entry {
        Entry {
            key,
            lines: vec![first],
            value: String::new(),
            line: Some(line),
        }
    }
}

/// The lines of `text` as Python's text mode splits them: at `\n`, `\r\n`
/// and `\r`, without the line ends; no empty line after a final line end.
fn python_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(end) = rest.find(['\n', '\r']) else {
            return Some(std::mem::take(&mut rest));
        };
        let line = &rest[..end];
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];
        Some(line)
    })
}

/// `SECTCRE`: `[`, then at least one character, up to the last `]`.
fn section_header(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('[')?;
    let end = inner.rfind(']')?;
    (end > 0).then(|| &inner[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const INI_PATH: &str = "/opt/mt-trafmon/mt-trafmon.ini";
    const CWD: &str = "/srv/run";

    /// Modelled on the original's ini (`docs/original.md`, section 5): comments (one indented), mixed
    /// case keys, a `:` separator, an `xor:` password, an empty
    /// `password_plain`, a relative `rrd_file`, `%%`, a `%(key)s` reference
    /// to `[DEFAULT]`, a value continued on an indented line after which a
    /// blank line stays inside the value, and `[DEFAULT]` last.
    const SAMPLE: &str = "\
# mt-trafmon settings, edited by hand
[router]
Host: 192.0.2.1
USER = monitor
  ; the password below was written by the original
password = xor:TdTeMfwz
password_plain = 
interface = ether2

[storage]
rrd_file = data/./traffic.rrd

[web]
enabled = yes
port = 18080
page_title = %(Site)s: 100%% up
allow = 127.0.0.1, 10.0.0.0/8,
    192.168.1.5/24, nas.lan

dark_graph = false

[DEFAULT]
site = Home
";

    fn key() -> Key {
        Key::from_machine_id("0123456789abcdef0123456789abcdef\n")
    }

    fn check(text: &str) -> Result<Import, Error> {
        import(text, Path::new(INI_PATH), Path::new(CWD), &key())
    }

    /// The daemon reads what the importer writes, with the same values.
    #[test]
    fn the_daemon_reads_the_output() {
        let import = check(
            "[router]\nhost = 192.0.2.7\nuser = mon\npassword_plain = p%%w\ninterface = ether5\n\
             [storage]\nrrd_file = data/t.rrd\n[web]\nport = 8081\npage_title = Home\n\
             dark_graph = no\nallow = 10.0.0.0/8, host.lan\n",
        )
        .unwrap();
        let config = config::parse(&import.toml().unwrap(), Path::new("imported.toml")).unwrap();
        let router = &config.routers[0];
        assert_eq!(
            (router.host.as_str(), router.user.as_str()),
            ("192.0.2.7", "mon")
        );
        assert_eq!(router.password, "p%w");
        assert_eq!(router.interfaces[0].name, "ether5");
        assert_eq!(router.interfaces[0].rrd, Path::new(CWD).join("data/t.rrd"));
        assert_eq!((config.web.port, config.web.theme), (8081, Theme::Classic));
        assert_eq!(config.web.title, "Home");
        assert_eq!(config.web.allow.hosts(), ["host.lan"]);
    }

    /// The import's TOML, parsed back generically.
    fn parsed(import: &Import) -> toml::Table {
        let text = import.toml().unwrap();
        text.parse::<toml::Table>()
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn router(table: &toml::Table) -> &toml::Table {
        table["router"].as_array().unwrap()[0].as_table().unwrap()
    }

    fn web(table: &toml::Table) -> &toml::Table {
        table["web"].as_table().unwrap()
    }

    fn interface(table: &toml::Table) -> &toml::Table {
        router(table)["interface"].as_array().unwrap()[0]
            .as_table()
            .unwrap()
    }

    fn strings(value: &toml::Value) -> Vec<&str> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect()
    }

    fn has_note(import: &Import, words: &[&str]) -> bool {
        import
            .notes
            .iter()
            .any(|note| words.iter().all(|w| note.contains(w)))
    }

    fn value_error(text: &str) -> (String, String, String) {
        match check(text) {
            Err(Error::Value {
                section,
                key,
                message,
            }) => (section, key, message),
            other => panic!("{other:?}"),
        }
    }

    fn syntax_error(text: &str) -> usize {
        match check(text) {
            Err(Error::Syntax { line, .. }) => line,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_sample() {
        let import = check(SAMPLE).unwrap();
        let table = parsed(&import);
        let r = router(&table);
        assert_eq!(r["host"].as_str(), Some("192.0.2.1"));
        assert_eq!(r["user"].as_str(), Some("monitor"));
        assert_eq!(r["password"].as_str(), Some("xor:TdTeMfwz"));
        assert_eq!(r["source"].as_str(), Some("counters"));
        assert!(r.get("port").is_none(), "the API port stays 8728");
        let i = interface(&table);
        assert_eq!(i["name"].as_str(), Some("ether2"));
        assert_eq!(i["rrd"].as_str(), Some("/srv/run/data/traffic.rrd"));
        assert_eq!(
            import.rrd.as_deref(),
            Some(Path::new("/srv/run/data/traffic.rrd"))
        );
        let w = web(&table);
        assert_eq!(w["enabled"].as_bool(), Some(true));
        assert_eq!(w["port"].as_integer(), Some(18080));
        assert_eq!(w["title"].as_str(), Some("Home: 100% up"));
        assert_eq!(w["theme"].as_str(), Some("classic"));
        assert_eq!(
            strings(&w["allow"]),
            ["127.0.0.1", "10.0.0.0/8", "192.168.1.5/24", "nas.lan"]
        );
        assert!(table.get("storage").is_none());
        assert!(has_note(&import, &["relative", "/srv/run"]));
        assert!(has_note(&import, &["dark_graph", "classic"]));
        assert!(has_note(&import, &["monitor-traffic"]));
        assert!(has_note(&import, &["IPv4 only"]));
        // The notes open the file as comments.
        let text = import.toml().unwrap();
        assert!(text.starts_with("# Imported from /opt/mt-trafmon/mt-trafmon.ini"));
        assert!(text.contains("\n# - [web] dark_graph"), "{text}");
    }

    #[test]
    fn missing_sections_and_keys_take_the_originals_defaults() {
        let import = check("[router]\npassword_plain = pw\n").unwrap();
        let table = parsed(&import);
        let r = router(&table);
        assert_eq!(r["host"].as_str(), Some("192.168.88.1"));
        assert_eq!(r["user"].as_str(), Some("admin"));
        assert_eq!(r["password"].as_str(), Some("pw"));
        let i = interface(&table);
        assert_eq!(i["name"].as_str(), Some("ether1"));
        // The default file is next to the script, i.e. next to the ini.
        assert_eq!(i["rrd"].as_str(), Some("/opt/mt-trafmon/traffic.rrd"));
        let w = web(&table);
        assert_eq!(w["enabled"].as_bool(), Some(true));
        assert_eq!(w["port"].as_integer(), Some(8080));
        assert_eq!(w["title"].as_str(), Some("MikroTik Traffic Monitor"));
        assert_eq!(w["theme"].as_str(), Some("dark"));
        assert!(w.get("allow").is_none(), "the default list is left out");
        assert!(has_note(&import, &["allow", "default"]));
        for key in ["host", "user", "interface", "rrd_file"] {
            assert!(has_note(&import, &["has no", key]), "{key}");
        }

        // An empty file: also no password.
        let import = check("").unwrap();
        let table = parsed(&import);
        assert!(router(&table).get("password").is_none());
        assert!(has_note(&import, &["no password"]));

        // A relative ini path: the script directory is under the cwd.
        let import = import_at("[router]\n", "etc/mt-trafmon.ini");
        assert_eq!(
            import.rrd.as_deref(),
            Some(Path::new("/srv/run/etc/traffic.rrd"))
        );
        let import = import_at("[router]\n", "mt-trafmon.ini");
        assert_eq!(
            import.rrd.as_deref(),
            Some(Path::new("/srv/run/traffic.rrd"))
        );
    }

    fn import_at(text: &str, ini_path: &str) -> Import {
        import(text, Path::new(ini_path), Path::new(CWD), &key()).unwrap()
    }

    #[test]
    fn rrd_file_paths() {
        let rrd = |value: &str| {
            check(&format!("[storage]\nrrd_file = {value}\n"))
                .unwrap()
                .rrd
                .map(|p| p.display().to_string())
        };
        assert_eq!(rrd("/var/lib/x.rrd").as_deref(), Some("/var/lib/x.rrd"));
        assert_eq!(rrd("traffic.rrd").as_deref(), Some("/srv/run/traffic.rrd"));
        // `..` stays (it is resolved through symbolic links, as the original's was).
        assert_eq!(rrd("./a/../b.rrd").as_deref(), Some("/srv/run/a/../b.rrd"));
        assert_eq!(rrd("~/x.rrd").as_deref(), Some("/srv/run/~/x.rrd"));
        let import = check("[storage]\nrrd_file = ~/x.rrd\n").unwrap();
        assert!(has_note(&import, &["~", "expand"]));
        // An empty value: no file, the data directory's default name.
        let import = check("[storage]\nrrd_file =\n").unwrap();
        assert_eq!(import.rrd, None);
        assert!(interface(&parsed(&import)).get("rrd").is_none());
        assert!(has_note(&import, &["rrd_file is empty"]));
        // An absolute path is taken without a note.
        let import = check("[storage]\nrrd_file = /x.rrd\n").unwrap();
        assert!(!has_note(&import, &["rrd_file"]), "{:?}", import.notes);
    }

    #[test]
    fn password_plain_wins_and_is_stripped() {
        // password_plain takes priority; the password is not even read, so
        // its bad `%` does not matter (as in the original).
        let import = check("[router]\npassword = 5%\npassword_plain = plain\n").unwrap();
        assert_eq!(router(&parsed(&import))["password"].as_str(), Some("plain"));
        assert!(has_note(&import, &["password_plain", "plain text"]));
        // Blank after interpolation counts as blank: the xor: password is used.
        let import = check(
            "[DEFAULT]\nblank = \n[router]\npassword = xor:TdTeMfwz\npassword_plain = %(blank)s\n",
        )
        .unwrap();
        assert_eq!(
            router(&parsed(&import))["password"].as_str(),
            Some("xor:TdTeMfwz")
        );
        // Stripping: white space (Python's, \x1c included) around it goes.
        let import =
            check("[DEFAULT]\nsp = \u{1c}\n[router]\npassword_plain = %(sp)s pw %(sp)s\n").unwrap();
        assert_eq!(router(&parsed(&import))["password"].as_str(), Some("pw"));
    }

    #[test]
    fn passwords() {
        let password = |text: &str| {
            let import = check(text).unwrap();
            let password = router(&parsed(&import))
                .get("password")
                .map(|p| p.as_str().unwrap().to_string());
            (password, import.notes)
        };
        // Plain stays plain.
        let (p, notes) = password("[router]\npassword = hunter2\n");
        assert_eq!(p.as_deref(), Some("hunter2"));
        assert!(notes.iter().any(|n| n.contains("plain text")), "{notes:?}");
        // xor: is re-obfuscated with the same key: junk Python skipped is gone.
        let (p, _) = password("[router]\npassword = xor:TdTe MfwZ\n");
        let reread = secret::deobfuscate(&key(), p.as_deref().unwrap()).unwrap();
        assert_eq!(secret::deobfuscate(&key(), "xor:TdTeMfwZ").unwrap(), reread);
        assert_eq!(
            p.as_deref(),
            Some(secret::obfuscate(&key(), &reread).as_str())
        );
        // Base64 split over a continuation line decodes (line ends are skipped).
        let (p, _) = password("[router]\npassword = xor:TdTe\n  Mfwz\n");
        assert_eq!(p.as_deref(), Some("xor:TdTeMfwz"));
        // Written on another machine: not readable here, left out with a note.
        let elsewhere = Key::from_machine_id("3d1219c7c4c5404aaa1f6d2a48adfda4");
        let stored = secret::obfuscate(&elsewhere, &"é".repeat(8));
        let (p, notes) = password(&format!("[router]\npassword = {stored}\n"));
        assert_eq!(p, None);
        assert!(
            notes.iter().any(|n| n.contains("another machine")),
            "{notes:?}"
        );
        let (p, notes) = password("[router]\npassword = xor:QQ=\n");
        assert_eq!(p, None);
        assert!(
            notes.iter().any(|n| n.contains("Incorrect padding")),
            "{notes:?}"
        );
        // `xor:` alone is an empty password: none.
        let (p, notes) = password("[router]\npassword = xor:\n");
        assert_eq!(p, None);
        assert!(notes.iter().any(|n| n.contains("no password")), "{notes:?}");
    }

    #[test]
    fn the_machine_key_decides_what_is_read() {
        // The same ini under the fallback key: xor:QhBmLLl6 is "secret".
        let text = "[router]\npassword = xor:QhBmLLl6\n";
        let fallback = Key::from_machine_id("");
        let import = import(text, Path::new(INI_PATH), Path::new(CWD), &fallback).unwrap();
        assert_eq!(
            router(&parsed(&import))["password"].as_str(),
            Some("xor:QhBmLLl6")
        );
        assert!(
            import.notes.iter().all(|n| !n.contains("password")),
            "{:?}",
            import.notes
        );
        // Under another key the same value is not "secret": either other
        // text, written back as it was, or no text at all, left out.
        let import = check(text).unwrap();
        let written = router(&parsed(&import))
            .get("password")
            .map(|p| p.as_str().unwrap().to_string());
        match secret::deobfuscate(&key(), "xor:QhBmLLl6") {
            Ok(other) => {
                assert_ne!(other, "secret");
                assert_eq!(written.as_deref(), Some("xor:QhBmLLl6"));
            }
            Err(_) => {
                assert_eq!(written, None);
                assert!(has_note(&import, &["password cannot be read back"]));
            }
        }
    }

    #[test]
    fn interpolation() {
        let title = |text: &str| {
            let import = check(&format!("[DEFAULT]\nd = D\n[web]\n{text}\n")).unwrap();
            web(&parsed(&import))["title"].as_str().unwrap().to_string()
        };
        assert_eq!(title("page_title = 100%%"), "100%");
        assert_eq!(title("page_title = %%(x)s"), "%(x)s");
        assert_eq!(title("page_title = %(D)s"), "D");
        assert_eq!(title("page_title = %(port)s\nport = 81"), "81");
        // A reference to a key the file leaves at its default.
        assert_eq!(title("page_title = on %(port)s"), "on 8080");
        // Nested references, each interpolated in turn.
        assert_eq!(
            title("page_title = <%(a)s>\na = %(b)s%%\nb = %(d)s"),
            "<D%>"
        );

        let (section, key, message) = value_error("[web]\npage_title = 100% sure\n");
        assert_eq!((section.as_str(), key.as_str()), ("web", "page_title"));
        assert!(message.contains("%%"), "{message}");
        for bad in ["50%", "%", "%(x", "%()s", "%(x)d"] {
            let (_, key, _) = value_error(&format!("[router]\nhost = {bad}\n"));
            assert_eq!(key, "host", "{bad}");
        }
        let (_, key, message) = value_error("[web]\nallow = %(nowhere)s\n");
        assert_eq!(key, "allow");
        assert!(message.contains("nowhere"), "{message}");
        // A loop ends in an error, not a stack overflow.
        let (_, key, message) = value_error("[web]\npage_title = %(a)s\na = %(page_title)s\n");
        assert_eq!(key, "page_title");
        assert!(message.contains("10"), "{message}");
        // A bad `%` in a key the original never read does no harm.
        assert!(check("[web]\nnotes = 100%\n[other]\nx = %\n").is_ok());
    }

    #[test]
    fn ports() {
        let port = |value: &str| {
            let import = check(&format!("[web]\nport = {value}\n")).unwrap();
            let port = web(&parsed(&import))["port"].as_integer().unwrap();
            let noted = has_note(&import, &["[web] port"]);
            (port, noted)
        };
        assert_eq!(port("18080"), (18080, false));
        // Python's int(): sign, leading zeros, underscores between digits.
        assert_eq!(port("+09_000"), (9000, false));
        assert_eq!(port("1"), (1, false));
        assert_eq!(port("65535"), (65535, false));
        // No inline comments: the whole text is the value, not a number.
        for bad in [
            "9000 ; x", "80.0", "_80", "80_", "8__0", "0x50", "", "- 80", "８０",
        ] {
            // (Python's int() reads ８０, full-width digits, as 80: the one
            // known difference, documented at `python_int`.)
            let import = check(&format!("[web]\nport = {bad}\n")).unwrap();
            assert_eq!(
                web(&parsed(&import))["port"].as_integer(),
                Some(8080),
                "{bad}"
            );
            assert!(has_note(&import, &["not a number"]), "{bad}");
        }
        for out in ["0", "65536", "-80", "99999999999999999999999"] {
            let import = check(&format!("[web]\nport = {out}\n")).unwrap();
            assert_eq!(
                web(&parsed(&import))["port"].as_integer(),
                Some(8080),
                "{out}"
            );
            assert!(has_note(&import, &["out of range"]), "{out}");
        }
    }

    #[test]
    fn booleans() {
        let flags = |value: &str| {
            let import =
                check(&format!("[web]\nenabled = {value}\ndark_graph = {value}\n")).unwrap();
            let table = parsed(&import);
            let web = web(&table);
            (
                web["enabled"].as_bool().unwrap(),
                web["theme"].as_str().unwrap().to_string(),
            )
        };
        for falsy in ["false", "FALSE", "0", "no", "No"] {
            assert_eq!(flags(falsy), (false, "classic".into()), "{falsy}");
        }
        for truthy in ["true", "off", "n", "", "1", "yes", "nein"] {
            assert_eq!(flags(truthy), (true, "dark".into()), "{truthy}");
        }
    }

    #[test]
    fn allow_lists() {
        let allow = |value: &str| {
            let import = check(&format!("[web]\nallow = {value}\n")).unwrap();
            let allow = web(&parsed(&import))
                .get("allow")
                .map(|a| strings(a).iter().map(|s| s.to_string()).collect::<Vec<_>>());
            (allow, import.notes)
        };
        // The default list, however spaced, is left out.
        let (list, _) = allow("127.0.0.1,10.0.0.0/8 ,  172.16.0.0/12,192.168.0.0/16,");
        assert_eq!(list, None);
        // Empty denies all, as in the original.
        let (list, notes) = allow("");
        assert_eq!(list, Some(vec![]));
        assert!(notes.iter().any(|n| n.contains("refused")), "{notes:?}");
        // Netmask and host-mask forms (Python accepts them) become prefixes;
        // host bits stay as written where this program reads them.
        let (list, _) =
            allow("10.1.2.3/255.255.0.0, 10.0.0.0/0.0.0.255, 192.168.1.5/24, ::1, fd00::/8");
        assert_eq!(
            list.unwrap(),
            [
                "10.1.0.0/16",
                "10.0.0.0/24",
                "192.168.1.5/24",
                "::1",
                "fd00::/8"
            ]
        );
        // Invalid networks are dropped (the original warned); so are
        // entries that are no address and no host name.
        let (list, notes) =
            allow("10.0.0.0/33, 10.0.0.0/8/9, 10.0.0.0/255.0.255.0, fd00::/ffff::, a b, host.lan");
        assert_eq!(list.unwrap(), ["host.lan"]);
        assert_eq!(
            notes.iter().filter(|n| n.contains("allow entry")).count(),
            5,
            "{notes:?}"
        );
    }

    #[test]
    fn configparser_syntax() {
        // Names are case-insensitive for keys, sensitive for sections.
        let import = check("[Router]\nhost = 10.9.9.9\n[router]\nHOST = 10.0.0.1\n").unwrap();
        assert_eq!(router(&parsed(&import))["host"].as_str(), Some("10.0.0.1"));
        assert!(has_note(&import, &["[Router]", "case-sensitive"]));
        // The first `=` or `:` ends the key; no inline comments; `#` in a value stays.
        let import = check("[web]\npage_title = a:b=c # d\n[router]\nhost : h=1\n").unwrap();
        let table = parsed(&import);
        assert_eq!(web(&table)["title"].as_str(), Some("a:b=c # d"));
        assert_eq!(router(&table)["host"].as_str(), Some("h=1"));
        // Continuation: deeper than the key's line; blank lines inside kept,
        // trailing ones dropped; comments skipped; a line at the key's own
        // indentation starts a new key; an indented section header is one.
        let import = check(
            "[web]\n  page_title = a\n\n    # skipped\n    b\n\n\n  port = 81\n  [router]\n  host = h\n",
        )
        .unwrap();
        let table = parsed(&import);
        assert_eq!(web(&table)["title"].as_str(), Some("a\n\nb"));
        assert_eq!(web(&table)["port"].as_integer(), Some(81));
        assert_eq!(router(&table)["host"].as_str(), Some("h"));
        // The section name runs to the last `]`.
        let import = check("[web] trailing ]\nport = 1\n[web]\nport = 2\n").unwrap();
        assert_eq!(web(&parsed(&import))["port"].as_integer(), Some(2));
        assert!(has_note(
            &import,
            &["[web] trailing ", "not one the original read"]
        ));
        // \r\n and lone \r end lines too; a byte order mark is skipped.
        let import = check("\u{feff}[web]\r\nport = 82\rpage_title = t\r\n").unwrap();
        let table = parsed(&import);
        assert_eq!(web(&table)["port"].as_integer(), Some(82));
        assert_eq!(web(&table)["title"].as_str(), Some("t"));
        // Unknown keys are noted; [DEFAULT] may be opened twice.
        let import = check("[DEFAULT]\na = 1\n[router]\npasword = x\n[DEFAULT]\nb = 2\n").unwrap();
        assert!(has_note(&import, &["[router] pasword", "ignored"]));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        assert_eq!(syntax_error("host = x\n"), 1);
        assert_eq!(syntax_error("# c\n\n[router]\nhost\n"), 4);
        assert_eq!(syntax_error("[router]\n= x\n"), 2);
        assert_eq!(syntax_error("[router]\n: x\n"), 2);
        assert_eq!(syntax_error("[web]\n[]\n"), 2);
        assert_eq!(syntax_error("[web]\nport = 1\n[web]\n"), 3);
        assert_eq!(syntax_error("[web]\nport = 1\nPort = 2\n"), 3);
        assert_eq!(syntax_error("[DEFAULT]\na = 1\n[DEFAULT]\nA = 2\n"), 4);
        // A key after a duplicate is still in the same section for the check.
        let error = check("[router]\nhost = a\nhost = b\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("line 3") && error.contains("line 2"),
            "{error}"
        );
    }

    #[test]
    fn unusable_values() {
        let (section, key, _) = value_error("[router]\nhost =\n");
        assert_eq!((section.as_str(), key.as_str()), ("router", "host"));
        let (_, key, _) = value_error("[router]\ninterface =\n");
        assert_eq!(key, "interface");
        // An indented next line is part of the value, not a key of its own.
        let (_, key, message) = value_error("[router]\nhost = 10.0.0.1\n  user = bob\n");
        assert_eq!(key, "host");
        assert!(message.contains("several lines"), "{message}");
        let (_, key, _) = value_error("[router]\npassword = a\n  b\n");
        assert_eq!(key, "password");
    }

    #[test]
    fn toml_strings_are_escaped() {
        let import = check(
            "[router]\nhost = h\"\\x\nuser = 'u'\npassword_plain = p\"#\\n\n[web]\npage_title = \"quoted\" \\ \u{7}bell\n",
        )
        .unwrap();
        let table = parsed(&import);
        assert_eq!(router(&table)["host"].as_str(), Some("h\"\\x"));
        assert_eq!(router(&table)["user"].as_str(), Some("'u'"));
        assert_eq!(router(&table)["password"].as_str(), Some("p\"#\\n"));
        assert_eq!(
            web(&table)["title"].as_str(),
            Some("\"quoted\" \\ \u{7}bell")
        );
    }

    #[test]
    fn run_reads_the_file_and_notes_a_missing_rrd() {
        let dir = std::env::temp_dir().join(format!("mt-trafmon-import-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ini = dir.join("mt-trafmon.ini");
        std::fs::write(
            &ini,
            "[router]\npassword_plain = pw\n[storage]\nrrd_file = t.rrd\n",
        )
        .unwrap();
        let import = run(&ini, &dir).unwrap();
        assert_eq!(import.rrd, Some(dir.join("t.rrd")));
        assert!(
            !format!("{import:?}").contains("pw"),
            "Debug redacts the password"
        );
        assert!(has_note(&import, &["does not exist"]));
        std::fs::write(dir.join("t.rrd"), "").unwrap();
        let import = run(&ini, &dir).unwrap();
        assert!(!has_note(&import, &["does not exist"]));
        std::fs::write(&ini, b"[web]\npage_title = \xff\n").unwrap();
        assert!(matches!(run(&ini, &dir), Err(Error::NotUtf8 { .. })));
        let missing = dir.join("absent.ini");
        let error = run(&missing, &dir).unwrap_err().to_string();
        assert!(error.contains("absent.ini"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    proptest::proptest! {
        /// Any text made of the characters the parser cares about imports or
        /// fails with an error, and every import is valid TOML.
        #[test]
        fn never_panics(text in "[\\[\\]=:%()s#; \t\r\n\u{feff}\u{1c}\u{7}\"\\\\a-dwebrouthnp_0-9/.éx]{0,200}") {
            let text = format!("[web]\n{text}");
            if let Ok(import) = check(&text) {
                let toml = import.toml().unwrap();
                proptest::prop_assert!(toml.parse::<toml::Table>().is_ok(), "{}", toml);
            }
            let _ = check(&text[6..]);
        }
    }
}
