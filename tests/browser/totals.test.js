// Browser tests of the totals page (/totals) and of the graph page's accounting parts, in headless Chromium against the
// real daemon, whose WAN interface has a billing day and a quota: the days of the month and the months of the year
// against /api/totals (exact bytes on hover, the unknown share, the bars), the hours of a day and the years on demand,
// previous and next period, the billing cycle's quota gauge, the "Download CSV" links and their answers, the 95th
// percentile of the visible window in the graph's legend against /api/stats (asked once per view, not per refresh),
// a 360 px phone and both themes. Figures are compared with what the API answers just before and just after the page
// asked (the period holding now grows while the test runs), never with numbers written here.
'use strict';
const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { ARTIFACTS, startStack, untilLive, newPage, until, waitLoads, plot, contrast, parseColor, over, closePages } = require('./harness');

const WAN = 'sim/ether1';
const Q = `iface=${encodeURIComponent(WAN)}`;
const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
const sp = (page) => new URL(page.url()).searchParams;
const noErrors = (page) => assert.deepEqual(page.errors, [], 'console errors, page errors or CSP violations');

/** A volume as the page writes it (SI, base 1000), written here independently of the page. */
function bytes(v) {
  const k = Math.min(4, Math.max(0, Math.floor(Math.log10(Math.max(v, 1)) / 3)));
  return `${(v / 1000 ** k).toFixed(k ? 2 : 0)} ${['', 'k', 'M', 'G', 'T'][k]}B`;
}

/** A rate as the page writes it. */
function bits(v) {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)} Gbit/s`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} Mbit/s`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} kbit/s`;
  return `${Math.round(v)} bit/s`;
}

/** A share as the page writes it: whole, else one decimal rounded down. */
function share(s) {
  const p = s * 100;
  if (Math.abs(p - Math.round(p)) < 1e-9) return `${Math.round(p)} %`;
  return `${(Math.floor(p * 10 + 1e-7) / 10).toFixed(1)} %`;
}

/** The digits of an exact-bytes title ("1,234,567 bytes") as a number. */
const exact = (title) => {
  assert.match(title, /^[\d,]+ bytes$/, title);
  return Number(title.replace(/\D/g, ''));
};

/** The table as shown: per row its start, label, the exact bytes on hover, the texts, the unknown cell and the bar. */
function table(page) {
  return page.$$eval('#rows tr', (trs) => trs.map((tr) => {
    const cell = (c) => tr.querySelector(`td.${c}`);
    const bar = tr.querySelector('.bar');
    return {
      start: +tr.dataset.start,
      label: tr.firstChild.textContent,
      link: tr.querySelector('a') ? tr.querySelector('a').getAttribute('href') : null,
      titles: ['rx', 'tx', 't'].map((c) => cell(c).title),
      texts: ['rx', 'tx', 't'].map((c) => cell(c).firstChild.textContent),
      unknown: cell('u').textContent,
      unknownTitle: cell('u').title,
      bar: bar ? [bar.getBoundingClientRect().width, ...[...bar.children].map((i) => i.getBoundingClientRect().width)] : null,
    };
  }));
}

const shown = (page) => page.evaluate(() => +(document.getElementById('rows').dataset.ld || 0));

/**
 * Runs `action` (which makes the page ask /api/totals `query` once), between two answers of the API to the same query,
 * and checks every row of the page against them: exact bytes within [before, after] (equal for rows that did not
 * change), the texts, the unknown share, the bars. Returns { rows, before, after }.
 */
async function checkTable(S, page, query, action) {
  const loads = await shown(page).catch(() => 0);
  const a1 = await S.api(`/api/totals?${query}`);
  await action();
  await page.waitForFunction((n) => +(document.getElementById('rows').dataset.ld || 0) > n, loads, { timeout: 15000 });
  const rows = await table(page);
  const a2 = await S.api(`/api/totals?${query}`);
  assert.equal(rows.length, a2.rows.length, 'one line per period');
  const max = Math.max(...rows.map((r) => exact(r.titles[2])));
  rows.forEach((row, i) => {
    const [p, q] = [a1.rows[i], a2.rows[i]];
    assert.equal(row.start, q.start);
    const values = row.titles.map(exact);
    const fields = [(r) => r.rx_bytes, (r) => r.tx_bytes, (r) => r.rx_bytes + r.tx_bytes];
    fields.forEach((f, k) => {
      assert.ok(f(p) <= values[k] && values[k] <= f(q), `${q.label}: ${values[k]} outside [${f(p)}, ${f(q)}]`);
      assert.equal(row.texts[k], bytes(values[k]), `${q.label}: the text of the exact value`);
    });
    if (q.seconds === 0) {
      assert.equal(row.unknown, '', `${q.label}: nothing of it has passed`);
    } else {
      const m = /^(\d+) s of (\d+) s unknown/.exec(row.unknownTitle);
      assert.ok(m, row.unknownTitle);
      const [unknown, seconds] = [+m[1], +m[2]];
      assert.ok(p.seconds <= seconds && seconds <= q.seconds, `${q.label}: ${seconds} s`);
      assert.ok(unknown >= 0 && seconds - unknown >= p.known_seconds && seconds - unknown <= q.known_seconds);
      assert.equal(row.unknown, share(unknown / seconds));
      if (p.seconds === q.seconds && p.known_seconds === q.known_seconds) {
        assert.equal(row.unknown, share((q.seconds - q.known_seconds) / q.seconds), `${q.label}: unknown share`);
      }
    }
    if (max > 0) {
      const [width, rx, tx] = row.bar;
      assert.ok(Math.abs(rx - width * values[0] / max) <= 1, `${q.label}: RX bar ${rx} of ${width}`);
      assert.ok(Math.abs(tx - width * values[1] / max) <= 1, `${q.label}: TX bar ${tx} of ${width}`);
    }
  });
  return { rows, before: a1, after: a2 };
}

describe('totals page', () => {
  let S;
  before(async () => {
    S = await startStack({ wan: 'billing_day = 28\nquota = "2 TB"\nquota_direction = "both"' });
    await untilLive(S);
  });
  afterEach(() => closePages(S));
  after(async () => {
    if (S) await S.stop();
  });

  it('days of the month and months of the year from /api/totals, exact bytes on hover, the unknown share', async () => {
    const page = await newPage(S);
    const { rows, after: answer } = await checkTable(S, page, `${Q}&period=days`, () => page.goto(`${S.base}/totals?${Q}`));
    assert.equal(await page.inputValue('#period'), 'days');
    assert.equal(await page.inputValue('#iface'), WAN);
    assert.ok(rows.length >= 28 && rows.length <= 31);
    rows.forEach((r, i) => assert.equal(r.label.slice(0, 2), answer.rows[i].label.slice(8), 'the day of the month'));
    // Some day holds traffic, and the days before the day-long history are all unknown.
    assert.ok(answer.rows.some((r) => r.rx_bytes > 0));
    const withData = answer.rows.findIndex((r) => r.known_seconds > 0);
    if (withData > 0 && answer.rows[withData - 1].seconds > 0) assert.equal(rows[withData - 1].unknown, '100 %');
    // Hovering shows the exact bytes (the title).
    const cell = page.locator('#rows td.rx').nth(Math.max(0, withData));
    await cell.hover();
    assert.equal(exact(await cell.getAttribute('title')), exact(rows[Math.max(0, withData)].titles[0]));
    // The period's line and note.
    const foot = await page.$$eval('#foot td', (tds) => tds.map((td) => td.title || td.textContent));
    assert.equal(foot.length, 4);
    const total = answer.total;
    assert.ok(exact(foot[0]) <= total.rx_bytes && exact(foot[0]) > 0);
    assert.match(await page.textContent('#note'), new RegExp(`Times in ${answer.timezone.replace(/[+]/g, '\\+')}\\.`));
    assert.match(await page.textContent('#note'), /Unknown: .* so far, not counted as traffic\./);
    await shot(page, 'totals-days');

    await checkTable(S, page, `${Q}&period=months`, () => page.selectOption('#period', 'months'));
    assert.equal(sp(page).get('period'), 'months');
    const months = await table(page);
    assert.equal(months.length, 12);
    assert.deepEqual(months.map((r) => r.label), 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' '));
    assert.equal(await page.textContent('#label-head'), 'Month');
    await shot(page, 'totals-months');
    noErrors(page);
    await page.context().close();
  });

  it('the hours of a day and the years on demand', async () => {
    const page = await newPage(S);
    const { after: days } = await checkTable(S, page, `${Q}&period=days`, () => page.goto(`${S.base}/totals?${Q}`));
    const today = days.rows.findIndex((r) => r.start < days.now && days.now <= r.end);
    const row = days.rows[today];
    const at = row.start + Math.floor((row.end - row.start) / 2);
    const link = page.locator('#rows tr').nth(today).locator('a');
    const hours = await checkTable(S, page, `${Q}&period=hours&at=${at}`, () => link.click());
    assert.equal(sp(page).get('period'), 'hours');
    assert.equal(sp(page).get('at'), String(at));
    assert.ok(hours.rows.length >= 23 && hours.rows.length <= 25, `${hours.rows.length} hours`);
    assert.equal(hours.rows[0].start, row.start, 'the first hour starts the day');
    // Back to the days (the browser's Back), then the years.
    const loads = await shown(page);
    await page.goBack();
    await page.waitForFunction((n) => +document.getElementById('rows').dataset.ld > n, loads);
    assert.equal(await page.inputValue('#period'), 'days');
    assert.equal((await table(page)).length, days.rows.length);
    const years = await checkTable(S, page, `${Q}&period=years`, () => page.selectOption('#period', 'years'));
    assert.ok(years.rows.length >= 1);
    assert.equal(await page.isDisabled('#prev'), true, 'every year is shown: no previous');
    assert.equal(await page.isDisabled('#next'), true);
    noErrors(page);
    await page.context().close();
  });

  it('previous and next period', async () => {
    const page = await newPage(S);
    const { after: now } = await checkTable(S, page, `${Q}&period=days`, () => page.goto(`${S.base}/totals?${Q}`));
    assert.equal(await page.isDisabled('#next'), true, 'no later month than now');
    assert.equal(await page.isDisabled('#this'), true);
    const title = await page.textContent('#period-title');
    const before = now.rows[0].start - 1;
    const prev = await checkTable(S, page, `${Q}&period=days&at=${before}`, () => page.click('#prev'));
    assert.equal(sp(page).get('at'), String(before));
    assert.equal(prev.after.rows[prev.after.rows.length - 1].end, now.rows[0].start, 'the month before');
    assert.notEqual(await page.textContent('#period-title'), title);
    assert.equal(await page.isDisabled('#next'), false);
    const later = prev.after.rows[prev.after.rows.length - 1].end + 1;
    const next = await checkTable(S, page, `${Q}&period=days&at=${later}`, () => page.click('#next'));
    assert.equal(sp(page).get('at'), String(later));
    assert.deepEqual(next.rows.map((r) => r.start), now.rows.map((r) => r.start), 'back to this month');
    assert.equal(await page.textContent('#period-title'), title);
    await checkTable(S, page, `${Q}&period=days`, () => page.click('#this'));
    assert.equal(sp(page).get('at'), null);
    noErrors(page);
    await page.context().close();
  });

  it('the billing cycle with its quota gauge, used, remaining and the projection', async () => {
    const page = await newPage(S);
    const { before: a1, after: a2 } = await checkTable(S, page, `${Q}&period=days`, () => page.goto(`${S.base}/totals?${Q}`));
    const [c1, c2] = [a1.cycle, a2.cycle];
    assert.ok(c2.quota, 'the config has a quota');
    assert.equal(c2.billing_day, 28);
    assert.equal(await page.isVisible('#cycle'), true);
    assert.equal(await page.isVisible('#gauge'), true);
    const used = await page.$$eval('#cycle-used b', (bs) => bs.map((b) => b.title));
    assert.equal(used.length, 3);
    assert.ok(c1.rx_bytes <= exact(used[0]) && exact(used[0]) <= c2.rx_bytes);
    assert.ok(c1.tx_bytes <= exact(used[1]) && exact(used[1]) <= c2.tx_bytes);
    const [q1, q2] = [c1.quota, c2.quota];
    const quota = await page.$$eval('#quota-text b', (bs) => bs.map((b) => b.title));
    const [u, total, remaining, projected] = quota.map(exact);
    assert.ok(q1.used <= u && u <= q2.used, `used ${u}`);
    assert.equal(total, q2.bytes);
    assert.ok(q2.remaining <= remaining && remaining <= q1.remaining, `remaining ${remaining}`);
    assert.ok(Math.min(q1.projected, q2.projected) * 0.999 <= projected
      && projected <= Math.max(q1.projected, q2.projected) * 1.001, `projected ${projected}`);
    const text = await page.textContent('#quota-text');
    assert.ok(text.includes(`${bytes(u)} of ${bytes(total)} (RX + TX) used, ${share(u / total)}`), text);
    if (q2.reached && q2.reached_at !== null) assert.match(text, /the quota was reached on \w+, \d+ \w+ \d{4}\.$/);
    else if (q2.reached) assert.match(text, /the quota is reached\.$/);
    else if (q2.reached_at !== null) assert.match(text, /the quota is reached on \w+, \d+ \w+ \d{4}\.$/);
    else assert.match(text, /within the quota\.$/);
    // The gauge: the used share filled, the projection marked.
    const g = await page.evaluate(() => {
      const box = (id) => document.getElementById(id).getBoundingClientRect();
      const gauge = document.getElementById('gauge');
      return { inner: gauge.clientWidth, left: box('gauge').left + gauge.clientLeft, used: box('gauge-used').width,
        mark: box('gauge-projected').left, over: gauge.classList.contains('over'), now: gauge.getAttribute('aria-valuenow') };
    });
    const fill = (n) => g.inner * Math.min(1, n / total);
    assert.ok(Math.abs(g.used - fill(u)) <= 1, `gauge ${g.used} of ${g.inner} for ${u} of ${total}`);
    assert.ok(Math.abs(g.mark - g.left - fill(projected)) <= 1.5, `projection mark at ${g.mark - g.left} of ${g.inner}`);
    assert.equal(g.over, q2.reached || projected > total);
    await shot(page, 'totals-quota');
    noErrors(page);
    await page.context().close();
  });

  it('Download CSV: the totals table\'s and the graph view\'s URLs, and their answers', async () => {
    const page = await newPage(S);
    await checkTable(S, page, `${Q}&period=months`, () => page.goto(`${S.base}/totals?${Q}&period=months`));
    const href = await page.getAttribute('#csv', 'href');
    assert.equal(href, `/api/totals?${Q}&period=months&format=csv`);
    assert.equal(await page.getAttribute('#csv', 'download'), '');
    let r = await fetch(S.base + href);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/csv/);
    let lines = (await r.text()).trim().split(/\r?\n/);
    assert.equal(lines[0], 'start_utc,start_local,end_local,rx_bytes,tx_bytes,total_bytes,known_seconds,seconds');
    assert.equal(lines.length, 13, 'a line per month');
    // After "previous", the link carries the period shown.
    const year = (await table(page))[0].start - 1;
    await checkTable(S, page, `${Q}&period=months&at=${year}`, () => page.click('#prev'));
    assert.equal(await page.getAttribute('#csv', 'href'), `/api/totals?${Q}&period=months&at=${year}&format=csv`);
    noErrors(page);
    await page.context().close();

    const graph = await newPage(S);
    await graph.goto(`${S.base}/?range=24h&refresh=0&${Q}`);
    await waitLoads(graph);
    const p = await plot(graph);
    const csv = await graph.getAttribute('#csv', 'href');
    assert.equal(csv, `/api/series?start=${p.vs}&end=${p.ve}&points=${p.n}&${Q}&format=csv`);
    r = await fetch(S.base + csv);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/csv/);
    lines = (await r.text()).trim().split(/\r?\n/);
    assert.equal(lines[0], 'time_utc,time_local,unix,rx_bit_per_s,tx_bit_per_s,rx_peak_bit_per_s,tx_peak_bit_per_s,known_seconds');
    assert.ok(lines.length > 2);
    noErrors(graph);
    await graph.context().close();
  });

  it('the legend shows the 95th percentile of the visible window, asked once per view', async () => {
    const page = await newPage(S);
    const asked = [];
    page.on('request', (q) => q.url().includes('/api/stats') && asked.push(new URL(q.url()).searchParams));
    await page.goto(`${S.base}/?range=24h&refresh=5&${Q}`);
    await waitLoads(page);
    const legend95 = (d) => page.evaluate((d) => {
      const item = [...document.querySelectorAll(`#legend [data-d=${d}] i`)].find((i) => i.firstChild.textContent === '95th');
      return item ? item.textContent.replace('95th', '').trim() : null;
    }, d);
    await until('the 95th percentile in the legend', () => legend95('rx'));
    const p = await plot(page);
    assert.equal(asked.length, 1);
    assert.deepEqual([asked[0].get('start'), asked[0].get('end'), asked[0].get('iface')], [String(p.vs), String(p.ve), WAN]);
    const stats = await S.api(`/api/stats?${Q}&start=${p.vs}&end=${p.ve}`);
    assert.ok(stats.p95, JSON.stringify(stats));
    assert.equal(await legend95('rx'), bits(stats.p95.rx));
    assert.equal(await legend95('tx'), bits(stats.p95.tx));
    await shot(page, 'graph-95th');
    // Two refreshes later, still one question; a new view asks again.
    await waitLoads(page, 3);
    assert.equal(asked.length, 1, 'not asked on a refresh');
    assert.ok(await legend95('rx'), 'kept across refreshes');
    await page.selectOption('#range', '7d');
    await until('the 7-day window\'s percentile', () => asked.length === 2 && legend95('rx'));
    const q = await plot(page);
    assert.equal(q.ve - q.vs, 7 * 86400);
    const week = await S.api(`/api/stats?${Q}&start=${asked[1].get('start')}&end=${asked[1].get('end')}`);
    await until('the legend of the new window', async () => (await legend95('rx')) === bits(week.p95.rx));
    noErrors(page);
    await page.context().close();
  });

  it('links between the graph and the totals', async () => {
    const page = await newPage(S);
    await page.goto(`${S.base}/?range=1h&refresh=0&${Q}`);
    await waitLoads(page);
    assert.equal(await page.evaluate(() => document.getElementById('totals-link').href), `${S.base}/totals?${Q}`);
    await page.click('#totals-link');
    await page.waitForURL((u) => u.pathname === '/totals');
    await page.waitForFunction(() => +(document.getElementById('rows').dataset.ld || 0) > 0);
    assert.equal(await page.inputValue('#iface'), WAN);
    await page.click('#graph-link');
    await page.waitForURL((u) => u.pathname === '/' && u.searchParams.get('iface') === WAN);
    await waitLoads(page);
    noErrors(page);
    await page.context().close();
  });

  it('a 360 px phone, dark and classic: everything fits, readable', async () => {
    const page = await newPage(S, { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await checkTable(S, page, `${Q}&period=days`, () => page.goto(`${S.base}/totals?${Q}`));
    for (const theme of ['dark', 'classic']) {
      const classic = await page.evaluate(() => document.documentElement.classList.contains('cl'));
      if (classic !== (theme === 'classic')) await page.click('#theme');
      await page.waitForFunction((c) => document.documentElement.classList.contains('cl') === c, theme === 'classic');
      const fit = await page.evaluate(() => ({
        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        table: document.querySelector('.totals').getBoundingClientRect().right,
        cycle: document.getElementById('cycle').getBoundingClientRect().right,
      }));
      await shot(page, `totals-360-${theme}`);
      assert.equal(fit.overflow, 0, `${theme}: no sideways scrolling`);
      assert.ok(fit.table <= 360 && fit.cycle <= 360, `${theme}: ${JSON.stringify(fit)}`);
      const colours = await page.evaluate(() => {
        const style = (e) => getComputedStyle(e);
        const cell = document.querySelector('#rows td.rx');
        const panel = cell.closest('.panel');
        return { text: style(cell).color, muted: style(document.getElementById('note')).color, panel: style(panel).backgroundColor,
          rx: style(document.querySelector('.bar .rx')).backgroundColor, bar: style(document.querySelector('.bar')).backgroundColor };
      });
      const panel = parseColor(colours.panel);
      assert.ok(contrast(over(parseColor(colours.text), panel), panel) >= 4.5, `${theme}: text contrast`);
      assert.ok(contrast(over(parseColor(colours.muted), panel), panel) >= 4.5, `${theme}: note contrast`);
      const bar = over(parseColor(colours.bar), panel);
      assert.ok(contrast(over(parseColor(colours.rx), bar), bar) >= 1.5, `${theme}: the bar stands out`);
    }
    assert.equal(sp(page).get('theme') !== null, true, 'a theme other than the server\'s is in the URL');
    noErrors(page);
    await page.context().close();
  });
});

describe('totals page, a quota already used up', () => {
  let S;
  before(async () => {
    S = await startStack({ wan: 'quota = "10 GB"\nquota_direction = "rx"' });
  });
  afterEach(() => closePages(S));
  after(async () => {
    if (S) await S.stop();
  });

  it('says the day the quota was crossed, the gauge full and red, RX only', async () => {
    const page = await newPage(S);
    const { after: answer } = await checkTable(S, page, `${Q}&period=days`, () => page.goto(`${S.base}/totals?${Q}`));
    const q = answer.cycle.quota;
    assert.equal(q.direction, 'rx');
    assert.ok(q.reached && q.reached_at !== null, JSON.stringify(q));
    assert.equal(q.remaining, 0);
    // The day it was crossed, in the server's zone, written here with Node's own time zone data.
    const day = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric',
      timeZone: answer.timezone }).format((q.reached_at - 1) * 1000);
    const text = await page.textContent('#quota-text');
    assert.ok(text.includes(' (RX) used, '), text);
    assert.ok(text.endsWith(`; the quota was reached on ${day}.`), text);
    const g = await page.evaluate(() => {
      const gauge = document.getElementById('gauge');
      return { inner: gauge.clientWidth, used: document.getElementById('gauge-used').getBoundingClientRect().width,
        over: gauge.classList.contains('over'), colour: getComputedStyle(document.getElementById('gauge-used')).backgroundColor,
        bad: getComputedStyle(document.getElementById('error')).color };
    });
    assert.ok(Math.abs(g.used - g.inner) <= 1, `full: ${g.used} of ${g.inner}`);
    assert.equal(g.over, true);
    assert.equal(g.colour, g.bad, 'drawn in the theme\'s warning colour');
    await shot(page, 'totals-quota-reached');
    noErrors(page);
    await page.context().close();
  });
});
