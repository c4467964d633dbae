// Shared by the graph page and the overview: DOM and number formatting helpers, JSON fetching, the server's clock and
// the theme. Endpoints: README.md "URLs and JSON endpoints". build.rs bundles the files in the order web/README.md
// gives into one script (app.js, overview.js) inside one function scope, so these names are seen by the files after.

const $ = (id) => document.getElementById(id);

/** A new element with an optional class name and text. */
function el(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text != null) element.textContent = text;
  return element;
}

const pad2 = (n) => String(n).padStart(2, '0');
const MONTHS = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');

/** Local time: "YYYY-MM-DD hh:mm:ss", or "hh:mm:ss" alone. */
function formatTime(t, timeOnly) {
  const d = new Date(t * 1000);
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return timeOnly ? time : `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${time}`;
}

/** A rate as the original wrote it: "12.35 Mbit/s", "—" when unknown. */
function formatBits(v) {
  if (v == null) return '—';
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)} Gbit/s`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} Mbit/s`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} kbit/s`;
  return `${Math.round(v)} bit/s`;
}

/** A volume in bytes with an SI prefix: "1.23 GB". */
function formatBytes(v) {
  if (v == null) return '—';
  const k = Math.min(4, Math.max(0, Math.floor(Math.log10(Math.max(v, 1)) / 3)));
  return `${(v / 1000 ** k).toFixed(k ? 2 : 0)} ${['', 'k', 'M', 'G', 'T'][k]}B`;
}

/** An axis label: three significant digits and an SI prefix ("250 k", "1.5 M"), a minus sign below zero. */
function formatAxis(v) {
  if (!v) return '0';
  const size = Math.abs(v);
  const k = Math.min(4, Math.max(0, Math.floor(Math.log10(size) / 3 + 1e-9)));
  const digits = +(size / 1000 ** k).toPrecision(3);
  return (v < 0 ? '−' : '') + digits + (k ? ' ' + 'kMGT'[k - 1] : '');
}

/** A duration: "30 s", "2.5 min", "6 h", "7 d". */
function formatDuration(s) {
  const one = (v, unit) => `${+v.toFixed(1)} ${unit}`;
  if (s < 60) return `${+s.toFixed(1)} s`;
  if (s < 3600) return one(s / 60, 'min');
  if (s < 86400) return one(s / 3600, 'h');
  return one(s / 86400, 'd');
}

/**
 * A share (0 to 1) as a percentage with one decimal, rounded down unless it is whole, so that a window with one unknown
 * second never reads "100.0 %". The small tolerances only absorb floating-point error (one second of ten years is
 * 3e-7 %).
 */
function formatShare(share) {
  const percent = share * 100;
  if (Math.abs(percent - Math.round(percent)) < 1e-9) return `${Math.round(percent)} %`;
  return `${(Math.floor(percent * 10 + 1e-7) / 10).toFixed(1)} %`;
}

// The server's clock: windows end at the server's "now", not at the browser's, which may be off.
let clockOffset = 0;
const serverNow = () => Date.now() / 1000 + clockOffset;

function noteServerNow(now) {
  if (Number.isFinite(now)) clockOffset = now - Date.now() / 1000;
}

/** GETs JSON; throws an Error with the server's message, or a TypeError / TimeoutError when it cannot be reached. */
async function getJson(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(8000) });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new Error(`Bad answer from the server (HTTP ${response.status})`);
  }
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

/** Whether a failed getJson means the server could not be reached at all. */
const unreachable = (error) => error.name === 'TypeError' || error.name === 'TimeoutError';

/** What to tell the visitor about a failed getJson. */
function fetchErrorText(error) {
  if (error.name === 'TimeoutError') return 'The server did not answer in time.';
  if (error.name === 'TypeError') return 'Server unreachable.';
  return error.message;
}

// The theme: the URL's, else the one this browser chose last, else the server's default (web.theme).
let serverTheme = 'dark';

function storedTheme() {
  try {
    return localStorage.getItem('mt-theme');
  } catch {
    return null;
  }
}

function storeTheme(theme) {
  try {
    localStorage.setItem('mt-theme', theme);
  } catch {
    // Storage refused (private mode): the URL still carries the theme.
  }
}

const currentTheme = (view) => view.theme || storedTheme() || serverTheme;

function applyTheme(view) {
  const classic = currentTheme(view) === 'classic';
  document.documentElement.classList.toggle('cl', classic);
  return classic;
}

/** Switches the theme, remembers it, and returns the view's new `theme` (null when it is the server's default). */
function nextTheme(view) {
  const theme = currentTheme(view) === 'classic' ? 'dark' : 'classic';
  storeTheme(theme);
  return theme === serverTheme ? null : theme;
}
