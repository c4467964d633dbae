//! The routing table: [`route`] turns a request ([`Req`]) into a [`Reply`]
//! (a plain value; `server.rs` turns it into a `tiny_http` response and
//! adds the security headers), so that tests call it directly.
//!
//! Order for every request: the allow-list (403), the `Host` header (421
//! unless it names this server, see [`acl::host_allowed`]), the method
//! (405 but for GET and HEAD, and POST for the settings routes of
//! [`setup`]), the path (trailing slashes ignored), then the handler.
//! A malformed parameter is a 400 with a sentence saying which and why;
//! an unknown interface a 404. JSON shapes are documented in README.md,
//! "URLs and JSON endpoints".

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::PoisonError;
use std::time::Instant;

use serde::Serialize;

use super::{Served, State, acl, assets, metrics, setup};
use crate::graph::{self, View};
use crate::health::{Entry, FileState, Health, Sample, Status};
use crate::query::{self, Request};
use crate::rrd;

/// A sample older than this makes `/healthz` answer 503.
pub const FRESH_SECONDS: f64 = 10.0;
/// A sample older than this makes an interface `stale` (the page's yellow).
pub const LIVE_SECONDS: f64 = 5.0;
/// Points of a series when the request does not say.
pub const DEFAULT_POINTS: u32 = 1000;

/// A request, as much of it as routing needs.
#[derive(Clone, Copy, Debug)]
pub struct Req<'a> {
    /// `GET`, `HEAD`, …
    pub method: &'a str,
    /// Path and query as sent.
    pub url: &'a str,
    /// The TCP peer.
    pub peer: IpAddr,
    /// The `Host` header, if any.
    pub host: Option<&'a str>,
    /// The `X-Forwarded-For` header, if any (several lines joined with
    /// commas, in order).
    pub forwarded_for: Option<&'a str>,
    /// The `Accept-Encoding` header, if any.
    pub accept_encoding: Option<&'a str>,
    /// The `If-None-Match` header, if any.
    pub if_none_match: Option<&'a str>,
    /// What the settings routes read (cookie, origin, body).
    pub setup: setup::Fields<'a>,
}

/// An answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: Body,
    /// Extra headers (`ETag`, `Location`, `Content-Encoding`, `Allow`, …).
    pub headers: Vec<(&'static str, String)>,
    /// `Cache-Control`: `no-cache` for the page's files (revalidated with
    /// their ETag), `no-store` for everything else.
    pub cache: &'static str,
}

/// A reply body.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// Compiled-in bytes.
    Static(&'static [u8]),
    /// Made for this request.
    Owned(Vec<u8>),
}

impl Body {
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Body::Static(bytes) => bytes,
            Body::Owned(bytes) => bytes,
        }
    }
}

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        self.bytes()
    }
}

impl Reply {
    fn text(status: u16, text: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Body::Owned(text.into().into_bytes()),
            headers: Vec::new(),
            cache: "no-store",
        }
    }

    /// A JSON answer written already.
    pub(super) fn json_bytes(status: u16, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: Body::Owned(body),
            headers: Vec::new(),
            cache: "no-store",
        }
    }

    pub(super) fn error(status: u16, message: impl Into<String>) -> Reply {
        let message = message.into();
        Reply::json_bytes(status, object(&[("error", Value::Text(&message))]))
    }
}

/// One value of an answer. JSON objects and CSV lines are written from
/// the same `(name, value)` fields by [`fields`], so the answers
/// need no serializer of their own per shape.
#[derive(Clone, Copy)]
pub(super) enum Value<'a> {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A string: escaped in JSON, as it is in CSV (ours hold no comma,
    /// quote or line break: times and numbers).
    Text(&'a str),
    /// JSON written already (an object, an array or `null`).
    Json(&'a [u8]),
}

pub(super) const NULL: Value = Value::Json(b"null");

/// `Some` as an integer, `None` as `null`.
pub(super) fn int_or_null(value: Option<i64>) -> Value<'static> {
    value.map_or(NULL, Value::Int)
}

/// One JSON value through serde_json (its escaping and number formats).
fn json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    let _ = serde_json::to_writer(out, value);
}

/// Appends `fields` to `out`: a JSON object, or with `csv` a CSV line of
/// the values alone.
pub(super) fn fields(out: &mut Vec<u8>, fields: &[(&str, Value)], csv: bool) {
    if !csv {
        out.push(b'{');
    }
    for (i, &(name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if !csv {
            json(out, name);
            out.push(b':');
        }
        write_value(out, value, csv);
    }
    out.push(if csv { b'\n' } else { b'}' });
}

/// Appends one value in JSON, or with `csv` as a CSV field.
fn write_value(out: &mut Vec<u8>, value: Value, csv: bool) {
    match value {
        Value::Int(v) => json(out, &v),
        Value::Float(v) => json(out, &v),
        Value::Bool(v) => json(out, &v),
        Value::Text(v) if csv => out.extend_from_slice(v.as_bytes()),
        Value::Text(v) => json(out, v),
        Value::Json(v) => out.extend_from_slice(v),
    }
}

/// Appends the object of `fields` to the JSON array begun in `out` (empty:
/// not begun); [`end_array`] closes it.
pub(super) fn push_object(out: &mut Vec<u8>, fields: &[(&str, Value)]) {
    out.push(if out.is_empty() { b'[' } else { b',' });
    self::fields(out, fields, false);
}

/// Closes the array of [`push_object`] (`[]` if nothing was pushed).
pub(super) fn end_array(out: &mut Vec<u8>) {
    if out.is_empty() {
        out.push(b'[');
    }
    out.push(b']');
}

/// `values` as a JSON array.
pub(super) fn array(values: &[Value]) -> Vec<u8> {
    let mut out = vec![b'['];
    for (i, &value) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value(&mut out, value, false);
    }
    out.push(b']');
    out
}

/// `Some` as text, `None` as `null`.
pub(super) fn text_or_null(value: Option<&str>) -> Value<'_> {
    value.map_or(NULL, Value::Text)
}

/// `Some` as a number, `None` as `null`.
fn float_or_null(value: Option<f64>) -> Value<'static> {
    value.map_or(NULL, Value::Float)
}

/// `fields` as a JSON object of its own.
pub(super) fn object(fields: &[(&str, Value)]) -> Vec<u8> {
    let mut out = Vec::new();
    self::fields(&mut out, fields, false);
    out
}

/// Answers one request.
#[rustfmt::skip]
pub fn route(state: &State, req: &Req) -> Reply {
    let client = {
        let resolved = state.resolved.read().unwrap_or_else(PoisonError::into_inner);
        let client = acl::client_address(req.peer, req.forwarded_for, &state.proxies, &resolved.proxies);
        if !state.allow.allows(client, &resolved.allow) {
            if state.log_denial(client, Instant::now()) {
                log::warn!("web: access denied for {client} (not in web.allow; logged once a minute per address)");
            }
            return Reply::text(403, format!("403 Forbidden \u{2014} {client} is not in the allowed list.\n"));
        }
        client
    };
    if !acl::host_allowed(req.host, &state.hostnames) {
        let host = req.host.unwrap_or_default();
        if state.log_denial(client, Instant::now()) {
            log::warn!("web: {client} asked for the host name {}, which is not in web.hostnames (logged once a minute per address)", super::escape(host));
        }
        return Reply::text(421, format!(
            "421 Misdirected Request \u{2014} this server does not answer to the name {:?}: another site's page may be trying to read it through DNS rebinding. \
             If it is a name of this server, add it to web.hostnames in the config file.\n",
            host.chars().take(255).collect::<String>()
        ));
    }
    let (path, query) = req.url.split_once('?').unwrap_or((req.url, ""));
    let path = normalized(path);
    if let Some(reply) = setup::route(state, req, path, client) {
        return reply;
    }
    if req.method != "GET" && req.method != "HEAD" {
        let mut reply = Reply::text(405, "Method not allowed\n");
        reply.headers.push(("Allow", "GET, HEAD".into()));
        return reply;
    }
    let params = match parse_query(query) {
        Ok(params) => params,
        Err(message) => return Reply::error(400, message),
    };
    if params.iter().any(|(k, v)| k == "graph" && v == "1") {
        return old_graph_link(&params);
    }
    log::debug!("web: {client} {} {}", super::escape(req.method), super::escape(req.url));
    let params = Params(&params);
    match path {
        "/api/interfaces" => interfaces(state),
        "/api/live"       => live(state),
        "/live"           => original_live(state),
        "/api/series"     => series(state, &params).unwrap_or_else(|e| e),
        "/api/rrdtool"    => rrdtool(state, &params).unwrap_or_else(|e| e),
        "/api/totals"     => totals::totals(state, &params).unwrap_or_else(|e| e),
        "/api/stats"      => totals::stats(state, &params).unwrap_or_else(|e| e),
        "/healthz"        => healthz(state),
        "/metrics"        => prometheus(state),
        _ => match assets::find(path) {
            Some(asset) => asset_reply(asset, req),
            None => Reply::text(404, "Not found\n"),
        },
    }
}

/// The paths whose answers are heavy (days of rows read, hundreds of KB
/// built): the server answers them on its heavy lane, one at a time, so
/// that they never hold up the others (see `server.rs`).
const HEAVY: [&str; 3] = ["/api/series", "/api/totals", "/api/stats"];

/// Whether the request for `url` (path and query) is heavy ([`HEAVY`]).
pub fn heavy(url: &str) -> bool {
    let path = url.split_once('?').map_or(url, |(path, _)| path);
    HEAVY.contains(&normalized(path))
}

/// A path with trailing slashes ignored.
fn normalized(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" => "/",
        path => path,
    }
}

/// The answer to a heavy request when as many wait for the heavy lane as
/// it keeps: `503` with `Retry-After: 1`.
pub fn busy() -> Reply {
    let mut reply = Reply::error(
        503,
        "the server is busy answering other graph requests; try again in a second",
    );
    reply.headers.push(("Retry-After", "1".into()));
    reply
}

/// Query parameters, decoded; blank values dropped (as the original did).
struct Params<'a>(&'a [(String, String)]);

impl Params<'_> {
    /// The last value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The last value of `name` as a whole number, `None` if absent.
    fn int(&self, name: &str) -> Result<Option<i64>, Reply> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| Reply::error(400, format!("{name}={text:?} is not a whole number"))),
        }
    }

    /// `start` and `end`, both required.
    fn window(&self) -> Result<(i64, i64), Reply> {
        match (self.int("start")?, self.int("end")?) {
            (Some(start), Some(end)) => Ok((start, end)),
            _ => Err(Reply::error(
                400,
                "start and end (Unix seconds) are required",
            )),
        }
    }

    /// The interface `iface` names, the first one by default.
    fn interface<'s>(&self, state: &'s State) -> Result<&'s Served, Reply> {
        let found = match self.get("iface") {
            None => state.interfaces.first(),
            Some(id) => state.interfaces.iter().find(|s| s.id == id),
        };
        found.ok_or_else(|| {
            let known: Vec<&str> = state.interfaces.iter().map(|s| s.id.as_str()).collect();
            Reply::error(
                404,
                format!(
                    "no interface {:?}; known: {}",
                    self.get("iface").unwrap_or(""),
                    known.join(", ")
                ),
            )
        })
    }
}

/// Splits and percent-decodes a query string (`+` is a space). Blank
/// values are dropped; malformed escapes or non-UTF-8 are an error.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, String> {
    let mut params = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name)?;
        let value = percent_decode(value)?;
        if !value.is_empty() {
            params.push((name, value));
        }
    }
    Ok(params)
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("malformed %-escape in the query: {text:?}"))?;
                out.push(byte);
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("the query is not UTF-8: {text:?}"))
}

/// The original's `?graph=1` image links: the page with the same view.
/// The query is rebuilt from the decoded parameters (without `graph` and
/// the cache-buster `_`), percent-encoded, so nothing of the request
/// reaches `Location` raw.
fn old_graph_link(params: &[(String, String)]) -> Reply {
    let rest: Vec<String> = params
        .iter()
        .filter(|(k, _)| k != "graph" && k != "_")
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    let mut reply = Reply::text(303, "See /\n");
    reply
        .headers
        .push(("Location", format!("/?{}", rest.join("&"))));
    reply
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

fn asset_reply(asset: &'static assets::Asset, req: &Req) -> Reply {
    let mut reply = Reply {
        status: 200,
        content_type: asset.content_type,
        body: Body::Static(asset.gzip),
        headers: vec![
            ("ETag", asset.etag.to_string()),
            ("Vary", "Accept-Encoding".into()),
        ],
        cache: "no-cache",
    };
    let matches = req.if_none_match.is_some_and(|tags| {
        tags.split(',')
            .any(|t| t.trim() == asset.etag || t.trim() == "*")
    });
    if matches {
        reply.status = 304;
        reply.body = Body::Static(b"");
        return reply;
    }
    let gzip = req.accept_encoding.is_some_and(accepts_gzip);
    if gzip && asset.gzip.len() < asset.size {
        reply.headers.push(("Content-Encoding", "gzip".into()));
        return reply;
    }
    match asset.body() {
        Some(plain) => reply.body = Body::Owned(plain),
        None => return Reply::text(500, "this file is damaged in the binary\n"),
    }
    reply
}

/// Whether an `Accept-Encoding` value accepts gzip (and does not refuse it
/// with `q=0`).
fn accepts_gzip(header: &str) -> bool {
    header.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f64>().ok())
                .is_some_and(|q| q == 0.0)
        });
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

/// The interface's status: from its collector's health entry, or, in
/// web-only mode, from its RRD file's last row.
fn status(state: &State, served: &Served, now: f64) -> Status {
    match &served.health {
        Some(health) => health.snapshot().status(now, LIVE_SECONDS),
        None => file_status(state, served, now),
    }
}

/// Web-only mode: the file's last update and the 1 s row ending there.
fn file_status(state: &State, served: &Served, now: f64) -> Status {
    let read = || -> Result<Sample, String> {
        let info = state
            .files
            .reading(&served.rrd, || rrd::info(&served.rrd))
            .map_err(|e| e.to_string())?;
        let last = info.last_update;
        let rows = state
            .files
            .reading(&served.rrd, || {
                rrd::fetch(&served.rrd, "AVERAGE", last - 1, last, 1)
            })
            .map_err(|e| e.to_string())?;
        let value = |name: &str| {
            let column = rows.names.iter().position(|n| n == name)?;
            let row = usize::try_from((last - rows.start) / rows.step as i64 - 1).ok()?;
            let value = *rows.values.get(row * rows.names.len() + column)?;
            value.is_finite().then_some(value)
        };
        Ok(Sample {
            at: last as f64,
            rx_bps: value("rx").unwrap_or(f64::NAN),
            tx_bps: value("tx").unwrap_or(f64::NAN),
        })
    };
    if !served.rrd.exists() {
        return Status {
            sample: None,
            state: "waiting",
            error: Some(format!("{} does not exist yet", served.rrd.display())),
            connected: None,
            file: None,
            failing: false,
        };
    }
    match read() {
        Ok(sample) => Status {
            sample: Some(sample),
            state: if now - sample.at <= LIVE_SECONDS {
                "ok"
            } else {
                "stale"
            },
            error: None,
            connected: None,
            file: None,
            failing: false,
        },
        Err(e) => Status {
            sample: None,
            state: "error",
            error: Some(format!("file: {e}")),
            connected: None,
            file: None,
            failing: false,
        },
    }
}

fn interfaces(state: &State) -> Reply {
    let now = state.clock.now().wall;
    let mut list = Vec::new();
    // Keys in sorted order, as the answers have always had them.
    for served in &state.interfaces {
        let status = status(state, served, now);
        let rrd = served.rrd.to_string_lossy();
        push_object(
            &mut list,
            &[
                ("connected", status.connected.map_or(NULL, Value::Bool)),
                ("error", text_or_null(status.error.as_deref())),
                ("file", text_or_null(status.file)),
                ("id", Value::Text(&served.id)),
                ("label", Value::Text(&served.label)),
                ("last_sample", float_or_null(status.sample.map(|s| s.at))),
                ("name", Value::Text(&served.name)),
                ("router", Value::Text(&served.router)),
                ("rrd", Value::Text(&rrd)),
                ("state", Value::Text(status.state)),
            ],
        );
    }
    end_array(&mut list);
    Reply::json_bytes(
        200,
        object(&[
            ("interfaces", Value::Json(&list)),
            ("now", Value::Float(now)),
            ("settings", Value::Bool(state.setup.is_some())),
            ("theme", Value::Text(state.theme.name())),
            ("title", Value::Text(&state.title)),
            ("version", Value::Text(env!("CARGO_PKG_VERSION"))),
        ]),
    )
}

/// A rate for the JSON: `null` when unknown.
fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

fn live(state: &State) -> Reply {
    let now = state.clock.now().wall;
    let mut list = Vec::new();
    for served in &state.interfaces {
        let status = status(state, served, now);
        let sample = status.sample;
        push_object(
            &mut list,
            &[
                ("error", text_or_null(status.error.as_deref())),
                ("file", text_or_null(status.file)),
                ("id", Value::Text(&served.id)),
                ("rx", float_or_null(sample.and_then(|s| finite(s.rx_bps)))),
                ("state", Value::Text(status.state)),
                ("ts", float_or_null(sample.map(|s| s.at))),
                ("tx", float_or_null(sample.and_then(|s| finite(s.tx_bps)))),
            ],
        );
    }
    end_array(&mut list);
    Reply::json_bytes(
        200,
        object(&[
            ("interfaces", Value::Json(&list)),
            ("now", Value::Float(now)),
        ]),
    )
}

/// `/live` in the original's shape, for the first interface.
fn original_live(state: &State) -> Reply {
    let now = state.clock.now().wall;
    let sample = state
        .interfaces
        .first()
        .and_then(|served| status(state, served, now).sample);
    // The original's field order.
    let whole = |v: f64| Value::Int(rounded(Some(v)).unwrap_or(0));
    let body = match sample {
        Some(s) => [
            ("rx", whole(s.rx_bps)),
            ("tx", whole(s.tx_bps)),
            ("ts", Value::Float(s.at)),
        ],
        None => [("rx", Value::Int(0)), ("tx", Value::Int(0)), ("ts", NULL)],
    };
    Reply::json_bytes(200, object(&body))
}

fn healthz(state: &State) -> Reply {
    let now = state.clock.now().wall;
    let mut problems = String::new();
    for served in &state.interfaces {
        let status = status(state, served, now);
        let why = status.error.map_or(String::new(), |e| format!(" ({e})"));
        match status.sample {
            // Fresh samples that are not being stored are a problem too.
            _ if status.failing => {
                let _ = writeln!(problems, "{}: not stored{why}", served.id);
            }
            Some(s) if now - s.at <= FRESH_SECONDS => {}
            Some(s) => {
                let _ = writeln!(
                    problems,
                    "{}: no sample for {} s{why}",
                    served.id,
                    crate::text::fixed(now - s.at, 0)
                );
            }
            None => {
                let _ = writeln!(problems, "{}: no sample yet{why}", served.id);
            }
        }
    }
    match problems.is_empty() {
        true => Reply::text(200, "ok\n"),
        false => Reply::text(503, problems),
    }
}

/// `/metrics` for Prometheus: each collector's entry read once (its
/// counters and sample belong together); in web-only mode the file's last
/// row.
fn prometheus(state: &State) -> Reply {
    let now = state.clock.now().wall;
    let entries: Vec<Option<Entry>> = state
        .interfaces
        .iter()
        .map(|served| served.health.as_ref().map(Health::snapshot))
        .collect();
    let seen: Vec<metrics::Seen> = state
        .interfaces
        .iter()
        .zip(&entries)
        .map(|(served, entry)| metrics::Seen {
            router: &served.router,
            interface: &served.name,
            sample: match entry {
                Some(entry) => entry.last_sample,
                None => file_status(state, served, now).sample,
            },
            entry: entry.as_ref(),
        })
        .collect();
    let text = metrics::render(env!("CARGO_PKG_VERSION"), &seen);
    Reply {
        status: 200,
        content_type: metrics::CONTENT_TYPE,
        body: Body::Owned(text.into_bytes()),
        headers: Vec::new(),
        cache: "no-store",
    }
}

/// A whole-bit/s rate for the JSON.
fn rounded(value: Option<f64>) -> Option<i64> {
    value.filter(|v| v.is_finite()).map(|v| v.round() as i64)
}

/// One column of a series: a JSON array of `value` of each point,
/// written straight from the points (up to 10,000 values).
fn column(points: &[&query::Point], value: fn(&query::Point) -> Value<'static>) -> Vec<u8> {
    let mut out = vec![b'['];
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value(&mut out, value(p), false);
    }
    out.push(b']');
    out
}

/// The 503 for an interface whose file does not exist (yet), saying why.
fn no_file(served: &Served) -> Reply {
    let entry = served.health.as_ref().map(|h| h.snapshot());
    let why = match entry.as_ref().map(|e| &e.file) {
        Some(FileState::Failed(problem)) => format!(
            "it cannot be created ({}): {}",
            problem.reason.words(),
            problem.message
        ),
        Some(FileState::Creating) => "it is being created".to_string(),
        Some(FileState::Pending | FileState::Ready) => "it is not created yet".to_string(),
        None => "the collecting machine has not written it yet".to_string(),
    };
    Reply::error(
        503,
        format!("no data: {} does not exist; {why}", served.rrd.display()),
    )
}

/// The answer to a query that failed: 503 when the file could not be
/// read as asked (librrd failed or answered other rows), else 500.
fn query_error(e: query::Error) -> Reply {
    match e {
        query::Error::Rrd(_) | query::Error::Answer(_) => Reply::error(503, e.to_string()),
        _ => Reply::error(500, e.to_string()),
    }
}

fn series(state: &State, params: &Params) -> Result<Reply, Reply> {
    let served = params.interface(state)?;
    let (start, end) = params.window()?;
    let points = match params.int("points")? {
        None => DEFAULT_POINTS,
        Some(p) => u32::try_from(p).map_err(|_| {
            Reply::error(
                400,
                format!("points={p} is out of range (1 to {})", query::MAX_POINTS),
            )
        })?,
    };
    let since = params.int("since")?;
    let request = Request { start, end, points };
    request
        .check()
        .map_err(|e| Reply::error(400, e.to_string()))?;
    let csv = totals::wants_csv(params)?;
    if !served.rrd.exists() {
        return Err(no_file(served));
    }
    let result = state.files.reading(&served.rrd, || {
        let mut cache = served.cache.lock().unwrap_or_else(PoisonError::into_inner);
        query::series_cached(&mut cache, &served.rrd, &request)
    });
    let series = result.map_err(query_error)?;
    let window = &series.summary;
    let summary = object(&[
        ("rx_avg", float_or_null(window.rx_avg)),
        ("tx_avg", float_or_null(window.tx_avg)),
        ("rx_peak", float_or_null(window.rx_peak)),
        ("tx_peak", float_or_null(window.tx_peak)),
        ("peak_exact", Value::Bool(window.peak_exact)),
        ("rx_bytes", Value::Float(window.rx_bytes)),
        ("tx_bytes", Value::Float(window.tx_bytes)),
        ("known", Value::Float(window.known)),
        (
            "known_seconds",
            Value::Int(window.rx_known.min(window.tx_known)),
        ),
        ("seconds", Value::Int(end - start)),
        ("exact", Value::Bool(window.exact)),
    ]);
    let shown: Vec<&query::Point> = series
        .points
        .iter()
        .filter(|p| since.is_none_or(|since| p.time >= since))
        .collect();
    if csv {
        return Ok(totals::series_csv(state, served, series.step, &shown));
    }
    // Steps and resolutions are seconds: far below i64::MAX.
    let seconds = |s: Option<u64>| int_or_null(s.map(|s| s as i64));
    // Rates in whole bit/s, `null` where unknown.
    let peaks = (series.step > 1).then(|| {
        (
            column(&shown, |p| int_or_null(rounded(p.rx_peak))),
            column(&shown, |p| int_or_null(rounded(p.tx_peak))),
        )
    });
    let (rx_peak, tx_peak) = match &peaks {
        Some((rx, tx)) => (Value::Json(rx), Value::Json(tx)),
        None => (NULL, NULL),
    };
    let body = object(&[
        ("iface", Value::Text(&served.id)),
        ("start", Value::Int(series.start)),
        ("end", Value::Int(series.end)),
        ("step", seconds(Some(series.step))),
        ("resolution", seconds(series.resolution)),
        ("peak_resolution", seconds(series.peak_resolution)),
        ("peak_exact", Value::Bool(series.peak_exact)),
        ("last_update", Value::Int(series.last_update)),
        ("exact_from", int_or_null(series.exact_from)),
        ("now", Value::Float(state.clock.now().wall)),
        ("summary", Value::Json(&summary)),
        (
            "t0",
            Value::Int(shown.first().map_or(series.end, |p| p.time)),
        ),
        (
            "rx",
            Value::Json(&column(&shown, |p| int_or_null(rounded(p.rx)))),
        ),
        (
            "tx",
            Value::Json(&column(&shown, |p| int_or_null(rounded(p.tx)))),
        ),
        (
            "known",
            Value::Json(&column(&shown, |p| Value::Int(p.rx_known.min(p.tx_known)))),
        ),
        ("rx_peak", rx_peak),
        ("tx_peak", tx_peak),
    ]);
    Ok(Reply::json_bytes(200, body))
}

fn rrdtool(state: &State, params: &Params) -> Result<Reply, Reply> {
    let served = params.interface(state)?;
    let view = View::from_query(params.0.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let info = state.files.reading(&served.rrd, || rrd::info(&served.rrd));
    let archives: Vec<(u64, u64)> = match &info {
        Ok(info) => info
            .archives
            .iter()
            .filter(|a| a.cf == "AVERAGE")
            .map(|a| (a.pdp_per_row * info.step, a.rows))
            .collect(),
        Err(_) => Vec::new(),
    };
    let step = graph::effective_step(&view, &archives);
    let command = graph::rrdtool_command(&view, &served.rrd.to_string_lossy(), &state.title, step);
    Ok(Reply::json_bytes(
        200,
        object(&[("command", Value::Text(&command))]),
    ))
}

mod totals;

#[cfg(test)]
mod tests;
