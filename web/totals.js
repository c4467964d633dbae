// The totals page (totals.html, served at /totals), endpoints: README.md "URLs and JSON endpoints". An interface's
// exact RX and TX volumes per calendar period in the server's time zone (the hours of a day, the days of a month, the
// months of a year, every year) from /api/totals as a table with bars, exact bytes on hover and how much of each row
// is unknown (never counted as traffic); the billing cycle with its quota gauge and projection. The URL holds iface,
// period, at (a time inside the period shown; none: now) and theme.

// The periods: the first column's heading, and what a row's label opens (a day its hours, a month its days...).
const PERIODS = { hours: ['Hour'], days: ['Day', 'hours'], months: ['Month', 'days'], years: ['Year', 'months'] };
const REFRESH_MS = 60000;

let state = parseState(location.search);
let interfaces = [];
let answer = null; // the /api/totals answer shown
let loadNumber = 0; // the newest load started: answers to older ones are dropped

/** The page's state from a query string; unusable values fall back to the defaults and never fail. */
function parseState(search) {
  const params = new URLSearchParams(search);
  const period = params.get('period');
  const at = params.get('at');
  const theme = params.get('theme');
  return {
    iface: params.get('iface'),
    period: Object.hasOwn(PERIODS, period) ? period : 'days',
    at: at && /^\d{1,12}$/.test(at) ? +at : null,
    theme: theme === 'dark' || theme === 'classic' ? theme : null,
  };
}

/** The /api/totals parameters of a state (for the page's URL, also its theme). */
function totalsQuery(s, forPage) {
  const params = new URLSearchParams();
  if (s.iface) params.set('iface', s.iface);
  params.set('period', s.period);
  if (s.at != null) params.set('at', s.at);
  const theme = currentTheme(s);
  if (forPage && theme !== serverTheme) params.set('theme', theme);
  return params;
}

/** The interface shown: the URL's, else the server's first. */
const shownIface = () => state.iface || (interfaces[0] || {}).id;
const apiUrl = () => `/api/totals?${totalsQuery({ ...state, iface: shownIface() })}`;

/** Shows `changes`; `push` makes a new history entry. */
function go(changes, push) {
  state = { ...state, ...changes };
  const url = `${location.pathname}?${totalsQuery(state, true)}`;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
  syncControls();
  load();
}

/** Makes the controls and links show the state; ◀ and ▶ follow the answer shown (none for every year). */
function syncControls() {
  $('theme').textContent = applyTheme(state) ? 'Dark' : 'Classic';
  $('period').value = state.period;
  if (shownIface()) $('iface').value = shownIface();
  $('label-head').textContent = PERIODS[state.period][0];
  $('csv').href = `${apiUrl()}&format=csv`;
  const graph = new URLSearchParams();
  if (state.iface) graph.set('iface', state.iface);
  if (currentTheme(state) !== serverTheme) graph.set('theme', currentTheme(state));
  $('graph-link').href = `/?${graph}`;
  const rows = answer ? answer.rows : [];
  const years = state.period === 'years' || !rows.length;
  $('prev').disabled = years;
  $('next').disabled = years || rows[rows.length - 1].end >= answer.now;
  $('this').disabled = state.at == null;
}

/** Asks /api/totals for the state's period and shows the answer (or why there is none). */
async function load() {
  const number = ++loadNumber;
  try {
    const next = await getJson(apiUrl());
    if (number !== loadNumber) return;
    noteServerNow(next.now);
    answer = next;
    showError(null);
    show();
  } catch (error) {
    if (number === loadNumber) showError(error);
  }
}

function showError(error) {
  $('error').textContent = error ? fetchErrorText(error) : '';
  $('error').hidden = !error;
}

// Formatting in the server's time zone (the periods are its calendar's), falling back to the browser's when this
// browser does not know the zone.

function formatIn(t, options) {
  try {
    return new Intl.DateTimeFormat('en-GB', { ...options, timeZone: answer.timezone }).format(t * 1000);
  } catch {
    return new Intl.DateTimeFormat('en-GB', options).format(t * 1000);
  }
}

const DATE = { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' };

/** A number of bytes in full, for the title shown on hover. */
const exactBytes = (n) => `${n.toLocaleString('en-US')} bytes`;

/** A volume with its exact bytes on hover. */
function volume(tag, className, n) {
  const element = el(tag, className, formatBytes(n));
  element.title = exactBytes(n);
  return element;
}

/** The unknown part of a row or period: its share, and on hover the seconds. Empty when nothing of it has passed. */
function unknownCell(r) {
  const cell = el('td', 'u');
  if (r.seconds > 0) {
    const unknown = r.seconds - r.known_seconds;
    cell.textContent = formatShare(unknown / r.seconds);
    cell.title = `${unknown} s of ${r.seconds} s unknown (not counted)`;
  }
  return cell;
}

/** A row's label: a link to its finer periods where there are some; days with their weekday. */
function rowLabel(r) {
  const cell = el('td');
  let text = r.label;
  if (state.period === 'days') text = `${r.label.slice(8)} ${formatIn(r.start + 1, { weekday: 'short' })}`;
  if (state.period === 'months') text = MONTHS[+r.label.slice(5, 7) - 1] || r.label;
  const finer = PERIODS[state.period][1];
  if (!finer) {
    cell.textContent = text;
    return cell;
  }
  const at = r.start + Math.floor(0.5 * (r.end - r.start)); // the middle of the row
  const link = el('a', null, text);
  link.href = `?${totalsQuery({ ...state, period: finer, at }, true)}`;
  link.title = `${r.label}: by ${PERIODS[finer][0].toLowerCase()}`;
  link.addEventListener('click', (e) => {
    e.preventDefault();
    go({ period: finer, at }, true);
  });
  cell.append(link);
  return cell;
}

/** One line of the table: label, RX, TX, total with its bar (RX then TX, scaled to the largest total), unknown. */
function tableRow(r, label, max) {
  const tr = el('tr');
  const total = r.rx_bytes + r.tx_bytes;
  tr.dataset.start = r.start;
  // Nothing of it held yet: after now, or before the file's first second.
  if (r.seconds === 0) tr.className = 'muted';
  tr.append(label, volume('td', 'rx', r.rx_bytes), volume('td', 'tx', r.tx_bytes));
  const cell = volume('td', 't', total);
  if (max) {
    const bar = el('span', 'bar');
    for (const key of ['rx', 'tx']) {
      const part = el('i', key);
      part.style.width = `${r[`${key}_bytes`] * 100 / max}%`;
      bar.append(part);
    }
    cell.append(bar);
  }
  tr.append(cell, unknownCell(r));
  return tr;
}

function show() {
  syncControls();
  const rows = answer.rows;
  const max = Math.max(0, ...rows.map((r) => r.rx_bytes + r.tx_bytes));
  $('rows').replaceChildren(...rows.map((r) => tableRow(r, rowLabel(r), max)));
  $('foot').replaceChildren(tableRow(answer.total, el('th', null, 'Total'), 0));
  const first = rows[0];
  let title = 'Every year';
  if (first && state.period === 'hours') title = formatIn(first.start + 1, { ...DATE, month: 'long' });
  if (first && state.period === 'days') title = formatIn(first.start + 1, { month: 'long', year: 'numeric' });
  if (first && state.period === 'months') title = formatIn(first.start + 1, { year: 'numeric' });
  $('period-title').textContent = title;
  const total = answer.total;
  const unknown = total.seconds - total.known_seconds;
  let note = `Times in ${answer.timezone}.`;
  if (answer.utc_offset_note) note += ` ${answer.utc_offset_note}.`;
  if (unknown > 0) {
    note += ` Unknown: ${formatDuration(unknown)} of ${formatDuration(total.seconds)} so far, not counted as traffic.`;
  }
  $('note').textContent = note;
  showCycle(answer.cycle);
  $('rows').dataset.ld = (+$('rows').dataset.ld | 0) + 1; // answers shown, for the tests
}

/** The billing cycle: its days, what it used, and with a quota the gauge (used, and projected at the cycle's end). */
function showCycle(c) {
  $('cycle').hidden = !c;
  if (!c) return;
  $('cycle-dates').textContent = `${formatIn(c.start + 1, DATE)} – ${formatIn(c.end - 1, DATE)}`;
  const used = $('cycle-used');
  used.replaceChildren('RX ', volume('b', null, c.rx_bytes), ' · TX ', volume('b', null, c.tx_bytes), ' · total ',
    volume('b', null, c.rx_bytes + c.tx_bytes));
  if (c.seconds > c.known_seconds) used.append(` · ${formatShare(1 - c.known_seconds / c.seconds)} unknown`);
  const q = c.quota;
  $('gauge').hidden = !q;
  $('quota-text').hidden = !q;
  if (!q) return;
  const share = (n) => Math.min(100, n * 100 / Math.max(1, q.bytes));
  $('gauge-used').style.width = `${share(q.used)}%`;
  $('gauge-projected').style.left = `${share(q.projected)}%`;
  $('gauge').setAttribute('aria-valuenow', share(q.used).toFixed(1));
  $('gauge').classList.toggle('over', q.reached || q.projected > q.bytes);
  const counted = q.direction === 'both' ? 'RX + TX' : q.direction.toUpperCase();
  const text = $('quota-text');
  text.replaceChildren('Quota: ', volume('b', null, q.used), ' of ', volume('b', null, q.bytes),
    ` (${counted}) used, ${formatShare(q.used / Math.max(1, q.bytes))}; `, volume('b', null, q.remaining),
    ' left. At this cycle\'s rate so far: ', volume('b', null, q.projected), ' by its end');
  // Once reached, reached_at is the end of the local day it was crossed on.
  if (q.reached && q.reached_at != null) text.append(`; the quota was reached on ${formatIn(q.reached_at - 1, DATE)}.`);
  else if (q.reached) text.append('; the quota is reached.');
  else if (q.reached_at != null) text.append(`; the quota is reached on ${formatIn(q.reached_at, DATE)}.`);
  else text.append(', within the quota.');
}

function showInterfaces(list) {
  serverTheme = list.theme === 'classic' ? 'classic' : 'dark';
  if (state.theme === serverTheme) state.theme = null;
  document.title = `${list.title} — totals`;
  $('title').textContent = list.title;
  interfaces = list.interfaces || [];
  const select = $('iface');
  select.replaceChildren(...interfaces.map((f) => {
    const option = el('option', null, f.label && f.label !== f.name ? `${f.label} (${f.router}/${f.name})` : f.id);
    option.value = f.id;
    return option;
  }));
  $('iface-label').hidden = interfaces.length < 2;
  go({}, false);
}

$('iface').addEventListener('change', (e) => go({ iface: e.target.value, at: null }, true));
$('period').addEventListener('change', (e) => go({ period: e.target.value }, true));
$('prev').addEventListener('click', () => go({ at: answer.rows[0].start - 1 }, true));
$('next').addEventListener('click', () => go({ at: answer.rows[answer.rows.length - 1].end + 1 }, true));
$('this').addEventListener('click', () => go({ at: null }, true));
$('theme').addEventListener('click', () => {
  state.theme = nextTheme(state);
  history.replaceState(null, '', `${location.pathname}?${totalsQuery(state, true)}`);
  syncControls();
});
window.addEventListener('popstate', () => {
  state = parseState(location.search);
  syncControls();
  load();
});
// The period holding now grows: ask again every minute while it is shown.
setInterval(() => state.at == null && !document.hidden && answer && load(), REFRESH_MS);

applyTheme(state);
getJson('/api/interfaces').then(showInterfaces, showError);
