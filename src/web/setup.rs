//! The settings page's server side: the `/api/setup/*` routes (state,
//! login, logout, config, interfaces, save; README, "Settings page" and
//! "URLs and JSON endpoints"), their checks, and [`Setup`], what outlives a
//! config change (the sessions, the login throttle, the one connection
//! test at a time).
//!
//! Every POST must come from a page of this server: its `Origin` (or,
//! without one, its `Referer`) must name the `Host` the request was sent
//! to ([`same_origin`]), which a form or script of another site cannot
//! forge; every route but state and login also needs a live session
//! ([`auth::Sessions`]), whose token travels only in an `HttpOnly`,
//! `SameSite=Strict` cookie. Logins are throttled per client address
//! ([`auth::Throttle`]) and checked one at a time.
//!
//! Save writes what the daemon would accept (`config::parse`, the
//! daemon's own check) with `config::save`, and only if the file's bytes
//! are still those the form was loaded from ([`Setup::version`]); the daemon then
//! applies the file by its live reload and the state's `applied_version`
//! shows it.
//!
//! Invariant: no answer carries a router password, stored or typed, nor
//! the admin hash; a stored router password is used only for the router
//! (host, port, user) it was stored with.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::State;
use super::json::Value;
use super::routes::{
    NULL, Reply, Req, Value as Field, array, end_array, object, push_object, text_or_null,
};
use crate::auth::{self, Sessions, Throttle};
use crate::config::{
    self, Document, InterfaceSection, RouterSection, Source, StorageSection, Theme, WebSection,
};
use crate::routeros::client::DEFAULT_PORT;
use crate::secret;
use crate::store::Profile;
use crate::wizard::{self, Login};

/// The session cookie's name.
pub const COOKIE: &str = "mt_session";
/// The longest connection test (connect, log in, list).
pub const MAX_TEST: Duration = Duration::from_secs(10);

/// What the settings routes keep across config changes (one per daemon).
pub struct Setup {
    /// The config file the page edits.
    pub path: PathBuf,
    /// Web-only mode (`-w`): only `[web]` may be changed.
    pub web_only: bool,
    /// The key of [`Setup::version`], random per process.
    key: [u8; 32],
    sessions: Mutex<Sessions>,
    throttle: Mutex<Throttle>,
    /// Held while a login is checked: one check at a time.
    checking: Mutex<()>,
    testing: AtomicBool,
}

impl Setup {
    /// For the config file at `path`.
    pub fn new(path: &Path, web_only: bool) -> std::io::Result<Setup> {
        Ok(Setup {
            path: path.to_path_buf(),
            web_only,
            key: auth::random()?,
            sessions: Mutex::default(),
            throttle: Mutex::default(),
            checking: Mutex::default(),
            testing: AtomicBool::new(false),
        })
    }

    /// A config file's version: an HMAC-SHA256 of its bytes (the first
    /// 16 bytes, in hex) with a key of this process, so that the version,
    /// which `/api/setup/state` shows without a login, gives nobody a way
    /// to test guesses of the file's passwords offline.
    pub fn version(&self, bytes: &[u8]) -> String {
        auth::hmac_sha256(&self.key, bytes)[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The settings page's part of a [`State`]: present when `web.settings`
/// is on and there is a config file.
pub struct Page {
    /// The daemon's long-lived part.
    pub setup: std::sync::Arc<Setup>,
    /// `web.admin_password` of the running config.
    pub admin: Option<String>,
    /// The [`Setup::version`] of the config the daemon runs.
    pub applied_version: String,
    /// When the daemon began running it (Unix seconds).
    pub applied_at: f64,
}

/// The request headers and body the settings routes read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fields<'a> {
    /// `Cookie`.
    pub cookie: Option<&'a str>,
    /// `Origin`.
    pub origin: Option<&'a str>,
    /// `Referer`.
    pub referer: Option<&'a str>,
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
    /// The body (at most the server's `MAX_SETUP_BODY`).
    pub body: &'a [u8],
}

/// Answers `/setup`, `/setup.js`, `/setup.css` (404 when the page is off,
/// else left to the assets) and `/api/setup/*`; `None` for every other
/// path.
pub fn route(state: &State, req: &Req, path: &str, client: IpAddr) -> Option<Reply> {
    let api = path.strip_prefix("/api/setup");
    let page_path = matches!(path, "/setup" | "/setup.js" | "/setup.css");
    if api.is_none() && !page_path {
        return None;
    }
    let Some(page) = &state.setup else {
        return Some(Reply::error(
            404,
            "the settings page is off (web.settings = false)",
        ));
    };
    let api = api?;
    let post = req.method == "POST";
    let allowed = match api {
        "/state" | "/config" => "GET, HEAD",
        "/login" | "/logout" | "/interfaces" | "/save" => "POST",
        _ => return Some(Reply::error(404, "no such settings route")),
    };
    if !allowed.split(", ").any(|m| m == req.method) {
        let mut reply = Reply::error(405, format!("use {allowed}"));
        reply.headers.push(("Allow", allowed.into()));
        return Some(reply);
    }
    if post {
        if !same_origin(req.host, req.setup.origin, req.setup.referer) {
            if state.log_denial(client, Instant::now()) {
                log::warn!(
                    "web: settings POST from {client} refused: Origin {} does not match Host {} (logged once a minute per address)",
                    super::escape(req.setup.origin.unwrap_or("(none)")),
                    super::escape(req.host.unwrap_or("(none)"))
                );
            }
            return Some(Reply::error(
                403,
                "this request did not come from this server's own page (Origin or Referer does not match Host)",
            ));
        }
        let json = req.setup.content_type.is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
        if !json {
            return Some(Reply::error(415, "send Content-Type: application/json"));
        }
    }
    let now = Instant::now();
    let token = session_cookie(req.setup.cookie);
    let logged_in = match (&page.admin, token) {
        (Some(admin), Some(token)) => page
            .setup
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .check(admin, token, now),
        _ => false,
    };
    Some(match api {
        "/state" => state_reply(page, logged_in),
        "/login" => login(page, req.setup.body, client, now),
        "/logout" => {
            if let Some(token) = token {
                let sessions = &page.setup.sessions;
                sessions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .end(token);
            }
            let mut reply = ok();
            reply.headers.push((
                "Set-Cookie",
                format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
            ));
            reply
        }
        _ if !logged_in => Reply::error(401, "log in first"),
        "/config" => config_reply(page),
        "/interfaces" => test(page, req.setup.body),
        _ => save(page, req, client),
    })
}

/// Whether a POST's `Origin` (or, without one, its `Referer`) is this
/// server as the request named it in `Host`: `http://<host>` or
/// `https://<host>` (behind a TLS proxy), any case.
pub fn same_origin(host: Option<&str>, origin: Option<&str>, referer: Option<&str>) -> bool {
    let Some(host) = host.filter(|h| !h.is_empty()) else {
        return false;
    };
    let after_scheme = |url: &'_ str| -> Option<usize> {
        ["http://", "https://"].iter().find_map(|scheme| {
            let head = url.get(..scheme.len())?;
            head.eq_ignore_ascii_case(scheme).then_some(scheme.len())
        })
    };
    let names_host = |url: &str, exact: bool| {
        let Some(start) = after_scheme(url) else {
            return false;
        };
        let end = start + host.len();
        let same = url
            .get(start..end)
            .is_some_and(|h| h.eq_ignore_ascii_case(host));
        let rest = url.get(end..).unwrap_or("x");
        same && (if exact {
            rest.is_empty()
        } else {
            rest.starts_with('/')
        })
    };
    match origin {
        Some(origin) => names_host(origin, true),
        None => referer.is_some_and(|r| names_host(r, false)),
    }
}

/// The session token in a `Cookie` header.
fn session_cookie(cookie: Option<&str>) -> Option<&str> {
    cookie?
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

fn state_reply(page: &Page, logged_in: bool) -> Reply {
    // Keys in sorted order, as these answers have always had them.
    let mut body = vec![
        ("applied_at", Field::Int(page.applied_at.floor() as i64)),
        ("applied_version", Field::Text(&page.applied_version)),
    ];
    if page.admin.is_none() {
        body.push((
            "how",
            Field::Text("no admin password is set, so nothing can be changed here: set one on the server with `sudo mt-trafmon passwd` (or in the setup wizard, `sudo mt-trafmon -s`)"),
        ));
    }
    body.extend([
        ("logged_in", Field::Bool(logged_in)),
        ("password_set", Field::Bool(page.admin.is_some())),
        ("settings", Field::Bool(true)),
        ("web_only", Field::Bool(page.setup.web_only)),
    ]);
    Reply::json_bytes(200, object(&body))
}

fn login(page: &Page, body: &[u8], client: IpAddr, now: Instant) -> Reply {
    let Some(admin) = &page.admin else {
        return Reply::error(
            403,
            "no admin password is set: run `sudo mt-trafmon passwd` on the server",
        );
    };
    let body = parse(body).ok();
    let Some(password) = body.as_ref().and_then(|b| b["password"].as_str()) else {
        return Reply::error(400, "send {\"password\": \"...\"}");
    };
    let setup = &page.setup;
    let _one = setup
        .checking
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let throttle = || {
        setup
            .throttle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    };
    if let Some(wait) = throttle().wait(client, now) {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let error = format!("too many attempts; try again in {seconds} s");
        let mut reply = Reply::json_bytes(
            429,
            object(&[
                ("error", Field::Text(&error)),
                // At most the throttle's longest wait.
                ("retry_after", Field::Int(seconds as i64)),
            ]),
        );
        reply.headers.push(("Retry-After", seconds.to_string()));
        return reply;
    }
    let right = auth::Hash::parse(admin).is_ok_and(|hash| hash.verify(password));
    if !right {
        throttle().failed(client, Instant::now());
        log::warn!("web: wrong settings password from {client}");
        return Reply::error(401, "wrong password");
    }
    throttle().succeeded(client);
    let token = match auth::random::<32>() {
        Ok(token) => token,
        Err(e) => return Reply::error(500, format!("no random numbers: {e}")),
    };
    let token = setup
        .sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .start(admin, token, Instant::now());
    log::info!("web: settings login from {client}");
    let mut reply = ok();
    reply.headers.push((
        "Set-Cookie",
        format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"),
    ));
    reply
}

/// `{"ok": true}`.
fn ok() -> Reply {
    Reply::json_bytes(200, object(&[("ok", Field::Bool(true))]))
}

/// A request body as JSON, or the 400 saying it is not.
fn parse(body: &[u8]) -> Result<Value, Reply> {
    super::json::parse(body).map_err(|e| Reply::error(400, format!("malformed request: {e}")))
}

/// The config file's bytes and its document, or the answer saying why
/// not.
fn current(path: &Path) -> Result<(Vec<u8>, Document), Reply> {
    let bytes = config::read_bounded(path, config::MAX_FILE_BYTES)
        .map_err(|e| Reply::error(500, format!("cannot read {}: {e}", path.display())))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Reply::error(500, format!("{} is not UTF-8 text", path.display())))?;
    let document = config::document(text, path).map_err(|e| {
        Reply::error(
            500,
            format!("{e}; fix the file by hand, then reload this page"),
        )
    })?;
    Ok((bytes, document))
}

/// A list of texts as a JSON array.
fn texts<'a>(list: impl Iterator<Item = &'a str>) -> Vec<u8> {
    array(&list.map(Field::Text).collect::<Vec<_>>())
}

fn config_reply(page: &Page) -> Reply {
    let (bytes, document) = match current(&page.setup.path) {
        Ok(current) => current,
        Err(reply) => return reply,
    };
    // Keys in sorted order, as these answers have always had them. Config
    // paths come from TOML text: UTF-8.
    let mut routers = Vec::new();
    for r in &document.router {
        let password_set =
            r.password.as_deref().is_some_and(|p| !p.is_empty()) || r.password_file.is_some();
        let mut interfaces = Vec::new();
        for i in &r.interface {
            let rrd = i.rrd.as_deref().map(Path::to_string_lossy);
            push_object(
                &mut interfaces,
                &[
                    ("label", text_or_null(i.label.as_deref())),
                    ("name", Field::Text(&i.name)),
                    ("rrd", text_or_null(rrd.as_deref())),
                ],
            );
        }
        end_array(&mut interfaces);
        push_object(
            &mut routers,
            &[
                ("host", Field::Text(&r.host)),
                ("interfaces", Field::Json(&interfaces)),
                ("name", text_or_null(r.name.as_deref())),
                ("password_set", Field::Bool(password_set)),
                ("port", r.port.map_or(NULL, |p| Field::Int(p.into()))),
                ("source", text_or_null(r.source.map(Source::name))),
                ("timeout", r.timeout.map_or(NULL, Field::Float)),
                ("user", Field::Text(&r.user)),
            ],
        );
    }
    end_array(&mut routers);
    let web = &document.web;
    let storage = &document.storage;
    let data_dir = storage.data_dir.as_deref().map(Path::to_string_lossy);
    let storage = object(&[
        ("data_dir", text_or_null(data_dir.as_deref())),
        ("profile", text_or_null(storage.profile.map(Profile::name))),
    ]);
    let allow = web
        .allow
        .as_ref()
        .map(|a| texts(a.iter().map(String::as_str)));
    let listen = web.listen.map(|a| a.to_string());
    let web = object(&[
        ("allow", allow.as_deref().map_or(NULL, Field::Json)),
        ("enabled", web.enabled.map_or(NULL, Field::Bool)),
        (
            "hostnames",
            Field::Json(&texts(web.hostnames.iter().map(String::as_str))),
        ),
        ("listen", text_or_null(listen.as_deref())),
        ("port", web.port.map_or(NULL, |p| Field::Int(p.into()))),
        ("settings", web.settings.map_or(NULL, Field::Bool)),
        ("theme", text_or_null(web.theme.map(Theme::name))),
        ("timezone", text_or_null(web.timezone.as_deref())),
        ("title", text_or_null(web.title.as_deref())),
        (
            "trusted_proxies",
            Field::Json(&texts(web.trusted_proxies.iter().map(String::as_str))),
        ),
    ]);
    let listen = config::DEFAULT_LISTEN.to_string();
    let defaults = object(&[
        ("data_dir", Field::Text(config::DEFAULT_DATA_DIR)),
        ("listen", Field::Text(&listen)),
        ("port", Field::Int(DEFAULT_PORT.into())),
        ("profile", Field::Text(Profile::Original.name())),
        ("source", Field::Text(Source::Counters.name())),
        ("theme", Field::Text(Theme::Dark.name())),
        ("timeout", Field::Float(config::DEFAULT_TIMEOUT)),
        ("title", Field::Text(config::DEFAULT_TITLE)),
        ("web_port", Field::Int(config::DEFAULT_WEB_PORT.into())),
    ]);
    let version = page.setup.version(&bytes);
    let reply = object(&[
        ("defaults", Field::Json(&defaults)),
        (
            "profiles",
            Field::Json(&texts(Profile::ALL.into_iter().map(Profile::name))),
        ),
        ("routers", Field::Json(&routers)),
        ("storage", Field::Json(&storage)),
        ("version", Field::Text(&version)),
        ("web", Field::Json(&web)),
        ("web_only", Field::Bool(page.setup.web_only)),
    ]);
    Reply::json_bytes(200, reply)
}

/// The stored password of router `index` of the file, if the daemon could
/// read it and `host`, `port` and `user` are still the ones stored with it.
fn stored_password(path: &Path, index: usize, host: &str, port: u16, user: &str) -> Option<String> {
    let config = config::load(path).ok()?;
    let router = config.routers.get(index)?;
    (router.host == host && router.port == port && router.user == user)
        .then(|| router.password.clone())
}

const RETYPE: &str = "type the router's password again: the host, port or user changed";

/// Test connection / Load interfaces.
fn test(page: &Page, body: &[u8]) -> Reply {
    let body = match parse(body) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let mut form = Form::default();
    let index = form.get(&body, "", "router", index, INDEX);
    let host = form.get(&body, "", "host", text, TEXT).unwrap_or_default();
    let port = form.get(&body, "", "port", port, PORT);
    let user = form.get(&body, "", "user", text, TEXT).unwrap_or_default();
    let typed = form.get(&body, "", "password", text, TEXT);
    let timeout = form.get(&body, "", "timeout", Value::as_f64, NUMBER);
    if let Some(error) = form.errors.first() {
        return Reply::json_bytes(400, object(&error.fields()));
    }
    let port = port.unwrap_or(DEFAULT_PORT);
    let host = host.trim();
    if host.is_empty() || port == 0 {
        return Reply::error(400, "give the router's host and a port from 1 to 65535");
    }
    let retype = || {
        Reply::json_bytes(
            400,
            object(&[
                ("error", Field::Text(RETYPE)),
                ("field", Field::Text("password")),
            ]),
        )
    };
    let password = match (typed, index) {
        (Some(password), _) => password,
        (None, Some(index)) => match stored_password(&page.setup.path, index, host, port, &user) {
            Some(password) => password,
            None => return retype(),
        },
        (None, None) => return retype(),
    };
    let timeout = timeout
        .filter(|t| t.is_finite() && *t >= 0.1)
        .map_or(wizard::TEST_TIMEOUT, Duration::from_secs_f64)
        .min(MAX_TEST);
    let testing = &page.setup.testing;
    if testing.swap(true, Ordering::SeqCst) {
        return Reply::error(429, "a test is running");
    }
    let login = Login {
        host,
        port,
        user: &user,
        password: &password,
        timeout,
    };
    let result = wizard::list_interfaces(login);
    testing.store(false, Ordering::SeqCst);
    let answer = match result {
        Ok(found) => {
            let mut list = Vec::new();
            for i in &found {
                push_object(
                    &mut list,
                    &[
                        ("disabled", Field::Bool(i.disabled)),
                        ("name", Field::Text(&i.name)),
                        ("running", Field::Bool(i.running)),
                        ("type", Field::Text(&i.kind)),
                    ],
                );
            }
            end_array(&mut list);
            object(&[
                ("interfaces", Field::Json(&list)),
                ("ok", Field::Bool(true)),
            ])
        }
        Err(e) => {
            let error = wizard::explain(&e, login);
            object(&[("error", Field::Text(&error)), ("ok", Field::Bool(false))])
        }
    };
    Reply::json_bytes(200, answer)
}

/// What the form's readers say of a value of the wrong type.
const TEXT: &str = "must be text";
const NUMBER: &str = "must be a number";
const PORT: &str = "must be a whole number from 1 to 65535";
const INDEX: &str = "must be a whole number (an index)";
const FLAG: &str = "must be true or false";
const LIST: &str = "must be a list of text";

/// Text as it is.
fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

fn port(value: &Value) -> Option<u16> {
    value.as_u64().and_then(|n| u16::try_from(n).ok())
}

fn index(value: &Value) -> Option<usize> {
    value.as_u64().and_then(|n| usize::try_from(n).ok())
}

fn list(value: &Value) -> Option<Vec<String>> {
    value.as_array()?.iter().map(text).collect()
}

/// The one of `all` whose name is the text.
fn named<T: Copy>(value: &Value, all: [T; 2], name: fn(T) -> &'static str) -> Option<T> {
    all.into_iter().find(|&t| value.as_str() == Some(name(t)))
}

/// `Some` of a text that is not blank, trimmed.
fn given(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// The value of `key` in `object`, `None` when it is absent or null.
#[inline(never)]
fn field<'v>(object: &'v Value, key: &str) -> Option<&'v Value> {
    object.get(key).filter(|v| !v.is_null())
}

/// Reads the fields of a request body, collecting an error (field path
/// and words) for each value of the wrong type.
#[derive(Default)]
struct Form {
    errors: Vec<Refusal>,
}

/// A refused field: its path in the form (`None`: no one field) and why.
#[derive(Debug, PartialEq)]
struct Refusal {
    field: Option<String>,
    error: String,
}

impl Refusal {
    /// `{"error": …, "field": …}`'s fields.
    fn fields(&self) -> [(&str, Field<'_>); 2] {
        [
            ("error", Field::Text(&self.error)),
            ("field", text_or_null(self.field.as_deref())),
        ]
    }
}

/// The 422 of refused fields: `{"errors": […]}`.
fn refused(errors: &[Refusal]) -> Reply {
    let mut list = Vec::new();
    for refusal in errors {
        push_object(&mut list, &refusal.fields());
    }
    end_array(&mut list);
    Reply::json_bytes(422, object(&[("errors", Field::Json(&list))]))
}

impl Form {
    /// The value of `key` in `object` as `read` takes it; `None` when it
    /// is absent or null, or when `read` refuses it, which is an error of
    /// the field `<at><key>` saying `want`.
    fn get<T>(
        &mut self,
        object: &Value,
        at: &str,
        key: &str,
        read: fn(&Value) -> Option<T>,
        want: &str,
    ) -> Option<T> {
        let got = read(field(object, key)?);
        if got.is_none() {
            self.refuse_at(at, key, want);
        }
        got
    }

    /// [`Form::refuse`] of the field `<at><key>`.
    // Not inlined, nor is `field`: `get` has a copy per type read.
    #[inline(never)]
    fn refuse_at(&mut self, at: &str, key: &str, want: &str) {
        self.refuse(format!("{at}{key}"), want);
    }

    fn refuse(&mut self, field: String, error: &str) {
        self.errors.push(Refusal {
            field: Some(field),
            error: error.to_string(),
        });
    }

    /// A list of objects at `key` (absent or null: none).
    fn objects<'v>(&mut self, object: &'v Value, at: &str, key: &str) -> &'v [Value] {
        match object.get(key) {
            None | Some(Value::Null) => &[],
            Some(Value::Array(list)) if list.iter().all(Value::is_object) => list,
            Some(_) => {
                self.refuse(format!("{at}{key}"), "must be a list of objects");
                &[]
            }
        }
    }

    fn storage(&mut self, storage: &Value) -> StorageSection {
        let at = "storage.";
        StorageSection {
            data_dir: given(self.get(storage, at, "data_dir", text, TEXT)).map(PathBuf::from),
            profile: self.get(
                storage,
                at,
                "profile",
                |v| named(v, Profile::ALL, Profile::name),
                "must be original or compact",
            ),
        }
    }

    fn web(&mut self, web: &Value) -> WebSection {
        let at = "web.";
        WebSection {
            enabled: self.get(web, at, "enabled", Value::as_bool, FLAG),
            listen: self.get(
                web,
                at,
                "listen",
                |v| v.as_str()?.trim().parse().ok(),
                "must be an IP address, such as :: (every address) or 192.168.88.5",
            ),
            port: self.get(web, at, "port", port, PORT),
            title: given(self.get(web, at, "title", text, TEXT)),
            theme: self.get(
                web,
                at,
                "theme",
                |v| named(v, Theme::ALL, Theme::name),
                "must be dark or classic",
            ),
            allow: self.get(web, at, "allow", list, LIST),
            trusted_proxies: self
                .get(web, at, "trusted_proxies", list, LIST)
                .unwrap_or_default(),
            hostnames: self
                .get(web, at, "hostnames", list, LIST)
                .unwrap_or_default(),
            settings: self.get(web, at, "settings", Value::as_bool, FLAG),
            admin_password: None,
            timezone: given(self.get(web, at, "timezone", text, TEXT)),
        }
    }

    /// An interface of the form; the accounting keys, which the page does
    /// not edit, come from `old` (the file's interface of that name).
    fn interface(
        &mut self,
        interface: &Value,
        at: &str,
        old: Option<&InterfaceSection>,
    ) -> InterfaceSection {
        InterfaceSection {
            billing_day: old.and_then(|o| o.billing_day),
            quota: old.and_then(|o| o.quota.clone()),
            quota_direction: old.and_then(|o| o.quota_direction.clone()),
            name: self
                .get(interface, at, "name", text, TEXT)
                .unwrap_or_default()
                .trim()
                .to_string(),
            label: given(self.get(interface, at, "label", text, TEXT)),
            rrd: given(self.get(interface, at, "rrd", text, TEXT)).map(PathBuf::from),
        }
    }
}

fn save(page: &Page, req: &Req, client: IpAddr) -> Reply {
    let body = match parse(req.setup.body) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let (Some(version), form) = (body["version"].as_str(), &body["config"]) else {
        return Reply::error(400, "malformed request: no version");
    };
    let path = &page.setup.path;
    let (bytes, old) = match current(path) {
        Ok(current) => current,
        Err(reply) => return reply,
    };
    let changed = || {
        Reply::error(
            409,
            format!(
                "{} was changed on disk since this form was loaded (by hand or from another browser); nothing was saved: reload the page to see the file as it is now",
                path.display()
            ),
        )
    };
    if page.setup.version(&bytes) != version {
        return changed();
    }
    let mut read = Form::default();
    let mut web = read.web(&form["web"]);
    web.admin_password = old.web.admin_password;
    let mut document = Document {
        storage: old.storage,
        router: old.router,
        web,
    };
    if !page.setup.web_only {
        document.storage = read.storage(&form["storage"]);
        let mut old_routers: Vec<Option<RouterSection>> = std::mem::take(&mut document.router)
            .into_iter()
            .map(Some)
            .collect();
        let mut key = None;
        for (r, router) in read.objects(form, "", "routers").iter().enumerate() {
            let at = format!("routers.{r}.");
            let original = read
                .get(router, &at, "original", index, INDEX)
                .and_then(|i| old_routers.get_mut(i))
                .and_then(Option::take);
            let host = read
                .get(router, &at, "host", text, TEXT)
                .unwrap_or_default()
                .trim()
                .to_string();
            let port = read.get(router, &at, "port", port, PORT);
            let user = read
                .get(router, &at, "user", text, TEXT)
                .unwrap_or_default();
            // The accounting keys, which the page does not edit, are kept.
            let (billing_day, quota, quota_direction, old_interfaces) = match &original {
                Some(old) => (
                    old.billing_day,
                    old.quota.clone(),
                    old.quota_direction.clone(),
                    &old.interface[..],
                ),
                None => (None, None, None, &[][..]),
            };
            let interfaces = read.objects(router, &at, "interfaces");
            let interface = interfaces
                .iter()
                .enumerate()
                .map(|(i, interface)| {
                    let old = interface["name"]
                        .as_str()
                        .and_then(|name| old_interfaces.iter().find(|o| o.name == name.trim()));
                    read.interface(interface, &format!("{at}interfaces.{i}."), old)
                })
                .collect();
            let (password, password_file) =
                match (read.get(router, &at, "password", text, TEXT), original) {
                    (Some(typed), _) if typed.is_empty() => (None, None),
                    (Some(typed), _) => {
                        let key = key.get_or_insert_with(secret::machine_key);
                        (Some(secret::obfuscate(key, &typed)), None)
                    }
                    (None, Some(old))
                        if old.host == host
                            && old.port.unwrap_or(DEFAULT_PORT) == port.unwrap_or(DEFAULT_PORT)
                            && old.user == user =>
                    {
                        (old.password, old.password_file)
                    }
                    (None, _) => {
                        read.refuse(format!("{at}password"), RETYPE);
                        (None, None)
                    }
                };
            document.router.push(RouterSection {
                name: given(read.get(router, &at, "name", text, TEXT)),
                host,
                port,
                user,
                password,
                password_file,
                source: read.get(
                    router,
                    &at,
                    "source",
                    |v| named(v, Source::ALL, Source::name),
                    "must be counters or monitor-traffic",
                ),
                timeout: read.get(router, &at, "timeout", Value::as_f64, NUMBER),
                interface,
                billing_day,
                quota,
                quota_direction,
            });
        }
    }
    if !read.errors.is_empty() {
        return refused(&read.errors);
    }
    let text = match config::render(&document) {
        Ok(text) => text,
        Err(e) => return Reply::error(500, format!("cannot write the settings as TOML: {e}")),
    };
    let new = match config::parse(&text, path) {
        Ok(config) => config,
        Err(e) => {
            return refused(&[refusal(&e)]);
        }
    };
    // The file may have changed while this request was checked.
    match config::read_bounded(path, config::MAX_FILE_BYTES) {
        Ok(now) if now == bytes => {}
        _ => return changed(),
    }
    if let Err(e) = config::save(path, &text) {
        return Reply::error(500, format!("cannot write {}: {e}", path.display()));
    }
    log::info!("web: settings saved to {} from {client}", path.display());
    let old_web = config::parse(std::str::from_utf8(&bytes).unwrap_or(""), path).ok();
    let moved =
        old_web.is_none_or(|old| old.web.port != new.web.port || old.web.listen != new.web.listen);
    let redirect = moved.then(|| {
        let host = req.host.unwrap_or("localhost");
        // The name without its port (an IPv6 literal keeps its brackets).
        let name = match host.rsplit_once(':') {
            Some((name, port))
                if !port.is_empty()
                    && port.bytes().all(|b| b.is_ascii_digit())
                    && (name.ends_with(']') || !name.contains(':')) =>
            {
                name
            }
            _ => host,
        };
        let name = match new.web.listen {
            IpAddr::V4(v4) if !v4.is_unspecified() => v4.to_string(),
            IpAddr::V6(v6) if !v6.is_unspecified() => format!("[{v6}]"),
            _ => name.to_string(),
        };
        format!("http://{name}:{}/setup", new.web.port)
    });
    let version = page.setup.version(text.as_bytes());
    Reply::json_bytes(
        200,
        object(&[
            ("ok", Field::Bool(true)),
            ("redirect", text_or_null(redirect.as_deref())),
            ("version", Field::Text(&version)),
        ]),
    )
}

/// A refused config as a field error: `router[0].interface[2].name`
/// becomes `routers.0.interfaces.2.name`; a problem of no one field (two
/// interfaces writing one file, no router) has a `null` field and names
/// what in its words.
fn refusal(error: &config::Error) -> Refusal {
    let (field, error) = match error {
        config::Error::Invalid { key, message, .. }
            if key.starts_with("router[") || key.starts_with("web.") =>
        {
            let mut field = key
                .replace("router[", "routers.")
                .replace("interface[", "interfaces.");
            field.retain(|c| c != ']');
            (Some(field), message.clone())
        }
        config::Error::Invalid { key, message, .. } => (None, format!("{key}: {message}")),
        other => (None, other.to_string()),
    };
    Refusal { field, error }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_must_name_the_host() {
        let ok = |host, origin, referer| same_origin(Some(host), origin, referer);
        assert!(ok(
            "192.168.1.5:8080",
            Some("http://192.168.1.5:8080"),
            None
        ));
        assert!(ok("Pi.local:8080", Some("HTTP://pi.LOCAL:8080"), None));
        assert!(ok(
            "traffic.example.net",
            Some("https://traffic.example.net"),
            None
        ));
        assert!(ok("[::1]:8080", Some("http://[::1]:8080"), None));
        assert!(!ok(
            "192.168.1.5:8080",
            Some("http://192.168.1.5:8081"),
            None
        ));
        assert!(!ok("192.168.1.5:8080", Some("http://192.168.1.5"), None));
        assert!(!ok(
            "192.168.1.5:8080",
            Some("http://192.168.1.5:8080.evil.example"),
            None
        ));
        assert!(!ok("192.168.1.5:8080", Some("http://evil.example"), None));
        assert!(!ok("192.168.1.5:8080", Some("null"), None));
        assert!(!ok(
            "192.168.1.5:8080",
            Some("ftp://192.168.1.5:8080"),
            None
        ));
        assert!(
            !ok("a:1", Some("http://evil"), Some("http://a:1/setup")),
            "Origin wins over Referer"
        );
        assert!(ok("a:1", None, Some("http://a:1/setup")));
        assert!(ok("a:1", None, Some("http://a:1/")));
        assert!(!ok("a:1", None, Some("http://a:1")));
        assert!(!ok("a:1", None, Some("http://a:10/setup")));
        assert!(!ok("a:1", None, Some("http://a:1@evil/")));
        assert!(!ok("a:1", None, None));
        assert!(!same_origin(None, Some("http://a:1"), None));
        assert!(!same_origin(Some(""), Some("http://"), None));
        assert!(!ok("é:1", Some("http://\u{e9}"), None));
        assert!(ok("é:1", Some("http://é:1"), None));
    }

    #[test]
    fn the_session_cookie_among_others() {
        assert_eq!(
            session_cookie(Some("a=b; mt_session=abc; c=d")),
            Some("abc")
        );
        assert_eq!(session_cookie(Some("mt_session=x")), Some("x"));
        assert_eq!(session_cookie(Some("xmt_session=x")), None);
        assert_eq!(session_cookie(None), None);
    }

    #[test]
    fn versions_are_keyed_hashes_of_the_bytes() {
        let one = Setup::new(Path::new("x"), false).unwrap();
        let other = Setup::new(Path::new("x"), false).unwrap();
        assert_eq!(one.version(b"a"), one.version(b"a"));
        assert_eq!(one.version(b"a").len(), 32);
        assert_ne!(one.version(b"a"), one.version(b"b"));
        assert_ne!(one.version(b"a"), other.version(b"a"), "a key per process");
    }

    #[test]
    fn refusals_name_the_form_field() {
        let error = config::Error::Invalid {
            path: "x".into(),
            key: "router[1].interface[2].name".into(),
            message: "is empty".into(),
        };
        let refused = refusal(&error);
        assert_eq!(
            object(&refused.fields()),
            br#"{"error":"is empty","field":"routers.1.interfaces.2.name"}"#
        );
        let error = config::Error::Invalid {
            path: "x".into(),
            key: "gw/ether1 rrd".into(),
            message: "/a.rrd is also the file of gw/ether2".into(),
        };
        assert_eq!(
            object(&refusal(&error).fields()),
            br#"{"error":"gw/ether1 rrd: /a.rrd is also the file of gw/ether2","field":null}"#
        );
    }
}
