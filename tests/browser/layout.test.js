// Browser tests of the page's layout and the overview in headless Chromium against the real daemon: the graph takes
// the window's width (1920×1080 and 1366×768, controls on one row), width/height in the URL and the size controls; a
// 360×740 phone with the graph and its legend on the first screen, touch zoom and tap tooltip; the overview of every
// interface (/overview). Screenshots go to target/browser-artifacts/.
'use strict';
const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { HISTORY, ARTIFACTS, startStack, untilLive, newPage, until, waitLoads, plot, closePages } = require('./harness');

const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
const sp = (page) => new URL(page.url()).searchParams;
const noErrors = (page) => assert.deepEqual(page.errors, [], 'console errors, page errors or CSP violations');
const rect = (page, selector) => page.evaluate((s) => document.querySelector(s).getBoundingClientRect().toJSON(), selector);

/** A volume as the page writes it (SI, base 1000), written here independently of the page. */
function bytes(v) {
  const k = Math.min(4, Math.max(0, Math.floor(Math.log10(Math.max(v, 1)) / 3)));
  return `${(v / 1000 ** k).toFixed(k ? 2 : 0)} ${['', 'k', 'M', 'G', 'T'][k]}B`;
}

describe('layout and overview', () => {
  let S;
  before(async () => {
    S = await startStack();
    await untilLive(S);
  });
  afterEach(() => closePages(S));
  after(async () => {
    if (S) await S.stop();
  });

  it('the graph takes the window\'s width, the controls one row, and graph, legend and tools the first screen', async () => {
    for (const [width, height] of [[1920, 1080], [1366, 768]]) {
      const page = await newPage(S, { viewport: { width, height } });
      await page.goto(`${S.base}/?range=24h&refresh=0`);
      await waitLoads(page);
      await page.waitForFunction(() => !document.getElementById('iface-label').hidden);
      const canvas = await rect(page, '#cv');
      assert.ok(canvas.width >= width - 60, `${width}: graph ${canvas.width} px wide`);
      const rows = await page.evaluate(() => [...document.querySelectorAll('#controls > *, #options > *')]
        .filter((e) => e.getClientRects().length && getComputedStyle(e).display !== 'contents')
        .map((e) => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2)));
      assert.ok(Math.max(...rows) - Math.min(...rows) <= 4, `${width}: controls on one row (centres ${rows})`);
      const tools = await rect(page, '.tools');
      assert.ok(tools.bottom <= height, `${width}: the size controls end at ${tools.bottom} of ${height}`);
      assert.ok(canvas.height >= 300, `${width}: graph ${canvas.height} px high`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0);
      await shot(page, `desktop-${width}`);
      noErrors(page);
      await page.context().close();
    }
  });

  it('width and height: the size controls and fields, kept in the URL', async () => {
    const page = await newPage(S, { viewport: { width: 1366, height: 768 } });
    await page.goto(`${S.base}/?range=1h&refresh=0`);
    await waitLoads(page);
    const full = (await rect(page, '#cv')).width;
    assert.equal(await page.evaluate(() => document.getElementById('wider').disabled), true, 'fitting the window is the widest');
    await page.click('#narrower');
    await page.waitForURL((u) => u.searchParams.get('width') !== null);
    const narrow = Number(sp(page).get('width'));
    assert.equal(narrow, Math.round(full * 0.8));
    await waitLoads(page, 2);
    assert.equal((await rect(page, '#cv')).width, narrow);
    assert.equal((await plot(page)).n, narrow - 72, 'points follow the plot width');
    assert.equal(await page.inputValue('#width'), String(narrow));
    await page.click('#narrower');
    await page.waitForURL((u) => u.searchParams.get('width') === String(Math.round(narrow * 0.8)));
    await page.click('#wider');
    await page.click('#wider');
    await page.waitForURL((u) => u.searchParams.get('width') === null, { timeout: 5000 });
    assert.equal((await rect(page, '#cv')).width, full, 'back to the window\'s width');
    await page.fill('#width', '700');
    await page.press('#width', 'Enter');
    await page.waitForURL((u) => u.searchParams.get('width') === '700');
    assert.equal((await rect(page, '#cv')).width, 700);
    await page.fill('#height', '260');
    await page.press('#height', 'Enter');
    await page.waitForURL((u) => u.searchParams.get('height') === '260');
    assert.equal((await rect(page, '#cv')).height, 260);
    await page.reload();
    await waitLoads(page);
    const box = await rect(page, '#cv');
    assert.deepEqual([box.width, box.height], [700, 260], 'the URL restores the size');
    await page.fill('#height', '');
    await page.press('#height', 'Enter');
    await page.waitForURL((u) => u.searchParams.get('height') === null);
    assert.ok((await rect(page, '#cv')).height > 260, 'empty: fit the window again');
    noErrors(page);
  });

  it('a 360×740 phone: graph and legend on the first screen, options folded, high-DPI, tap and touch zoom', async () => {
    const page = await newPage(S, { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, hasTouch: true, isMobile: true });
    await page.goto(`${S.base}/?range=5m`);
    await waitLoads(page);
    await page.waitForFunction(() => !document.getElementById('iface-label').hidden);
    // The interface list arrives after the first graph; the layout settles with the next drawing.
    await page.waitForTimeout(300);
    const m = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth,
      c: document.getElementById('cv').width, css: document.getElementById('cv').getBoundingClientRect().width }));
    assert.ok(m.sw <= m.cw, `horizontal overflow: ${m.sw} > ${m.cw}`);
    assert.equal(m.c, Math.round(m.css * 2), 'canvas backing store scaled by devicePixelRatio');
    const canvas = await rect(page, '#cv');
    const legend = await rect(page, '#legend');
    assert.ok(legend.bottom <= 740, `legend ends at ${legend.bottom}`);
    assert.ok(canvas.height >= 280, `graph ${canvas.height} px high`);
    assert.ok(await page.isHidden('#style'), 'options folded');
    const p = await plot(page);
    await page.tap('#cv', { position: { x: p.x + p.w - 10, y: p.y + p.h / 2 } });
    await page.waitForSelector('#tooltip', { state: 'visible' });
    await shot(page, 'phone-dark');
    // A horizontal touch drag zooms like the mouse (touch-action: pan-y leaves vertical scrolling to the page).
    const cdp = await page.context().newCDPSession(page);
    const y = p.top + p.y + p.h / 2;
    const a = Math.round(p.left + p.x + p.w * 0.2);
    const b = Math.round(p.left + p.x + p.w * 0.8);
    const t = (xPage) => String(Math.round(p.vs + ((xPage - p.left) - p.x) / p.w * (p.ve - p.vs)));
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: a, y }] });
    for (let k = 1; k <= 8; k++) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: a + (b - a) * k / 8, y }] });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await page.waitForURL((u) => u.searchParams.get('start') === t(a) && u.searchParams.get('end') === t(b));
    await waitLoads(page, 2);
    // Chromium drops the click of a tap that follows another touch sequence too closely (as a person's would not):
    // tap again until it took effect.
    const tapUntil = async (selector, done) => until(`a tap on ${selector}`, async () => {
      if (await done()) return true;
      await page.tap(selector);
      return false;
    }, 10000, 400);
    await tapUntil('#more', async () => (await page.getAttribute('#more', 'aria-expanded')) === 'true');
    await page.waitForSelector('#style', { state: 'visible' });
    await tapUntil('#theme', () => page.evaluate(() => document.documentElement.classList.contains('cl')));
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 360);
    await shot(page, 'phone-light');
    noErrors(page);
  });

  it('the overview: every interface as a small live graph with rates, state and the window\'s volume, linking to its graph', async () => {
    const page = await newPage(S, { viewport: { width: 1366, height: 768 } });
    const ifaces = (await S.api('/api/interfaces')).interfaces;
    await page.goto(`${S.base}/overview?range=1h`);
    await page.waitForFunction((n) => document.querySelectorAll('.card canvas[data-ld]').length === n, ifaces.length);
    const cards = await page.evaluate(() => [...document.querySelectorAll('.card')].map((c) => ({
      iface: c.dataset.iface, title: c.querySelector('h2 a').textContent, href: c.querySelector('h2 a').getAttribute('href'),
      graph: c.querySelector('a.graph-wrap').getAttribute('href'), legend: c.querySelector('.legend').textContent,
      window: +c.querySelector('canvas').dataset.ve - +c.querySelector('canvas').dataset.vs })));
    assert.deepEqual(cards.map((c) => c.iface), ifaces.map((f) => f.id));
    assert.deepEqual(cards.map((c) => c.title), ifaces.map((f) => f.label));
    for (const c of cards) {
      assert.equal(c.window, 3600, 'the same window');
      const link = new URL(c.href, S.base);
      assert.equal(link.pathname, '/');
      assert.equal(link.searchParams.get('iface'), c.iface);
      assert.equal(link.searchParams.get('range'), '1h');
      assert.equal(c.graph, c.href);
      assert.match(c.legend, /RX vol \d+(\.\d+)? [kMG]?B/);
    }
    await page.waitForFunction(() => [...document.querySelectorAll('.card .live')].every((l) => l.dataset.h === 'ok'));
    const rates = await page.$$eval('.card .rates', (l) => l.map((e) => e.textContent));
    for (const r of rates) assert.match(r, /^⬇ RX \d+(\.\d+)? (bit|kbit|Mbit|Gbit)\/s ⬆ TX \d+(\.\d+)? (bit|kbit|Mbit|Gbit)\/s$/);
    await shot(page, 'overview');
    // A fixed window inside the pre-filled history: the volume shown is the server's for exactly that window.
    const end = Math.floor(Date.now() / 1000) - HISTORY / 2;
    const start = end - 3600;
    await page.goto(`${S.base}/overview?start=${start}&end=${end}&refresh=0`);
    await page.waitForFunction((n) => document.querySelectorAll('.card canvas[data-ld]').length === n, ifaces.length);
    const j = await S.api(`/api/series?iface=${encodeURIComponent(ifaces[0].id)}&start=${start}&end=${end}&points=10`);
    const legend = await page.textContent(`.card[data-iface="${ifaces[0].id}"] .legend`);
    assert.ok(legend.includes(`RX vol ${bytes(j.summary.rx_bytes)}`) && legend.includes(`TX vol ${bytes(j.summary.tx_bytes)}`),
      `${legend} vs ${bytes(j.summary.rx_bytes)} / ${bytes(j.summary.tx_bytes)}`);
    await page.click(`.card[data-iface="${ifaces[0].id}"] h2 a`);
    await page.waitForURL((u) => u.pathname === '/' && u.searchParams.get('iface') === ifaces[0].id);
    await waitLoads(page);
    const p = await plot(page);
    assert.deepEqual([p.vs, p.ve], [start, end], 'the full graph of the same window');
    // The graph page links back to the overview of its window.
    await page.click('#overview-link');
    await page.waitForURL((u) => u.pathname === '/overview' && u.searchParams.get('start') === String(start));
    noErrors(page);
    const phone = await newPage(S, { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    await phone.goto(`${S.base}/overview?range=24h&theme=classic`);
    await phone.waitForFunction((n) => document.querySelectorAll('.card canvas[data-ld]').length === n, ifaces.length);
    assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= 360), 'no horizontal overflow');
    await shot(phone, 'overview-phone-light');
    noErrors(phone);
  });
});
