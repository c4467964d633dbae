// Browser tests of how the page draws (web/draw.js, web/series.js) in headless Chromium against the real daemon: an
// empty window, the newest unfinished point, per-point known shares, the log scale fitted to the data, the smoothed peak
// band, mirror's lower end, the contrast of every theme colour pair (text: WCAG AA, computed from the CSS the browser
// applies), and time ticks across daylight-saving changes (the browser run in Europe/Berlin and America/New_York).
// Screenshots and measured figures go to target/browser-artifacts/.
'use strict';
const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { HISTORY, ARTIFACTS, startStack, untilLive, newPage, until, waitLoads, plot, pointColumn, pixels, topmost, column, contrast,
  parseColor, over, closePages } = require('./harness');

const BG_DARK = [26, 29, 38];
const GRID_DARK = [64, 72, 88];
const RX_FILL_AREA = [114, 168, 141];
const measured = {};
const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
const noErrors = (page) => assert.deepEqual(page.errors, [], 'console errors, page errors or CSP violations');
const near = (a, b, tol) => a.every((v, i) => Math.abs(v - b[i]) <= tol);

/** The most frequent colour among the column's pixels from y0 to y1 (CSS px from the top of the plot). */
function mode(pixelsOfColumn, y0, y1) {
  const count = new Map();
  for (let y = Math.max(0, Math.round(y0)); y <= Math.min(pixelsOfColumn.length - 1, Math.round(y1)); y++) {
    const key = pixelsOfColumn[y].join(',');
    count.set(key, (count.get(key) || 0) + 1);
  }
  return [...count.entries()].sort((a, b) => b[1] - a[1])[0][0].split(',').map(Number);
}

/**
 * Every visible text of the page with its colour, the colour(s) behind it and their contrast: the backgrounds of the
 * element and its ancestors composited as the browser computes them (for the body, also with each colour of its
 * background gradient), and WCAG's large-text rule. Disabled controls are left out (WCAG exempts them).
 */
function textContrasts(page) {
  return page.evaluate(() => {
    const rgba = (text) => {
      const v = /rgba?\(([^)]+)\)/.exec(text)[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
    };
    const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3]));
    const lum = (c) => {
      const [r, g, b] = c.map((v) => { const x = v / 255; return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const backgrounds = (e) => {
      const chain = [];
      for (let n = e; n; n = n.parentElement) chain.unshift(n);
      let found = [[255, 255, 255]];
      for (const n of chain) {
        const s = getComputedStyle(n);
        const color = rgba(s.backgroundColor);
        found = found.map((b) => over(color, b));
        const stops = (s.backgroundImage.match(/rgba?\([^)]+\)/g) || []).map(rgba).filter((c) => c[3] > 0);
        if (stops.length) found = found.concat(...stops.map((c) => found.map((b) => over(c, b))));
      }
      return found;
    };
    const out = [];
    for (const e of document.querySelectorAll('body *')) {
      if (!e.getClientRects().length || e.closest('[hidden]') || e.matches(':disabled') || e.tagName === 'OPTION') continue;
      let text = [...e.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join(' ').trim();
      let color = getComputedStyle(e).color;
      if (e.tagName === 'SELECT') text = e.selectedOptions[0] ? e.selectedOptions[0].textContent : '';
      if (e.tagName === 'INPUT' && e.type !== 'checkbox') {
        text = e.value;
        if (!text && e.placeholder) {
          text = e.placeholder;
          color = getComputedStyle(e, '::placeholder').color;
        }
      }
      if (!text) continue;
      const s = getComputedStyle(e);
      const size = parseFloat(s.fontSize);
      const large = size >= 24 || (size >= 18.66 && +s.fontWeight >= 700);
      const fg = rgba(color);
      const worst = Math.min(...backgrounds(e).map((b) => ratio(over(fg, b), b)));
      out.push({ text: text.slice(0, 40), id: e.id, tag: e.tagName, color, ratio: Math.round(worst * 100) / 100, need: large ? 3 : 4.5 });
    }
    return out;
  });
}

/** The theme's plot colours as the page's CSS applies them, as [r, g, b, a]. */
function plotColors(page) {
  return page.evaluate(() => {
    const names = ['plot-bg', 'axis-text', 'axis-unit', 'rx-line', 'tx-line', 'rx-edge', 'tx-edge', 'rx-fill', 'tx-fill',
      'rx-band', 'tx-band', 'zero'];
    const probe = document.createElement('i');
    document.body.append(probe);
    const out = {};
    for (const name of names) {
      probe.style.color = getComputedStyle(document.documentElement).getPropertyValue(`--${name}`);
      out[name] = getComputedStyle(probe).color;
    }
    probe.remove();
    return out;
  });
}

/** The local calendar fields of Unix time t in `zone`, computed by Node's ICU, independently of the page. */
function local(t, zone) {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric', month: 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(t * 1000));
  const f = Object.fromEntries(parts.map((p) => [p.type, p.value]));
  return { month: f.month, day: +f.day, hour: +f.hour, minute: +f.minute, second: +f.second };
}

describe('drawing', () => {
  let S;
  before(async () => {
    S = await startStack();
    await untilLive(S);
  });
  afterEach(() => closePages(S));
  after(async () => {
    fs.writeFileSync(path.join(ARTIFACTS, 'drawing-metrics.json'), `${JSON.stringify(measured, null, 2)}\n`);
    if (S) await S.stop();
  });

  it('an empty window says "No data in this window" and how much is unknown, without a made-up axis', async () => {
    const page = await newPage(S);
    const end = Math.floor(Date.now() / 1000) - HISTORY - 3 * 86400;
    await page.goto(`${S.base}/?start=${end - 86400}&end=${end}&refresh=0`);
    await waitLoads(page);
    const p = await plot(page);
    assert.equal(p.empty, 'all 1 d unknown');
    assert.equal(await page.evaluate(() => document.getElementById('cv').dataset.top), '', 'no vertical scale');
    assert.match(await page.textContent('#legend'), /known 0 %/);
    const text = await pixels(page, [[224, 228, 238]], 30, BG_DARK, [p.x + p.w * 0.4, p.x + p.w * 0.6]);
    assert.ok(text.c[0].n > 20, `the message is drawn: ${text.c[0].n} text px`);
    await shot(page, 'empty-window');
    // Half a window before the file: a quarter of it unknown, said as a duration.
    const start = Math.floor(Date.now() / 1000) - HISTORY - 600;
    await page.goto(`${S.base}/?start=${start}&end=${start + 1200}&refresh=0`);
    await waitLoads(page);
    assert.equal((await plot(page)).empty, null, 'not empty: half of it is known');
    noErrors(page);
  });

  it('the newest, unfinished point of a long window is drawn and marked partial', async () => {
    const page = await newPage(S);
    await page.goto(`${S.base}/?range=10y&refresh=0`);
    await waitLoads(page);
    await until('the partial point', async () => (await plot(page)).partial !== null, 10000, 100);
    const p = await plot(page);
    const i = p.partial;
    const from = p.t0 + i * p.step;
    assert.ok(from < p.lu && from + p.step > p.lu, 'the point holding the last update, unfinished');
    const j = await S.api(`/api/series?start=${p.vs}&end=${p.ve}&points=${p.n}`);
    measured['10y newest point in /api/series'] = { index: i, rx: j.rx[i], step: j.step };
    if (!Array.isArray(j.known)) assert.equal(j.rx[i], null, 'the server leaves it empty (less than half known)');
    // Under a pixel wide at 10 years: point at its middle (pointer events carry fractional coordinates).
    const X = (t) => p.x + (t - p.vs) / (p.ve - p.vs) * p.w;
    await page.mouse.move(p.left + (X(from) + X(p.lu)) / 2, p.top + p.y + p.h / 2);
    await page.waitForSelector('#tooltip', { state: 'visible' });
    const tip = (await page.textContent('#tooltip')).split('\n');
    assert.match(tip[1], /^RX \d+(\.\d+)? (kbit|Mbit)\/s {2}peak /, tip.join(' | '));
    assert.match(tip[3], /^partial: \d+(\.\d)? (s|min|h|d) of 7 d so far/, tip.join(' | '));
    assert.match(await page.textContent('#info'), /newest point partial: \d+(\.\d)? (s|min|h|d) of 7 d/);
    assert.doesNotMatch(await page.textContent('#legend'), /peak —/, 'the window\'s peak includes the newest point');
    await shot(page, 'partial-10y');
    noErrors(page);
  });

  it('partly known points (a per-point "known" share) are drawn faint; the known share is never rounded up', async () => {
    const page = await newPage(S);
    // The server's answer with a per-point known share added: half known in the first half of the window.
    await page.route('**/api/series?*', async (route) => {
      const response = await route.fetch();
      const j = await response.json();
      j.known = j.rx.map((v, i) => (j.t0 + i * j.step < j.start + (j.end - j.start) / 2 ? j.step / 2 : j.step));
      j.summary.known = 0.9996;
      await route.fulfill({ response, json: j });
    });
    await page.goto(`${S.base}/?range=15m&refresh=0`);
    await waitLoads(page);
    const p = await plot(page);
    assert.match(await page.textContent('#legend'), /known 99\.9 %/);
    const faint = over([153, 230, 187, 0xb0 / 255 * 0.4], BG_DARK);
    const left = await pixels(page, [RX_FILL_AREA, faint], 4, BG_DARK, [p.x + p.w * 0.1, p.x + p.w * 0.4]);
    const right = await pixels(page, [RX_FILL_AREA, faint], 4, BG_DARK, [p.x + p.w * 0.6, p.x + p.w * 0.9]);
    assert.ok(left.c[1].n > 100 && left.c[0].n === 0, `faint in the first half: ${JSON.stringify(left.c)}`);
    assert.ok(right.c[0].n > 100 && right.c[1].n === 0, `full in the second half: ${JSON.stringify(right.c)}`);
    await page.mouse.move(p.left + p.x + p.w * 0.25, p.top + p.y + p.h / 2);
    await page.waitForSelector('#tooltip', { state: 'visible' });
    assert.match(await page.textContent('#tooltip'), /\npartial: 50 % known$/);
    await shot(page, 'known-shares');
    noErrors(page);
  });

  it('log: the axis fits the data', async () => {
    const page = await newPage(S);
    await page.goto(`${S.base}/?range=15m&log=1&refresh=0`);
    await waitLoads(page);
    const p = await plot(page);
    const j = await S.api(`/api/series?start=${p.vs}&end=${p.ve}&points=${p.n}`);
    const known = [...j.rx, ...j.tx].filter((v) => v > 0);
    const [least, most] = [Math.min(...known), Math.max(...known)];
    measured['log axis'] = { bottom: p.ymin, top: p.ymax, least, most };
    assert.ok(p.ymin <= least && p.ymin > least / 5, `bottom ${p.ymin} for data from ${least}`);
    assert.ok(p.ymax >= most && p.ymax < most * 5, `top ${p.ymax} for data up to ${most}`);
    // The data fills the plot: RX's top (the highest over 15 columns: the simulated rate varies) is in the upper
    // half (the top is a nice value up to 5 times the largest, checked above), TX's level in the lower part.
    const tops = [];
    for (let i = 1; i < 16; i++) tops.push(await topmost(page, p.x + p.w * i / 16, [BG_DARK, GRID_DARK, [96, 104, 120]]));
    const top = Math.min(...tops);
    assert.ok(top < p.y + p.h / 2, `RX drawn up to y=${top} of ${p.y}..${p.y + p.h}`);
    const y = (v) => p.y + p.h * (1 - Math.log10(v / p.ymin) / Math.log10(p.ymax / p.ymin));
    assert.ok(y(least) > p.y + p.h * 0.6, 'the smallest value sits low in the plot');
    await shot(page, 'log');
    noErrors(page);
  });

  it('smooth: the peak band follows the smoothed curve (no floating bars)', async () => {
    const page = await newPage(S);
    await page.goto(`${S.base}/?range=1h&smooth=1&refresh=0`);
    await waitLoads(page);
    const p = await plot(page);
    assert.ok(p.step > 1 && p.step < 60, `peaks at a step under the smoothing: ${p.step}`);
    let gaps = 0;
    let columns = 0;
    for (let k = 0; k < 60; k++) {
      const x = Math.round(p.x + p.w * (0.08 + k * 0.013));
      // The top of the drawing, past the grid lines' antialiased pixels above it.
      const top = await topmost(page, x, [BG_DARK, GRID_DARK, [96, 104, 120]]);
      if (top === null) continue;
      const px = await column(page, x);
      const first = Math.round(top - Math.ceil(p.y));
      columns++;
      // Below the top of the drawing, down to the zero line, only the band, the curve and the areas: no background.
      if (px.slice(first, px.length - 2).some((c) => near(c, BG_DARK, 0))) gaps++;
    }
    assert.ok(columns > 40, `${columns} columns with data`);
    assert.equal(gaps, 0, `${gaps} columns with background between the band and the curve`);
    await shot(page, 'smooth-band');
    noErrors(page);
  });

  it('mirror: the lower end is just below the largest TX value, not rounded to a whole tick', async () => {
    const page = await newPage(S);
    await page.goto(`${S.base}/?range=15m&style=mirror&refresh=0`);
    await waitLoads(page);
    const p = await plot(page);
    const j = await S.api(`/api/series?start=${p.vs}&end=${p.ve}&points=${p.n}`);
    const most = Math.max(...j.tx.filter((v) => v !== null), ...(j.tx_peak || []).filter((v) => v !== null));
    measured.mirror = { bottom: p.ymin, largestTx: most, top: p.ymax };
    assert.ok(p.ymin >= most && p.ymin <= most * 1.05, `lower end ${p.ymin} for TX up to ${most}`);
    noErrors(page);
  });

  it('theme colours: text contrast (WCAG AA) and the graph\'s colour pairs, in dark and classic', async () => {
    const results = {};
    for (const theme of ['dark', 'classic']) {
      const page = await newPage(S);
      // A stale router with a reason (so that the readout's dimmed figures, the reason and the graph's note show).
      await page.route('**/api/live', async (route) => {
        const response = await route.fetch();
        const j = await response.json();
        for (const f of j.interfaces) {
          f.ts = j.now - 40;
          f.error = 'router: connection refused';
        }
        await route.fulfill({ response, json: j });
      });
      await page.goto(`${S.base}/?range=24h&refresh=0&theme=${theme}`);
      await waitLoads(page);
      await page.waitForFunction(() => document.getElementById('live').dataset.h === 'stale');
      const p = await plot(page);
      await page.mouse.move(p.left + p.x + p.w / 2, p.top + p.y + p.h / 2);
      await page.waitForSelector('#tooltip', { state: 'visible' });
      await page.click('#copy-link');
      await page.waitForFunction(() => document.getElementById('copy-link').textContent === '✓ Copied');
      const texts = await textContrasts(page);
      await shot(page, `contrast-${theme}`);
      await page.keyboard.press('?');
      await page.waitForSelector('#help', { state: 'visible' });
      texts.push(...(await textContrasts(page)).filter((t) => !texts.some((u) => u.text === t.text && u.id === t.id)));
      await page.keyboard.press('Escape');
      const low = texts.filter((t) => t.ratio < t.need);
      assert.ok(texts.length > 30, `${texts.length} texts checked`);
      assert.deepEqual(low, [], `${theme}: text below WCAG AA`);
      // The canvas: its text, lines and edges against the plot; the peak band against the average area.
      const c = Object.fromEntries(Object.entries(await plotColors(page)).map(([k, v]) => [k, parseColor(v)]));
      const bg = c['plot-bg'];
      const pairs = {
        'axis text': [contrast(c['axis-text'], bg), 4.5],
        'axis unit': [contrast(c['axis-unit'], bg), 4.5],
        'RX line': [contrast(c['rx-line'], bg), 3],
        'TX line': [contrast(c['tx-line'], bg), 3],
        'RX edge': [contrast(c['rx-edge'], bg), 3],
        'TX edge': [contrast(c['tx-edge'], bg), 3],
      };
      for (const d of ['rx', 'tx']) {
        const band = over(c[`${d}-band`], bg);
        pairs[`${d} band / area`] = [contrast(band, over([...c[`${d}-fill`].slice(0, 3), 0xb0 / 255], bg)), 3];
        pairs[`${d} band / mirror area`] = [contrast(band, c[`${d}-fill`]), 3];
        // 3:1 against both the area and the background is impossible with the original's translucent dark areas;
        // the band must still stand out from the background.
        pairs[`${d} band / background`] = [contrast(band, bg), 1.5];
      }
      // The same pair as drawn: pixels of the band and of the area below it, in columns where the band is tall (and no
      // grid line or faint neighbour shows; see pointColumn).
      const j = await S.api(`/api/series?start=${p.vs}&end=${p.ve}&points=${p.n}`);
      const y = (v) => p.y + (p.ymax - v) / p.ymax * p.h;
      const drawn = [];
      for (let i = Math.floor(j.rx.length * 0.1); i < j.rx.length * 0.7 && drawn.length < 5; i += 7) {
        const [avg, peak] = [j.rx[i], j.rx_peak[i]];
        const x = pointColumn(p, j, i);
        if (x === null || y(avg) - y(peak) < 10) continue;
        const px = await column(page, x);
        const band = mode(px, (y(peak) + y(avg)) / 2 - p.y - 2, (y(peak) + y(avg)) / 2 - p.y + 2);
        const area = mode(px, y(avg / 2) - p.y - 3, y(avg / 2) - p.y + 3);
        drawn.push(contrast(band, area));
      }
      assert.ok(drawn.length >= 3, 'columns with a tall band');
      pairs['RX band / area as drawn'] = [Math.min(...drawn), 3];
      results[theme] = Object.fromEntries(Object.entries(pairs).map(([k, [r, need]]) => [k, { ratio: Math.round(r * 100) / 100, need }]));
      results[theme].lowestText = texts.reduce((a, b) => (a.ratio < b.ratio ? a : b));
      const failing = Object.entries(results[theme]).filter(([, v]) => v.need && v.ratio < v.need);
      assert.deepEqual(failing, [], `${theme}: colour pairs below their minimum`);
      noErrors(page);
      await page.context().close();
    }
    measured.contrast = results;
    fs.writeFileSync(path.join(ARTIFACTS, 'contrast.json'), `${JSON.stringify(results, null, 2)}\n`);
  });

  it('DST: ticks stay on the local clock and every local midnight is labelled (Berlin, New York)', async () => {
    for (const zone of ['Europe/Berlin', 'America/New_York']) {
      const page = await newPage(S, { timezoneId: zone });
      await page.goto(`${S.base}/?range=5m&refresh=0`);
      await waitLoads(page);
      // The last two changes of the UTC offset before now (one in spring, one in autumn), found by the browser.
      const changes = await page.evaluate(() => {
        const offset = (t) => new Date(t * 1000).getTimezoneOffset();
        const found = [];
        let t = Math.floor(Date.now() / 3600000) * 3600;
        while (found.length < 2 && t > Date.now() / 1000 - 2 * 366 * 86400) {
          if (offset(t - 3600) !== offset(t)) found.push(t);
          t -= 3600;
        }
        return found;
      });
      assert.equal(changes.length, 2, `${zone}: two offset changes found`);
      for (const change of changes) {
        for (const [span, step, kind] of [[259200, 21600, 'hours'], [864000, 86400, 'days'], [7200, 600, 'minutes']]) {
          const vs = change - span / 2;
          const ve = change + span / 2;
          await page.goto(`${S.base}/?start=${vs}&end=${ve}&refresh=0`);
          await waitLoads(page);
          const p = await plot(page);
          assert.deepEqual([p.vs, p.ve], [vs, ve]);
          // The ticks the local clock calls for, from Node's time zone data: whole local multiples of the step.
          const want = [];
          for (let t = Math.ceil(vs / 60) * 60; t <= ve; t += 60) {
            const l = local(t, zone);
            const minutes = l.hour * 60 + l.minute;
            if (l.second === 0 && minutes % (step / 60) === 0) want.push(t);
          }
          const got = p.xticks.map(([t]) => t);
          assert.deepEqual(got, want, `${zone} ${kind} around ${new Date(change * 1000).toISOString()}`);
          for (const [t, x, label] of p.xticks) {
            const l = local(t, zone);
            const midnight = l.hour === 0 && l.minute === 0;
            const expected = midnight ? `${l.day} ${l.month}` : `${String(l.hour).padStart(2, '0')}:${String(l.minute).padStart(2, '0')}`;
            assert.equal(label, expected, `${zone}: label of ${t}`);
            // At its place: the grid line at the tick's x, in the empty top rows of the plot.
            assert.equal(x, Math.round(p.x + (t - vs) / (ve - vs) * p.w) + 0.5);
            const [px] = (await column(page, Math.floor(x))).slice(2, 3);
            assert.ok(near(px, GRID_DARK, 12) || near(px, [96, 104, 120], 12), `grid line at x=${x} for ${label}: ${px}`);
          }
          const midnights = p.xticks.filter(([t]) => local(t, zone).hour === 0 && local(t, zone).minute === 0);
          if (kind !== 'minutes') assert.ok(midnights.length >= (kind === 'days' ? 9 : 2), `${zone}: ${midnights.length} day labels`);
          if (change === changes[0] && kind === 'hours') await shot(page, `dst-${zone.replace('/', '-')}`);
        }
      }
      noErrors(page);
      await page.context().close();
    }
  });
});
