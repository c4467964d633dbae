// The view and the URL: parseView reads what the address says (the original's parameters: range, start/end, width,
// height, style, log, smooth, volume, refresh; and ours: iface, theme), viewQuery writes a view back, viewWindow gives
// the window it shows now. Endpoints: README.md "URLs and JSON endpoints".

const PRESETS = {
  '5m': 300,
  '15m': 900,
  '1h': 3600,
  '6h': 21600,
  '24h': 86400,
  '7d': 604800,
  '30d': 2592000,
  '1y': 31557600,
  '5y': 157788000,
  '10y': 315576000,
};
const PRESET_NAMES = Object.keys(PRESETS);
const REFRESH_CHOICES = [0, 5, 30, 60];
// Following "now" is the default: a window that ends now moves with it (refresh=0 turns it off).
const DEFAULT_REFRESH = 5;
const WIDTH_LIMITS = [300, 4000];
const HEIGHT_LIMITS = [150, 2000];

const isWhole = (text) => text != null && /^\s*[-+]?\d+\s*$/.test(text);
const clamp = (v, [low, high]) => Math.min(high, Math.max(low, v));

/**
 * The view a query string asks for. Unusable values fall back to the defaults, as in the original, and never fail;
 * of a repeated parameter the last one wins. width and height are null for "fit the window".
 */
function parseView(search) {
  const params = new URLSearchParams(search);
  const last = (name) => {
    const all = params.getAll(name);
    return all.length ? all[all.length - 1] : null;
  };
  const whole = (name, limits) => (isWhole(last(name)) ? clamp(+last(name), limits) : null);
  const view = {
    range: PRESETS[last('range')] ? last('range') : '1h',
    start: null,
    end: null,
    width: whole('width', WIDTH_LIMITS),
    height: whole('height', HEIGHT_LIMITS),
    style: ['line', 'mirror'].includes(last('style')) ? last('style') : 'area',
    log: last('log') === '1',
    smooth: last('smooth') === '1',
    volume: last('volume') === null || last('volume') === '1',
    refresh: isWhole(last('refresh')) && REFRESH_CHOICES.includes(+last('refresh')) ? +last('refresh') : null,
    iface: last('iface'),
    theme: ['dark', 'classic'].includes(last('theme')) ? last('theme') : null,
  };
  if (view.refresh === null) view.refresh = DEFAULT_REFRESH;
  const start = last('start');
  const end = last('end');
  if (isWhole(start) && isWhole(end) && +end > +start) {
    view.range = 'custom';
    view.start = +start;
    view.end = +end;
  }
  return normalView(view);
}

/** A view made consistent: a preset has no start/end; log draws mirror as area (as the original did), so says so. */
function normalView(view) {
  if (view.range !== 'custom') {
    view.start = null;
    view.end = null;
  }
  if (view.log && view.style === 'mirror') view.style = 'area';
  return view;
}

/** The view as URL parameters; `forCommand` gives the parameters /api/rrdtool takes (no size, refresh or theme). */
function viewQuery(view, forCommand) {
  const params = windowQuery(view);
  if (view.iface) params.set('iface', view.iface);
  if (!forCommand && view.width) params.set('width', view.width);
  if (!forCommand && view.height) params.set('height', view.height);
  if (view.style !== 'area') params.set('style', view.style);
  if (view.log) params.set('log', 1);
  if (view.smooth) params.set('smooth', 1);
  params.set('volume', view.volume ? 1 : 0);
  if (forCommand) return params;
  if (view.refresh !== DEFAULT_REFRESH) params.set('refresh', view.refresh);
  const theme = currentTheme(view);
  if (theme !== serverTheme) params.set('theme', theme);
  return params;
}

/** The window the view shows now, [start, end] in Unix seconds: a preset ends at the server's "now". */
function viewWindow(view) {
  if (view.range === 'custom') return [view.start, view.end];
  const end = Math.ceil(serverNow());
  return [end - PRESETS[view.range], end];
}

/** Whether the view's window ends at "now" (a preset, or a custom window reaching it). */
const atNow = (view) => view.range !== 'custom' || view.end >= serverNow() - 1;

/**
 * The view changes that show the window (start, end]: a window reaching "now" is moved to end exactly now and becomes
 * a preset when its length is one; any other window is custom.
 */
function windowChanges(start, end) {
  start = Math.round(start);
  end = Math.round(end);
  const now = Math.ceil(serverNow());
  const span = end - start;
  if (end >= now - 1) {
    const preset = PRESET_NAMES.find((name) => PRESETS[name] === span);
    if (preset) return { range: preset };
    end = now;
    start = now - span;
  }
  return { range: 'custom', start, end };
}

/** The window's parameters alone (range or start/end), for links between the graph page and the overview. */
function windowQuery(view) {
  const params = new URLSearchParams();
  if (view.range === 'custom') {
    params.set('start', view.start);
    params.set('end', view.end);
  } else {
    params.set('range', view.range);
  }
  return params;
}
