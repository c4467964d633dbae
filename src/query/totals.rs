//! Totals over consecutive intervals (`bounds[i]`, `bounds[i + 1]`], such
//! as the local days of a month: bytes and known seconds per interval from
//! the same exact ledger as the window summary of a series.
//!
//! # How
//!
//! - **Step.** The largest step of the ladder that divides every bound
//!   (3600 s for local days of whole-hour zones, 1800 s for `:30` zones, a
//!   day for UTC) is used for a series over all of them, in parts of at
//!   most [`MAX_POINTS`] points; each point then lies in exactly one
//!   interval, and an interval's totals are the sums of its points' known
//!   seconds and their integrals (average × known seconds). So the same
//!   rows, map entries and 1 s values count as in the window summary.
//! - **One window per interval** instead, when that would take more parts
//!   than there are intervals (years at a fine step), or when the file
//!   cannot give points of that step there (the finest archive holding the
//!   time is coarser than the step): each interval is then a window of its
//!   own, whose summary covers exactly `(start, end]` (an edge that no
//!   archive holding it splits into whole rows is counted pro rata, and the
//!   interval is not exact).
//! - **Exact.** An interval is exact when its seconds up to the last update
//!   lie where the map knows every second (see "Exactness" in the README).

use super::cache::{self, Cache};
use super::{Error, LADDER, LATEST_TIME, MAX_POINTS, Request, compute_with};
use crate::rrd;

/// The most intervals one call may ask for.
pub const MAX_INTERVALS: usize = 1024;

/// What the known seconds of one interval `(start, end]` add up to.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Total {
    /// Bytes received in its known seconds.
    pub rx_bytes: f64,
    /// Bytes sent in its known seconds.
    pub tx_bytes: f64,
    /// Known seconds for `rx`.
    pub rx_known: i64,
    /// Known seconds for `tx`.
    pub tx_known: i64,
    /// Whether every second of it up to the last update is known exactly.
    pub exact: bool,
}

/// The totals of the intervals between consecutive `bounds` (ascending,
/// 2 to [`MAX_INTERVALS`] + 1 of them, within 0 to [`LATEST_TIME`]), with
/// `cache` (see [`Cache`]), for the file whose header is `info`, reading
/// rows through `fetch` (as [`super::compute`] does).
///
/// Errors: bounds out of order, out of range or too many
/// ([`Error::Window`]), and the errors of [`super::compute`].
pub fn totals_cached<F>(
    cache: &mut Cache,
    info: &rrd::Info,
    bounds: &[i64],
    mut fetch: F,
) -> Result<Vec<Total>, Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    let (Some(&first), Some(&last)) = (bounds.first(), bounds.last()) else {
        return Err(Error::Window { start: 0, end: 0 });
    };
    let ordered = bounds.windows(2).all(|w| w[0] < w[1]);
    if !ordered || bounds.len() < 2 || bounds.len() > MAX_INTERVALS + 1 {
        return Err(Error::Window {
            start: first,
            end: last,
        });
    }
    if first < 0 {
        return Err(Error::BeforeEpoch { start: first });
    }
    if last > LATEST_TIME {
        return Err(Error::TooLate { end: last });
    }
    let step = LADDER
        .iter()
        .rev()
        .copied()
        .find(|s| bounds.iter().all(|b| b % s == 0))
        .unwrap_or(1);
    // Nothing after the last update is known: points end there.
    let until = last.min(super::ceil_to(info.last_update.max(first + 1), step));
    let parts = (until - first + step * i64::from(MAX_POINTS) - 1) / (step * i64::from(MAX_POINTS));
    let mut totals = vec![Total::default(); bounds.len() - 1];
    if parts <= totals.len() as i64
        && by_points(cache, info, bounds, step, until, &mut totals, &mut fetch)?
    {
        return Ok(totals);
    }
    for (total, w) in totals.iter_mut().zip(bounds.windows(2)) {
        let end = w[1].min(info.last_update);
        if end <= w[0] {
            *total = Total {
                exact: true,
                ..Total::default()
            };
            continue;
        }
        let request = Request {
            start: w[0],
            end,
            points: 1,
        };
        let summary = compute_with(info, &request, &mut fetch, Some(&mut *cache))?.summary;
        *total = Total {
            rx_bytes: summary.rx_bytes,
            tx_bytes: summary.tx_bytes,
            rx_known: summary.rx_known,
            tx_known: summary.tx_known,
            exact: summary.exact,
        };
    }
    Ok(totals)
}

/// The totals from series of `step` over `(bounds[0], until]`; false when
/// the file gives another step somewhere (then `totals` is to be made
/// another way).
fn by_points<F>(
    cache: &mut Cache,
    info: &rrd::Info,
    bounds: &[i64],
    step: i64,
    until: i64,
    totals: &mut [Total],
    fetch: &mut F,
) -> Result<bool, Error>
where
    F: FnMut(&str, i64, i64, u64) -> Result<rrd::Fetched, rrd::Error>,
{
    for total in totals.iter_mut() {
        *total = Total {
            exact: true,
            ..Total::default()
        };
    }
    let mut start = bounds[0];
    let mut row = 0;
    while start < until {
        let end = until.min(start + step * i64::from(MAX_POINTS));
        let points = u32::try_from((end - start) / step).unwrap_or(MAX_POINTS);
        let request = Request { start, end, points };
        let series = compute_with(info, &request, &mut *fetch, Some(&mut *cache))?;
        if series.step != step as u64 || series.start != start {
            return Ok(false);
        }
        for point in &series.points {
            while row + 1 < bounds.len() - 1 && point.time >= bounds[row + 1] {
                row += 1;
            }
            let Some(total) = totals.get_mut(row) else {
                break;
            };
            let bytes =
                |rate: Option<f64>, known: i64| rate.map_or(0.0, |r| r * known as f64 / 8.0);
            total.rx_bytes += bytes(point.rx, point.rx_known);
            total.tx_bytes += bytes(point.tx, point.tx_known);
            total.rx_known += point.rx_known;
            total.tx_known += point.tx_known;
            // Exact when the map knows this point's seconds up to the last
            // update; points after it have no known second.
            if point.time < info.last_update
                && series.exact_from.is_none_or(|from| point.time < from)
            {
                total.exact = false;
            }
        }
        start = end;
    }
    Ok(true)
}

/// [`totals_cached`] for the file at `path`: its header is read first and
/// `bounds` made from it; `cache` is left alone if the file was replaced
/// (a cache of its own for this call).
pub fn totals_file(
    cache: &mut Cache,
    path: &std::path::Path,
    bounds: impl FnOnce(&rrd::Info) -> Vec<i64>,
) -> Result<(rrd::Info, Vec<i64>, Vec<Total>), Error> {
    let fetch = |cf: &str, start, end, resolution| rrd::fetch(path, cf, start, end, resolution);
    let (info, same) = cache::same_file(cache, path)?;
    let bounds = bounds(&info);
    let totals = match same {
        true => totals_cached(cache, &info, &bounds, fetch)?,
        false => totals_cached(&mut Cache::new(), &info, &bounds, fetch)?,
    };
    Ok((info, bounds, totals))
}

/// The oldest second the file at `info` holds: the start of the oldest
/// row of its longest-reaching archive.
pub fn first_second(info: &rrd::Info) -> i64 {
    info.archives
        .iter()
        .map(|a| {
            let resolution = (a.pdp_per_row * info.step).max(1) as i64;
            let newest = info.last_update - info.last_update.rem_euclid(resolution);
            newest.saturating_sub(resolution.saturating_mul(a.rows as i64))
        })
        .min()
        .unwrap_or(info.last_update)
        .max(0)
}
