// Drawing a series (series.js) on a <canvas>: the vertical scale (linear from zero; mirror with TX below; log fitted
// to the data), local-time ticks that stay on the local clock across daylight-saving changes, the grid, areas or lines,
// the true-peak band, faint partial points, "no data in this window", and the time since the last update hatched.
// Colours come from app.css (--plot-…, --rx-…, --tx-…). Endpoints: README.md "URLs and JSON endpoints".

const MARGIN = { left: 58, right: 14, top: 20, bottom: 24 };
const PALETTE = ['plot-bg', 'grid', 'mgrid', 'axis-text', 'axis-unit', 'zero', 'no-data',
  'rx-line', 'tx-line', 'rx-fill', 'tx-fill', 'rx-edge', 'tx-edge', 'rx-band', 'tx-band'];
// The original's translucent areas (alpha B0); mirror draws them opaque.
const AREA_ALPHA = 0xb0 / 255;
const FAINT_ALPHA = 0.4;
const TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
  86400, 172800, 604800];
const MONTH_SECONDS = 2629800;

/** The theme's plot colours as the CSS applies them, by camel-case name (plotBg, rxFill, …). */
function palette() {
  const style = getComputedStyle(document.documentElement);
  const colors = {};
  for (const name of PALETTE) {
    const key = name.replace(/-(\w)/g, (match, letter) => letter.toUpperCase());
    colors[key] = style.getPropertyValue(`--${name}`).trim();
  }
  return colors;
}

/** 1, 2, 2.5 or 5 times a power of ten, at least x. */
function niceStep(x) {
  const power = 10 ** Math.floor(Math.log10(x));
  const f = x / power;
  return power * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10);
}

const dayLabel = (d) => `${d.getDate()} ${MONTHS[d.getMonth()]}`;

/**
 * Ticks [time, label] for the window [start, end], about one per `spacing` px of `width`, in local time. Local times
 * are made from the calendar (a midnight is a real local midnight, also on the day the clocks change), and sub-hour
 * ticks check the UTC offset of each tick rather than taking it once.
 */
function timeTicks(start, end, width, spacing) {
  const least = (end - start) * spacing / width;
  const step = TICK_STEPS.find((s) => s >= least);
  if (!step) return monthTicks(start, end, least);
  if (step >= 86400) return dayTicks(start, end, step / 86400);
  if (step >= 3600) return hourTicks(start, end, step / 3600);
  return clockTicks(start, end, step);
}

/** Ticks where the local clock reads a multiple of `step` (under an hour). */
function clockTicks(start, end, step) {
  const offset = (t) => -new Date(t * 1000).getTimezoneOffset() * 60;
  const ticks = [];
  let t = Math.ceil((start + offset(start)) / step) * step - offset(start);
  for (; t <= end; t += step) {
    const off = (t + offset(t)) % step;
    if (off) t += step - off;
    if (t < start || t > end) continue;
    const d = new Date(t * 1000);
    const midnight = !d.getHours() && !d.getMinutes() && !d.getSeconds();
    const clock = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
    ticks.push([t, step < 60 ? formatTime(t, true) : midnight ? dayLabel(d) : clock]);
  }
  return ticks;
}

/** Ticks every `hours` hours of each local day from its midnight (an hour the clocks skip is not repeated). */
function hourTicks(start, end, hours) {
  const ticks = [];
  const first = new Date(start * 1000);
  for (let day = 0; ; day++) {
    const date = new Date(first.getFullYear(), first.getMonth(), first.getDate() + day);
    if (date / 1000 > end) break;
    for (let h = 0; h < 24; h += hours) {
      const d = new Date(date.getFullYear(), date.getMonth(), date.getDate(), h);
      const t = d / 1000;
      if (t < start || t > end || (ticks.length && t <= ticks[ticks.length - 1][0])) continue;
      ticks.push([t, h ? `${pad2(d.getHours())}:${pad2(d.getMinutes())}` : dayLabel(date)]);
    }
  }
  return ticks;
}

/** Ticks at local midnights every `days` days (weeks start on Monday). */
function dayTicks(start, end, days) {
  const ticks = [];
  const first = new Date(start * 1000);
  const monday = days === 7 ? (first.getDay() + 6) % 7 : 0;
  for (let k = -monday; ; k += days) {
    const d = new Date(first.getFullYear(), first.getMonth(), first.getDate() + k);
    if (d / 1000 > end) break;
    if (d / 1000 >= start) ticks.push([d / 1000, dayLabel(d)]);
  }
  return ticks;
}

/** Ticks on the first of every so many months; January shows the year. */
function monthTicks(start, end, least) {
  const months = [1, 2, 3, 6, 12, 24, 60, 120, 240].find((m) => m * MONTH_SECONDS >= least) || 480;
  const first = new Date(start * 1000);
  let index = first.getFullYear() * 12 + first.getMonth();
  index -= index % months;
  const ticks = [];
  for (; ; index += months) {
    const d = new Date(Math.floor(index / 12), index % 12, 1);
    if (d / 1000 > end) break;
    if (d / 1000 >= start) ticks.push([d / 1000, d.getMonth() ? MONTHS[d.getMonth()] : String(d.getFullYear())]);
  }
  return ticks;
}

/** A 60 s moving average over the known points (the original's smoothing), k points wide. */
function movingAverage(values, k) {
  const out = [];
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] != null) {
      sum += values[i];
      count++;
    }
    if (i >= k && values[i - k] != null) {
      sum -= values[i - k];
      count--;
    }
    out.push(values[i] == null || !count ? null : sum / count);
  }
  return out;
}

function largest(...arrays) {
  let most = 0;
  for (const values of arrays) for (const v of values || []) if (v > most) most = v;
  return most;
}

function smallestPositive(...arrays) {
  let least = Infinity;
  for (const values of arrays) for (const v of values || []) if (v > 0 && v < least) least = v;
  return least === Infinity ? 1 : least;
}

const hasValue = (values) => values.some((v) => v != null);

/**
 * Linear scale from 0 up to the largest value rounded up to a whole tick; in mirror, TX goes down to just below its
 * largest value (not rounded to a tick: that could waste a quarter of the plot).
 */
function linearScale(top, bottom, plot, rowHeight) {
  if (!top && !bottom) top = 1;
  const unit = niceStep((top + bottom) / Math.max(2, Math.floor(plot.h / rowHeight)));
  const high = Math.ceil(top / unit) * unit;
  const low = bottom * 1.03;
  const y = (v) => plot.y + (high - v) / (high + low) * plot.h;
  const ticks = [];
  for (let i = -Math.floor(low / unit); i * unit <= high * (1 + 1e-9); i++) ticks.push(i * unit);
  return { y, base: y(0), ticks, high, low };
}

/** Log scale from the 1-2-5 value at or below the smallest known average to the one at or above the largest value. */
function logScale(smallest, biggest, plot, rowHeight) {
  const power = (v) => 10 ** Math.floor(Math.log10(v) + 1e-9);
  const down = (v) => power(v) * [5, 2, 1].find((f) => f * power(v) <= v * (1 + 1e-9));
  const up = (v) => power(v) * [1, 2, 5, 10].find((f) => f * power(v) >= v * (1 - 1e-9));
  const low = down(Math.max(1, smallest));
  let high = up(Math.max(low, biggest));
  if (high <= low) high = up(low * 1.01);
  const span = Math.log10(high / low);
  const y = (v) => plot.y + plot.h * (1 - Math.log10(Math.max(v, low) / low) / span);
  const rows = Math.max(2, Math.floor(plot.h / rowHeight));
  let ticks = [];
  for (let e = Math.floor(Math.log10(low) + 1e-9); e <= Math.ceil(Math.log10(high) - 1e-9); e++) {
    for (const f of [1, 2, 5]) {
      const v = f * 10 ** e;
      if (v >= low * (1 - 1e-9) && v <= high * (1 + 1e-9)) ticks.push(v);
    }
  }
  if (ticks.length > rows) ticks = ticks.filter((v) => Number.isInteger(Math.log10(v)) || v === low || v === high);
  if (ticks.length > rows) {
    const every = Math.ceil(ticks.length / rows);
    ticks = ticks.filter((v, i) => i % every === 0);
  }
  return { y, base: plot.y + plot.h, ticks, high, low };
}

/**
 * Draws `series` (null while loading) on `canvas` at `options.height` CSS px and returns the plot's geometry for the
 * pointer (null while loading). options: style ("area", "line", "mirror"), log, smooth, now (the server's time),
 * compact (the overview's small graphs). Records the test hooks on the canvas (ARCHITECTURE.md, "Testing").
 */
function drawGraph(canvas, series, options) {
  const colors = palette();
  const width = canvas.getBoundingClientRect().width || canvas.parentNode.clientWidth || 300;
  const height = options.height;
  const plot = {
    x: MARGIN.left,
    y: MARGIN.top,
    w: Math.max(10, width - MARGIN.left - MARGIN.right),
    h: Math.max(10, height - MARGIN.top - MARGIN.bottom),
  };
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const c = canvas.getContext('2d');
  c.setTransform(ratio, 0, 0, ratio, 0, 0);
  c.fillStyle = colors.plotBg;
  c.fillRect(0, 0, width, height);
  Object.assign(canvas.dataset, { px: plot.x, py: plot.y, pw: plot.w, ph: plot.h });
  if (!series) return null;

  const { start, end, step, t0 } = series;
  const X = (t) => plot.x + (t - start) / (end - start) * plot.w;
  const smoothing = options.smooth ? Math.ceil(60 / step) : 1;
  const shown = (values) => (values && smoothing > 1 ? movingAverage(values, smoothing) : values);
  const rx = shown(series.rx);
  const tx = shown(series.tx);
  const rxPeak = shown(series.rxPeak);
  const txPeak = shown(series.txPeak);
  const mirror = options.style === 'mirror' && !options.log;
  let scale = null;
  if (hasValue(rx) || hasValue(tx)) {
    scale = options.log
      ? logScale(smallestPositive(rx, tx), largest(rx, tx, rxPeak, txPeak), plot, options.compact ? 20 : 24)
      : linearScale(largest(rx, rxPeak, mirror ? null : tx, mirror ? null : txPeak),
        mirror ? largest(tx, txPeak) : 0, plot, options.compact ? 30 : 45);
  }
  Object.assign(canvas.dataset, {
    vs: start, ve: end, step, t0, n: series.points, lu: series.lastUpdate,
    top: scale ? scale.high : '', bottom: scale ? scale.low : '',
    partial: series.partial && !series.partial.empty ? series.partial.index : '',
  });

  // Grid and labels.
  c.font = `${options.compact ? 10 : 11}px system-ui,sans-serif`;
  c.lineWidth = 1;
  c.textBaseline = 'middle';
  c.textAlign = 'right';
  for (const v of scale ? scale.ticks : []) {
    const y = Math.round(scale.y(v)) + 0.5;
    c.strokeStyle = colors.grid;
    c.beginPath();
    c.moveTo(plot.x, y);
    c.lineTo(plot.x + plot.w, y);
    c.stroke();
    c.fillStyle = colors.axisText;
    c.fillText(formatAxis(v), plot.x - 6, y);
  }
  c.textAlign = 'center';
  c.textBaseline = 'top';
  const ticks = timeTicks(start, end, plot.w, options.compact ? 90 : 75);
  const tickXs = [];
  for (const [t, label] of ticks) {
    const x = Math.round(X(t)) + 0.5;
    tickXs.push([t, x, label]);
    c.strokeStyle = colors.grid;
    c.beginPath();
    c.moveTo(x, plot.y);
    c.lineTo(x, plot.y + plot.h);
    c.stroke();
    const half = c.measureText(label).width / 2 + 2;
    c.fillStyle = colors.axisText;
    c.fillText(label, Math.min(width - half, Math.max(half, x)), plot.y + plot.h + 6);
  }
  canvas.dataset.xticks = JSON.stringify(tickXs);
  c.textAlign = 'left';
  c.fillStyle = colors.axisUnit;
  c.fillText('bit/s', 4, 2);
  c.strokeStyle = colors.mgrid;
  c.strokeRect(plot.x + 0.5, plot.y + 0.5, plot.w - 1, plot.h - 1);

  c.save();
  c.beginPath();
  c.rect(plot.x, plot.y, plot.w, plot.h);
  c.clip();
  if (scale) {
    drawSeries(c, { rx, tx, rxPeak, txPeak }, (i) => !isFaint(series, i), 1);
    drawSeries(c, { rx, tx, rxPeak, txPeak }, (i) => isFaint(series, i), FAINT_ALPHA);
    if (mirror) {
      c.strokeStyle = colors.zero;
      c.beginPath();
      c.moveTo(plot.x, Math.round(scale.base) + 0.5);
      c.lineTo(plot.x + plot.w, Math.round(scale.base) + 0.5);
      c.stroke();
    }
  }
  markNoData();
  c.restore();
  if (scale) {
    delete canvas.dataset.empty;
  } else {
    const known = series.summary.known || 0;
    const span = end - start;
    const unknown = known > 0 ? `${formatDuration((1 - known) * span)} of ${formatDuration(span)} unknown`
      : `all ${formatDuration(span)} unknown`;
    canvas.dataset.empty = unknown;
    c.fillStyle = colors.axisText;
    c.textAlign = 'center';
    c.textBaseline = 'middle';
    c.font = 'bold 14px system-ui,sans-serif';
    c.fillText('No data in this window', plot.x + plot.w / 2, plot.y + plot.h / 2 - 10);
    c.font = '12px system-ui,sans-serif';
    c.fillText(unknown, plot.x + plot.w / 2, plot.y + plot.h / 2 + 10);
  }
  return { ...plot, width, height, start, end, X, time: (x) => start + (x - plot.x) / plot.w * (end - start) };

  /** A path of flat steps, one per point that passes `include`; an area closes down to the base line. */
  function stairs(values, include, negate, area) {
    const path = new Path2D();
    let open = false;
    let lastX = 0;
    for (let i = 0; i <= values.length; i++) {
      const v = i < values.length && include(i) ? values[i] : null;
      if (v == null) {
        if (open && area) path.lineTo(lastX, scale.base);
        open = false;
        continue;
      }
      const x0 = X(t0 + i * step);
      const x1 = X(t0 + (i + 1) * step);
      const y = scale.y(negate ? -v : v);
      if (open) {
        path.lineTo(x0, y);
      } else if (area) {
        path.moveTo(x0, scale.base);
        path.lineTo(x0, y);
      } else {
        path.moveTo(x0, y);
      }
      open = true;
      path.lineTo(x1, y);
      lastX = x1;
    }
    return path;
  }

  /** The band between each point's average and its true peak. */
  function band(averages, peaks, include, negate) {
    const path = new Path2D();
    const known = (k) => include(k) && averages[k] != null && peaks[k] != null;
    const y = (v) => scale.y(negate ? -v : v);
    for (let i = 0, j; i < averages.length; i = j) {
      j = i + 1;
      if (!known(i)) continue;
      while (j < averages.length && known(j)) j++;
      path.moveTo(X(t0 + i * step), y(peaks[i]));
      for (let k = i; k < j; k++) {
        path.lineTo(X(t0 + k * step), y(peaks[k]));
        path.lineTo(X(t0 + (k + 1) * step), y(peaks[k]));
      }
      for (let k = j - 1; k >= i; k--) {
        path.lineTo(X(t0 + (k + 1) * step), y(averages[k]));
        path.lineTo(X(t0 + k * step), y(averages[k]));
      }
      path.closePath();
    }
    return path;
  }

  /** Peak bands, then RX and TX as areas with their edge or as lines, for the points that pass `include`. */
  function drawSeries(context, values, include, alpha) {
    const fill = (path, color, a) => {
      context.globalAlpha = a;
      context.fillStyle = color;
      context.fill(path);
    };
    const line = (path, color, lineWidth) => {
      context.globalAlpha = alpha;
      context.strokeStyle = color;
      context.lineWidth = lineWidth;
      context.lineJoin = 'round';
      context.stroke(path);
    };
    if (values.rxPeak) {
      fill(band(values.rx, values.rxPeak, include, false), colors.rxBand, alpha);
      fill(band(values.tx, values.txPeak, include, mirror), colors.txBand, alpha);
    }
    if (options.style === 'line') {
      line(stairs(values.rx, include, false, false), colors.rxLine, 2);
      line(stairs(values.tx, include, false, false), colors.txLine, 2);
    } else {
      const areaAlpha = alpha * (mirror ? 1 : AREA_ALPHA);
      fill(stairs(values.rx, include, false, true), colors.rxFill, areaAlpha);
      line(stairs(values.rx, include, false, false), colors.rxEdge, 1);
      fill(stairs(values.tx, include, mirror, true), colors.txFill, areaAlpha);
      line(stairs(values.tx, include, mirror, false), colors.txEdge, 1);
    }
    context.globalAlpha = 1;
  }

  /** Hatches the time from the last update to now, when it is long enough to matter (the collector has stopped). */
  function markNoData() {
    const last = series.lastUpdate;
    const from = Math.max(start, last == null ? start : last);
    const to = Math.min(end, options.now);
    if (last == null || to - from <= Math.max(10, 2 * step)) {
      delete canvas.dataset.nodata;
      return;
    }
    canvas.dataset.nodata = from;
    const x0 = X(from);
    const x1 = X(to);
    c.save();
    c.beginPath();
    c.rect(x0, plot.y, x1 - x0, plot.h);
    c.clip();
    c.strokeStyle = colors.noData;
    c.beginPath();
    for (let x = x0 - plot.h; x < x1; x += 8) {
      c.moveTo(x, plot.y + plot.h);
      c.lineTo(x + plot.h, plot.y);
    }
    c.stroke();
    c.restore();
    if (x1 - x0 >= 120) {
      const label = `no data since ${formatTime(from, true)}`;
      c.font = '11px system-ui,sans-serif';
      c.textAlign = 'center';
      c.textBaseline = 'top';
      const w = c.measureText(label).width + 8;
      c.fillStyle = colors.plotBg;
      c.fillRect((x0 + x1 - w) / 2, plot.y + 4, w, 16);
      c.fillStyle = colors.axisText;
      c.fillText(label, (x0 + x1) / 2, plot.y + 6);
    }
  }
}
