//! Series queries over one interface's RRD file: for a window and a number
//! of points, the average and the true peak rate (bit/s) of each point and
//! how much of it is known, and for the window itself its volume in bytes,
//! average, peak and known time, each read from the coarsest archive that
//! holds it exactly, so that no window reads more than about two million
//! rows (ten years of 5 min averages and maxima in the Original profile,
//! 176,000 in the Compact one) where the original summed 31.6 million for
//! one year.
//!
//! [`compute`] is pure: it takes the file's header ([`rrd::Info`]) and a
//! fetch function, so that tests feed it synthetic rows. [`series`] is the
//! thin shell that reads a file through [`crate::rrd`]. Neither reads the
//! clock ("now" is the file's last update), writes anything, or knows about
//! HTTP and JSON.
//!
//! # Time
//!
//! Times are Unix seconds. An RRD row stamped `T` with resolution `r` holds
//! the interval `(T - r, T]`, the real seconds `T - r .. T - 1`. Every
//! interval here is half-open the same way: the window `[start, end]` of a
//! [`Request`] is `(start, end]`, `end - start` seconds, and the point at
//! `time` is `(time, time + step]`.
//!
//! # Known seconds
//!
//! A second is known when the 1 s archive holds a value for it (in both
//! `rx` and `tx` for the known share; each data source's own seconds for
//! its sums). Seconds after the last update are unknown. A point's average
//! is the average over its known seconds, however few, and the point says
//! how many seconds that is; the window's volume, average, peak and known
//! time cover exactly `(start, end]`. Unknown seconds count as nothing.
//!
//! A coarse row stands in for its seconds only when every one of them is
//! known: librrd keeps a row known while up to half of its seconds are
//! unknown (its xff), so whether it is whole comes from a map of the
//! unknown seconds, learned from the 1 s archive (`src/query/map.rs`).
//! Rows that are not whole are replaced by what their known seconds add
//! up to. Where the 1 s archive no longer holds the seconds, the finest
//! archive that holds them has to do: its rows count as known or unknown
//! as a whole, as librrd kept them (so up to half of such a row's seconds
//! may be unknown and count at its average), and MAX rows there are read
//! as librrd kept them. [`Series::exact_from`] says from when on the
//! answer is exact to the second.
//!
//! # Rules
//!
//! - **Tiers.** Each archive holds the rows stamped in `(oldest, newest]`,
//!   where `newest` is the last update rounded down to its resolution and
//!   `oldest` is `newest - rows × resolution`. A margin of one minute (at
//!   least one row) is kept from the oldest row, so that an update landing
//!   between reading the header and fetching cannot push a wanted row out
//!   and make librrd answer from another archive.
//! - **Step.** The smallest step of the ladder 1, 2, 5, 10, 15, 30, 60, 120,
//!   300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 2 days,
//!   7 days, then doubling weeks, that is at least `window / points` and a
//!   multiple of the finest AVERAGE resolution still holding the window's
//!   start (for a window older than every archive, the one reaching back
//!   furthest). Points are aligned to multiples of the step, so there are at
//!   most `points + 1` of them. Only for layouts whose resolutions divide
//!   no ladder step (such as 7 s) is a plain multiple of the resolution
//!   used instead.
//! - **Tiling.** An interval is split among archives coarse first: the
//!   coarsest archive takes the whole rows of it that it still holds, and
//!   what is left at either end (less than one of its rows, or past its
//!   newest row) goes to the next finer archive in the same way. So the
//!   middle comes from few coarse rows and the edges from fine ones, and
//!   each part comes from an archive that still holds it. Then the map
//!   replaces the rows that are not whole (see "Known seconds"). Since
//!   averages nest, the result is the sum over the known 1 s values.
//! - **Averages.** Each point's interval is tiled with the AVERAGE
//!   archives. Where the step is a multiple of the coarser resolutions (all
//!   ladder steps but 15 s, with the profiles' archives), that is just the
//!   coarsest archive whose resolution divides the step and which holds the
//!   point; a 15 s point takes one 10 s row and five 1 s rows, and the
//!   newest point (past the coarse archives' newest rows) takes its tail
//!   from finer archives. A point with no known second is a gap (`None`),
//!   never 0.
//! - **Peaks.** Each point's interval, and the window, are tiled with the
//!   exact sources: the MAX archives (a row is the largest 1 s value in it)
//!   and the 1 s archive (the 1 s values themselves). So below the finest
//!   MAX resolution, or for the unfinished tail of the newest point, the 1 s
//!   rows are used, and otherwise the coarsest MAX archive whose rows fit.
//!   What no exact source holds (a point older than the 1 s archive at a
//!   step no MAX archive fits) falls back to the AVERAGE rows, and
//!   [`Series::peak_exact`] says so. Gaps follow the averages' rule.
//! - **Window.** The summary covers `(start, end]` exactly, not the points'
//!   wider span: the points wholly inside it, plus its edges (the parts of
//!   the first and the last point inside it) tiled like points. An edge
//!   that even the finest archive holding it cannot split into whole rows
//!   (an edge older than the 1 s archive's retention) is counted pro rata
//!   from that archive's row, as if the rate were even within it, and its
//!   peak from the AVERAGE rows ([`Summary::peak_exact`] says so).
//! - **Fetches.** Each archive is fetched once over the span of all the
//!   rows the query needs from it, except that spans further apart than
//!   [`MERGE_GAP_ROWS`] rows are fetched separately (a 30-day window needs
//!   1 s rows at both ends, not the 2.6 million in between). Spans longer
//!   than [`MAX_FETCH_ROWS`] rows are fetched in parts of that size, each
//!   added up and dropped before the next is fetched. On the bench file,
//!   ten years of 300 s averages and maxima took 60 to 75 ms in parts of
//!   16,384 rows against 90 to 110 ms in parts of a million: small parts'
//!   buffers (librrd's and the copy [`rrd::fetch`] makes) stay in the CPU
//!   cache and in the allocator, where large ones come fresh from the
//!   kernel, page by page, on every query; one more fetch costs about
//!   50 µs. A query that would read more than 4 million rows in all (a
//!   file without coarse archives, asked for years) is refused rather than
//!   keep a web worker busy for seconds; the map is not counted in that.
//!
//! # Cache
//!
//! [`series`] and [`compute`] learn the map of the window's own time on
//! every call, which reads every 1 s row of it: right for short windows
//! and for checks, slow for long ones. [`series_cached`] and
//! [`compute_cached`] keep the map, and the whole UTC days of the coarse
//! archives, in a [`Cache`] (one per file): the map is learned in the
//! background by [`learn`] (and, within a small budget, by the queries
//! themselves, newest first), and extended as the file grows; a long
//! window whose step is a whole number of days adds its whole days from
//! memory. Until the map is learned, the time it does not cover is read as
//! librrd kept it, and [`Series::exact_from`] says where that ends. Its
//! rules are in `src/query/cache.rs` and `src/query/map.rs`.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use crate::rrd;

mod cache;
mod map;
mod stats;
mod totals;

pub use cache::{Cache, compute_cached, learn, learn_with, series_cached};
pub use stats::{Above, Percentiles, Stats, stats_cached, stats_file};
pub use totals::{MAX_INTERVALS, Total, first_second, totals_cached, totals_file};

use map::{Learn, Map};

/// The most points a request may ask for.
pub const MAX_POINTS: u32 = 10_000;
/// The latest time a window may end at: 9999-12-31 23:59:59 UTC.
pub const LATEST_TIME: i64 = 253_402_300_799;
/// Row spans of one archive that are at most this many rows apart are
/// fetched together; further apart, separately.
pub const MERGE_GAP_ROWS: i64 = 4096;
/// The most rows one fetch asks for; longer spans are fetched in parts.
pub const MAX_FETCH_ROWS: i64 = 1 << 14;

/// What to compute: the window `(start, end]` in Unix seconds and about
/// how many points to cut it into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// The window's start, Unix seconds (not before 1970).
    pub start: i64,
    /// The window's end, Unix seconds, after `start`.
    pub end: i64,
    /// The wanted number of points, 1 to [`MAX_POINTS`]; the answer has at
    /// most one more, because points are aligned to their step.
    pub points: u32,
}

/// The answer to a [`Request`].
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The start of the first point: the window's start rounded down to a
    /// multiple of `step`.
    pub start: i64,
    /// The end of the last point: the window's end rounded up to a multiple
    /// of `step`.
    pub end: i64,
    /// Seconds per point.
    pub step: u64,
    /// The resolution of the AVERAGE archive that served most of the points'
    /// seconds; `None` when no archive held any of them.
    pub resolution: Option<u64>,
    /// The resolution of the archive that served most of the peaks' seconds
    /// (a MAX archive, the 1 s archive, or an AVERAGE one when falling
    /// back); `None` when no archive held any of them.
    pub peak_resolution: Option<u64>,
    /// Whether every point's peak is a true 1 s peak (false when some come
    /// from AVERAGE rows, which are at most the true peak).
    pub peak_exact: bool,
    /// The file's last update, Unix seconds: nothing after it is known.
    pub last_update: i64,
    /// The points' seconds after this time (from `start` on) are exact to
    /// the second; before it, the finest archive holding them has to do
    /// (see "Known seconds" in the module documentation). `None` when none
    /// of them is (older than the 1 s archive, no 1 s archive, or not
    /// learned yet: see [`Cache`]). Seconds after the last update are
    /// unknown, which is exact too.
    pub exact_from: Option<i64>,
    /// The points, oldest first, `(end - start) / step` of them.
    pub points: Vec<Point>,
    /// The requested window (not the aligned one).
    pub summary: Summary,
}

/// One point: the interval `(time, time + step]`. Rates are bit/s; `None`
/// where no second of the interval is known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// The start of the point's interval, a multiple of the step.
    pub time: i64,
    /// Average received bit/s over the known seconds.
    pub rx: Option<f64>,
    /// Average sent bit/s over the known seconds.
    pub tx: Option<f64>,
    /// Largest 1 s received rate.
    pub rx_peak: Option<f64>,
    /// Largest 1 s sent rate.
    pub tx_peak: Option<f64>,
    /// Known seconds of the point for `rx`, 0 to the step.
    pub rx_known: i64,
    /// Known seconds of the point for `tx`, 0 to the step.
    pub tx_known: i64,
}

/// The requested window `(start, end]`: what moved in its known seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Bytes received in the known seconds.
    pub rx_bytes: f64,
    /// Bytes sent in the known seconds.
    pub tx_bytes: f64,
    /// Known seconds for `rx`.
    pub rx_known: i64,
    /// Known seconds for `tx`.
    pub tx_known: i64,
    /// Average received bit/s over its known seconds.
    pub rx_avg: Option<f64>,
    /// Average sent bit/s over its known seconds.
    pub tx_avg: Option<f64>,
    /// Largest received rate.
    pub rx_peak: Option<f64>,
    /// Largest sent rate.
    pub tx_peak: Option<f64>,
    /// Whether both peaks are true 1 s peaks of the window: false when an
    /// edge of it lies where only AVERAGE rows split it (older than the 1 s
    /// archive), whose values are at most the true peak.
    pub peak_exact: bool,
    /// The share of the window's seconds that are known, 0 to 1 (the
    /// smaller of the two directions' shares).
    pub known: f64,
    /// Whether the window lies where the seconds are known exactly (see
    /// [`Series::exact_from`]).
    pub exact: bool,
}

/// Why a query failed.
#[derive(Debug, PartialEq)]
pub enum Error {
    /// The window is empty or reversed.
    Window {
        /// The requested start.
        start: i64,
        /// The requested end.
        end: i64,
    },
    /// The window starts before 1970.
    BeforeEpoch {
        /// The requested start.
        start: i64,
    },
    /// The window ends after [`LATEST_TIME`].
    TooLate {
        /// The requested end.
        end: i64,
    },
    /// Zero points, or more than [`MAX_POINTS`].
    Points {
        /// The requested number.
        points: u32,
    },
    /// The file cannot be queried: no AVERAGE archive, no `rx` or `tx`
    /// data source, archives too many and too unrelated to tile, or too
    /// fine for the window (more than 4 million rows to read).
    Layout(String),
    /// librrd answered a fetch with other rows than were asked for (the
    /// file was replaced or rewritten meanwhile).
    Answer(String),
    /// librrd failed.
    Rrd(rrd::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Window { start, end } => write!(
                f,
                "the window {start}..{end} is empty: its start must be before its end"
            ),
            Error::BeforeEpoch { start } => write!(
                f,
                "the window starts at {start}, before 1970-01-01 (Unix time 0)"
            ),
            Error::TooLate { end } => write!(
                f,
                "the window ends at {end}, after 9999-12-31 (Unix time {LATEST_TIME})"
            ),
            Error::Points { points } => write!(
                f,
                "{points} points asked for: a series has 1 to {MAX_POINTS}"
            ),
            Error::Layout(what) => write!(f, "the RRD file cannot be queried: {what}"),
            Error::Answer(what) => write!(
                f,
                "librrd answered unexpectedly: {what} (was the file replaced meanwhile? try again)"
            ),
            Error::Rrd(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl Request {
    /// Checks the request: `0 <= start < end <= LATEST_TIME` and
    /// `1 <= points <= MAX_POINTS`.
    pub fn check(&self) -> Result<(), Error> {
        if self.start < 0 {
            return Err(Error::BeforeEpoch { start: self.start });
        }
        if self.end > LATEST_TIME {
            return Err(Error::TooLate { end: self.end });
        }
        if self.start >= self.end {
            return Err(Error::Window {
                start: self.start,
                end: self.end,
            });
        }
        if self.points == 0 || self.points > MAX_POINTS {
            return Err(Error::Points {
                points: self.points,
            });
        }
        Ok(())
    }
}

/// Reads the series of `request` from the RRD file at `path`: its header
/// with [`rrd::info`], then the rows with [`rrd::fetch`] (see [`compute`]).
///
/// Errors: an invalid request (before the file is touched), librrd's
/// failures, or a file that cannot be queried.
pub fn series(path: &Path, request: &Request) -> Result<Series, Error> {
    request.check()?;
    let info = rrd::info(path).map_err(Error::Rrd)?;
    compute(&info, request, |cf, start, end, resolution| {
        rrd::fetch(path, cf, start, end, resolution)
    })
}

/// Computes the series of `request` for a file with header `info`, whose
/// `last_update` stands for "now", reading rows through `fetch`. It learns
/// the map of unknown seconds for the points' time first, reading every
/// unit row of it (every 1 s row where the 1 s archive holds it): exact,
/// but slow for long windows, for which [`compute_cached`] is meant.
///
/// `fetch(cf, start, end, resolution)` must answer as [`rrd::fetch`] does:
/// rows of `resolution` seconds stamped from `start` rounded down plus one
/// row, to `end` rounded up past it. Besides the map's rows, it is called
/// once per archive needed and span of its rows (twice when the archive is
/// needed at both ends of a long window), once more per [`MAX_FETCH_ROWS`]
/// rows of a long span, and always with `start` and `resolution` such that
/// librrd picks exactly that archive: a range the archive holds, at its own
/// resolution.
///
/// Errors: an invalid request, a header without an AVERAGE archive, a fetch
/// that fails ([`Error::Rrd`]) or answers with other rows than asked for
/// ([`Error::Answer`]) or without `rx` and `tx` ([`Error::Layout`]).
pub fn compute<F>(info: &rrd::Info, request: &Request, mut fetch: F) -> Result<Series, Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    compute_with(info, request, &mut fetch, None)
}

/// [`compute`] with the map and days of `cache` (see [`Cache`]), or with a
/// map learned for the request alone.
fn compute_with<F>(
    info: &rrd::Info,
    request: &Request,
    fetch: &mut F,
    cache: Option<&mut Cache>,
) -> Result<Series, Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    let query = Query::new(info, request)?;
    let (totals, exact) = match cache {
        Some(cache) => cache::read(cache, info, &query, fetch)?,
        None => {
            let mut own = Map::default();
            query.learn(&mut own, fetch)?;
            query.gather(&own, None, fetch)?
        }
    };
    Ok(query.answer(info, request, &totals, exact))
}

/// What the groups of a query add up to, and the time `(lo, hi]` its map
/// knows exactly (see [`map::Map::exact`]).
type Totals = (Vec<[Sum; 2]>, Option<(i64, i64)>);

/// A planned query: its archives, step and pieces, and the group each
/// piece adds up into.
struct Query {
    tiers: Tiers,
    step: i64,
    plan: Plan,
    /// Per piece: per point (and then for the window) its averages, its
    /// exact peaks and its fallback peaks, in this order, so that
    /// `group % 3` says which.
    groups: Vec<usize>,
}

impl Query {
    fn new(info: &rrd::Info, request: &Request) -> Result<Query, Error> {
        request.check()?;
        let tiers = Tiers::from_info(info)?;
        let finest = tiers.finest_holding(request.start);
        let step = choose_step(request.end - request.start, request.points, finest);
        let plan = Plan::new(&tiers, request, step)?;
        // Refused on the rows the tiling needs, whatever the map and the
        // days then read from memory.
        spans(&tiers.all, &plan.pieces)?;
        let mut groups = vec![0usize; plan.pieces.len()];
        let window = plan.points.len();
        let ranges = plan
            .points
            .iter()
            .enumerate()
            .chain(plan.window.iter().map(|p| (window, p)));
        for (k, point) in ranges {
            for (g, range) in [&point.average, &point.exact, &point.fallback]
                .into_iter()
                .enumerate()
            {
                for group in groups.get_mut(range.clone()).unwrap_or_default() {
                    *group = 3 * k + g;
                }
            }
        }
        Ok(Query {
            tiers,
            step,
            plan,
            groups,
        })
    }

    /// The number of groups.
    fn count(&self) -> usize {
        3 * self.plan.points.len() + 3
    }

    /// Learns into `map` all of the points' time.
    fn learn<F>(&self, map: &mut Map, fetch: &mut F) -> Result<bool, Error>
    where
        F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
    {
        let learn = Learn::Window(self.plan.start, self.plan.end);
        map.sync(&self.tiers, learn, fetch)
    }

    /// What the pieces add up to per group, and the exact time of `map`
    /// (see [`gather`]).
    fn gather<F>(
        &self,
        map: &Map,
        days: Option<&cache::Days>,
        fetch: &mut F,
    ) -> Result<Totals, Error>
    where
        F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
    {
        let sums = gather(
            &self.tiers,
            map,
            days,
            &self.plan.pieces,
            &self.groups,
            self.count(),
            fetch,
        )?;
        Ok((sums, map.exact()))
    }

    /// The series from the sums of the groups, `exact` being the time the
    /// map knows exactly.
    fn answer(
        &self,
        info: &rrd::Info,
        request: &Request,
        totals: &[[Sum; 2]],
        exact: Option<(i64, i64)>,
    ) -> Series {
        let (tiers, plan, step) = (&self.tiers, &self.plan, self.step);
        let window_group = 3 * plan.points.len();
        let sums = |group: usize| totals.get(group).copied().unwrap_or_default();
        let mean = |sum: &Sum| (sum.known > 0).then(|| sum.integral / sum.known as f64);
        let peak = |exact: &Sum, fallback: &Sum| match (exact.max(), fallback.max()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };

        let mut average_seconds = vec![0i64; tiers.all.len()];
        let mut peak_seconds = vec![0i64; tiers.all.len()];
        let mut peak_exact = true;
        let mut points = Vec::with_capacity(plan.points.len());
        for (k, point) in plan.points.iter().enumerate() {
            let average = sums(3 * k);
            let exact = sums(3 * k + 1);
            let fallback = sums(3 * k + 2);
            count_seconds(&plan.pieces, &point.average, &mut average_seconds);
            count_seconds(&plan.pieces, &point.exact, &mut peak_seconds);
            count_seconds(&plan.pieces, &point.fallback, &mut peak_seconds);
            if fallback.iter().any(|f| f.max().is_some()) {
                peak_exact = false;
            }
            points.push(Point {
                time: point.time,
                rx: mean(&average[0]),
                tx: mean(&average[1]),
                rx_peak: peak(&exact[0], &fallback[0]),
                tx_peak: peak(&exact[1], &fallback[1]),
                rx_known: average[0].known,
                tx_known: average[1].known,
            });
        }

        let [average, peaks, fallback] = [0, 1, 2].map(|g| {
            let mut window = sums(window_group + g);
            for k in plan.interior.clone() {
                for (sum, point) in window.iter_mut().zip(&sums(3 * k + g)) {
                    sum.merge(point);
                }
            }
            window
        });
        let seconds = (request.end - request.start) as f64;
        // The exact time, if it reaches the end of the points (or the last
        // update), from where it starts within them.
        let exact_from = exact
            .filter(|&(lo, hi)| lo < plan.end && hi >= plan.end.min(info.last_update))
            .map(|(lo, _)| lo.max(plan.start));
        let summary = Summary {
            rx_bytes: average[0].integral / 8.0,
            tx_bytes: average[1].integral / 8.0,
            rx_known: average[0].known,
            tx_known: average[1].known,
            rx_avg: mean(&average[0]),
            tx_avg: mean(&average[1]),
            rx_peak: peak(&peaks[0], &fallback[0]),
            tx_peak: peak(&peaks[1], &fallback[1]),
            peak_exact: fallback.iter().all(|f| f.max().is_none()),
            known: average[0].known.min(average[1].known) as f64 / seconds,
            exact: exact.is_some_and(|(lo, hi)| {
                lo <= request.start && request.end.min(info.last_update) <= hi
            }),
        };
        let predominant = |seconds: &[i64]| {
            tiers
                .all
                .iter()
                .zip(seconds)
                .filter(|(_, seconds)| **seconds > 0)
                .max_by_key(|(tier, seconds)| (**seconds, tier.resolution))
                .map(|(tier, _)| tier.resolution as u64)
        };
        Series {
            start: plan.start,
            end: plan.end,
            step: step as u64,
            resolution: predominant(&average_seconds),
            peak_resolution: predominant(&peak_seconds),
            peak_exact,
            last_update: info.last_update,
            exact_from,
            points,
            summary,
        }
    }
}

/// What `pieces` add up to per group (`groups[piece]`, below `count`): the
/// whole days `days` holds from memory, the rows the map replaces from its
/// entries, the rest from the archives' rows.
fn gather<F>(
    tiers: &Tiers,
    map: &Map,
    days: Option<&cache::Days>,
    pieces: &[Piece],
    groups: &[usize],
    count: usize,
    fetch: &mut F,
) -> Result<Vec<[Sum; 2]>, Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    let mut sums = vec![[Sum::default(); 2]; count];
    let mut raw = Vec::with_capacity(pieces.len());
    let mut raw_groups = Vec::with_capacity(pieces.len());
    let mut rest = Vec::new();
    for (piece, &group) in pieces.iter().zip(groups) {
        let Some(target) = sums.get_mut(group) else {
            continue;
        };
        rest.clear();
        match days {
            Some(days) => days.take(tiers, *piece, group % 3, target, &mut rest),
            None => rest.push(*piece),
        }
        for piece in &rest {
            map.resolve(tiers, *piece, &mut raw, target)?;
            raw_groups.resize(raw.len(), group);
        }
    }
    // The rows are added up into `sums` itself, rather than into a second
    // vector as long (1.2 MB for 10,000 points): the few groups that the
    // days or the map gave something are put aside, and take what their
    // rows add up to afterwards, in the same order as before. A group with
    // nothing from them ends with its rows' sum alone, which is what adding
    // it to nothing gave (+0.0 + x is x, bit for bit: a sum of finite
    // values started at +0.0 is never -0.0).
    let mut aside = Vec::new();
    for (group, sum) in sums.iter_mut().enumerate() {
        if sum.iter().any(|s| !s.is_empty()) {
            aside.push((group, std::mem::take(sum)));
        }
    }
    read(&tiers.all, &raw, &raw_groups, &mut sums, fetch)?;
    for (group, mut before) in aside {
        if let Some(read) = sums.get_mut(group) {
            for (sum, read) in before.iter_mut().zip(read.iter()) {
                sum.merge(read);
            }
            *read = before;
        }
    }
    Ok(sums)
}

/// Archives with a resolution above this (about 35,000 years) are ignored.
const MAX_RESOLUTION: u64 = 1 << 40;
/// Rows closer than this to an archive's oldest row are not read (at least
/// one row is kept back): see "Tiers" in the module documentation.
const RETENTION_MARGIN: i64 = 60;
/// The most pieces one query may split into; only files with many
/// archives of unrelated resolutions come near it.
const MAX_PIECES: usize = 1 << 21;
/// The most rows one query may fetch, some 0.1 to 0.2 s of librrd's time.
/// The profiles' longest windows read about 2.1 million (ten years of 5 min
/// averages and maxima); only files without coarse archives need more.
const MAX_ROWS: i64 = 4_000_000;
/// The fixed part of the step ladder; after it, weeks keep doubling.
const LADDER: [i64; 20] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    172_800, 604_800,
];

/// An archive as this module reads it.
#[derive(Clone, Debug, PartialEq)]
struct Tier {
    /// The consolidation function to fetch it with.
    cf: &'static str,
    /// Seconds per row.
    resolution: i64,
    /// Rows stamped in `(from, to]` may be read; both are multiples of the
    /// resolution.
    from: i64,
    to: i64,
}

/// The archives of a file, by use.
#[derive(Debug)]
struct Tiers {
    /// Seconds per primary data point.
    step: i64,
    /// One per consolidation function and resolution.
    all: Vec<Tier>,
    /// The AVERAGE archives, coarsest first (indices into `all`).
    average: Vec<usize>,
    /// The sources of exact peaks, coarsest first: the MAX archives and the
    /// AVERAGE archive of one point per row.
    exact: Vec<usize>,
}

/// What a query reads, as pieces of archives.
#[derive(Debug)]
struct Plan {
    start: i64,
    end: i64,
    pieces: Vec<Piece>,
    points: Vec<PointPlan>,
    /// The points wholly inside the requested window (indices).
    interior: Range<usize>,
    /// The pieces of the rest of the window: the parts of the first and
    /// the last point inside it, or all of it when it lies in one point.
    window: Vec<PointPlan>,
}

/// The pieces one point (or the window) is computed from (ranges of
/// `Plan::pieces`).
#[derive(Debug)]
struct PointPlan {
    time: i64,
    average: Range<usize>,
    exact: Range<usize>,
    fallback: Range<usize>,
}

/// The rows of one archive that overlap `(from, to]`, each weighted by the
/// seconds of its overlap.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Piece {
    tier: usize,
    from: i64,
    to: i64,
}

/// Rows fetched from one archive, stamped in `(start, end]`: one part of
/// what a query reads, added up and dropped before the next is fetched.
#[derive(Debug)]
struct Chunk {
    start: i64,
    end: i64,
    width: usize,
    /// The column of `rx` and of `tx`.
    columns: [usize; 2],
    values: Vec<f64>,
}

/// What the known rows of some pieces add up to, for one data source.
#[derive(Clone, Copy, Debug)]
struct Sum {
    /// Σ value × seconds (bits).
    integral: f64,
    /// Known seconds.
    known: i64,
    /// The largest known value; -∞ while none is known.
    max: f64,
}

impl Default for Sum {
    fn default() -> Sum {
        Sum {
            integral: 0.0,
            known: 0,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Sum {
    /// Adds one row's value, known or not, held for `seconds`.
    #[inline(always)]
    fn add(&mut self, value: f64, seconds: i64) {
        if value.is_finite() {
            self.integral += value * seconds as f64;
            self.known += seconds;
            if value > self.max {
                self.max = value;
            }
        }
    }

    /// Adds what `other` adds up to.
    fn merge(&mut self, other: &Sum) {
        self.integral += other.integral;
        self.known += other.known;
        if other.max > self.max {
            self.max = other.max;
        }
    }

    /// Whether adding it to a sum changes nothing (no known second; a
    /// -0.0 integral adds nothing either).
    fn is_empty(&self) -> bool {
        self.known == 0 && self.integral == 0.0 && self.max == f64::NEG_INFINITY
    }

    /// The largest known value, if any.
    fn max(&self) -> Option<f64> {
        (self.known > 0).then_some(self.max)
    }
}

impl Tiers {
    fn from_info(info: &rrd::Info) -> Result<Tiers, Error> {
        // A negative last update (no data at all) leaves every archive
        // empty below.
        let last = info.last_update.clamp(-1, LATEST_TIME);
        let mut all: Vec<Tier> = Vec::new();
        let mut one_point = Vec::new();
        for archive in &info.archives {
            let cf = match archive.cf.as_str() {
                "AVERAGE" => "AVERAGE",
                "MAX" => "MAX",
                _ => continue,
            };
            let Some(resolution) = archive
                .pdp_per_row
                .checked_mul(info.step)
                .filter(|r| (1..=MAX_RESOLUTION).contains(r))
            else {
                continue;
            };
            let resolution = resolution as i64;
            let rows = i64::try_from(archive.rows).unwrap_or(i64::MAX);
            if rows == 0 {
                continue;
            }
            let to = floor_to(last, resolution);
            let oldest = to.saturating_sub(rows.saturating_mul(resolution));
            let margin = ceil_to(RETENTION_MARGIN, resolution).max(resolution);
            let from = ceil_to(oldest.saturating_add(margin).max(0), resolution);
            let tier = Tier {
                cf,
                resolution,
                from: from.min(to),
                to,
            };
            // Of two archives of one CF and resolution, librrd answers
            // from the first that holds the requested start; both end at
            // the same row, so the longer one's reach is what counts.
            match all
                .iter_mut()
                .find(|t| t.cf == cf && t.resolution == resolution)
            {
                Some(existing) => existing.from = existing.from.min(tier.from),
                None => all.push(tier),
            }
            if cf == "AVERAGE" && archive.pdp_per_row == 1 {
                one_point.push(resolution);
            }
        }
        let mut average: Vec<usize> = (0..all.len()).filter(|&i| all[i].cf == "AVERAGE").collect();
        if average.is_empty() {
            return Err(Error::Layout("it has no AVERAGE archive".to_string()));
        }
        crate::order::sort_by_key(&mut average, |&i| std::cmp::Reverse(all[i].resolution));
        let mut exact: Vec<usize> = (0..all.len())
            .filter(|&i| {
                all[i].cf == "MAX"
                    || (all[i].cf == "AVERAGE" && one_point.contains(&all[i].resolution))
            })
            .collect();
        // Coarsest first; at one resolution the AVERAGE archive first, as the
        // averages read it anyway.
        crate::order::sort_by_key(&mut exact, |&i| {
            (std::cmp::Reverse(all[i].resolution), all[i].cf != "AVERAGE")
        });
        Ok(Tiers {
            step: i64::try_from(info.step).unwrap_or(i64::MAX),
            all,
            average,
            exact,
        })
    }

    /// The resolution the step must be a multiple of: the finest AVERAGE
    /// archive that still holds `start` or, when none does, the finest of
    /// those that reach back furthest.
    fn finest_holding(&self, start: i64) -> i64 {
        let tiers = || self.average.iter().map(|&i| &self.all[i]);
        let reach = tiers().map(|t| t.from.max(start)).min().unwrap_or(start);
        tiers()
            .filter(|t| t.from.max(start) == reach)
            .map(|t| t.resolution)
            .min()
            .unwrap_or(1)
    }
}

impl Plan {
    fn new(tiers: &Tiers, request: &Request, step: i64) -> Result<Plan, Error> {
        let start = floor_to(request.start, step);
        let end = ceil_to(request.end, step);
        let mut pieces = Vec::new();
        let mut points = Vec::new();
        let mut time = start;
        while time < end {
            let to = time + step;
            points.push(PointPlan::new(tiers, time, to, &mut pieces)?);
            time = to;
        }
        // The window: whole points inside it, and what is left at its ends.
        let (inside_from, inside_to) = (ceil_to(request.start, step), floor_to(request.end, step));
        let mut window = Vec::new();
        let interior = if inside_from < inside_to {
            for (from, to) in [(request.start, inside_from), (inside_to, request.end)] {
                if from < to {
                    window.push(PointPlan::new(tiers, from, to, &mut pieces)?);
                }
            }
            let index = |t: i64| usize::try_from((t - start) / step).unwrap_or(0);
            index(inside_from)..index(inside_to)
        } else {
            window.push(PointPlan::new(
                tiers,
                request.start,
                request.end,
                &mut pieces,
            )?);
            0..0
        };
        Ok(Plan {
            start,
            end,
            pieces,
            points,
            interior,
            window,
        })
    }
}

impl PointPlan {
    /// Tiles `(from, to]` for its averages, exact peaks and fallback peaks,
    /// appending the pieces to `pieces`.
    fn new(tiers: &Tiers, from: i64, to: i64, pieces: &mut Vec<Piece>) -> Result<PointPlan, Error> {
        let from_average = pieces.len();
        cover(tiers, &tiers.average, from, to, true, pieces)?;
        let from_exact = pieces.len();
        let uncovered = cover(tiers, &tiers.exact, from, to, false, pieces)?;
        let from_fallback = pieces.len();
        for (a, b) in uncovered {
            cover(tiers, &tiers.average, a, b, true, pieces)?;
        }
        Ok(PointPlan {
            time: from,
            average: from_average..from_exact,
            exact: from_exact..from_fallback,
            fallback: from_fallback..pieces.len(),
        })
    }
}

/// The step for a window of `window` seconds cut into about `points`
/// points, a multiple of `resolution` (see "Step" in the module
/// documentation).
fn choose_step(window: i64, points: u32, resolution: i64) -> i64 {
    let points = i64::from(points.max(1));
    let resolution = resolution.max(1);
    let target = ((window + points - 1) / points).max(1);
    // The smallest multiple of the resolution that is at least the target.
    let multiple = ceil_to(target, resolution);
    let mut ladder = LADDER.to_vec();
    let mut week = 604_800i64;
    while week <= 2 * LATEST_TIME {
        week *= 2;
        ladder.push(week);
    }
    let Some(&nice) = ladder.iter().find(|&&s| s >= target) else {
        return multiple;
    };
    match ladder.iter().find(|&&s| s >= target && s % resolution == 0) {
        Some(&step) if step <= 4 * nice.max(multiple) => step,
        _ => multiple,
    }
}

/// Splits `(from, to]` among the archives `order` (coarsest first; see
/// "Tiling" in the module documentation) and appends the pieces. With
/// `partial`, what no whole row covers is then taken pro rata from the
/// finest archive holding it. Returns what stays uncovered.
fn cover(
    tiers: &Tiers,
    order: &[usize],
    from: i64,
    to: i64,
    partial: bool,
    pieces: &mut Vec<Piece>,
) -> Result<Vec<(i64, i64)>, Error> {
    let mut uncovered = Vec::new();
    whole_rows(&tiers.all, order, from, to, pieces, &mut uncovered)?;
    if !partial {
        return Ok(uncovered);
    }
    for &index in order.iter().rev() {
        let tier = &tiers.all[index];
        let mut still = Vec::new();
        for (a, b) in uncovered {
            let (lo, hi) = (a.max(tier.from), b.min(tier.to));
            if lo >= hi {
                still.push((a, b));
                continue;
            }
            push(pieces, index, lo, hi)?;
            if a < lo {
                still.push((a, lo));
            }
            if hi < b {
                still.push((hi, b));
            }
        }
        uncovered = still;
    }
    Ok(uncovered)
}

/// The whole-row part of [`cover`]: the first archive of `order` takes the
/// whole rows of `(from, to]` it holds; the rest of each end recurses into
/// the finer archives; what none covers goes to `uncovered`.
fn whole_rows(
    all: &[Tier],
    order: &[usize],
    from: i64,
    to: i64,
    pieces: &mut Vec<Piece>,
    uncovered: &mut Vec<(i64, i64)>,
) -> Result<(), Error> {
    if from >= to {
        return Ok(());
    }
    let Some((&index, finer)) = order.split_first() else {
        uncovered.push((from, to));
        return Ok(());
    };
    let tier = &all[index];
    let lo = ceil_to(from, tier.resolution).max(tier.from);
    let hi = floor_to(to, tier.resolution).min(tier.to);
    if lo >= hi {
        return whole_rows(all, finer, from, to, pieces, uncovered);
    }
    whole_rows(all, finer, from, lo, pieces, uncovered)?;
    push(pieces, index, lo, hi)?;
    whole_rows(all, finer, hi, to, pieces, uncovered)
}

fn push(pieces: &mut Vec<Piece>, tier: usize, from: i64, to: i64) -> Result<(), Error> {
    if pieces.len() >= MAX_PIECES {
        return Err(Error::Layout(format!(
            "the query would read more than {MAX_PIECES} separate pieces of its archives"
        )));
    }
    pieces.push(Piece { tier, from, to });
    Ok(())
}

/// Fetches, per archive, the rows the pieces need (merging spans that are
/// close, splitting long ones), and adds each piece's known rows to the
/// sums of its group (`sums[groups[piece]]`). Each fetched part
/// is added up and dropped before the next is fetched, so a query holds
/// at most one part in memory.
fn read<F>(
    all: &[Tier],
    pieces: &[Piece],
    groups: &[usize],
    sums: &mut [[Sum; 2]],
    fetch: &mut F,
) -> Result<(), Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    let spans = spans(all, pieces)?;
    let mut by_tier: Vec<Vec<usize>> = vec![Vec::new(); all.len()];
    for (index, piece) in pieces.iter().enumerate() {
        by_tier[piece.tier].push(index);
    }
    for ((tier, spans), mine) in all.iter().zip(spans).zip(&by_tier) {
        let r = tier.resolution;
        for (mut lo, end) in spans {
            while lo < end {
                let hi = end.min(lo.saturating_add(MAX_FETCH_ROWS * r));
                // librrd rounds the start down and the end up past it: rows
                // stamped lo + r ..= hi.
                let fetched = fetch(tier.cf, lo, hi - 1, r as u64).map_err(Error::Rrd)?;
                let chunk = Chunk::new(tier, lo, hi, fetched)?;
                for &index in mine {
                    let (Some(piece), Some(&group)) = (pieces.get(index), groups.get(index)) else {
                        continue;
                    };
                    if let Some(sums) = sums.get_mut(group) {
                        add_rows(r, &chunk, piece, sums);
                    }
                }
                lo = hi;
            }
        }
    }
    Ok(())
}

/// The spans of rows to fetch per archive for `pieces`: each piece's rows,
/// merged where they are at most [`MERGE_GAP_ROWS`] rows apart. Refuses
/// more than [`MAX_ROWS`] rows in all.
fn spans(all: &[Tier], pieces: &[Piece]) -> Result<Vec<Vec<(i64, i64)>>, Error> {
    let mut spans: Vec<Vec<(i64, i64)>> = vec![Vec::new(); all.len()];
    for piece in pieces {
        let r = all[piece.tier].resolution;
        spans[piece.tier].push((floor_to(piece.from, r), ceil_to(piece.to, r)));
    }
    let mut rows = 0i64;
    for (tier, spans) in all.iter().zip(spans.iter_mut()) {
        crate::order::sort_by_key(spans, |&span| span);
        let mut merged: Vec<(i64, i64)> = Vec::new();
        for &(lo, hi) in spans.iter() {
            match merged.last_mut() {
                Some(last) if lo <= last.1 + MERGE_GAP_ROWS * tier.resolution => {
                    last.1 = last.1.max(hi);
                }
                _ => merged.push((lo, hi)),
            }
        }
        rows += merged
            .iter()
            .map(|(lo, hi)| (hi - lo) / tier.resolution)
            .sum::<i64>();
        *spans = merged;
    }
    if rows > MAX_ROWS {
        return Err(Error::Layout(format!(
            "the window needs {rows} rows of its archives, more than {MAX_ROWS}: \
             its archives are too fine for so long a window"
        )));
    }
    Ok(spans)
}

impl Chunk {
    /// Checks that `rows` are the rows of `tier` stamped in `(lo, hi]` or
    /// more, with both data sources.
    fn new(tier: &Tier, lo: i64, hi: i64, rows: rrd::Fetched) -> Result<Chunk, Error> {
        let asked = || {
            format!(
                "{} rows of {} s stamped {}..={}",
                tier.cf,
                tier.resolution,
                lo + tier.resolution,
                hi
            )
        };
        if rows.step != tier.resolution as u64 || rows.start > lo || rows.end < hi {
            return Err(Error::Answer(format!(
                "asked for {}, got rows of {} s stamped {}..={}",
                asked(),
                rows.step,
                rows.start.saturating_add(rows.step as i64),
                rows.end
            )));
        }
        let column = |name: &str| {
            rows.names.iter().position(|n| n == name).ok_or_else(|| {
                Error::Layout(format!(
                    "it has no data source {name:?} (it has {:?})",
                    rows.names
                ))
            })
        };
        let columns = [column("rx")?, column("tx")?];
        Ok(Chunk {
            start: rows.start,
            end: rows.end,
            width: rows.names.len(),
            columns,
            values: rows.values,
        })
    }
}

/// Adds the known rows of `piece` that `chunk` holds to `sums` (rx, tx),
/// each weighted by the seconds it shares with the piece; `r` is the
/// chunk's resolution.
fn add_rows(r: i64, chunk: &Chunk, piece: &Piece, sums: &mut [Sum; 2]) {
    // The rows stamped a + r ..= b, from the chunk's values; rows the answer
    // lacks are unknown. (The width is at least 2, as the chunk has both
    // data sources.)
    let a = floor_to(piece.from, r).max(chunk.start);
    let b = ceil_to(piece.to, r).min(chunk.end);
    if a >= b {
        return;
    }
    let width = chunk.width.max(1);
    let [rx, tx] = chunk.columns;
    if rx >= width || tx >= width {
        return;
    }
    let first = usize::try_from((a - chunk.start) / r).unwrap_or(usize::MAX);
    let rows = first
        .checked_mul(width)
        .and_then(|at| chunk.values.get(at..))
        .unwrap_or_default();
    let count = usize::try_from((b - a) / r)
        .unwrap_or(0)
        .min(rows.len() / width);
    // Only the first and the last row can overlap the piece in part; the
    // rows between count whole, and are added up first, then weighted once.
    let seconds = |i: usize| {
        let end = a + (i as i64 + 1) * r;
        end.min(piece.to) - (end - r).max(piece.from)
    };
    let mut whole = 0..count;
    for i in [0, count.saturating_sub(1)] {
        let partial = seconds(i);
        if whole.contains(&i) && partial < r {
            sums[0].add(rows[i * width + rx], partial);
            sums[1].add(rows[i * width + tx], partial);
            if i == whole.start {
                whole.start += 1;
            } else {
                whole.end -= 1;
            }
        }
    }
    // A plain loop on locals: the release profile optimises for size, and
    // this is the loop every row goes through.
    let mut total = [0.0f64; 2];
    let mut known = [0i64; 2];
    let mut max = [f64::NEG_INFINITY; 2];
    let rows = rows
        .get(whole.start * width..whole.end * width)
        .unwrap_or_default();
    for row in rows.chunks_exact(width) {
        for (ds, column) in [rx, tx].into_iter().enumerate() {
            let value = row[column];
            if value.is_finite() {
                total[ds] += value;
                known[ds] += 1;
                if value > max[ds] {
                    max[ds] = value;
                }
            }
        }
    }
    for (ds, sum) in sums.iter_mut().enumerate() {
        sum.merge(&Sum {
            integral: total[ds] * r as f64,
            known: known[ds] * r,
            max: max[ds],
        });
    }
}

/// Adds the seconds of the pieces in `range` to their archives' counts.
fn count_seconds(pieces: &[Piece], range: &Range<usize>, seconds: &mut [i64]) {
    for piece in pieces.get(range.clone()).unwrap_or_default() {
        if let Some(count) = seconds.get_mut(piece.tier) {
            *count += piece.to - piece.from;
        }
    }
}

/// `t` rounded down to a multiple of `r` (`r > 0`).
fn floor_to(t: i64, r: i64) -> i64 {
    t - t.rem_euclid(r)
}

/// `t` rounded up to a multiple of `r` (`r > 0`), saturating.
fn ceil_to(t: i64, r: i64) -> i64 {
    match t.rem_euclid(r) {
        0 => t,
        rest => t.saturating_add(r - rest),
    }
}

#[cfg(test)]
mod tests;
