// The graph page (index.html): the view from the URL, loading and following the series, drawing it with its legend,
// the tooltip, drag and tap zoom, the controls, keyboard shortcuts and their help, the size controls, the live readout
// and the state of the graph, copying the link and the rrdtool command. Endpoints: README.md "URLs and JSON endpoints".

const canvas = $('cv');
const graphWrap = $('graph-wrap');
const tooltip = $('tooltip');
const crosshair = $('crosshair');
const selection = $('selection');
const narrowScreen = matchMedia('(max-width: 600px)');
// Keys a focused menu uses itself; other shortcuts still work there.
const MENU_KEYS = ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown', ' ',
  'Enter'];

let view = parseView(location.search);
let series = null; // what is drawn (loadSeries)
let stats = null; // the 95th percentiles of its window (/api/stats p95)
let geometry = null; // where drawGraph put the plot
let loadNumber = 0; // the newest load started: answers to older ones are dropped
let refreshTimer = 0;
let statsTimer = 0;
let interfaces = [];
let firstGraph = true;
let tooltipX = null;
let drag = null;
let networkError = false; // the error shown says the server could not be reached
let helpReturn = null; // what had the focus before the help opened

const historyDepth = () => (history.state && history.state.depth) | 0;
const pageUrl = () => `${location.pathname}?${viewQuery(view)}`;

/** Shows the view with `changes`; `push` makes a new history entry (Back returns to the one before). */
function go(changes, push) {
  view = normalView({ ...view, ...changes });
  const depth = historyDepth();
  if (push) history.pushState({ depth: depth + 1 }, '', pageUrl());
  else history.replaceState({ depth }, '', pageUrl());
  syncControls();
  render();
  load(false);
  scheduleRefresh();
}

/** Makes every control show the view. */
function syncControls() {
  const classic = applyTheme(view);
  $('theme').textContent = classic ? 'Dark' : 'Classic';
  graphWrap.style.maxWidth = view.width ? `${view.width}px` : '';
  const range = $('range');
  range.value = view.range;
  range.options[range.options.length - 1].hidden = view.range !== 'custom';
  const style = $('style');
  style.value = view.style;
  style.options[2].disabled = view.log;
  style.title = view.log ? 'Mirror needs a linear scale (Log is on)' : '';
  $('refresh').value = view.refresh;
  $('smooth').checked = view.smooth;
  $('log').checked = view.log;
  $('volume').checked = view.volume;
  if (view.iface && interfaces.some((f) => f.id === view.iface)) $('iface').value = view.iface;
  $('back').disabled = historyDepth() === 0;
  $('now').disabled = view.range !== 'custom';
  $('later').disabled = atNow(view);
  $('width').value = view.width || '';
  $('height').value = view.height || '';
  $('wider').disabled = !view.width;
  $('overview-link').href = `/overview?${windowQuery(view)}`;
  $('totals-link').search = view.iface ? `?iface=${encodeURIComponent(view.iface)}` : '';
}

/** The plot's width in CSS px, which is also the number of points asked for. */
function plotWidth() {
  const width = canvas.getBoundingClientRect().width || graphWrap.clientWidth || 300;
  return Math.max(10, width - MARGIN.left - MARGIN.right);
}

/** Loads the view's series (only what is new when `incremental`) and draws it. */
async function load(incremental, clockChecked) {
  const number = ++loadNumber;
  const [start, end] = viewWindow(view);
  const points = Math.min(10000, Math.max(1, Math.round(plotWidth())));
  const moving = view.range !== 'custom';
  let next;
  try {
    next = await loadSeries({ iface: view.iface, start, end, points, moving }, incremental ? series : null);
  } catch (error) {
    if (number === loadNumber) showError(error);
    return;
  }
  if (number !== loadNumber) return;
  // A preset's first window came from the browser's clock; when the server's differs, ask for the window it means.
  if (moving && !incremental && !clockChecked && Math.abs(end - next.serverNow) > Math.max(5, (end - start) / 200)) {
    load(false, true);
    return;
  }
  showError(null);
  series = next;
  if (!incremental) stats = null;
  if (firstGraph) performance.mark('mt-data');
  render();
  if (firstGraph) performance.mark('mt-first-graph');
  firstGraph = false;
  canvas.dataset.ld = (+canvas.dataset.ld | 0) + 1;
  if (!incremental) {
    // The percentile costs the server more than the series: asked once the view has stayed for a moment.
    clearTimeout(statsTimer);
    statsTimer = setTimeout(() => loadStats(next), 800);
  }
  const filled = await fillPartial(next, view.iface).catch(() => false);
  if (filled && number === loadNumber) render();
}

/** The 95th percentiles of the window drawn (/api/stats), asked when the view changes, not on every refresh. */
async function loadStats(drawn) {
  let url = `/api/stats?start=${drawn.start}&end=${drawn.end}`;
  if (view.iface) url += `&iface=${encodeURIComponent(view.iface)}`;
  const answer = await getJson(url).catch(() => null);
  if (series && series.key === drawn.key) stats = answer && answer.p95;
  updateLegend();
}

/** Follows "now": reloads what is new every `refresh` seconds while the window can still change. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!view.refresh) return;
  refreshTimer = setTimeout(async () => {
    const complete = view.range === 'custom' && series != null && series.lastUpdate >= view.end;
    if (!complete && !document.hidden) await load(true);
    scheduleRefresh();
  }, view.refresh * 1000);
}

/** The graph's height: the URL's, else what fits the first screen with the legend (and on wider screens, the tools). */
function graphHeight() {
  if (view.height) return view.height;
  const box = canvas.getBoundingClientRect();
  const last = narrowScreen.matches ? graphWrap.parentNode : document.querySelector('main');
  const below = last.getBoundingClientRect().bottom - box.bottom + 8;
  return Math.round(Math.min(1000, Math.max(200, innerHeight - (box.top + scrollY) - below)));
}

function render() {
  updateLegend();
  const height = graphHeight();
  canvas.style.height = `${height}px`;
  const options = { style: view.style, log: view.log, smooth: view.smooth, height, now: serverNow() };
  geometry = drawGraph(canvas, series, options);
  updateInfo();
  $('later').disabled = atNow(view);
  if (tooltipX != null) showTooltip(tooltipX);
}

function updateLegend() {
  const legend = $('legend');
  legend.textContent = '';
  if (!series) return;
  const summary = series.summary;
  for (const [name, key] of [['RX', 'rx'], ['TX', 'tx']]) {
    const row = el('div');
    row.dataset.d = key;
    const item = (label, value) => {
      const i = el('i');
      i.append(el('span', null, label), ` ${value}`);
      row.append(' ', i);
    };
    row.append(el('b', key), name);
    item('avg', formatBits(summary[`${key}_avg`]));
    item('peak', formatBits(summary[`${key}_peak`]));
    if (view.volume) item('vol', formatBytes(summary[`${key}_bytes`]));
    if (stats) item('95th', formatBits(stats[key]));
    legend.append(row);
  }
  if (summary.known != null && summary.known < 1) {
    const row = el('div');
    row.dataset.d = 'known';
    row.append(el('span', null, 'known'), ` ${formatShare(summary.known)}`);
    legend.append(row);
  }
}

function updateInfo() {
  if (!series) return;
  const parts = [`${formatDuration(series.step)}/point`];
  if (series.rxPeak) {
    const from = formatDuration(series.peakResolution);
    parts.push(series.peakExact ? 'true 1 s peaks' : `peaks partly from ${from} averages`);
  }
  const partial = series.partial;
  if (partial && !partial.empty && series.step >= 3600) {
    parts.push(`newest point partial: ${formatDuration(partial.to - partial.from)} of ${formatDuration(series.step)}`);
  }
  parts.push('drag to zoom');
  $('info').textContent = parts.join(' · ');
  $('window-text').textContent = `${formatTime(series.start)} → ${formatTime(series.end)}`;
  $('csv').href = `${seriesUrl(view.iface, series.start, series.end, series.points)}&format=csv`;
}

/** Shows a failed load's reason under the graph (null hides it). */
function showError(error) {
  const box = $('error');
  networkError = error != null && unreachable(error);
  box.textContent = error ? fetchErrorText(error) : '';
  box.hidden = !error;
}

/** Says over the graph why it is not current: the collector has no new samples, or the server cannot be reached. */
function showGraphState(status) {
  let text = '';
  if (status.level === 'down') {
    text = 'Server unreachable: the graph shows its last answer.';
  } else if (status.level === 'stale' || (status.level === 'warn' && status.reason)) {
    text = `No new data for ${formatDuration(Math.round(status.age))}${status.reason ? ` — ${status.reason}` : ''}`;
  } else if (status.level === 'none' && status.reason) {
    text = `No data yet — ${status.reason}`;
  }
  $('graph-state').textContent = text;
  $('graph-state').hidden = !text;
}

// The tooltip and crosshair.

function showTooltip(x) {
  if (!series || !geometry || x < geometry.x || x > geometry.x + geometry.w) {
    hideTooltip();
    return;
  }
  tooltipX = x;
  const i = Math.ceil((geometry.time(x) - series.t0) / series.step) - 1;
  const at = (values) => (values && i >= 0 && i < values.length ? values[i] : null);
  const lines = [
    `${formatTime(series.t0 + (i + 1) * series.step)} (${formatDuration(series.step)})`,
    `RX ${formatBits(at(series.rx))}  peak ${formatBits(at(series.rxPeak || series.rx))}`,
    `TX ${formatBits(at(series.tx))}  peak ${formatBits(at(series.txPeak || series.tx))}`,
  ];
  const partial = series.partial;
  if (partial && partial.index === i && !partial.empty) {
    const known = partial.known != null && partial.known < 1 ? `, ${formatShare(partial.known)} of it known` : '';
    const passed = formatDuration(partial.to - partial.from);
    lines.push(`partial: ${passed} of ${formatDuration(series.step)} so far${known}`);
  } else if (at(series.known) != null && at(series.known) < 1) {
    lines.push(`partial: ${formatShare(at(series.known))} known`);
  }
  tooltip.textContent = lines.join('\n');
  tooltip.dataset.i = i;
  tooltip.hidden = false;
  crosshair.hidden = false;
  crosshair.style.left = `${x}px`;
  crosshair.style.top = `${geometry.y}px`;
  crosshair.style.height = `${geometry.h}px`;
  const w = tooltip.offsetWidth;
  tooltip.style.left = `${x + 12 + w > geometry.width ? Math.max(0, x - 12 - w) : x + 12}px`;
  tooltip.style.top = `${geometry.y + 8}px`;
}

function hideTooltip() {
  tooltipX = null;
  tooltip.hidden = true;
  crosshair.hidden = true;
}

// Drag (mouse or touch) to zoom; hover or tap for the tooltip.

const pointerX = (event) => event.clientX - canvas.getBoundingClientRect().left;
const inPlot = (x) => Math.min(geometry.x + geometry.w, Math.max(geometry.x, x));

canvas.addEventListener('pointerdown', (event) => {
  if (!geometry || event.button) return;
  drag = { from: inPlot(pointerX(event)), id: event.pointerId, mouse: event.pointerType === 'mouse' };
  canvas.setPointerCapture(event.pointerId);
});

canvas.addEventListener('pointermove', (event) => {
  const x = pointerX(event);
  if (drag && drag.id === event.pointerId) {
    const a = Math.min(drag.from, inPlot(x));
    const b = Math.max(drag.from, inPlot(x));
    if (b - a > 2) {
      selection.hidden = false;
      selection.style.left = `${a}px`;
      selection.style.width = `${b - a}px`;
      selection.style.top = `${geometry.y}px`;
      selection.style.height = `${geometry.h}px`;
    }
  }
  if (event.pointerType === 'mouse' || !drag) showTooltip(x);
});

canvas.addEventListener('pointerup', (event) => {
  if (!drag || drag.id !== event.pointerId) return;
  const x = pointerX(event);
  const a = Math.min(drag.from, inPlot(x));
  const b = Math.max(drag.from, inPlot(x));
  const mouse = drag.mouse;
  drag = null;
  selection.hidden = true;
  // Under 12 px or a second, it was a click or a tap.
  if (b - a >= 12 && geometry.time(b) - geometry.time(a) >= 1) {
    hideTooltip();
    go({ range: 'custom', start: Math.round(geometry.time(a)), end: Math.round(geometry.time(b)) }, true);
  } else if (!mouse) {
    showTooltip(x);
  }
});

canvas.addEventListener('pointercancel', () => {
  drag = null;
  selection.hidden = true;
});

canvas.addEventListener('pointerleave', (event) => {
  if (event.pointerType === 'mouse' && !drag) hideTooltip();
});

// Moving the window.

/** The window on screen: for a preset, the one drawn, so that zooming and panning start from what is seen. */
function shownWindow() {
  if (view.range !== 'custom' && series && series.end - series.start === PRESETS[view.range]) {
    return [series.start, series.end];
  }
  return viewWindow(view);
}

function zoom(factor) {
  const [start, end] = shownWindow();
  const middle = (start + end) / 2;
  const half = (end - start) * factor / 2;
  if (half >= 1) go(windowChanges(middle - half, middle + half), true);
}

function pan(fraction) {
  if (fraction > 0 && atNow(view)) return;
  const [start, end] = shownWindow();
  const shift = (end - start) * fraction;
  go(windowChanges(start + shift, end + shift), true);
}

/** The preset at least as long as the window on screen, ending now. */
function followNow() {
  const [start, end] = shownWindow();
  go({ range: PRESET_NAMES.find((name) => PRESETS[name] >= end - start) || '10y' }, true);
}

function back() {
  if (historyDepth() > 0) history.back();
}

function toggleTheme() {
  view.theme = nextTheme(view);
  history.replaceState(history.state, '', pageUrl());
  syncControls();
  render();
}

// The graph's size: the window's width unless the URL or the size controls say otherwise.

/** The widest the graph can be: its panel's content width. */
function availableWidth() {
  const panel = graphWrap.parentNode;
  const style = getComputedStyle(panel);
  return panel.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
}

/** Sets the width (null: fit the window); a width the window cannot show is "fit the window". */
function setWidth(width) {
  let wanted = width == null || Number.isNaN(width) ? null : clamp(Math.round(width), WIDTH_LIMITS);
  if (wanted != null && wanted >= availableWidth()) wanted = null;
  go({ width: wanted }, false);
}

function setHeight(height) {
  go({ height: height == null || Number.isNaN(height) ? null : clamp(Math.round(height), HEIGHT_LIMITS) }, false);
}

const fieldNumber = (field) => (field.value.trim() === '' ? null : +field.value);

// Copying the link and the rrdtool command.

function flash(button, copied) {
  button.dataset.label ||= button.textContent;
  button.textContent = copied ? '✓ Copied' : 'Select & copy manually';
  button.classList.toggle('done', copied);
  clearTimeout(button.flashTimer);
  button.flashTimer = setTimeout(() => {
    button.textContent = button.dataset.label;
    button.classList.remove('done');
  }, 2000);
}

/** Copies `text`: the clipboard API, else (plain HTTP is not a secure context) a selected textarea, else shows it. */
async function copy(text, button) {
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    const area = el('textarea', 'hidden-copy');
    area.value = text;
    area.readOnly = true;
    document.body.append(area);
    area.select();
    try {
      copied = document.execCommand('copy');
    } catch {
      copied = false;
    }
    area.remove();
  }
  const field = $('copy-text');
  field.value = text;
  field.hidden = copied;
  if (!copied) field.select();
  button.dataset.c = text;
  flash(button, copied);
}

async function copyCommand(button) {
  const params = viewQuery(view, true);
  params.set('width', Math.round(geometry ? geometry.w : plotWidth()));
  params.set('height', Math.round(geometry ? geometry.h : 300));
  params.set('theme', currentTheme(view));
  try {
    copy((await getJson(`/api/rrdtool?${params}`)).command, button);
  } catch (error) {
    showError(error);
  }
}

// The keyboard help and shortcuts.

function showHelp(open) {
  const help = $('help');
  if (open === !help.hidden) return;
  help.hidden = !open;
  if (open) {
    helpReturn = document.activeElement;
    $('help-close').focus();
  } else if (helpReturn && helpReturn.focus) {
    helpReturn.focus();
  }
}

const SHORTCUTS = {
  ArrowLeft: () => pan(-0.5),
  ArrowRight: () => pan(0.5),
  '-': () => zoom(2),
  '+': () => zoom(0.5),
  '=': () => zoom(0.5),
  Backspace: back,
  u: back,
  n: followNow,
  r: () => load(false),
  t: toggleTheme,
  '?': () => showHelp($('help').hidden),
  Escape: () => {
    hideTooltip();
    showHelp(false);
  },
};

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const tag = target.tagName;
  const checkbox = tag === 'INPUT' && target.type === 'checkbox';
  // Text fields keep every key, a menu the keys it uses, a button or checkbox Space and Enter.
  if (tag === 'TEXTAREA' || (tag === 'INPUT' && !checkbox)) return;
  if (tag === 'SELECT' && MENU_KEYS.includes(event.key)) return;
  if ((tag === 'BUTTON' || tag === 'A' || checkbox) && (event.key === ' ' || event.key === 'Enter')) return;
  const preset = event.key.length === 1 ? '1234567890'.indexOf(event.key) : -1;
  let action = Object.hasOwn(SHORTCUTS, event.key) ? SHORTCUTS[event.key] : null;
  if (preset >= 0) action = () => go({ range: PRESET_NAMES[preset] }, true);
  if (!action) return;
  event.preventDefault();
  action();
}

// The live readout, for the interface shown.

function onLive(answer, error) {
  const shown = view.iface || (interfaces[0] || {}).id;
  const entry = answer ? answer.interfaces.find((f) => f.id === shown) || answer.interfaces[0] : null;
  const status = showLive($('live'), entry, answer ? answer.now : 0, error);
  showGraphState(status);
  // The server answers again: replace "Server unreachable." by the graph.
  if (!error && networkError) {
    networkError = false;
    load(false);
  }
}

function showInterfaces(answer) {
  serverTheme = answer.theme === 'classic' ? 'classic' : 'dark';
  if (view.theme === serverTheme) view.theme = null;
  document.title = answer.title;
  $('title').textContent = answer.title;
  $('setup-link').hidden = !answer.settings;
  interfaces = answer.interfaces || [];
  const select = $('iface');
  select.textContent = '';
  for (const f of interfaces) {
    const name = f.label && f.label !== f.name ? `${f.label} (${f.router}/${f.name})` : `${f.name} (${f.router})`;
    const option = el('option', null, name);
    option.value = f.id;
    select.append(option);
  }
  $('iface-label').hidden = interfaces.length < 2;
  history.replaceState(history.state, '', pageUrl());
  syncControls();
  render();
}

// Wiring.

$('range').addEventListener('change', (e) => e.target.value !== 'custom' && go({ range: e.target.value }, true));
$('style').addEventListener('change', (e) => go({ style: e.target.value }));
$('refresh').addEventListener('change', (e) => go({ refresh: +e.target.value }));
$('iface').addEventListener('change', (e) => go({ iface: e.target.value }, true));
for (const name of ['smooth', 'log', 'volume']) {
  $(name).addEventListener('change', (e) => go({ [name]: e.target.checked }));
}
$('earlier').addEventListener('click', () => pan(-0.5));
$('later').addEventListener('click', () => pan(0.5));
$('zoom-out').addEventListener('click', () => zoom(2));
$('back').addEventListener('click', back);
$('now').addEventListener('click', followNow);
$('theme').addEventListener('click', toggleTheme);
$('more').addEventListener('click', (e) => {
  const open = $('controls').classList.toggle('open');
  e.currentTarget.setAttribute('aria-expanded', String(open));
});
$('help-button').addEventListener('click', () => showHelp(true));
$('help-close').addEventListener('click', () => showHelp(false));
$('help').addEventListener('click', (e) => e.target === e.currentTarget && showHelp(false));
$('width').addEventListener('change', (e) => setWidth(fieldNumber(e.target)));
$('height').addEventListener('change', (e) => setHeight(fieldNumber(e.target)));
$('narrower').addEventListener('click', () => setWidth((view.width || graphWrap.clientWidth) * 0.8));
$('wider').addEventListener('click', () => setWidth(view.width * 1.25));
$('copy-link').addEventListener('click', (e) => copy(location.href, e.currentTarget));
$('copy-command').addEventListener('click', (e) => copyCommand(e.currentTarget));
document.addEventListener('keydown', onKey);
window.addEventListener('popstate', () => {
  view = parseView(location.search);
  syncControls();
  load(false);
  scheduleRefresh();
});
document.addEventListener('visibilitychange', () => !document.hidden && view.refresh && load(true));
window.addEventListener('resize', render);
// Redraw when the graph's width changes (and ask for as many points as it now has room for), or when what is above
// it (the header with the readout, the controls) changes height, which moves it.
let resizeTimer = 0;
const layout = new ResizeObserver(() => {
  render();
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => series && Math.round(plotWidth()) !== series.points && load(false), 250);
});
for (const element of [graphWrap, document.querySelector('header'), $('controls')]) layout.observe(element);

history.replaceState({ depth: historyDepth() }, '', pageUrl());
syncControls();
load(false);
render();
scheduleRefresh();
pollLive(onLive);
getJson('/api/interfaces').then(showInterfaces, showError);
