// Loading a window's series from /api/series: the first answer whole, then, while the window stays the same, only the
// points from the last update on (since=), merged by time. The newest point of a coarse window is unfinished (a week of
// which two days have passed); fillPartial fills it in when the answer leaves it empty, and it is drawn marked partial.
// Endpoints: README.md "URLs and JSON endpoints".

/** The /api/series URL for a window of an interface (null: the server's first). */
function seriesUrl(iface, start, end, points) {
  const url = `/api/series?start=${start}&end=${end}&points=${points}`;
  return iface ? `${url}&iface=${encodeURIComponent(iface)}` : url;
}

/**
 * Loads `request` ({ iface, start, end, points, moving: whether the window follows now }); with `previous` (the last
 * result for the same interface, size and window), asks only for what is new. Resolves with the series:
 * { key, start, end, points, step, t0, lastUpdate, serverNow, summary, peakResolution, peakExact,
 *   rx, tx, rxPeak, txPeak (null at a 1 s step), known (per-point known share, when the server sends it), partial }.
 * Point i covers (t0 + i·step, t0 + (i+1)·step].
 */
async function loadSeries(request, previous) {
  const key = [request.iface, request.points, request.moving ? request.end - request.start : request.start].join('|');
  const incremental = previous != null && previous.key === key && previous.lastUpdate != null;
  let url = seriesUrl(request.iface, request.start, request.end, request.points);
  if (incremental) url += `&since=${previous.lastUpdate - previous.lastUpdate % previous.step - previous.step}`;
  const answer = await getJson(url);
  noteServerNow(answer.now);
  const peaks = Array.isArray(answer.rx_peak);
  if (incremental && (answer.step !== previous.step || peaks !== (previous.rxPeak != null))) {
    return loadSeries(request, null);
  }
  const count = Math.round((answer.end - answer.start) / answer.step);
  const column = () => new Array(count).fill(null);
  const knownShares = Array.isArray(answer.known);
  const series = {
    key,
    start: request.start,
    end: request.end,
    points: request.points,
    step: answer.step,
    t0: answer.start,
    lastUpdate: answer.last_update,
    serverNow: answer.now,
    summary: answer.summary || {},
    peakResolution: answer.peak_resolution,
    peakExact: answer.peak_exact,
    rx: column(),
    tx: column(),
    rxPeak: peaks ? column() : null,
    txPeak: peaks ? column() : null,
    known: knownShares ? column() : null,
    partial: null,
  };
  const fresh = {
    t0: answer.t0,
    rx: answer.rx,
    tx: answer.tx,
    rxPeak: answer.rx_peak,
    txPeak: answer.tx_peak,
    // The server counts known seconds per point; the page works in shares.
    known: knownShares ? answer.known.map((seconds) => seconds / answer.step) : undefined,
  };
  if (incremental) copyPoints(previous, series, (t) => t < fresh.t0);
  copyPoints(fresh, series, () => true);
  series.partial = newestPartial(series);
  return series;
}

/** Copies the points of `from` whose start time passes `keep` into `to`, by time. */
function copyPoints(from, to, keep) {
  const count = to.rx.length;
  for (let i = 0; i < (from.rx || []).length; i++) {
    const t = from.t0 + i * to.step;
    const m = Math.round((t - to.t0) / to.step);
    if (m < 0 || m >= count || !keep(t)) continue;
    to.rx[m] = from.rx[i];
    to.tx[m] = from.tx[i];
    if (to.rxPeak) {
      to.rxPeak[m] = from.rxPeak[i];
      to.txPeak[m] = from.txPeak[i];
    }
    if (to.known && from.known) to.known[m] = from.known[i];
  }
}

/**
 * The newest point when it is unfinished (the last update falls inside it): { index, from, to, empty }, where
 * (from, to] is the part of it that has passed and `empty` says the answer left it without a value. Null otherwise.
 */
function newestPartial(series) {
  const { step, t0, lastUpdate } = series;
  if (step <= 1 || lastUpdate == null) return null;
  const index = Math.ceil((lastUpdate - t0) / step) - 1;
  if (index < 0 || index >= series.rx.length || t0 + (index + 1) * step <= lastUpdate) return null;
  const from = t0 + index * step;
  return { index, from, to: lastUpdate, empty: series.rx[index] == null && series.tx[index] == null, known: null };
}

/**
 * Fills the newest, unfinished point when the answer left it empty (less than half of its interval is known because
 * most of it has not happened yet): the summary of /api/series over exactly the passed part gives its averages, largest
 * 1 s peaks and known share. Asked at a step that divides the point's (an hour, a minute or a second), so that no
 * sub-point reaches back before it. Resolves with whether it filled anything.
 */
async function fillPartial(series, iface) {
  const partial = series.partial;
  if (!partial || !partial.empty) return false;
  const span = partial.to - partial.from;
  const step = series.step >= 7200 ? 3600 : series.step >= 120 ? 60 : 1;
  const points = Math.min(10000, Math.max(1, Math.ceil(span / step)));
  const answer = await getJson(seriesUrl(iface, partial.from, partial.to, points));
  const summary = answer.summary || {};
  if (!(summary.known > 0)) return false;
  const i = partial.index;
  series.rx[i] = summary.rx_avg == null ? null : Math.round(summary.rx_avg);
  series.tx[i] = summary.tx_avg == null ? null : Math.round(summary.tx_avg);
  if (series.rxPeak) {
    series.rxPeak[i] = summary.rx_peak == null ? null : Math.round(summary.rx_peak);
    series.txPeak[i] = summary.tx_peak == null ? null : Math.round(summary.tx_peak);
  }
  // The window's largest peak includes this point's, which the window's answer had no value for.
  for (const key of ['rx_peak', 'tx_peak']) {
    if (summary[key] != null && !(series.summary[key] >= summary[key])) series.summary[key] = summary[key];
  }
  partial.empty = false;
  partial.known = summary.known;
  return true;
}

/** Whether point i is drawn faint: the unfinished newest point, or one the server says is only partly known. */
function isFaint(series, i) {
  if (series.partial && series.partial.index === i) return true;
  return series.known != null && series.known[i] != null && series.known[i] < 1;
}
