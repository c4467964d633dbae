//! Statistics of a window `(start, end]` from the same ledger as the
//! series: the 95th percentile of the 5-minute averages (the burstable
//! billing rule) for rx, tx and max(rx, tx), the same of the 1 s values
//! where the 1 s archive holds the window, and the seconds spent above a
//! rate.
//!
//! # Rules
//!
//! - **Slots.** The 5-minute slots are aligned to the epoch and lie wholly
//!   inside the window. A slot counts when more than half of its seconds
//!   are known in both directions, with the average over its known seconds
//!   (what librrd keeps in a 300 s row with its xff of one half); others
//!   are left out.
//! - **Rank.** The percentile of `n` values is the value at rank
//!   `ceil(0.95 n)` (1-based) of them sorted ascending, the ISPs'
//!   convention: the top 5 % of the slots are discarded.
//! - **1 s values.** Only for windows of at most [`MAX_1S_SECONDS`] that the
//!   1 s archive holds; a second counts where it is known in both
//!   directions.
//! - **Above.** The known seconds of the points wholly inside the window
//!   whose average is above the rate, at the finest step that keeps the
//!   points at most [`MAX_ABOVE_POINTS`] (1 s for windows up to about a
//!   day): exact at 1 s, at a coarser step an average above the rate counts
//!   all its known seconds.

use super::cache::{self, Cache};
use super::{Error, LADDER, MAX_POINTS, Point, Request, ceil_to, compute_with, floor_to};
use crate::rrd;

/// The longest window whose 1 s values are ranked (two days).
pub const MAX_1S_SECONDS: i64 = 2 * 86_400;
/// The most points read to count the seconds above a rate.
pub const MAX_ABOVE_POINTS: i64 = 100_000;
/// Seconds per slot of the 95th percentile.
pub const SLOT: i64 = 300;

/// A 95th percentile, bit/s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Percentiles {
    /// Of the received averages.
    pub rx: f64,
    /// Of the sent averages.
    pub tx: f64,
    /// Of the larger of the two per slot.
    pub max: f64,
    /// Slots of the window.
    pub samples: usize,
    /// Slots that counted.
    pub known_samples: usize,
    /// Seconds per slot.
    pub step: i64,
}

/// The seconds above a rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Above {
    /// The rate, bit/s.
    pub rate: f64,
    /// Seconds the received rate was above it.
    pub rx_seconds: i64,
    /// Seconds the sent rate was above it.
    pub tx_seconds: i64,
    /// Seconds either was.
    pub either_seconds: i64,
    /// Seconds per point the count was made at.
    pub resolution: i64,
}

/// What [`stats_cached`] answers.
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// Of the 5-minute averages; `None` when no slot counted.
    pub p95: Option<Percentiles>,
    /// Why `p95` is `None`.
    pub p95_why: Option<String>,
    /// Of the 1 s values, where the 1 s archive holds the window.
    pub p95_1s: Option<Percentiles>,
    /// The seconds above the asked rate.
    pub above: Option<Above>,
}

/// Flips the bits of a float's bit pattern so that, as an `i64`, it sorts
/// as `f64::total_cmp` orders the floats (and back: it is its own
/// inverse). The ranking so sorts `i64`s, which `crate::order` sorts for
/// other lists anyway, rather than floats.
fn flip(bits: i64) -> i64 {
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

/// What [`percentile95`] sorts for `value`.
fn order_key(value: f64) -> i64 {
    flip(value.to_bits() as i64)
}

/// The value at rank `ceil(0.95 n)` of the values whose [`order_key`]s
/// are `keys`, sorted ascending; `None` for no values.
fn percentile95(keys: &mut Vec<i64>) -> Option<f64> {
    crate::order::sort(keys);
    let rank = (keys.len() * 95).div_ceil(100);
    let key = *keys.get(rank.checked_sub(1)?)?;
    Some(f64::from_bits(flip(key) as u64))
}

/// Reads the points of `(start, end]` at `step` (or the coarser step the
/// file gives there) in parts, calling `each` with the points wholly
/// inside; answers the largest step used.
fn walk<F>(
    cache: &mut Cache,
    info: &rrd::Info,
    (start, end): (i64, i64),
    step: i64,
    fetch: &mut F,
    mut each: impl FnMut(&Point, i64),
) -> Result<i64, Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    let mut used = step;
    let mut t = start;
    while t < end {
        let stop = end.min(t + step * i64::from(MAX_POINTS));
        let points = u32::try_from((stop - t + step - 1) / step).unwrap_or(MAX_POINTS);
        let request = Request {
            start: t,
            end: stop,
            points: points.max(1),
        };
        let series = compute_with(info, &request, fetch, Some(&mut *cache))?;
        let s = series.step as i64;
        used = used.max(s);
        for point in series
            .points
            .iter()
            .filter(|p| p.time >= start && p.time + s <= end)
        {
            each(point, s);
        }
        t = series.end.max(stop);
    }
    Ok(used)
}

/// Ranks the averages of `(start, end]` at `step`, each counted when more
/// than half of its seconds are known in both directions; why not when the
/// file gives another step there or no point counts.
fn ranked<F>(
    cache: &mut Cache,
    info: &rrd::Info,
    window: (i64, i64),
    step: i64,
    fetch: &mut F,
) -> Result<Result<Percentiles, String>, Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    let (mut rx, mut tx, mut max) = (Vec::new(), Vec::new(), Vec::new());
    let mut samples = 0;
    let used = walk(cache, info, window, step, fetch, |p, s| {
        samples += 1;
        if let (Some(r), Some(t)) = (p.rx, p.tx) {
            if 2 * p.rx_known > s && 2 * p.tx_known > s {
                rx.push(order_key(r));
                tx.push(order_key(t));
                max.push(order_key(r.max(t)));
            }
        }
    })?;
    if used != step {
        return Ok(Err(format!(
            "the file keeps only {used} s averages for part of the window"
        )));
    }
    let known_samples = max.len();
    let ranks = [&mut rx, &mut tx, &mut max].map(percentile95);
    Ok(match ranks {
        [Some(rx), Some(tx), Some(max)] => Ok(Percentiles {
            rx,
            tx,
            max,
            samples,
            known_samples,
            step,
        }),
        _ => Err(format!(
            "no {step} s slot of the window is more than half known"
        )),
    })
}

/// The statistics of `(start, end]` (checked as a [`Request`]) with
/// `cache`, `above` a rate in bit/s; see the module documentation.
pub fn stats_cached<F>(
    cache: &mut Cache,
    info: &rrd::Info,
    (start, end): (i64, i64),
    above: Option<f64>,
    mut fetch: F,
) -> Result<Stats, Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    Request {
        start,
        end,
        points: 1,
    }
    .check()?;
    let slots = (ceil_to(start, SLOT), floor_to(end, SLOT));
    let (p95, p95_why) = match slots.0 < slots.1 {
        false => (
            None,
            Some("the window holds no whole 5-minute slot".to_string()),
        ),
        true => match ranked(cache, info, slots, SLOT, &mut fetch)? {
            Ok(p) => (Some(p), None),
            Err(why) => (None, Some(why)),
        },
    };
    let p95_1s = match end - start <= MAX_1S_SECONDS {
        true => ranked(cache, info, (start, end), 1, &mut fetch)?.ok(),
        false => None,
    };
    let above = match above {
        None => None,
        Some(rate) => {
            let target = (end - start + MAX_ABOVE_POINTS - 1) / MAX_ABOVE_POINTS;
            let step = LADDER
                .iter()
                .copied()
                .find(|&s| s >= target)
                .unwrap_or(target);
            let window = (ceil_to(start, step), floor_to(end, step));
            let (mut r, mut t, mut e) = (0, 0, 0);
            let resolution = walk(cache, info, window, step, &mut fetch, |p, _| {
                let over = |v: Option<f64>| v.is_some_and(|v| v > rate);
                if over(p.rx) {
                    r += p.rx_known;
                }
                if over(p.tx) {
                    t += p.tx_known;
                }
                if over(p.rx) || over(p.tx) {
                    e += p.rx_known.max(p.tx_known);
                }
            })?;
            Some(Above {
                rate,
                rx_seconds: r,
                tx_seconds: t,
                either_seconds: e,
                resolution,
            })
        }
    };
    Ok(Stats {
        p95,
        p95_why,
        p95_1s,
        above,
    })
}

/// [`stats_cached`] for the file at `path` (a cache of its own for this
/// call if the file was replaced).
pub fn stats_file(
    cache: &mut Cache,
    path: &std::path::Path,
    window: (i64, i64),
    above: Option<f64>,
) -> Result<Stats, Error> {
    let fetch = cache::file_rows(path, false);
    match cache::same_file(cache, path)? {
        (info, true) => stats_cached(cache, &info, window, above, fetch),
        (info, false) => stats_cached(&mut Cache::new(), &info, window, above, fetch),
    }
}

#[cfg(test)]
mod tests;
