//! Totals over consecutive intervals (`bounds[i]`, `bounds[i + 1]`], such
//! as the local days of a month: bytes and known seconds per interval from
//! the same exact ledger as the window summary of a series.
//!
//! # How
//!
//! Each interval is tiled like the window of a series summary (coarse
//! archives in the middle, finer ones at the edges, a row that no archive
//! holding the time splits taken pro rata), its pieces go through the map
//! of unknown seconds, and all intervals' rows are fetched together. So
//! the same rows, map entries and 1 s values count as in the window
//! summary of `(start, end]`; only averages are read (no peaks). When
//! every bound is a whole UTC day (the UTC zone), whole days come from the
//! cache's day blocks.
//!
//! An interval is exact when its seconds up to the last update lie where
//! the map knows every second (see "Exactness" in the README); a local
//! day of a `:30` zone is exact there too, since the 1 s rows split it.

use super::cache::{self, Cache, DAY};
use super::{Error, LATEST_TIME, Tiers, cover, gather, spans};
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
/// ([`Error::Window`]), more rows than one query may read
/// ([`Error::Layout`]), and the errors of [`super::compute`].
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
    let tiers = Tiers::from_info(info)?;
    let count = bounds.len() - 1;
    // Group 3 i is interval i's averages (see `Query::groups`).
    let mut pieces = Vec::new();
    let mut groups = Vec::new();
    for (i, w) in bounds.windows(2).enumerate() {
        let (from, to) = (w[0], w[1].min(info.last_update));
        if from < to {
            cover(&tiers, &tiers.average, from, to, true, &mut pieces)?;
            groups.resize(pieces.len(), 3 * i);
        }
    }
    spans(&tiers.all, &pieces)?;
    let days = bounds.iter().all(|b| b % DAY == 0);
    let (map, days) = cache::prepared(cache, info, &tiers, first, days, &mut fetch)?;
    let sums = gather(&tiers, map, days, &pieces, &groups, 3 * count, &mut fetch)?;
    let exact = map.exact();
    Ok(bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let [rx, tx] = sums.get(3 * i).copied().unwrap_or_default();
            let end = w[1].min(info.last_update);
            Total {
                rx_bytes: rx.integral / 8.0,
                tx_bytes: tx.integral / 8.0,
                rx_known: rx.known,
                tx_known: tx.known,
                exact: end <= w[0] || exact.is_some_and(|(lo, hi)| lo <= w[0] && end <= hi),
            }
        })
        .collect())
}

/// [`totals_cached`] for the file at `path`: its header is read first and
/// `bounds` made from it; `cache` is left alone if the file was replaced
/// (a cache of its own for this call).
pub fn totals_file(
    cache: &mut Cache,
    path: &std::path::Path,
    bounds: impl FnOnce(&rrd::Info) -> Vec<i64>,
) -> Result<(rrd::Info, Vec<i64>, Vec<Total>), Error> {
    let fetch = cache::file_rows(path, false);
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
