//! An opt-in cache of day blocks for long windows: for each whole UTC day
//! (86,400 s, aligned to the epoch) that the coarsest AVERAGE archive (and
//! the MAX archive of the same resolution, if any) holds completely, what
//! its rows add up to, so that a query whose step is a whole number of
//! days reads those days from memory instead of fetching their rows.
//!
//! # What a day holds
//!
//! Per data source: Σ value × seconds over the known AVERAGE rows, their
//! count, the largest known MAX row and the count of known MAX rows. That is
//! all a point's average, a point's exact peak and the window's volume take
//! from whole rows; the fallback peaks (the largest AVERAGE row, used only
//! where no exact source holds a point) always read rows. 40 bytes a day,
//! at most [`MAX_DAYS`] days: at most 164 KB per file (the Original
//! profile's 300 s archives hold 3,652 days, 146 KB).
//!
//! # Rules
//!
//! - **Which days.** Day `d` covers `(d × 86,400, (d + 1) × 86,400]`. It is
//!   cached while both archives may be read over all of it (see "Tiers" in
//!   [`super`]: their oldest rows, less the margin, and their newest row),
//!   so only rows that are complete and cannot change are cached: librrd
//!   writes rows once, at the newest end, and drops them at the oldest.
//! - **When.** Only queries whose step is a whole number of days use the
//!   cache (and build or extend it); others, and the short windows, read
//!   rows as [`super::compute`] does and never touch it.
//! - **Same answer.** A piece of the tiling on a cached archive is split
//!   at day boundaries, which are row boundaries; the whole cached days in
//!   it are added from the cache, the rest read as usual. So the same rows
//!   count with the same weights: the answer equals [`super::compute`]'s,
//!   except that the sums are added in another order, which can change the
//!   last bits of an average or volume (the tests compare integer-valued
//!   rows, where they are exact).
//! - **Validity.** Each call compares the file's header with the one the
//!   cache was built for: another layout, or a last update that moved
//!   backwards, empties it (and [`series_cached`] also empties it for
//!   another file: path, device or inode). Then it drops the days the
//!   archives no longer hold and fetches the rows of the days completed
//!   since the last call, and only those.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use super::{Error, Piece, Request, Series, Sum, Tier, Tiers, compute_with, read as read_rows};
use crate::rrd;

/// Seconds per day.
pub(super) const DAY: i64 = 86_400;
/// The most days cached per file (the newest ones are kept).
pub const MAX_DAYS: usize = 4096;
/// Days fetched per batch while building, so that one batch stays well
/// within the rows one query may read.
const BATCH_DAYS: i64 = 256;
/// The finest archive resolution cached (finer rows would not fit the
/// per-day counts and would take long to build).
const MIN_RESOLUTION: i64 = 60;

/// Cached day blocks of one RRD file (see the module documentation). Keep
/// one per file and pass it to every [`series_cached`] call for that file.
#[derive(Debug, Default)]
pub struct Cache {
    /// The file: path, device and inode (set by [`series_cached`]).
    file: Option<(PathBuf, u64, u64)>,
    /// The layout the days were read from.
    layout: Option<Layout>,
    /// The last update of the header last seen.
    last_update: i64,
    /// The day number of `days[0]`.
    first: i64,
    days: VecDeque<Day>,
}

/// What a header must keep for the cache to stay valid.
#[derive(Clone, Debug, PartialEq)]
struct Layout {
    step: u64,
    sources: Vec<String>,
    archives: Vec<(String, u64, u64)>,
}

/// One day's whole rows, per data source (rx, tx).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Day {
    /// Σ value × seconds over the known AVERAGE rows.
    integral: [f64; 2],
    /// The largest known MAX row; -∞ while none.
    peak: [f64; 2],
    /// Known AVERAGE rows.
    average_rows: [u16; 2],
    /// Known MAX rows.
    max_rows: [u16; 2],
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// The cached days, as day numbers (day `d` is `(d × 86,400, (d + 1) ×
    /// 86,400]`).
    pub fn days(&self) -> std::ops::Range<i64> {
        self.first..self.first + self.days.len() as i64
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
            + self.days.capacity() * std::mem::size_of::<Day>()
            + layout
            + path
    }

    fn clear(&mut self) {
        self.layout = None;
        self.days = VecDeque::new();
        self.first = 0;
        self.last_update = i64::MIN;
    }

    /// Brings the days up to the header `info` (see "Validity").
    fn update<F>(&mut self, info: &rrd::Info, tiers: &Tiers, fetch: &mut F) -> Result<(), Error>
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
        let Some((average, max)) = cached_tiers(tiers) else {
            self.days.clear();
            return Ok(());
        };
        let (first, end) = held_days(&tiers.all, average, max);
        // Drop what the archives no longer hold.
        let stale = usize::try_from(first - self.first)
            .unwrap_or(0)
            .min(self.days.len());
        self.days.drain(..stale);
        let keep = usize::try_from(end - self.first).unwrap_or(0);
        self.days.truncate(keep);
        if self.days.is_empty() {
            self.first = first;
        }
        if self.first < first {
            self.first = first;
        }
        // Fetch the new ones.
        let mut from = self.first + self.days.len() as i64;
        while from < end {
            let to = end.min(from + BATCH_DAYS);
            let result = self.fetch_days(&tiers.all, average, max, from, to, fetch);
            if let Err(error) = result {
                self.clear();
                return Err(error);
            }
            from = to;
        }
        if self.days.capacity() > self.days.len() {
            self.days.shrink_to_fit();
        }
        Ok(())
    }

    /// Reads days `from..to` and appends them.
    fn fetch_days<F>(
        &mut self,
        all: &[Tier],
        average: usize,
        max: Option<usize>,
        from: i64,
        to: i64,
        fetch: &mut F,
    ) -> Result<(), Error>
    where
        F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
    {
        let mut pieces = Vec::new();
        let mut groups = Vec::new();
        for (i, day) in (from..to).enumerate() {
            for (g, tier) in [Some(average), max].into_iter().enumerate() {
                if let Some(tier) = tier {
                    pieces.push(Piece {
                        tier,
                        from: day * DAY,
                        to: (day + 1) * DAY,
                    });
                    groups.push(2 * i + g);
                }
            }
        }
        let count = 2 * (to - from) as usize;
        let sums = read_rows(all, &pieces, &groups, count, fetch)?;
        let rows = |sum: &Sum, tier: usize| {
            u16::try_from(sum.known / all[tier].resolution).unwrap_or(u16::MAX)
        };
        for pair in sums.chunks_exact(2) {
            let (a, m) = (&pair[0], &pair[1]);
            self.days.push_back(Day {
                integral: [a[0].integral, a[1].integral],
                peak: [m[0].max, m[1].max],
                average_rows: [rows(&a[0], average), rows(&a[1], average)],
                max_rows: match max {
                    Some(max) => [rows(&m[0], max), rows(&m[1], max)],
                    None => [0, 0],
                },
            });
        }
        Ok(())
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

/// What kind of sums a group of pieces makes (see `compute_with`).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A point's averages or the volume: integral and known seconds.
    Average,
    /// A point's exact peaks: largest value and known seconds.
    Peak,
    /// A point's fallback peaks: never from the cache.
    Other,
}

/// [`super::read`] with the whole cached days of the pieces added from
/// `cache` (brought up to `info` first) rather than fetched. `groups` are
/// those of `compute_with`: `3 k` a point's averages, `3 k + 1` its exact
/// peaks, `3 k + 2` its fallback peaks, `volume_group` the volume.
pub(super) fn read<F>(
    cache: &mut Cache,
    info: &rrd::Info,
    tiers: &Tiers,
    pieces: &[Piece],
    groups: &[usize],
    volume_group: usize,
    fetch: &mut F,
) -> Result<Vec<[Sum; 2]>, Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    // The same refusal as the plain read, on the same rows.
    super::spans(&tiers.all, pieces)?;
    cache.update(info, tiers, fetch)?;
    let count = volume_group + 1;
    let Some((average, max)) = cached_tiers(tiers) else {
        return read_rows(&tiers.all, pieces, groups, count, fetch);
    };
    let cached = cache.days();
    let mut rest = Vec::with_capacity(pieces.len());
    let mut rest_groups = Vec::with_capacity(pieces.len());
    let mut from_cache = vec![[Sum::default(); 2]; count];
    for (piece, &group) in pieces.iter().zip(groups) {
        let kind = if group == volume_group || group % 3 == 0 {
            Kind::Average
        } else if group % 3 == 1 {
            Kind::Peak
        } else {
            Kind::Other
        };
        let usable = match kind {
            Kind::Average => piece.tier == average,
            Kind::Peak => Some(piece.tier) == max,
            Kind::Other => false,
        };
        let lo = (piece.from.div_euclid(DAY) + i64::from(piece.from.rem_euclid(DAY) != 0))
            .max(cached.start);
        let hi = piece.to.div_euclid(DAY).min(cached.end);
        if !usable || lo >= hi {
            rest.push(*piece);
            rest_groups.push(group);
            continue;
        }
        let resolution = tiers.all[piece.tier].resolution;
        let Some(sums) = from_cache.get_mut(group) else {
            continue;
        };
        for day in cache
            .days
            .range((lo - cached.start) as usize..(hi - cached.start) as usize)
        {
            for (ds, sum) in sums.iter_mut().enumerate() {
                match kind {
                    Kind::Average => {
                        sum.integral += day.integral[ds];
                        sum.known += i64::from(day.average_rows[ds]) * resolution;
                    }
                    _ => {
                        sum.known += i64::from(day.max_rows[ds]) * resolution;
                        if day.peak[ds] > sum.max {
                            sum.max = day.peak[ds];
                        }
                    }
                }
            }
        }
        for (a, b) in [(piece.from, lo * DAY), (hi * DAY, piece.to)] {
            if a < b {
                rest.push(Piece {
                    tier: piece.tier,
                    from: a,
                    to: b,
                });
                rest_groups.push(group);
            }
        }
    }
    let mut sums = read_rows(&tiers.all, &rest, &rest_groups, count, fetch)?;
    for (sums, cached) in sums.iter_mut().zip(&from_cache) {
        for (sum, cached) in sums.iter_mut().zip(cached) {
            sum.integral += cached.integral;
            sum.known += cached.known;
            if cached.max > sum.max {
                sum.max = cached.max;
            }
        }
    }
    Ok(sums)
}

/// [`super::compute`] with `cache` (see the module documentation): the
/// same answer, with the whole days of long windows read from memory.
/// `cache` must only ever be used with one file.
pub fn compute_cached<F>(
    cache: &mut Cache,
    info: &rrd::Info,
    request: &Request,
    fetch: F,
) -> Result<Series, Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    compute_with(info, request, fetch, Some(cache))
}

/// [`super::series`] with `cache`, which is emptied when `path` names
/// another file than it was built for (path, device or inode).
pub fn series_cached(cache: &mut Cache, path: &Path, request: &Request) -> Result<Series, Error> {
    request.check()?;
    let before = identity(path);
    let info = rrd::info(path).map_err(Error::Rrd)?;
    let fetch = |cf: &str, start, end, resolution| rrd::fetch(path, cf, start, end, resolution);
    let after = identity(path);
    match (before, after) {
        (Some(before), Some(after)) if before == after => {
            if cache.file.as_ref() != Some(&after) {
                cache.clear();
                cache.file = Some(after);
            }
            compute_cached(cache, &info, request, fetch)
        }
        // Replaced while the header was read, or unreadable: no cache.
        _ => {
            cache.clear();
            cache.file = None;
            super::compute(&info, request, fetch)
        }
    }
}

fn identity(path: &Path) -> Option<(PathBuf, u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).ok()?;
    Some((path.to_path_buf(), metadata.dev(), metadata.ino()))
}
