//! The per-file cache of the query module: the map of unknown seconds
//! (`src/query/map.rs`) and day blocks for long windows. For each whole
//! UTC day (86,400 s, aligned to the epoch) that the coarsest AVERAGE
//! archive (and the MAX archive of the same resolution, if any) holds
//! completely, what its rows add up to, so that a query whose step is a
//! whole number of days reads those days from memory instead of fetching
//! their rows.
//!
//! # What a day holds
//!
//! Per data source: Σ value × seconds over the known seconds of the
//! AVERAGE rows, those seconds, the largest known value of the MAX rows
//! and their known seconds, each as the map reads them (whole rows from
//! the archive, the others from the map's entries), and which knowledge
//! that was (a stamp per archive: as librrd kept the rows, or through
//! which level of the map). That is all a point's average, a point's exact
//! peak and the window's volume take from whole rows; the fallback peaks
//! (the largest AVERAGE row, used only where no exact source holds a
//! point) always read rows. 56 bytes a day, at most [`MAX_DAYS`] days: at
//! most 230 KB per file (the Original profile's 300 s archives hold 3,652
//! days, 205 KB).
//!
//! # Rules
//!
//! - **Which days.** Day `d` covers `(d × 86,400, (d + 1) × 86,400]`. It is
//!   held while both archives may be read over all of it (see "Tiers" in
//!   [`super`]: their oldest rows, less the margin, and their newest row),
//!   so only rows that are complete and cannot change are cached: librrd
//!   writes rows once, at the newest end, and drops them at the oldest.
//! - **Which knowledge.** A day is read again when the knowledge the map
//!   has of it changes (the map learns it, or the 1 s archive no longer
//!   holds it), and is not served while it straddles the edge of what a
//!   level of the map has learned.
//! - **When.** Only queries whose step is a whole number of days use the
//!   days (and build or extend them), and [`learn`] once the map is
//!   learned; other queries read rows and never touch them.
//! - **Same answer.** A piece of the tiling on a cached archive is split
//!   at day boundaries, which are row boundaries; the whole served days in
//!   it are added from the cache, the rest read as usual. So the same rows
//!   and entries count with the same weights: the answer equals the one
//!   without days, except that the sums are added in another order, which
//!   can change the last bits of an average or volume.
//! - **Validity.** Each call compares the file's header with the one the
//!   cache was built for: another layout, or a last update that moved
//!   backwards, empties it (and [`series_cached`] and [`learn`] also empty
//!   it for another file: path, device or inode). Then the map catches up
//!   with the new rows, and the days drop what the archives no longer hold
//!   and read the days completed since the last call, and only those.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use super::map::{Learn, Map, Stamp};
use super::{Error, Piece, Query, Request, Series, Sum, Tier, Tiers, Totals, compute_with, gather};
use crate::rrd;

/// Seconds per day.
pub(super) const DAY: i64 = 86_400;
/// The most days cached per file (the newest ones are kept).
pub const MAX_DAYS: usize = 4096;
/// Days read per batch, so that one batch stays well within the rows one
/// query may read.
const BATCH_DAYS: usize = 256;
/// The finest archive resolution cached (finer rows would take long to
/// build).
const MIN_RESOLUTION: i64 = 60;
/// Unit rows a query may spend learning the map, newest first, when it is
/// not learned yet (a day and a half of 1 s rows): short windows are exact
/// from the first query on, long ones once [`learn`] has done its work.
pub const QUERY_LEARN_ROWS: i64 = 1 << 17;

/// The cache of one RRD file (see the module documentation and
/// `src/query/map.rs`). Keep one per file and pass it to every
/// [`series_cached`] and [`learn`] call for that file.
#[derive(Debug, Default)]
pub struct Cache {
    /// The file: path, device and inode (set by [`series_cached`]).
    file: Option<(PathBuf, u64, u64)>,
    /// The layout the map and days were read from.
    layout: Option<Layout>,
    /// The last update of the header last seen.
    last_update: i64,
    pub(super) map: Map,
    days: Days,
}

/// What a header must keep for the cache to stay valid.
#[derive(Clone, Debug, PartialEq)]
struct Layout {
    step: u64,
    sources: Vec<String>,
    archives: Vec<(String, u64, u64)>,
}

/// The cached days (see the module documentation).
#[derive(Debug, Default)]
pub(super) struct Days {
    /// The day number of `days[0]`.
    first: i64,
    days: VecDeque<Day>,
}

/// One day's rows, per data source (rx, tx).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Day {
    /// Σ value × seconds over the known seconds of the AVERAGE rows.
    integral: [f64; 2],
    /// The largest known value of the MAX rows; -∞ while none.
    peak: [f64; 2],
    /// Known seconds of the AVERAGE rows.
    average_known: [u32; 2],
    /// Known seconds of the MAX rows.
    max_known: [u32; 2],
    /// The knowledge the AVERAGE and the MAX rows were read with (see
    /// [`code`]).
    stamps: [u32; 2],
}

/// A day not read yet.
const UNREAD: u32 = u32::MAX;
/// A day that is not served (it straddles the edge of a level).
const UNSERVED: u32 = 0;

/// A [`Stamp`] as stored in a [`Day`].
fn code(stamp: Stamp) -> u32 {
    match stamp {
        Stamp::Mixed => UNSERVED,
        Stamp::Raw => 1,
        Stamp::Level(unit) => u32::try_from(unit)
            .ok()
            .and_then(|u| u.checked_add(2))
            .filter(|&c| c != UNREAD)
            .unwrap_or(UNSERVED),
    }
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// The cached days, as day numbers (day `d` is `(d × 86,400, (d + 1) ×
    /// 86,400]`).
    pub fn days(&self) -> std::ops::Range<i64> {
        self.days.first..self.days.first + self.days.days.len() as i64
    }

    /// The heap and inline bytes the cache holds.
    pub fn memory_bytes(&self) -> usize {
        let layout = self.layout.as_ref().map_or(0, |l| {
            l.archives.capacity() * std::mem::size_of::<(String, u64, u64)>()
                + l.archives.iter().map(|a| a.0.capacity()).sum::<usize>()
                + l.sources.iter().map(|s| s.capacity() + 24).sum::<usize>()
        });
        let path = self.file.as_ref().map_or(0, |f| f.0.capacity());
        std::mem::size_of::<Cache>()
            + self.days.days.capacity() * std::mem::size_of::<Day>()
            + self.map.memory_bytes()
            + layout
            + path
    }

    fn clear(&mut self) {
        self.layout = None;
        self.map.clear();
        self.days = Days::default();
        self.last_update = i64::MIN;
    }

    /// Checks the header `info` against the cache (see "Validity") and
    /// brings the map up to it, learning as `learn` says. Returns whether
    /// the map is learned.
    fn prepare<F>(
        &mut self,
        info: &rrd::Info,
        tiers: &Tiers,
        learn: Learn,
        fetch: &mut F,
    ) -> Result<bool, Error>
    where
        F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
    {
        let layout = Layout {
            step: info.step,
            sources: info.data_sources.iter().map(|d| d.name.clone()).collect(),
            archives: info
                .archives
                .iter()
                .map(|a| (a.cf.clone(), a.pdp_per_row, a.rows))
                .collect(),
        };
        if self.layout.as_ref() != Some(&layout) || info.last_update < self.last_update {
            self.clear();
            self.layout = Some(layout);
        }
        self.last_update = info.last_update;
        self.map.sync(tiers, learn, fetch)
    }
}

impl Days {
    /// Drops the days the archives no longer hold, adds the new ones, and
    /// reads those whose knowledge changed (at most `limit` of them, the
    /// newest first). Returns whether none is left to read.
    fn update<F>(
        &mut self,
        map: &Map,
        tiers: &Tiers,
        limit: Option<usize>,
        fetch: &mut F,
    ) -> Result<bool, Error>
    where
        F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
    {
        let Some((average, max)) = cached_tiers(tiers) else {
            *self = Days::default();
            return Ok(true);
        };
        let (first, end) = held_days(&tiers.all, average, max);
        // Drop what the archives no longer hold.
        let stale = usize::try_from(first - self.first)
            .unwrap_or(0)
            .min(self.days.len());
        self.days.drain(..stale);
        let keep = usize::try_from(end - self.first).unwrap_or(0);
        self.days.truncate(keep);
        if self.days.is_empty() || self.first < first {
            self.first = first;
        }
        let unread = Day {
            integral: [0.0; 2],
            peak: [f64::NEG_INFINITY; 2],
            average_known: [0; 2],
            max_known: [0; 2],
            stamps: [UNREAD; 2],
        };
        let wanted = usize::try_from(end - self.first).unwrap_or(0);
        self.days.resize(wanted, unread);
        // The days whose knowledge changed, newest first.
        let stamps = |d: i64| {
            let (from, to) = (d * DAY, (d + 1) * DAY);
            [
                code(map.stamp(&tiers.all[average], from, to)),
                max.map_or(1, |max| code(map.stamp(&tiers.all[max], from, to))),
            ]
        };
        let mut changed = Vec::new();
        for (i, day) in self.days.iter_mut().enumerate().rev() {
            let expected = stamps(self.first + i as i64);
            if day.stamps == expected {
                continue;
            }
            if expected.contains(&UNSERVED) && !expected.iter().any(|&c| c > UNSERVED) {
                day.stamps = expected;
                continue;
            }
            changed.push((i, expected));
        }
        let limit = limit.unwrap_or(usize::MAX);
        let complete = changed.len() <= limit;
        changed.truncate(limit);
        for batch in changed.chunks(BATCH_DAYS) {
            let mut pieces = Vec::with_capacity(2 * batch.len());
            let mut groups = Vec::with_capacity(2 * batch.len());
            for (b, &(i, _)) in batch.iter().enumerate() {
                let d = self.first + i as i64;
                for (g, tier) in [Some(average), max].into_iter().enumerate() {
                    if let Some(tier) = tier {
                        pieces.push(Piece {
                            tier,
                            from: d * DAY,
                            to: (d + 1) * DAY,
                        });
                        groups.push(2 * b + g);
                    }
                }
            }
            let sums = gather(tiers, map, None, &pieces, &groups, 2 * batch.len(), fetch)?;
            for (pair, &(i, expected)) in sums.chunks_exact(2).zip(batch) {
                let (a, m) = (&pair[0], &pair[1]);
                let known = |sum: &Sum| u32::try_from(sum.known).unwrap_or(u32::MAX);
                if let Some(day) = self.days.get_mut(i) {
                    *day = Day {
                        integral: [a[0].integral, a[1].integral],
                        peak: [m[0].max, m[1].max],
                        average_known: [known(&a[0]), known(&a[1])],
                        max_known: [known(&m[0]), known(&m[1])],
                        stamps: expected,
                    };
                }
            }
        }
        if self.days.capacity() > self.days.len() + BATCH_DAYS {
            self.days.shrink_to_fit();
        }
        Ok(complete)
    }

    /// Adds the whole served days of `piece` (of group kind `kind`: 0
    /// averages, 1 exact peaks, 2 fallback peaks) to `sums`, and appends
    /// the rest of it to `rest`.
    pub(super) fn take(
        &self,
        tiers: &Tiers,
        piece: Piece,
        kind: usize,
        sums: &mut [Sum; 2],
        rest: &mut Vec<Piece>,
    ) {
        let usable = match (kind, cached_tiers(tiers)) {
            (0, Some((average, _))) => piece.tier == average,
            (1, Some((_, max))) => Some(piece.tier) == max,
            _ => false,
        };
        let held = self.first..self.first + self.days.len() as i64;
        let lo = (piece.from.div_euclid(DAY) + i64::from(piece.from.rem_euclid(DAY) != 0))
            .max(held.start);
        let hi = piece.to.div_euclid(DAY).min(held.end);
        if !usable || lo >= hi {
            rest.push(piece);
            return;
        }
        let mut unserved_from = piece.from;
        for d in lo..hi {
            let Some(day) = self.days.get((d - held.start) as usize) else {
                continue;
            };
            let stamp = day.stamps[kind];
            if stamp == UNSERVED || stamp == UNREAD {
                continue;
            }
            if unserved_from < d * DAY {
                rest.push(Piece {
                    from: unserved_from,
                    to: d * DAY,
                    ..piece
                });
            }
            unserved_from = (d + 1) * DAY;
            for (ds, sum) in sums.iter_mut().enumerate() {
                let cached = match kind {
                    0 => Sum {
                        integral: day.integral[ds],
                        known: i64::from(day.average_known[ds]),
                        max: f64::NEG_INFINITY,
                    },
                    _ => Sum {
                        integral: 0.0,
                        known: i64::from(day.max_known[ds]),
                        max: day.peak[ds],
                    },
                };
                sum.merge(&cached);
            }
        }
        if unserved_from < piece.to {
            rest.push(Piece {
                from: unserved_from,
                ..piece
            });
        }
    }
}

/// The cached archives: the coarsest AVERAGE one and the MAX one of the
/// same resolution, if any; `None` when the AVERAGE one is finer than
/// [`MIN_RESOLUTION`] or does not divide a day.
fn cached_tiers(tiers: &Tiers) -> Option<(usize, Option<usize>)> {
    let &average = tiers.average.first()?;
    let r = tiers.all[average].resolution;
    if r < MIN_RESOLUTION || DAY % r != 0 {
        return None;
    }
    let max =
        (0..tiers.all.len()).find(|&i| tiers.all[i].cf == "MAX" && tiers.all[i].resolution == r);
    Some((average, max))
}

/// The days `first..end` that the archives hold completely, at most
/// [`MAX_DAYS`] of them (the newest).
fn held_days(all: &[Tier], average: usize, max: Option<usize>) -> (i64, i64) {
    let mut lo = all[average].from;
    let mut hi = all[average].to;
    if let Some(max) = max {
        lo = lo.max(all[max].from);
        hi = hi.min(all[max].to);
    }
    let first = lo.div_euclid(DAY) + i64::from(lo.rem_euclid(DAY) != 0);
    let end = hi.div_euclid(DAY).max(first);
    (first.max(end - MAX_DAYS as i64), end)
}

/// What the pieces of `query` add up to per group, with `cache` (brought
/// up to `info` first, learning within [`QUERY_LEARN_ROWS`] unless the
/// points' time is learned already), whole days
/// from memory where the step is a whole number of days; and the time the
/// map knows exactly.
pub(super) fn read<F>(
    cache: &mut Cache,
    info: &rrd::Info,
    query: &Query,
    fetch: &mut F,
) -> Result<Totals, Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    let days = query.step % DAY == 0;
    let (map, days) = prepared(cache, info, &query.tiers, query.plan.start, days, fetch)?;
    query.gather(map, days, fetch)
}

/// The map and, with `days`, the days of `cache`, brought up to date for a
/// query of time from `from` on: learning going back is left to [`learn`]
/// once that time is exact (else a query's budget is spent on it);
/// catching up with new rows is always done.
pub(super) fn prepared<'c, F>(
    cache: &'c mut Cache,
    info: &rrd::Info,
    tiers: &Tiers,
    from: i64,
    days: bool,
    fetch: &mut F,
) -> Result<(&'c Map, Option<&'c Days>), Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    let covered = cache.map.exact().is_some_and(|(lo, _)| lo <= from);
    let budget = if covered { 0 } else { QUERY_LEARN_ROWS };
    cache.prepare(info, tiers, Learn::Reach(budget), fetch)?;
    if days {
        cache.days.update(&cache.map, tiers, None, fetch)?;
    }
    Ok((&cache.map, days.then_some(&cache.days)))
}

/// [`super::compute`] with `cache` (see the module documentation): the
/// same answer where the map is learned, from memory where it can be.
/// `cache` must only ever be used with one file.
pub fn compute_cached<F>(
    cache: &mut Cache,
    info: &rrd::Info,
    request: &Request,
    mut fetch: F,
) -> Result<Series, Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    compute_with(info, request, &mut fetch, Some(cache))
}

/// [`super::series`] with `cache`, which is emptied when `path` names
/// another file than it was built for (path, device or inode).
pub fn series_cached(cache: &mut Cache, path: &Path, request: &Request) -> Result<Series, Error> {
    request.check()?;
    let fetch = file_rows(path, false);
    match same_file(cache, path)? {
        (info, true) => compute_cached(cache, &info, request, fetch),
        // Replaced meanwhile: a cache of its own, for this call.
        (info, false) => compute_cached(&mut Cache::new(), &info, request, fetch),
    }
}

/// Learns part of the map of the file at `path` into `cache`, reading at
/// most about `rows` rows of it (besides the rows written since the last
/// call), then, once the map is learned, the days (a few hundred per
/// call). Returns whether everything is learned; call it again until it
/// is, and now and then after that (or let the queries catch up).
pub fn learn(cache: &mut Cache, path: &Path, rows: i64) -> Result<bool, Error> {
    // Learning reads most of a file, often one that is not cached (the
    // collector drops a file's page cache when it opens it): the rows are
    // asked for in large reads, not faulted in a page at a time.
    let fetch = file_rows(path, true);
    match same_file(cache, path)? {
        (info, true) => learn_with(cache, &info, fetch, rows),
        (_, false) => Ok(false),
    }
}

/// [`learn`] for a file with header `info`, reading rows through `fetch`
/// (see [`super::compute`]).
pub fn learn_with<F>(
    cache: &mut Cache,
    info: &rrd::Info,
    mut fetch: F,
    rows: i64,
) -> Result<bool, Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    let tiers = Tiers::from_info(info)?;
    if !cache.prepare(info, &tiers, Learn::Reach(rows), &mut fetch)? {
        return Ok(false);
    }
    // Two rows (AVERAGE and MAX) per cached row of a day.
    let per_day = cached_tiers(&tiers).map_or(1, |(a, _)| 2 * DAY / tiers.all[a].resolution);
    let limit = usize::try_from(rows / per_day.max(1)).unwrap_or(0).max(1);
    cache
        .days
        .update(&cache.map, &tiers, Some(limit), &mut fetch)
}

/// The `fetch` of every query of the file at `path` ([`rrd::fetch`]): one
/// type for the series, totals, statistics and learning, so that the
/// generic query code (which takes `fetch` as a type parameter, for the
/// tests' fakes) is compiled once into the daemon rather than once per
/// caller's closure. With `read_ahead`, the kernel is first asked to read
/// the rows in large requests ([`rrd::read_ahead`], a hint: its failure
/// only costs time).
pub(super) fn file_rows(
    path: &Path,
    read_ahead: bool,
) -> impl FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error> + '_ {
    move |cf, start, end, resolution| {
        if read_ahead {
            let _ = rrd::read_ahead(path, cf, start, end, resolution);
        }
        rrd::fetch(path, cf, start, end, resolution)
    }
}

/// Reads the header of the file at `path`, and whether `cache` may be used
/// with it: it is emptied and taken over for another file than it was
/// built for, and emptied and not to be used when the file was replaced
/// while the header was read.
pub(super) fn same_file(cache: &mut Cache, path: &Path) -> Result<(rrd::Info, bool), Error> {
    let before = identity(path);
    let info = rrd::info(path).map_err(Error::Rrd)?;
    let after = identity(path);
    match (before, after) {
        (Some(before), Some(after)) if before == after => {
            if cache.file.as_ref() != Some(&after) {
                cache.clear();
                cache.file = Some(after);
            }
            Ok((info, true))
        }
        _ => {
            cache.clear();
            cache.file = None;
            Ok((info, false))
        }
    }
}

fn identity(path: &Path) -> Option<(PathBuf, u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).ok()?;
    Some((path.to_path_buf(), metadata.dev(), metadata.ino()))
}
