//! The config file's TOML without serde: [`read`] walks the parse tree of
//! `toml` (its "parse" feature: tables whose keys and values carry their
//! byte spans) into a [`Document`], and [`write`] emits a [`Document`] as
//! TOML text. Reading applies the rules the file has always had: an unknown
//! key or a wrong type is an error, every error names the key (such as
//! `router[0].interface[1].name`) with its line and column, integers are
//! range-checked, and text from the file is escaped before it is shown.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Document, InterfaceSection, RouterSection, Source, StorageSection, Theme, WebSection};
use crate::store::Profile;
use crate::text::escape;

/// What went wrong, with the line and column (and the key, if one).
type Result<T> = std::result::Result<T, String>;

/// `text` as a [`Document`]: TOML syntax, then the file's schema.
pub(super) fn read(text: &str) -> Result<Document> {
    let root = DeTable::parse(text).map_err(|e| {
        let place = e.span().map_or(String::new(), |span| {
            format!(" at {}", place(text, span.start))
        });
        format!("TOML parse error{place}: {}", escape(e.message()))
    })?;
    let mut file = Fields {
        text,
        at: String::new(),
        span: root.span(),
        table: root.into_inner(),
        error: None,
    };
    file.check(&["storage", "router", "web"]);
    let mut s = file.table("storage", &["data_dir", "profile"]);
    let storage = StorageSection {
        data_dir: s.path("data_dir"),
        profile: s.choice("profile", &Profile::ALL, Profile::name),
    };
    s.done()?;
    let mut router = Vec::new();
    for mut r in file.tables("router", ROUTER) {
        let mut interface = Vec::new();
        for mut i in r.tables("interface", INTERFACE) {
            interface.push(InterfaceSection {
                name: i.required("name"),
                label: i.string("label"),
                rrd: i.path("rrd"),
                billing_day: i.integer("billing_day"),
                quota: i.string("quota"),
                quota_direction: i.string("quota_direction"),
            });
            i.done()?;
        }
        router.push(RouterSection {
            name: r.string("name"),
            host: r.required("host"),
            port: r.integer("port"),
            user: r.required("user"),
            password: r.string("password"),
            password_file: r.path("password_file"),
            source: r.choice("source", &Source::ALL, Source::name),
            timeout: r.get("timeout", float),
            interface,
            billing_day: r.integer("billing_day"),
            quota: r.string("quota"),
            quota_direction: r.string("quota_direction"),
        });
        r.done()?;
    }
    let mut w = file.table("web", WEB);
    let web = WebSection {
        enabled: w.get("enabled", boolean),
        listen: w.get("listen", |v| {
            let text = string(v)?;
            text.parse::<IpAddr>()
                .map_err(|_| format!("{text:?} is not an IP address"))
        }),
        port: w.integer("port"),
        title: w.string("title"),
        theme: w.choice("theme", &Theme::ALL, Theme::name),
        allow: w.get("allow", strings),
        trusted_proxies: w.get("trusted_proxies", strings).unwrap_or_default(),
        hostnames: w.get("hostnames", strings).unwrap_or_default(),
        settings: w.get("settings", boolean),
        admin_password: w.string("admin_password"),
        timezone: w.string("timezone"),
    };
    w.done()?;
    file.done()?;
    Ok(Document {
        storage,
        router,
        web,
    })
}

/// The keys of `[[router]]`.
const ROUTER: &[&str] = &[
    "name",
    "host",
    "port",
    "user",
    "password",
    "password_file",
    "source",
    "timeout",
    "interface",
    "billing_day",
    "quota",
    "quota_direction",
];
/// The keys of `[[router.interface]]`.
const INTERFACE: &[&str] = &[
    "name",
    "label",
    "rrd",
    "billing_day",
    "quota",
    "quota_direction",
];
/// The keys of `[web]`.
const WEB: &[&str] = &[
    "enabled",
    "listen",
    "port",
    "title",
    "theme",
    "allow",
    "trusted_proxies",
    "hostnames",
    "settings",
    "admin_password",
    "timezone",
];

/// One table of the file: hands out its values by key, each checked for
/// its type. The first problem (an unknown key, a wrong type, a missing
/// key) is kept and [`Fields::done`] returns it; until then the getters
/// give `None` (or an empty string) in place of what was wrong, so that
/// reading has one error exit per table.
struct Fields<'i> {
    /// The whole file, for line numbers.
    text: &'i str,
    /// The table's key, such as `router[0]`; empty for the file itself.
    at: String,
    /// Where the table starts (its header).
    span: Range<usize>,
    /// What is left of it.
    table: DeTable<'i>,
    /// The first problem found.
    error: Option<String>,
}

impl<'i> Fields<'i> {
    /// Notes the first key (in the file's order) that is not among `known`.
    fn check(&mut self, known: &[&str]) {
        let unknown = (self.table.keys())
            .filter(|k| !known.contains(&k.get_ref().as_ref()))
            .min_by_key(|k| k.span().start)
            .map(|k| (escape(k.get_ref()).into_owned(), k.span().start));
        if let Some((name, at)) = unknown {
            let why = format!("unknown key; expected one of {}", known.join(", "));
            self.fail(&self.key(&name), at, &why);
        }
    }

    /// Keeps the problem `why` of `key` at byte `at`, unless one came first.
    fn fail(&mut self, key: &str, at: usize, why: &str) {
        if self.error.is_none() {
            self.error = Some(error(self.text, key, at, why));
        }
    }

    /// The first problem found in this table, if any.
    fn done(self) -> Result<()> {
        self.error.map_or(Ok(()), Err)
    }

    /// The full key of `name` in this table.
    fn key(&self, name: &str) -> String {
        match self.at.is_empty() {
            true => name.to_string(),
            false => format!("{}.{name}", self.at),
        }
    }

    /// `name`'s value, if the table has one, with its full key.
    fn take(&mut self, name: &str) -> Option<(String, Spanned<DeValue<'i>>)> {
        let value = self.table.remove(name)?;
        Some((self.key(name), value))
    }

    /// `name`'s value as `convert` reads it (its error says what was
    /// expected); `None` if the table has none or it is wrong.
    fn get<T>(&mut self, name: &str, convert: impl FnOnce(DeValue<'i>) -> Result<T>) -> Option<T> {
        let (key, value) = self.take(name)?;
        let start = value.span().start;
        convert(value.into_inner())
            .map_err(|why| self.fail(&key, start, &why))
            .ok()
    }

    fn string(&mut self, name: &str) -> Option<String> {
        self.get(name, string)
    }

    /// A string the table must have.
    fn required(&mut self, name: &str) -> String {
        let value = self.string(name);
        if value.is_none() {
            self.fail(&self.key(name), self.span.start, "missing");
        }
        value.unwrap_or_default()
    }

    fn path(&mut self, name: &str) -> Option<PathBuf> {
        self.get(name, |v| string(v).map(PathBuf::from))
    }

    /// An integer from 0 to 65535.
    fn integer(&mut self, name: &str) -> Option<u16> {
        self.get(name, |v| match v {
            DeValue::Integer(n) => u16::from_str_radix(n.as_str(), n.radix())
                .map_err(|_| format!("{} is out of range (0 to 65535)", n.as_str())),
            other => Err(expected("an integer", &other)),
        })
    }

    /// One of `all`, by its `name`.
    fn choice<T: Copy>(&mut self, key: &str, all: &[T], name: fn(T) -> &'static str) -> Option<T> {
        self.get(key, |v| {
            let text = string(v)?;
            match all.iter().copied().find(|&t| name(t) == text) {
                Some(found) => Ok(found),
                None => {
                    let names: Vec<&str> = all.iter().map(|&t| name(t)).collect();
                    Err(format!("{text:?} is not one of {}", names.join(", ")))
                }
            }
        })
    }

    /// The table `value` called `key`, with the `known` keys; empty (and
    /// the problem noted) if it is not a table.
    fn child(
        &mut self,
        key: String,
        value: Option<Spanned<DeValue<'i>>>,
        known: &[&str],
    ) -> Fields<'i> {
        let mut child = Fields {
            text: self.text,
            at: key,
            span: self.span.clone(),
            table: DeTable::new(),
            error: None,
        };
        if let Some(value) = value {
            child.span = value.span();
            match value.into_inner() {
                DeValue::Table(table) => child.table = table,
                other => self.fail(&child.at, child.span.start, &expected("a table", &other)),
            }
            child.check(known);
        }
        child
    }

    /// The table `name` with the `known` keys (empty if absent).
    fn table(&mut self, name: &str, known: &[&str]) -> Fields<'i> {
        let value = self.table.remove(name);
        self.child(self.key(name), value, known)
    }

    /// The array of tables `name` (`[[name]]`; empty if absent), with the
    /// `known` keys.
    fn tables(&mut self, name: &str, known: &[&str]) -> Vec<Fields<'i>> {
        let items = self.get(name, |v| match v {
            DeValue::Array(items) => Ok(items),
            other => Err(expected("an array of tables", &other)),
        });
        let key = self.key(name);
        (items.into_iter().flatten().enumerate())
            .map(|(n, item)| self.child(format!("{key}[{n}]"), Some(item), known))
            .collect()
    }
}

/// A string value.
fn string(value: DeValue<'_>) -> Result<String> {
    match value {
        DeValue::String(text) => Ok(text.into_owned()),
        other => Err(expected("a string", &other)),
    }
}

fn boolean(value: DeValue<'_>) -> Result<bool> {
    match value {
        DeValue::Boolean(b) => Ok(b),
        other => Err(expected("true or false", &other)),
    }
}

/// A number: a float or an integer.
fn float(value: DeValue<'_>) -> Result<f64> {
    let number = match &value {
        DeValue::Float(f) => f.as_str().parse().ok(),
        DeValue::Integer(n) => i64::from_str_radix(n.as_str(), n.radix())
            .ok()
            .map(|n| n as f64),
        _ => None,
    };
    number.ok_or_else(|| expected("a number", &value))
}

/// An array of strings.
fn strings(value: DeValue<'_>) -> Result<Vec<String>> {
    match value {
        DeValue::Array(items) => (items.into_iter())
            .map(|item| string(item.into_inner()))
            .collect(),
        other => Err(expected("an array of strings", &other)),
    }
}

fn expected(what: &str, found: &DeValue<'_>) -> String {
    format!("expected {what}, found {}", found.type_str())
}

/// An error at byte `at` of `text`, about `key`.
fn error(text: &str, key: &str, at: usize, why: &str) -> String {
    format!("{}: {key}: {why}", place(text, at))
}

/// `line L, column C` of byte `at` of `text` (both from 1; columns count
/// characters).
fn place(text: &str, at: usize) -> String {
    let before = text.as_bytes().get(..at).unwrap_or(text.as_bytes());
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |n| n + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = (before.iter().skip(start))
        .filter(|&&b| b & 0xc0 != 0x80)
        .count()
        + 1;
    format!("line {line}, column {column}")
}

/// `document` as TOML text: `[storage]`, each `[[router]]` with its
/// `[[router.interface]]`s, `[web]`; keys without a value and empty
/// sections are left out. Fails only on a value TOML cannot hold (a path
/// that is not UTF-8, a timeout that is not a finite number).
pub(super) fn write(document: &Document) -> Result<String> {
    let mut out = Out(String::new());
    let s = &document.storage;
    if !s.is_empty() {
        out.header("[storage]");
        out.line("data_dir", s.data_dir.as_deref().map(Item::Path))?;
        out.line("profile", s.profile.map(|p| Item::Text(p.name())))?;
    }
    for r in &document.router {
        out.header("[[router]]");
        out.line("name", r.name.as_deref().map(Item::Text))?;
        out.line("host", Some(Item::Text(&r.host)))?;
        out.line("port", r.port.map(Item::Integer))?;
        out.line("user", Some(Item::Text(&r.user)))?;
        out.line("password", r.password.as_deref().map(Item::Text))?;
        out.line("password_file", r.password_file.as_deref().map(Item::Path))?;
        out.line("source", r.source.map(|s| Item::Text(s.name())))?;
        out.line("timeout", r.timeout.map(Item::Float))?;
        out.line("billing_day", r.billing_day.map(Item::Integer))?;
        out.line("quota", r.quota.as_deref().map(Item::Text))?;
        out.line(
            "quota_direction",
            r.quota_direction.as_deref().map(Item::Text),
        )?;
        for i in &r.interface {
            out.header("[[router.interface]]");
            out.line("name", Some(Item::Text(&i.name)))?;
            out.line("label", i.label.as_deref().map(Item::Text))?;
            out.line("rrd", i.rrd.as_deref().map(Item::Path))?;
            out.line("billing_day", i.billing_day.map(Item::Integer))?;
            out.line("quota", i.quota.as_deref().map(Item::Text))?;
            out.line(
                "quota_direction",
                i.quota_direction.as_deref().map(Item::Text),
            )?;
        }
    }
    let w = &document.web;
    if !w.is_empty() {
        let listen = w.listen.map(|a| a.to_string());
        fn list(l: &[String]) -> Option<Item<'_>> {
            (!l.is_empty()).then_some(Item::List(l))
        }
        out.header("[web]");
        out.line("enabled", w.enabled.map(Item::Bool))?;
        out.line("listen", listen.as_deref().map(Item::Text))?;
        out.line("port", w.port.map(Item::Integer))?;
        out.line("title", w.title.as_deref().map(Item::Text))?;
        out.line("theme", w.theme.map(|t| Item::Text(t.name())))?;
        out.line("allow", w.allow.as_deref().map(Item::List))?;
        out.line("trusted_proxies", list(&w.trusted_proxies))?;
        out.line("hostnames", list(&w.hostnames))?;
        out.line("settings", w.settings.map(Item::Bool))?;
        out.line(
            "admin_password",
            w.admin_password.as_deref().map(Item::Text),
        )?;
        out.line("timezone", w.timezone.as_deref().map(Item::Text))?;
    }
    Ok(out.0)
}

/// A value to write.
enum Item<'a> {
    Text(&'a str),
    Path(&'a Path),
    Integer(u16),
    Float(f64),
    Bool(bool),
    List(&'a [String]),
}

/// TOML text being written.
struct Out(String);

impl Out {
    /// A table header, after a blank line unless it is the first line.
    fn header(&mut self, header: &str) {
        if !self.0.is_empty() {
            self.0.push('\n');
        }
        self.0.push_str(header);
        self.0.push('\n');
    }

    /// `key = value`, if there is a value.
    fn line(&mut self, key: &str, value: Option<Item<'_>>) -> Result<()> {
        let Some(value) = value else {
            return Ok(());
        };
        self.0.push_str(key);
        self.0.push_str(" = ");
        match value {
            Item::Text(text) => self.string(text),
            Item::Path(path) => match path.to_str() {
                Some(text) => self.string(text),
                None => return Err(format!("{key}: the path is not UTF-8")),
            },
            Item::Integer(n) => {
                let _ = write!(self.0, "{n}");
            }
            Item::Float(x) if x.is_finite() => {
                // The shortest text that reads back as the same number,
                // never an exponent; TOML wants a fraction.
                let text = crate::text::shortest(x);
                let fraction = if text.contains('.') { "" } else { ".0" };
                let _ = write!(self.0, "{text}{fraction}");
            }
            Item::Float(x) => {
                let x = crate::text::shortest(x);
                return Err(format!("{key}: {x} is not a finite number"));
            }
            Item::Bool(b) => {
                let _ = write!(self.0, "{b}");
            }
            Item::List(list) => {
                self.0.push('[');
                for (n, text) in list.iter().enumerate() {
                    if n > 0 {
                        self.0.push_str(", ");
                    }
                    self.string(text);
                }
                self.0.push(']');
            }
        }
        self.0.push('\n');
        Ok(())
    }

    /// `text` as a TOML basic string: `"`, `\` and control characters
    /// escaped, anything else as it is.
    fn string(&mut self, text: &str) {
        self.0.push('"');
        for c in text.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                '\n' => self.0.push_str("\\n"),
                '\t' => self.0.push_str("\\t"),
                '\r' => self.0.push_str("\\r"),
                c if c < ' ' || c == '\x7f' => {
                    let _ = write!(self.0, "\\u{:04X}", c as u32);
                }
                c => self.0.push(c),
            }
        }
        self.0.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn full() -> Document {
        let interface = |name: &str| InterfaceSection {
            name: name.into(),
            label: Some("WAN".into()),
            rrd: Some("/srv/wan.rrd".into()),
            billing_day: Some(3),
            quota: Some("5 GB".into()),
            quota_direction: Some("rx".into()),
        };
        Document {
            storage: StorageSection {
                data_dir: Some("/srv/rrd".into()),
                profile: Some(Profile::Compact),
            },
            router: vec![
                RouterSection {
                    name: Some("gw".into()),
                    host: "192.0.2.1".into(),
                    port: Some(8729),
                    user: "u".into(),
                    password: Some("p".into()),
                    password_file: Some("pass".into()),
                    source: Some(Source::MonitorTraffic),
                    timeout: Some(2.0),
                    interface: vec![interface("ether1"), interface("ether2")],
                    billing_day: Some(2),
                    quota: Some("1 GB".into()),
                    quota_direction: Some("tx".into()),
                },
                RouterSection {
                    host: "h".into(),
                    user: "v".into(),
                    ..RouterSection::default()
                },
            ],
            web: WebSection {
                enabled: Some(true),
                listen: Some("::1".parse().unwrap()),
                port: Some(8081),
                title: Some("Home".into()),
                theme: Some(Theme::Classic),
                allow: Some(Vec::new()),
                trusted_proxies: vec!["10.0.0.1".into(), "10.0.0.2".into()],
                hostnames: vec!["pi".into()],
                settings: Some(false),
                admin_password: Some("hash".into()),
                timezone: Some("UTC".into()),
            },
        }
    }

    /// The keys in the order the serde serializer wrote them (values
    /// first, then the tables below).
    #[test]
    fn every_key_in_order() {
        let text = write(&full()).unwrap();
        let interface = "[[router.interface]]\nname = \"ether1\"\nlabel = \"WAN\"\nrrd = \"/srv/wan.rrd\"\nbilling_day = 3\nquota = \"5 GB\"\nquota_direction = \"rx\"\n";
        let expected = format!(
            "[storage]\ndata_dir = \"/srv/rrd\"\nprofile = \"compact\"\n\n\
             [[router]]\nname = \"gw\"\nhost = \"192.0.2.1\"\nport = 8729\nuser = \"u\"\npassword = \"p\"\npassword_file = \"pass\"\nsource = \"monitor-traffic\"\ntimeout = 2.0\nbilling_day = 2\nquota = \"1 GB\"\nquota_direction = \"tx\"\n\n\
             {interface}\n{}\n\
             [[router]]\nhost = \"h\"\nuser = \"v\"\n\n\
             [web]\nenabled = true\nlisten = \"::1\"\nport = 8081\ntitle = \"Home\"\ntheme = \"classic\"\nallow = []\ntrusted_proxies = [\"10.0.0.1\", \"10.0.0.2\"]\nhostnames = [\"pi\"]\nsettings = false\nadmin_password = \"hash\"\ntimezone = \"UTC\"\n",
            interface.replace("ether1", "ether2")
        );
        assert_eq!(text, expected);
        assert_eq!(read(&text).unwrap(), full());
        assert_eq!(write(&Document::default()).unwrap(), "");
        let generic: toml::Table = text.parse().unwrap();
        assert_eq!(
            generic["router"][0]["interface"][1]["name"].as_str(),
            Some("ether2")
        );
    }

    #[test]
    fn what_toml_cannot_hold_is_an_error() {
        for timeout in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
            let mut document = full();
            document.router[0].timeout = Some(timeout);
            let error = write(&document).unwrap_err();
            assert!(error.contains("timeout"), "{error}");
        }
        let mut document = full();
        use std::os::unix::ffi::OsStrExt;
        document.storage.data_dir = Some(std::ffi::OsStr::from_bytes(b"/\xff").into());
        assert!(write(&document).unwrap_err().contains("data_dir"));
    }

    #[test]
    fn numbers_read_back_as_they_were() {
        for timeout in [0.1, 2.0, 600.0, 1e-7, 123456789.0, 1e300, 5e-324, -0.5, 0.0] {
            let document = Document {
                router: vec![RouterSection {
                    timeout: Some(timeout),
                    ..RouterSection::default()
                }],
                ..Document::default()
            };
            let text = write(&document).unwrap();
            assert_eq!(read(&text).unwrap(), document, "{text}");
        }
        let timeout = |value: &str| {
            let text = format!("[[router]]\nhost = \"h\"\nuser = \"u\"\ntimeout = {value}\n");
            read(&text).map(|d| d.router[0].timeout.unwrap())
        };
        assert_eq!(timeout("3"), Ok(3.0));
        assert_eq!(timeout("0x10"), Ok(16.0));
        assert_eq!(timeout("1_000.5"), Ok(1000.5));
        assert!(timeout("inf").unwrap().is_infinite(), "validate refuses it");
        assert!(
            timeout("\"3\"")
                .unwrap_err()
                .contains("expected a number, found string")
        );
    }

    /// Each error names the key, its line and its column.
    #[test]
    fn errors_name_key_line_and_column() {
        let base = "[[router]]\nhost = \"h\"\nuser = \"u\"\n[[router.interface]]\nname = \"a\"\n[[router.interface]]\nname = \"b\"\n";
        let error = |extra: &str| read(&format!("{base}{extra}")).unwrap_err();
        assert_eq!(
            error("nmae = \"x\"\n"),
            "line 8, column 1: router[0].interface[1].nmae: unknown key; expected one of name, label, rrd, billing_day, quota, quota_direction"
        );
        assert_eq!(
            error("billing_day = 70000\n"),
            "line 8, column 15: router[0].interface[1].billing_day: 70000 is out of range (0 to 65535)"
        );
        assert_eq!(
            error("billing_day = -1\n"),
            "line 8, column 15: router[0].interface[1].billing_day: -1 is out of range (0 to 65535)"
        );
        assert_eq!(
            error("label = 5\n"),
            "line 8, column 9: router[0].interface[1].label: expected a string, found integer"
        );
        assert_eq!(
            error("[web]\nport = \"80\"\n"),
            "line 9, column 8: web.port: expected an integer, found string"
        );
        assert_eq!(
            error("[web]\nsettings = 1\n"),
            "line 9, column 12: web.settings: expected true or false, found integer"
        );
        assert_eq!(
            error("[web]\nallow = [\"a\", 1]\n"),
            "line 9, column 9: web.allow: expected a string, found integer"
        );
        assert_eq!(
            error("[web]\nlisten = \"x\\u001b[2J\"\n"),
            "line 9, column 10: web.listen: \"x\\u{1b}[2J\" is not an IP address"
        );
        assert_eq!(
            error("[web]\ntheme = \"ünknown\"\n"),
            "line 9, column 9: web.theme: \"ünknown\" is not one of dark, classic"
        );
        assert_eq!(
            error("[storage]\n\"é\\u0007\" = 1\n"),
            "line 9, column 1: storage.é\\x07: unknown key; expected one of data_dir, profile"
        );
        assert_eq!(
            error("[extra]\n"),
            "line 8, column 2: extra: unknown key; expected one of storage, router, web"
        );
        assert_eq!(
            read("router = 5\n").unwrap_err(),
            "line 1, column 10: router: expected an array of tables, found integer"
        );
        assert_eq!(
            read("[[router]]\nhost = \"h\"\n").unwrap_err(),
            "line 1, column 1: router[0].user: missing"
        );
        assert_eq!(
            read("web = 1\n").unwrap_err(),
            "line 1, column 7: web: expected a table, found integer"
        );
        assert_eq!(
            read("x = 1\nx = 2\n").unwrap_err(),
            "TOML parse error at line 2, column 1: duplicate key"
        );
        assert_eq!(
            read("[[router]\n").unwrap_err(),
            "TOML parse error at line 1, column 10: unclosed array table, expected `]`"
        );
        // Inline tables and arrays of them are read the same.
        let inline = read("storage = { profile = \"compact\" }\nrouter = [{ host = \"h\", user = \"u\", interface = [{ name = \"e\" }] }]\n").unwrap();
        assert_eq!(inline.storage.profile, Some(Profile::Compact));
        assert_eq!(inline.router[0].interface[0].name, "e");
    }

    /// Text that TOML must escape, or that looks like TOML syntax.
    fn hostile() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            any::<char>().prop_map(String::from),
            (0u8..0x20).prop_map(|b| char::from(b).to_string()),
            Just("\u{7f}".to_string()),
            Just("\"\"\"".to_string()),
            Just("'''".to_string()),
            Just("\\".to_string()),
            Just("\\u0041".to_string()),
            Just("\r\n".to_string()),
            Just("é✓\u{2028}\u{feff}".to_string()),
            Just("\n[web]\nport = 1\n#".to_string()),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn what_is_written_reads_back_the_same(
            text in proptest::collection::vec(hostile(), 8),
            list in proptest::collection::vec(hostile(), 0..4),
            numbers in (any::<u16>(), any::<f64>(), any::<bool>()),
        ) {
            let (number, float, flag) = numbers;
            let float = if float.is_finite() { float } else { 1.5 };
            let mut document = full();
            let router = &mut document.router[1];
            router.name = Some(text[0].clone());
            router.host = text[1].clone();
            router.user = text[2].clone();
            router.password = Some(text[3].clone());
            router.password_file = Some(text[4].clone().into());
            router.port = Some(number);
            router.timeout = Some(float);
            router.interface = vec![InterfaceSection {
                name: text[5].clone(),
                label: Some(text[6].clone()),
                quota: Some(text[7].clone()),
                ..InterfaceSection::default()
            }];
            document.web.title = Some(text[7].clone());
            document.web.settings = Some(flag);
            document.web.allow = Some(list.clone());
            document.web.hostnames = list;
            let written = write(&document).unwrap();
            prop_assert_eq!(read(&written), Ok(document), "{}", written);
            prop_assert!(written.parse::<toml::Table>().is_ok(), "{}", written);
        }
    }
}
