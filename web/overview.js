// The overview (overview.html, served at /overview): every monitored interface of every router as a small graph of the
// same window, with its current rates and state, the window's volume, and a link to its full graph. It takes the graph
// page's parameters (range or start/end, style, log, smooth, refresh, theme). Endpoints: README.md "URLs and JSON
// endpoints".

const CARD_HEIGHT = 150;

let view = parseView(location.search);
let cards = [];
let refreshTimer = 0;

/** One card per interface: title linking to its graph, live readout, small graph (also a link), volume. */
function buildCards(interfaces) {
  const container = $('cards');
  container.textContent = '';
  cards = interfaces.map((f) => {
    const box = el('section', 'panel card');
    box.dataset.iface = f.id;
    const title = el('h2');
    const link = el('a', null, f.label || f.name);
    title.append(link, el('small', null, `${f.router}/${f.name}`));
    const live = el('div', 'live');
    live.append(el('i', 'dot'), el('span', 'rates', '—'), el('small', 'age'), el('small', 'why'));
    const graphLink = el('a', 'graph-wrap');
    graphLink.setAttribute('aria-label', `full graph of ${f.label || f.name}`);
    const canvas = el('canvas');
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `traffic of ${f.label || f.name}`);
    graphLink.append(canvas);
    const legend = el('div', 'legend');
    box.append(title, live, graphLink, legend);
    container.append(box);
    return { iface: f.id, link, graphLink, live, canvas, legend, series: null, loadNumber: 0 };
  });
  syncControls();
}

function syncControls() {
  const classic = applyTheme(view);
  $('theme').textContent = classic ? 'Dark' : 'Classic';
  const range = $('range');
  range.value = view.range;
  range.options[range.options.length - 1].hidden = view.range !== 'custom';
  $('graph-link').href = `/?${viewQuery({ ...view, width: null, height: null })}`;
  for (const card of cards) {
    const href = `/?${viewQuery({ ...view, iface: card.iface, width: null, height: null })}`;
    card.link.href = href;
    card.graphLink.href = href;
  }
  const [start, end] = viewWindow(view);
  $('window-text').textContent = `${formatTime(start)} → ${formatTime(end)}`;
}

/** Loads one card's series (only what is new when `incremental`) and draws it. */
async function loadCard(card, incremental) {
  const number = ++card.loadNumber;
  const [start, end] = viewWindow(view);
  const width = card.canvas.getBoundingClientRect().width || 300;
  const points = Math.min(10000, Math.max(1, Math.round(width - MARGIN.left - MARGIN.right)));
  const request = { iface: card.iface, start, end, points, moving: view.range !== 'custom' };
  try {
    const next = await loadSeries(request, incremental ? card.series : null);
    if (number !== card.loadNumber) return;
    card.series = next;
    card.error = null;
    drawCard(card);
    card.canvas.dataset.ld = (+card.canvas.dataset.ld | 0) + 1;
    const filled = await fillPartial(next, card.iface).catch(() => false);
    if (filled && number === card.loadNumber) drawCard(card);
  } catch (error) {
    if (number !== card.loadNumber) return;
    card.error = error;
    drawCard(card);
  }
}

function drawCard(card) {
  card.canvas.style.height = `${CARD_HEIGHT}px`;
  const options = { style: view.style, log: view.log, smooth: view.smooth, height: CARD_HEIGHT, now: serverNow() };
  drawGraph(card.canvas, card.series, { ...options, compact: true });
  const legend = card.legend;
  legend.textContent = '';
  if (card.error) {
    legend.append(el('span', 'error', fetchErrorText(card.error)));
    return;
  }
  if (!card.series) return;
  const summary = card.series.summary;
  const item = (label, value) => {
    const i = el('i');
    i.append(el('span', null, label), ` ${value}`);
    legend.append(i);
  };
  item('RX vol', formatBytes(summary.rx_bytes));
  item('TX vol', formatBytes(summary.tx_bytes));
  item('RX peak', formatBits(summary.rx_peak));
  if (summary.known != null && summary.known < 1) item('known', formatShare(summary.known));
}

function loadAll(incremental) {
  return Promise.all(cards.map((card) => loadCard(card, incremental)));
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!view.refresh) return;
  refreshTimer = setTimeout(async () => {
    if (!document.hidden) await loadAll(true);
    syncControls();
    scheduleRefresh();
  }, view.refresh * 1000);
}

function go(changes) {
  view = normalView({ ...view, ...changes });
  history.pushState(null, '', `${location.pathname}?${viewQuery(view)}`);
  syncControls();
  loadAll(false);
  scheduleRefresh();
}

function onLive(answer, error) {
  for (const card of cards) {
    const entry = answer ? answer.interfaces.find((f) => f.id === card.iface) : null;
    showLive(card.live, entry, answer ? answer.now : 0, error);
  }
}

$('range').addEventListener('change', (e) => e.target.value !== 'custom' && go({ range: e.target.value }));
$('theme').addEventListener('click', () => {
  view.theme = nextTheme(view);
  history.replaceState(null, '', `${location.pathname}?${viewQuery(view)}`);
  syncControls();
  for (const card of cards) drawCard(card);
});
window.addEventListener('popstate', () => {
  view = parseView(location.search);
  syncControls();
  loadAll(false);
  scheduleRefresh();
});
let resizeTimer = 0;
let lastWidth = 0;
new ResizeObserver(() => {
  if ($('cards').clientWidth === lastWidth) return;
  lastWidth = $('cards').clientWidth;
  for (const card of cards) drawCard(card);
  clearTimeout(resizeTimer);
  // Ask again where a graph now has room for another number of points.
  resizeTimer = setTimeout(() => {
    for (const card of cards) {
      const width = card.canvas.getBoundingClientRect().width;
      if (card.series && Math.round(width - MARGIN.left - MARGIN.right) !== card.series.points) loadCard(card, false);
    }
  }, 250);
}).observe($('cards'));

syncControls();
// The interfaces' answer sets the server's clock first, so that every card asks for the same window.
getJson('/api/interfaces').then((answer) => {
  noteServerNow(answer.now);
  serverTheme = answer.theme === 'classic' ? 'classic' : 'dark';
  if (view.theme === serverTheme) view.theme = null;
  document.title = `${answer.title} — all interfaces`;
  $('title').textContent = answer.title;
  history.replaceState(null, '', `${location.pathname}?${viewQuery(view)}`);
  buildCards(answer.interfaces || []);
  loadAll(false);
  scheduleRefresh();
  pollLive(onLive);
}, (error) => {
  $('error').textContent = fetchErrorText(error);
  $('error').hidden = false;
});
