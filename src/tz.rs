//! Time zones and local calendar arithmetic, without a time-zone crate: a
//! reader of TZif files (version 2 and later: the 64-bit section and the
//! POSIX TZ string in its footer, which gives the rule for times after the
//! last transition), the zone's UTC offset at any time, and the UTC
//! instants where local days, months and years begin (days of 23, 24 or 25
//! hours, or 23.5 and 24.5 where the change is half an hour).
//!
//! [`Zone::parse`] is pure (bytes in, zone out) and bounded: at most
//! [`MAX_FILE_BYTES`], [`MAX_TRANSITIONS`] transitions and 256 types; any
//! malformed input is an [`Error`] saying what, never a panic. [`load`] is
//! the shell that finds the zone: `web.timezone` (an IANA name under
//! `/usr/share/zoneinfo`), else the `TZ` variable, else `/etc/localtime`.
//!
//! Times are Unix seconds (no leap seconds: zones from `right/` are
//! refused). A transition at `T` applies from `T` on; before the first one
//! the first type applies (as the TZif specification says).

use std::fmt;
use std::path::{Path, PathBuf};

/// The largest TZif file read (the largest real ones are under 4 KB).
pub const MAX_FILE_BYTES: usize = 64 << 10;
/// The most transitions one file may list (real ones list under 2,000).
pub const MAX_TRANSITIONS: usize = 4096;
/// Where IANA zone names are looked up.
pub const ZONEINFO: &str = "/usr/share/zoneinfo";
/// The largest UTC offset accepted, in seconds (26 hours either way).
const MAX_OFFSET: i64 = 26 * 3600;
/// Seconds per day.
const DAY: i64 = 86_400;
/// The earliest and latest year the calendar functions work with.
const YEARS: std::ops::RangeInclusive<i64> = 1..=9999;

/// A time zone: its transitions and the rule after them.
#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    /// What it is called: the IANA name, or `UTC`, or the `TZ` string.
    pub name: String,
    /// The transition times, ascending, with the UTC offset from then on.
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition.
    first: i32,
    /// The rule after the last transition (the footer), if any.
    rule: Option<Rule>,
}

/// A POSIX TZ rule: a standard offset and, optionally, daylight time.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rule {
    /// Standard time's offset east of UTC, seconds.
    std: i32,
    /// Daylight time's offset and when it starts and ends (local times).
    dst: Option<(i32, Change, Change)>,
}

/// When a POSIX rule changes: a day of the year and a local time of day.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Change {
    day: RuleDay,
    /// Seconds after local midnight (may be negative or past 24 h).
    time: i64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum RuleDay {
    /// `Jn`: day 1 to 365, February 29 never counted.
    Julian(u16),
    /// `n`: day 0 to 365, February 29 counted.
    Zero(u16),
    /// `Mm.w.d`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Month(u8, u8, u8),
}

/// Why a zone could not be read.
#[derive(Debug, PartialEq)]
pub enum Error {
    /// The file could not be read.
    Io(String),
    /// The bytes are not a usable TZif file; says what is wrong.
    Format(String),
    /// The name is not an IANA zone name.
    Name(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(what) => write!(f, "{what}"),
            Error::Format(what) => write!(f, "not a usable TZif file: {what}"),
            Error::Name(name) => write!(
                f,
                "{name:?} is not a time zone name (like Europe/Berlin: letters, digits, _ + - and /)"
            ),
        }
    }
}

impl std::error::Error for Error {}

fn bad(what: impl Into<String>) -> Error {
    Error::Format(what.into())
}

/// A bounded reader over the file's bytes.
struct Bytes<'a> {
    rest: &'a [u8],
}

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.rest.len() {
            return Err(bad("the file ends early"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// The counts of a TZif header.
struct Counts {
    isut: usize,
    isstd: usize,
    leap: usize,
    time: usize,
    types: usize,
    chars: usize,
}

fn header(bytes: &mut Bytes) -> Result<(u8, Counts), Error> {
    if bytes.take(4)? != b"TZif" {
        return Err(bad("it does not start with \"TZif\""));
    }
    let version = bytes.take(1)?[0];
    bytes.take(15)?;
    let mut count = || -> Result<usize, Error> {
        let n = bytes.u32()? as usize;
        match n <= MAX_TRANSITIONS {
            true => Ok(n),
            false => Err(bad("a count above 4096")),
        }
    };
    let counts = Counts {
        isut: count()?,
        isstd: count()?,
        leap: count()?,
        time: count()?,
        types: count()?,
        chars: count()?,
    };
    if counts.types == 0 || counts.types > 256 {
        return Err(bad("not 1 to 256 local time types"));
    }
    Ok((version, counts))
}

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".into(),
            transitions: Vec::new(),
            first: 0,
            rule: None,
        }
    }

    /// Reads a TZif file (version 2 or later) called `name`.
    ///
    /// Errors: a file that is not TZif, version 1 (no 64-bit section), with
    /// leap seconds, counts or offsets out of range, transitions out of
    /// order, indices past their tables, or a footer that is not a POSIX
    /// TZ string; each says what.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Zone, Error> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(bad("more than 65,536 bytes"));
        }
        let mut reader = Bytes { rest: bytes };
        let (version, v1) = header(&mut reader)?;
        if version < b'2' {
            return Err(bad(
                "version 1 (without the 64-bit section); version 2 or later is needed",
            ));
        }
        reader.take(v1.time * 5 + v1.types * 6 + v1.chars + v1.leap * 8 + v1.isstd + v1.isut)?;
        let (_, c) = header(&mut reader)?;
        if c.leap > 0 {
            return Err(bad(
                "it counts leap seconds (a right/ zone); use the zone without right/",
            ));
        }
        let times = reader.take(c.time * 8)?;
        let indices = reader.take(c.time)?;
        let types = reader.take(c.types * 6)?;
        reader.take(c.chars + c.isstd + c.isut)?;
        let offsets: Vec<i32> = types
            .chunks_exact(6)
            .map(|t| i32::from_be_bytes([t[0], t[1], t[2], t[3]]))
            .collect();
        if offsets.iter().any(|o| i64::from(*o).abs() > MAX_OFFSET) {
            return Err(bad("a UTC offset beyond 26 hours"));
        }
        let mut transitions = Vec::with_capacity(c.time);
        for (time, &index) in times.chunks_exact(8).zip(indices) {
            let mut at = [0u8; 8];
            at.copy_from_slice(time);
            let at = i64::from_be_bytes(at);
            let offset = *offsets
                .get(usize::from(index))
                .ok_or_else(|| bad(format!("a transition to type {index} of {}", c.types)))?;
            if transitions.last().is_some_and(|&(last, _)| last >= at) {
                return Err(bad("transition times out of order"));
            }
            transitions.push((at, offset));
        }
        let footer = reader.rest;
        let rule = match footer {
            [b'\n', text @ .., b'\n'] => {
                let text = std::str::from_utf8(text).map_err(|_| bad("the footer is not text"))?;
                match text.is_empty() {
                    true => None,
                    false => Some(
                        parse_rule(text).ok_or_else(|| bad("the footer is not a POSIX TZ rule"))?,
                    ),
                }
            }
            _ => return Err(bad("no footer line after the 64-bit section")),
        };
        Ok(Zone {
            name: name.to_string(),
            transitions,
            first: offsets[0],
            rule,
        })
    }

    /// A zone from a POSIX TZ string alone (`TZ=CET-1CEST,M3.5.0,M10.5.0/3`).
    pub fn from_rule(text: &str) -> Result<Zone, Error> {
        let rule =
            parse_rule(text).ok_or_else(|| bad(format!("{text:?} is not a POSIX TZ string")))?;
        Ok(Zone {
            name: text.to_string(),
            transitions: Vec::new(),
            first: rule.std,
            rule: Some(rule),
        })
    }

    /// The UTC offset at `t`, seconds east of UTC.
    pub fn offset(&self, t: i64) -> i32 {
        let n = self.transitions.partition_point(|&(at, _)| at <= t);
        match (n, &self.rule) {
            (n, Some(rule)) if n == self.transitions.len() => rule.offset(t),
            (0, _) => self.first,
            (n, _) => self.transitions[n - 1].1,
        }
    }

    /// The first time after `t` at which the offset changes, if any.
    pub fn next_change(&self, t: i64) -> Option<i64> {
        let mut before = self.offset(t);
        let n = self.transitions.partition_point(|&(at, _)| at <= t);
        for &(at, offset) in &self.transitions[n..] {
            if offset != before {
                return Some(at);
            }
            before = offset;
        }
        let from = self.transitions.last().map_or(t, |&(at, _)| at.max(t));
        self.rule.and_then(|rule| rule.next_change(from, before))
    }

    /// The first instant whose local time is at or after `local` (local
    /// seconds since 1970-01-01 00:00): the start of a local day that has
    /// a midnight, else the change that skips over it.
    pub fn instant(&self, local: i64) -> i64 {
        let mut t = local - MAX_OFFSET;
        // Within 52 hours there are only a few changes; bounded anyway.
        for _ in 0..64 {
            let offset = i64::from(self.offset(t));
            let end = self.next_change(t).unwrap_or(i64::MAX);
            let candidate = local - offset;
            if candidate < end {
                return candidate.max(t);
            }
            t = end;
        }
        local - i64::from(self.offset(local))
    }

    /// The local date of `t`.
    pub fn date(&self, t: i64) -> Date {
        Date::from_days((t + i64::from(self.offset(t))).div_euclid(DAY))
    }

    /// The instant the local `date` starts.
    pub fn start_of(&self, date: Date) -> i64 {
        self.instant(date.days() * DAY)
    }

    /// The local time of `t` as ISO 8601 with its offset
    /// (`2026-03-29T03:00:00+02:00`).
    pub fn iso(&self, t: i64) -> String {
        iso(t, self.offset(t))
    }

    /// The local hours of the day `date`: their start instants and the
    /// day's end, 24 hours but 23 or 25 (or 23.5 and 24.5) where the
    /// offset changes; an hour is cut where the offset changes within it.
    pub fn hours(&self, date: Date) -> Vec<i64> {
        let (start, end) = (self.start_of(date), self.start_of(date.next_day()));
        let mut bounds = vec![start];
        let mut t = start;
        while t < end && bounds.len() < 64 {
            let offset = i64::from(self.offset(t));
            let hour = ((t + offset).div_euclid(3600) + 1) * 3600 - offset;
            let change = self.next_change(t).unwrap_or(i64::MAX);
            t = hour.min(change).min(end);
            bounds.push(t);
        }
        bounds
    }
}

impl Rule {
    /// The offset at `t` (after the zone's last transition).
    fn offset(&self, t: i64) -> i32 {
        let year = Date::from_days(t.div_euclid(DAY)).year;
        // The latest change at or before `t`; the years around it always
        // hold one (a change a year before at the latest).
        self.changes(year - 1, year + 1)
            .into_iter()
            .filter(|&(at, _)| at <= t)
            .max_by_key(|&(at, _)| at)
            .map_or(self.std, |(_, offset)| offset as i32)
    }

    /// The first change after `t` that sets another offset than `before`.
    fn next_change(&self, t: i64, before: i32) -> Option<i64> {
        self.dst?;
        let year = Date::from_days(t.div_euclid(DAY)).year;
        let mut changes = self.changes(year - 1, year + 2);
        crate::order::sort(&mut changes);
        let mut current = i64::from(before);
        for (at, to) in changes {
            if at > t && to != current {
                return Some(at);
            }
            if at > t {
                current = to;
            }
        }
        None
    }

    /// The changes of the years `from..=to`: (instant, offset from then).
    /// (Pairs of `i64`, as the query's spans: one sort of them in the
    /// binary.)
    fn changes(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        let Some((dst, start, end)) = self.dst else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for year in from.max(*YEARS.start())..=to.min(*YEARS.end()) {
            // The start is given in standard time, the end in daylight time.
            out.push((start.local(year) - i64::from(self.std), i64::from(dst)));
            out.push((end.local(year) - i64::from(dst), i64::from(self.std)));
        }
        out
    }
}

impl Change {
    /// Local seconds since 1970 of this change in `year`.
    fn local(&self, year: i64) -> i64 {
        let jan1 = Date {
            year,
            month: 1,
            day: 1,
        }
        .days();
        let day = match self.day {
            RuleDay::Julian(n) => {
                let n = i64::from(n) - 1;
                // Days 59 and later are after February 28; skip the 29th.
                jan1 + n + i64::from(n >= 59 && is_leap(year))
            }
            RuleDay::Zero(n) => jan1 + i64::from(n),
            RuleDay::Month(month, week, weekday) => {
                let first = Date {
                    year,
                    month,
                    day: 1,
                }
                .days();
                // 1970-01-01 was a Thursday (4).
                let first_weekday = (first + 4).rem_euclid(7);
                let mut day = first + (i64::from(weekday) - first_weekday).rem_euclid(7);
                day += 7 * (i64::from(week) - 1);
                let last = first + i64::from(days_in_month(year, month)) - 1;
                while day > last {
                    day -= 7;
                }
                day
            }
        };
        day * DAY + self.time
    }
}

/// Parses a POSIX TZ string (`std offset [dst [offset] [,start,end]]`);
/// `None` if it is not one.
fn parse_rule(text: &str) -> Option<Rule> {
    if text.len() > 255 {
        return None;
    }
    let mut s = text.as_bytes();
    name(&mut s)?;
    let std = -time(&mut s, 24)?;
    if s.is_empty() {
        return Some(Rule {
            std: i32::try_from(std).ok()?,
            dst: None,
        });
    }
    name(&mut s)?;
    let dst = match s.first() {
        Some(b',') | None => std + 3600,
        Some(_) => -time(&mut s, 24)?,
    };
    // Without rules, POSIX leaves them to the implementation; the US
    // rules are the common default.
    let (start, end) = match s {
        [] => (
            Change {
                day: RuleDay::Month(3, 2, 0),
                time: 7200,
            },
            Change {
                day: RuleDay::Month(11, 1, 0),
                time: 7200,
            },
        ),
        [b',', rest @ ..] => {
            s = rest;
            let start = change(&mut s)?;
            if s.first() != Some(&b',') {
                return None;
            }
            s = &s[1..];
            let end = change(&mut s)?;
            (start, end)
        }
        _ => return None,
    };
    if !s.is_empty() || std.abs() > MAX_OFFSET || dst.abs() > MAX_OFFSET {
        return None;
    }
    Some(Rule {
        std: i32::try_from(std).ok()?,
        dst: Some((i32::try_from(dst).ok()?, start, end)),
    })
}

/// A zone abbreviation: three or more letters, or `<...>` quoted.
fn name(s: &mut &[u8]) -> Option<()> {
    let n = match s.first() {
        Some(b'<') => {
            let close = s.iter().position(|&b| b == b'>')?;
            let inner = &s[1..close];
            let ok = inner
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'-');
            (ok && inner.len() >= 3).then_some(close + 1)?
        }
        _ => {
            let n = s.iter().take_while(|b| b.is_ascii_alphabetic()).count();
            (n >= 3).then_some(n)?
        }
    };
    *s = &s[n..];
    Some(())
}

/// `[+-]hh[:mm[:ss]]` as seconds, hours at most `max_hours`.
fn time(s: &mut &[u8], max_hours: i64) -> Option<i64> {
    let sign = match s.first() {
        Some(b'-') => {
            *s = &s[1..];
            -1
        }
        Some(b'+') => {
            *s = &s[1..];
            1
        }
        _ => 1,
    };
    let mut parts = [0i64; 3];
    for (i, part) in parts.iter_mut().enumerate() {
        if i > 0 {
            if s.first() != Some(&b':') {
                break;
            }
            *s = &s[1..];
        }
        *part = number(s, 3)?;
    }
    if parts[0] > max_hours || parts[1] > 59 || parts[2] > 59 {
        return None;
    }
    Some(sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]))
}

/// Up to `digits` decimal digits, at least one.
fn number(s: &mut &[u8], digits: usize) -> Option<i64> {
    let n = s
        .iter()
        .take(digits)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if n == 0 {
        return None;
    }
    let value = s[..n]
        .iter()
        .fold(0i64, |v, b| v * 10 + i64::from(b - b'0'));
    *s = &s[n..];
    Some(value)
}

/// `Jn`, `n` or `Mm.w.d`, then an optional `/time`.
fn change(s: &mut &[u8]) -> Option<Change> {
    let day = match s.first() {
        Some(b'J') => {
            *s = &s[1..];
            let n = number(s, 3)?;
            (1..=365)
                .contains(&n)
                .then_some(RuleDay::Julian(n as u16))?
        }
        Some(b'M') => {
            *s = &s[1..];
            let m = number(s, 2)?;
            let dot = |s: &mut &[u8]| -> Option<i64> {
                (s.first() == Some(&b'.')).then_some(())?;
                *s = &s[1..];
                number(s, 1)
            };
            let w = dot(s)?;
            let d = dot(s)?;
            let ok = (1..=12).contains(&m) && (1..=5).contains(&w) && (0..=6).contains(&d);
            ok.then_some(RuleDay::Month(m as u8, w as u8, d as u8))?
        }
        _ => {
            let n = number(s, 3)?;
            (0..=365).contains(&n).then_some(RuleDay::Zero(n as u16))?
        }
    };
    let time = match s.first() {
        Some(b'/') => {
            *s = &s[1..];
            // Version 3 allows -167 to 167 hours.
            time(s, 167)?
        }
        _ => 7200,
    };
    Some(Change { day, time })
}

/// A calendar date (proleptic Gregorian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// The year.
    pub year: i64,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31.
    pub day: u8,
}

impl Date {
    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = self.year - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        Date {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
        }
    }

    /// The day after.
    pub fn next_day(self) -> Date {
        Date::from_days(self.days() + 1)
    }

    /// Day `day` of the month `months` months after this date's month
    /// (negative: before); `day` is at most 28 or the month's last day.
    pub fn add_months(self, months: i64, day: u8) -> Date {
        let index = self.year * 12 + i64::from(self.month) - 1 + months;
        let (year, month) = (index.div_euclid(12), (index.rem_euclid(12) + 1) as u8);
        Date {
            year,
            month,
            day: day.clamp(1, days_in_month(year, month)),
        }
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` of `year`.
pub fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `t` as ISO 8601 local time at `offset` (`Z` for UTC is written
/// `+00:00`).
pub fn iso(t: i64, offset: i32) -> String {
    let local = t + i64::from(offset);
    let date = Date::from_days(local.div_euclid(DAY));
    let s = local.rem_euclid(DAY);
    let sign = if offset < 0 { '-' } else { '+' };
    let o = offset.unsigned_abs();
    let mut text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        date.year,
        date.month,
        date.day,
        s / 3600,
        s / 60 % 60,
        s % 60,
        o / 3600,
        o / 60 % 60
    );
    if o % 60 != 0 {
        text.push_str(&format!(":{:02}", o % 60));
    }
    text
}

/// Whether `name` looks like an IANA zone name: letters, digits, `_`, `+`,
/// `-` and `/`, no empty or dot part, at most 255 bytes.
pub fn valid_name(name: &str) -> bool {
    name.len() <= 255
        && !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with('.')
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b))
        })
}

/// Reads a TZif file of at most [`MAX_FILE_BYTES`].
fn read(name: &str, path: &Path) -> Result<Zone, Error> {
    let bytes = crate::config::read_bounded(path, MAX_FILE_BYTES as u64)
        .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    Zone::parse(name, &bytes).map_err(|e| match e {
        Error::Format(what) => Error::Format(format!("{}: {what}", path.display())),
        other => other,
    })
}

/// The zone to use: `configured` (an IANA name, `web.timezone`), else the
/// `TZ` value `tz` (a name, `:name`, a path, or a POSIX TZ string), else
/// `/etc/localtime` (named after its link target under `zoneinfo/`).
pub fn load(configured: Option<&str>, tz: Option<&str>) -> Result<Zone, Error> {
    let zoneinfo = Path::new(ZONEINFO);
    if let Some(name) = configured {
        if !valid_name(name) {
            return Err(Error::Name(name.to_string()));
        }
        return read(name, &zoneinfo.join(name));
    }
    match tz.map(|tz| tz.strip_prefix(':').unwrap_or(tz)) {
        Some("") | None => {}
        Some(path) if path.starts_with('/') => {
            // After the last `zoneinfo/`, if any.
            let name = path.split("zoneinfo/").last().unwrap_or(path);
            return read(name, Path::new(path));
        }
        Some(name) if valid_name(name) && zoneinfo.join(name).is_file() => {
            return read(name, &zoneinfo.join(name));
        }
        Some(text) => return Zone::from_rule(text),
    }
    let localtime = Path::new("/etc/localtime");
    let name = std::fs::read_link(localtime)
        .ok()
        .and_then(|target: PathBuf| {
            let target = target.to_string_lossy().into_owned();
            let mut parts = target.split("zoneinfo/");
            parts.next();
            parts.last().map(str::to_string)
        })
        .unwrap_or_else(|| "localtime".into());
    read(&name, localtime)
}

#[cfg(test)]
mod tests;
