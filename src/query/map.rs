//! The map of unknown time of one file: which rows of the coarse archives
//! are whole (every second in them known), learned from the finest archive
//! that holds them, so that a coarse row stands in for its seconds only
//! when all of them are known.
//!
//! librrd keeps a coarse row known while at most its xff (half, in the
//! profiles) of its seconds are unknown, and then holds the average (or
//! the largest value) of the known ones: the row alone does not say how
//! many seconds it stands for. The map says it.
//!
//! # Levels
//!
//! A level is learned from one AVERAGE archive, its unit: every AVERAGE
//! archive but the coarsest, finest first, each over the time its finer
//! levels do not reach. The first level's unit is the 1 s archive (one
//! primary data point per row): its rows are the seconds themselves, and
//! that level is exact. A later level's unit (10 s rows, say) is the
//! finest knowledge left for older time: a unit row counts as known as a
//! whole when librrd kept it known, and as unknown otherwise.
//!
//! Per level, for the time `(lo, hi]` it has learned:
//!
//! - the unknown runs: maximal stretches of unit rows in which `rx` or
//!   `tx` is unknown, as `(from, to]`;
//! - the entries: for every row of a coarser archive (an AVERAGE archive,
//!   or also a MAX one on the exact level, whose resolution is a multiple
//!   of the unit) that holds both unknown and known unit rows, what its
//!   known unit rows add up to per data source: Σ value × seconds, the
//!   known seconds and the largest value.
//!
//! A coarse row no run touches is whole and read from its archive; one
//! that lies inside a run and has no entry is unknown; any other has an
//! entry, which stands in for it. On the exact level that makes every
//! average, volume, known time and peak exact to the second; elsewhere
//! exact to the unit rows. MAX archives on other levels are read as librrd
//! kept them (a known MAX row is the largest of its known seconds).
//!
//! # Learning
//!
//! `lo` is a multiple of every coarse resolution of the level (their least
//! common multiple, its alignment), so no coarse row straddles it. A level
//! is learned backwards from its newest unit row in chunks, within a
//! budget of rows per call, and extended forwards as the file's last update
//! moves: the last incomplete block of the alignment is learned again with
//! the new rows. Time the archives no longer hold is dropped at the oldest
//! end. At most [`MAX_RUNS`] runs and [`MAX_ENTRIES`] entries are kept per
//! level (the newest): past that the level stops going back, and older
//! time is read as librrd kept it.

use std::collections::VecDeque;

use super::{Chunk, Error, MAX_FETCH_ROWS, Piece, Sum, Tier, Tiers, ceil_to, floor_to, push};
use crate::rrd;

/// The most unknown runs one level keeps.
pub(super) const MAX_RUNS: usize = 4096;
/// The most entries one level keeps (all coarse resolutions together).
pub(super) const MAX_ENTRIES: usize = 16_384;
/// The largest alignment of a level: coarse resolutions that would make it
/// larger are read as librrd kept them.
const MAX_ALIGN: i64 = 7 * 86_400;
/// Unit rows learned per chunk going backwards.
const CHUNK_ROWS: i64 = 4 * MAX_FETCH_ROWS;
/// A level that has fallen further behind the file's last update than this
/// many unit rows is learned again from its newest end (by later budgeted
/// calls) rather than caught up in one call.
const CATCH_UP_ROWS: i64 = 1 << 20;

/// How much to learn in one call of [`Map::sync`].
#[derive(Clone, Copy, Debug)]
pub(super) enum Learn {
    /// Everything the archives hold, going back at most this many unit rows
    /// in this call (catching up with the last update comes first and is
    /// not counted).
    Reach(i64),
    /// Only what `(start, end]` needs, all of it.
    Window(i64, i64),
}

/// What a level is learned from, derived from the header on each call.
#[derive(Clone, Debug, PartialEq)]
struct Spec {
    /// The unit archive's index in `Tiers::all`.
    tier: usize,
    shape: Shape,
    /// The time this level should hold, `(lo, hi]`; `lo` is aligned.
    lo: i64,
    hi: i64,
}

/// What a level's content depends on besides the rows.
#[derive(Clone, Debug, PartialEq)]
struct Shape {
    /// The unit's resolution.
    unit: i64,
    /// Whether the unit rows are single primary data points.
    exact: bool,
    /// The coarse resolutions, ascending.
    coarse: Vec<i64>,
    /// Their least common multiple.
    align: i64,
}

/// The learned part of one level (see the module documentation).
#[derive(Debug)]
struct Level {
    shape: Shape,
    lo: i64,
    hi: i64,
    /// Not learned below this: the memory bound was reached there.
    floor: i64,
    runs: VecDeque<(i64, i64)>,
    /// Per coarse resolution, by row end.
    entries: Vec<VecDeque<Entry>>,
}

/// What the known unit rows of one coarse row add up to, per data source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Entry {
    /// The row's time (the end of its interval).
    end: i64,
    /// Σ value × seconds.
    integral: [f64; 2],
    /// The largest known value; -∞ when none.
    max: [f64; 2],
    /// Known seconds.
    known: [u32; 2],
}

/// Runs and entries learned over one stretch, before they join a level.
struct Segment {
    runs: Vec<(i64, i64)>,
    entries: Vec<Vec<Entry>>,
}

/// Which knowledge a stretch of one archive's rows is read with (see
/// [`Map::stamp`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stamp {
    /// As librrd kept the rows.
    Raw,
    /// Through the level of this unit resolution.
    Level(i64),
    /// Partly through a level: not one knowledge.
    Mixed,
}

/// The map of one file (see the module documentation).
#[derive(Debug, Default)]
pub(super) struct Map {
    levels: Vec<Level>,
}

impl Map {
    /// Empties the map.
    pub(super) fn clear(&mut self) {
        self.levels.clear();
    }

    /// Brings the map up to the archives `tiers` describe and learns as
    /// `learn` says. Returns whether everything is learned. On an error
    /// the map stays consistent (what was learned before the failing fetch
    /// is kept).
    pub(super) fn sync<F>(
        &mut self,
        tiers: &Tiers,
        learn: Learn,
        fetch: &mut F,
    ) -> Result<bool, Error>
    where
        F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
    {
        let specs = specs(tiers);
        let mut levels = Vec::with_capacity(specs.len());
        for spec in &specs {
            let level = match self.levels.iter().position(|l| l.shape == spec.shape) {
                Some(i) => self.levels.swap_remove(i),
                None => Level::new(spec.shape.clone()),
            };
            levels.push(level);
        }
        self.levels = levels;
        let mut budget = match learn {
            Learn::Reach(rows) => rows,
            Learn::Window(..) => i64::MAX,
        };
        let mut complete = true;
        for (level, spec) in self.levels.iter_mut().zip(&specs) {
            let unit_tier = &tiers.all[spec.tier];
            let align = spec.shape.align;
            let unit = spec.shape.unit;
            let (lo, hi) = match learn {
                Learn::Reach(_) => (spec.lo, spec.hi),
                Learn::Window(start, end) => (
                    spec.lo.max(floor_to(start, align)),
                    spec.hi.min(ceil_to(end, align)),
                ),
            };
            if lo >= hi {
                level.reset(lo);
                continue;
            }
            // Drop what is no longer wanted at either end.
            if level.hi > hi {
                level.truncate_after(floor_to(hi, align).max(level.lo));
            }
            if level.lo < lo {
                level.drop_before(lo);
            }
            if level.is_empty() {
                level.reset(match learn {
                    Learn::Reach(_) => floor_to(hi, align).max(lo),
                    Learn::Window(..) => lo,
                });
            }
            // Forwards, up to the newest unit row.
            if level.hi < hi {
                let behind = (hi - floor_to(level.hi, align)) / unit;
                if matches!(learn, Learn::Reach(_)) && behind > CATCH_UP_ROWS {
                    level.reset(floor_to(hi, align).max(lo));
                }
                level.extend(unit_tier, hi, fetch)?;
            }
            // Backwards, within the budget.
            let bottom = lo.max(level.floor);
            while level.lo > bottom {
                if budget <= 0 {
                    complete = false;
                    break;
                }
                let chunk = ceil_to(CHUNK_ROWS.min(budget) * unit, align);
                let from = bottom.max(level.lo - chunk);
                budget -= (level.lo - from) / unit;
                level.learn_back(unit_tier, from, fetch)?;
            }
        }
        Ok(complete)
    }

    /// Splits `piece` of whole rows of `tier` (`tier` is its archive in
    /// `tiers`) into the stretches read from the archive, appended to
    /// `raw`, and the rows whose entries stand in for them, added to
    /// `sums`; unknown rows are dropped.
    pub(super) fn resolve(
        &self,
        tiers: &Tiers,
        piece: Piece,
        raw: &mut Vec<Piece>,
        sums: &mut [Sum; 2],
    ) -> Result<(), Error> {
        let tier = &tiers.all[piece.tier];
        let r = tier.resolution;
        if piece.from.rem_euclid(r) != 0 || piece.to.rem_euclid(r) != 0 {
            return push(raw, piece.tier, piece.from, piece.to);
        }
        // At most a few stretches: the levels' regions do not overlap.
        let mut rest = vec![(piece.from, piece.to)];
        for level in &self.levels {
            let Some(j) = level.coarse_index(tier) else {
                continue;
            };
            let (lo, hi) = (level.lo, floor_to(level.hi, r));
            if lo >= hi {
                continue;
            }
            let mut outside = Vec::new();
            for (a, b) in rest {
                let (x, y) = (a.max(lo), b.min(hi));
                if x >= y {
                    outside.push((a, b));
                    continue;
                }
                if a < x {
                    outside.push((a, x));
                }
                if y < b {
                    outside.push((y, b));
                }
                level.split(piece.tier, r, j, x, y, raw, sums)?;
            }
            rest = outside;
        }
        for (a, b) in rest {
            push(raw, piece.tier, a, b)?;
        }
        Ok(())
    }

    /// The knowledge the rows of `tier` in `(from, to]` are read with.
    pub(super) fn stamp(&self, tier: &Tier, from: i64, to: i64) -> Stamp {
        for level in &self.levels {
            if level.coarse_index(tier).is_none() {
                continue;
            }
            let (lo, hi) = (level.lo, floor_to(level.hi, tier.resolution));
            if lo <= from && to <= hi {
                return Stamp::Level(level.shape.unit);
            }
            if from < hi && lo < to {
                return Stamp::Mixed;
            }
        }
        Stamp::Raw
    }

    /// The time `(lo, hi]` known exactly to the second: the exact level's,
    /// if there is one and it has learned anything.
    pub(super) fn exact(&self) -> Option<(i64, i64)> {
        let level = self.levels.first().filter(|l| l.shape.exact)?;
        (!level.is_empty()).then_some((level.lo, level.hi))
    }

    /// The heap bytes the map holds.
    pub(super) fn memory_bytes(&self) -> usize {
        self.levels
            .iter()
            .map(|l| {
                std::mem::size_of::<Level>()
                    + l.shape.coarse.capacity() * 8
                    + l.runs.capacity() * std::mem::size_of::<(i64, i64)>()
                    + l.entries
                        .iter()
                        .map(|e| e.capacity() * std::mem::size_of::<Entry>() + 32)
                        .sum::<usize>()
            })
            .sum()
    }

    /// Per level: unit resolution, `(lo, hi]`, runs and entries (for tests).
    #[cfg(test)]
    pub(super) fn summary(&self) -> Vec<(i64, i64, i64, usize, usize)> {
        self.levels
            .iter()
            .map(|l| (l.shape.unit, l.lo, l.hi, l.runs.len(), l.entry_count()))
            .collect()
    }
}

/// The levels the archives `tiers` call for, finest first (see "Levels").
fn specs(tiers: &Tiers) -> Vec<Spec> {
    let mut units = tiers.average.clone();
    crate::order::sort_by_key(&mut units, |&i| tiers.all[i].resolution);
    let mut specs = Vec::new();
    // The time the finer levels are to hold starts here.
    let mut below = i64::MAX;
    for (k, &u) in units.iter().enumerate() {
        let tier = &tiers.all[u];
        let unit = tier.resolution;
        let exact = k == 0 && unit == tiers.step;
        let mut coarse: Vec<i64> = tiers
            .all
            .iter()
            .filter(|t| t.resolution > unit && t.resolution % unit == 0)
            .filter(|t| exact || t.cf == "AVERAGE")
            .map(|t| t.resolution)
            .collect();
        crate::order::sort_dedup(&mut coarse);
        let mut align = unit;
        coarse.retain(|&r| {
            let wider = align / gcd(align, r) * r;
            let fits = wider <= MAX_ALIGN;
            if fits {
                align = wider;
            }
            fits
        });
        if coarse.is_empty() {
            continue;
        }
        let lo = ceil_to(tier.from, align);
        let hi = tier.to.min(below);
        if lo >= hi {
            continue;
        }
        specs.push(Spec {
            tier: u,
            shape: Shape {
                unit,
                exact,
                coarse,
                align,
            },
            lo,
            hi,
        });
        below = lo;
    }
    specs
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

impl Level {
    fn new(shape: Shape) -> Level {
        let entries = vec![VecDeque::new(); shape.coarse.len()];
        Level {
            shape,
            lo: 0,
            hi: 0,
            floor: i64::MIN,
            runs: VecDeque::new(),
            entries,
        }
    }

    fn is_empty(&self) -> bool {
        self.lo >= self.hi
    }

    /// Forgets everything; learning starts again at `at`.
    fn reset(&mut self, at: i64) {
        self.lo = at;
        self.hi = at;
        self.floor = i64::MIN;
        self.runs = VecDeque::new();
        for entries in &mut self.entries {
            *entries = VecDeque::new();
        }
    }

    fn entry_count(&self) -> usize {
        self.entries.iter().map(VecDeque::len).sum()
    }

    /// The index of `tier`'s resolution among the coarse ones, if this
    /// level stands in for its rows.
    fn coarse_index(&self, tier: &Tier) -> Option<usize> {
        if tier.cf != "AVERAGE" && !self.shape.exact {
            return None;
        }
        self.shape.coarse.iter().position(|&r| r == tier.resolution)
    }

    /// Forgets what lies after `t` (aligned, at least `lo`).
    fn truncate_after(&mut self, t: i64) {
        while let Some(last) = self.runs.back_mut() {
            if last.0 >= t {
                self.runs.pop_back();
            } else {
                last.1 = last.1.min(t);
                break;
            }
        }
        for entries in &mut self.entries {
            while entries.back().is_some_and(|e| e.end > t) {
                entries.pop_back();
            }
        }
        self.hi = t.max(self.lo);
    }

    /// Forgets what lies at or before `t` (aligned).
    fn drop_before(&mut self, t: i64) {
        if t >= self.hi {
            self.reset(t);
            return;
        }
        while let Some(first) = self.runs.front_mut() {
            if first.1 <= t {
                self.runs.pop_front();
            } else {
                first.0 = first.0.max(t);
                break;
            }
        }
        for entries in &mut self.entries {
            while entries.front().is_some_and(|e| e.end <= t) {
                entries.pop_front();
            }
        }
        self.lo = t;
    }

    /// Learns `(hi, to]` (from the last aligned block before `hi` on), then
    /// keeps within the memory bound by forgetting the oldest.
    fn extend<F>(&mut self, tier: &Tier, to: i64, fetch: &mut F) -> Result<(), Error>
    where
        F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
    {
        let from = floor_to(self.hi, self.shape.align).max(self.lo);
        self.truncate_after(from);
        let segment = self.scan(tier, from, to, fetch)?;
        let mut runs = segment.runs.into_iter();
        if let Some(first) = runs.next() {
            match self.runs.back_mut() {
                Some(last) if last.1 == first.0 => last.1 = first.1,
                _ => self.runs.push_back(first),
            }
        }
        self.runs.extend(runs);
        for (entries, new) in self.entries.iter_mut().zip(segment.entries) {
            entries.extend(new);
        }
        self.hi = to;
        self.bound();
        Ok(())
    }

    /// Forgets the oldest runs and entries while there are more than the
    /// memory bound allows; the level then no longer goes back.
    fn bound(&mut self) {
        while self.runs.len() > MAX_RUNS || self.entry_count() > MAX_ENTRIES {
            let mut oldest = i64::MAX;
            if self.runs.len() > MAX_RUNS {
                oldest = self.runs.front().map_or(oldest, |r| r.1);
            }
            if self.entry_count() > MAX_ENTRIES {
                for entries in &self.entries {
                    oldest = entries.front().map_or(oldest, |e| oldest.min(e.end));
                }
            }
            let at = ceil_to(oldest.min(self.hi), self.shape.align);
            self.drop_before(at);
            self.floor = self.lo;
        }
    }

    /// Learns `(from, lo]` (`from` aligned) and prepends it, within the
    /// memory bound.
    fn learn_back<F>(&mut self, tier: &Tier, from: i64, fetch: &mut F) -> Result<(), Error>
    where
        F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
    {
        let segment = self.scan(tier, from, self.lo, fetch)?;
        let mut runs = segment.runs;
        if let (Some(last), Some(first)) = (runs.last_mut(), self.runs.front()) {
            if last.1 == first.0 {
                last.1 = first.1;
                self.runs.pop_front();
            }
        }
        for run in runs.into_iter().rev() {
            self.runs.push_front(run);
        }
        for (entries, new) in self.entries.iter_mut().zip(segment.entries) {
            for entry in new.into_iter().rev() {
                entries.push_front(entry);
            }
        }
        self.lo = from;
        self.bound();
        Ok(())
    }

    /// Reads the unit rows of `(from, to]` (`from` aligned) and finds their
    /// runs and the entries of the coarse rows that end in it.
    fn scan<F>(&self, tier: &Tier, from: i64, to: i64, fetch: &mut F) -> Result<Segment, Error>
    where
        F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
    {
        let unit = self.shape.unit;
        let coarse = &self.shape.coarse;
        let mut segment = Segment {
            runs: Vec::new(),
            entries: vec![Vec::new(); coarse.len()],
        };
        let empty = Entry {
            end: 0,
            integral: [0.0; 2],
            max: [f64::NEG_INFINITY; 2],
            known: [0; 2],
        };
        // The coarse rows in progress, whether they hold an unknown unit
        // row, and where they end.
        let mut rows = vec![(empty, false); coarse.len()];
        let mut ends: Vec<i64> = coarse.iter().map(|&r| from + r).collect();
        let seconds = u32::try_from(unit).unwrap_or(u32::MAX);
        let mut lo = from;
        while lo < to {
            let hi = to.min(lo.saturating_add(MAX_FETCH_ROWS * unit));
            let fetched = fetch("AVERAGE", lo, hi - 1, unit as u64).map_err(Error::Rrd)?;
            let chunk = Chunk::new(tier, lo, hi, fetched)?;
            let [rx, tx] = chunk.columns;
            let mut t = lo;
            while t < hi {
                t += unit;
                let at = usize::try_from((t - chunk.start) / unit - 1)
                    .ok()
                    .and_then(|i| i.checked_mul(chunk.width));
                let value = |column: usize| {
                    at.and_then(|at| chunk.values.get(at + column))
                        .copied()
                        .filter(|v| v.is_finite())
                };
                let values = [value(rx), value(tx)];
                let unknown = values[0].is_none() || values[1].is_none();
                if unknown {
                    match segment.runs.last_mut() {
                        Some(last) if last.1 == t - unit => last.1 = t,
                        _ => segment.runs.push((t - unit, t)),
                    }
                }
                for (j, (row, holes)) in rows.iter_mut().enumerate() {
                    for (ds, value) in values.iter().enumerate() {
                        if let Some(v) = *value {
                            row.integral[ds] += v * unit as f64;
                            row.known[ds] = row.known[ds].saturating_add(seconds);
                            if v > row.max[ds] {
                                row.max[ds] = v;
                            }
                        }
                    }
                    *holes |= unknown;
                    if t == ends[j] {
                        if *holes && row.known.iter().any(|&k| k > 0) {
                            segment.entries[j].push(Entry { end: t, ..*row });
                        }
                        *row = empty;
                        *holes = false;
                        ends[j] += coarse[j];
                    }
                }
            }
            lo = hi;
        }
        Ok(segment)
    }

    /// [`Map::resolve`] within this level: `(from, to]` of whole rows of
    /// resolution `r`, the level's coarse resolution number `j`, of the
    /// archive `tier`.
    #[allow(clippy::too_many_arguments)]
    fn split(
        &self,
        tier: usize,
        r: i64,
        j: usize,
        from: i64,
        to: i64,
        raw: &mut Vec<Piece>,
        sums: &mut [Sum; 2],
    ) -> Result<(), Error> {
        let runs = &self.runs;
        let entries = &self.entries[j];
        let mut i = runs.partition_point(|run| run.1 <= from);
        let mut cursor = from;
        while let Some(&(a, b)) = runs.get(i) {
            if a >= to {
                break;
            }
            // The rows this run touches, with those of the next runs that
            // touch the same rows.
            let first = floor_to(a.max(from), r);
            let mut last = ceil_to(b.min(to), r);
            i += 1;
            while let Some(&(a, b)) = runs.get(i) {
                if a >= to || floor_to(a, r) >= last {
                    break;
                }
                last = last.max(ceil_to(b.min(to), r));
                i += 1;
            }
            if cursor < first {
                push(raw, tier, cursor, first)?;
            }
            let mut e = entries.partition_point(|e| e.end <= first);
            while let Some(entry) = entries.get(e) {
                if entry.end > last {
                    break;
                }
                for (ds, sum) in sums.iter_mut().enumerate() {
                    sum.merge(&Sum {
                        integral: entry.integral[ds],
                        known: i64::from(entry.known[ds]),
                        max: entry.max[ds],
                    });
                }
                e += 1;
            }
            cursor = last;
        }
        if cursor < to {
            push(raw, tier, cursor, to)?;
        }
        Ok(())
    }
}
