// Test fixtures of the browser tests: pre-fills an RRD file with a day of history, starts the simulator and the real
// mt-trafmon daemon on 127.0.0.1 (the daemon continues that file live), launches Debian's
// headless Chromium (never a downloaded browser), and offers page helpers (pixel counts, plot rectangle, waits).
// Nothing here sends traffic anywhere but loopback. Used by page.test.js; run through scripts/test-browser.sh.
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const ROOT = path.resolve(__dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'target', 'browser-artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Polls `fn` until it returns a truthy value; throws with `what` after `ms`. */
async function until(what, fn, ms = 15000, every = 100) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Debian's Chromium, headless, no background traffic (it would try the closed network). Playwright gives launch() a fresh
 * temporary --user-data-dir itself (and refuses one in args). */
function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

function spawnLogged(bin, args, logFile) {
  const log = fs.openSync(logFile, 'a');
  return spawn(bin, args, { stdio: ['ignore', 'pipe', log], env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info' } });
}

/** Starts routeros-sim; resolves with { proc, port } once it printed its address. */
function startSim(dir) {
  const proc = spawnLogged(path.join(ROOT, 'target', 'debug', 'routeros-sim'), [], path.join(dir, 'sim.log'));
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('routeros-sim did not print its address')), 10000);
    proc.once('exit', (c) => reject(new Error(`routeros-sim exited with ${c}`)));
    proc.stdout.on('data', (b) => {
      out += b;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ proc, port: +m[1] });
      }
    });
  });
}

// The compact profile's layout (src/store.rs, Profile::Compact); the daemon refuses a file laid out otherwise.
const COMPACT = ['DS:rx:GAUGE:3:0:U', 'DS:tx:GAUGE:3:0:U', 'RRA:AVERAGE:0.5:1:691200', 'RRA:AVERAGE:0.5:10:267840',
  'RRA:AVERAGE:0.5:60:527040', 'RRA:MAX:0.5:60:527040', 'RRA:AVERAGE:0.5:3600:87840', 'RRA:MAX:0.5:3600:87840'];
const HISTORY = 26 * 3600;
const GAP = [3 * 3600, 3 * 3600 - 600]; // seconds before now: ten minutes without data

/**
 * Pre-fills `file` with 26 hours of 1 s samples ending a second ago (the daemon only collects live, and coarse windows
 * need history to show peaks): a slow wave with 1 s noise on RX, a smooth wave on TX, and one ten-minute gap.
 * Uses Debian's rrdtool CLI, in batches; well under a second.
 */
function prefill(file) {
  const end = Math.floor(Date.now() / 1000) - 1;
  const start = end - HISTORY;
  execFileSync('rrdtool', ['create', file, '--start', String(start - 1), '--step', '1', ...COMPACT]);
  let batch = [];
  let seed = 1;
  const noise = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  for (let t = start; t <= end; t++) {
    if (t > end - GAP[0] && t <= end - GAP[1]) continue;
    const rx = Math.round(2e7 + 1e7 * Math.sin(t / 3000) + 8e6 * noise());
    const tx = Math.round(2e6 + 1e6 * Math.sin(t / 2000));
    batch.push(`${t}:${rx}:${tx}`);
    if (batch.length === 8000 || t === end) {
      execFileSync('rrdtool', ['update', file, ...batch]);
      batch = [];
    }
  }
}

/** Waits until the daemon of stack `S` shows a live sample, under 3 s old, for every interface. */
async function untilLive(S) {
  await until('live samples on every interface', async () => {
    const j = await S.api('/api/live');
    return j.interfaces.every((f) => f.ts !== null && j.now - f.ts < 3);
  }, 30000, 250);
}

/**
 * The whole stack: simulator, daemon (web server on a free loopback port), Chromium. `web`: more lines for the config's
 * [web] section (setup.test.js: the admin password); `wan`: more config lines for the first interface (sim/ether1,
 * label WAN), such as its billing day and quota (totals.test.js).
 * Returns { base, browser, sim, daemon, dir, config (the config file's path), api(path), startDaemon(flags),
 * stopDaemon(), stop() }.
 */
async function startStack({ web = '', wan: wanLines = '' } = {}) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-trafmon-browser-'));
  if (process.env.MT_TEST_URL) return external(dir, process.env.MT_TEST_URL);
  const sim = await startSim(dir);
  const webPort = await freePort();
  const wan = path.join(dir, 'sim-ether1.rrd');
  prefill(wan);
  const config = path.join(dir, 'mt-trafmon.toml');
  fs.writeFileSync(config, `# written by tests/browser/harness.js
[storage]
data_dir = "${dir}"
profile = "compact"

[[router]]
name = "sim"
host = "127.0.0.1"
port = ${sim.port}
user = "admin"
password = "secret"

[[router.interface]]
name = "ether1"
label = "WAN"
rrd = "${wan}"
${wanLines}

[[router.interface]]
name = "ether2"

[web]
listen = "127.0.0.1"
port = ${webPort}
title = "Test Monitor"
${web}`);
  const base = `http://127.0.0.1:${webPort}`;
  const api = async (p) => {
    const r = await fetch(base + p);
    if (!r.ok) throw new Error(`${p}: HTTP ${r.status} ${await r.text()}`);
    return r.json();
  };
  const stack = { base, sim, daemon: null, dir, config, api };
  /**
   * Starts the daemon (again, after a test stopped it: same config, same port; `flags` before --config, e.g. ['-w'])
   * and waits until it answers.
   */
  stack.startDaemon = async (flags = []) => {
    const daemon = spawnLogged(path.join(ROOT, 'target', 'debug', 'mt-trafmon'), [...flags, '--config', config],
      path.join(dir, 'daemon.log'));
    let daemonExit = null;
    daemon.exited = new Promise((resolve) => daemon.once('exit', (c, s) => { daemonExit = c ?? s; resolve(); }));
    stack.daemon = daemon;
    await until('the daemon to answer /api/interfaces', async () => {
      if (daemonExit !== null) throw new Error(`mt-trafmon exited (${daemonExit}); see ${dir}/daemon.log:\n${fs.readFileSync(path.join(dir, 'daemon.log'), 'utf8').slice(-2000)}`);
      return api('/api/interfaces');
    }, 20000);
  };
  /** Stops the daemon (SIGTERM) and waits until it has exited. */
  stack.stopDaemon = async () => {
    stack.daemon.kill('SIGTERM');
    await stack.daemon.exited;
  };
  await stack.startDaemon();
  const browser = await launch();
  stack.browser = browser;
  stack.stop = async (keepLogs) => {
    await browser.close().catch(() => {});
    for (const p of [sim.proc, stack.daemon]) {
      if (p.exitCode === null && p.signalCode === null) {
        try { p.kill('SIGCONT'); p.kill('SIGTERM'); } catch { /* already gone */ }
      }
    }
    for (const f of ['daemon.log', 'sim.log']) {
      try { fs.copyFileSync(path.join(dir, f), path.join(ARTIFACTS, f)); } catch { /* not written */ }
    }
    if (!keepLogs) fs.rmSync(dir, { recursive: true, force: true });
  };
  return stack;
}

/** Development aid: MT_TEST_URL=http://127.0.0.1:PORT runs the page tests against a daemon already running there
 * (loopback only); the tests that stop the simulator or the daemon are skipped then. scripts/test-browser.sh never sets it. */
async function external(dir, base) {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(base)) throw new Error('MT_TEST_URL must be http://127.0.0.1:PORT');
  const browser = await launch();
  const api = async (p) => (await fetch(base + p)).json();
  return { base, browser, sim: null, daemon: null, dir, api, stop: async () => { await browser.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

/**
 * A fresh page (own context, clipboard allowed) that fails the test on any console error, page error or CSP violation.
 * `errors` collects them; the caller asserts it is empty.
 */
async function newPage(stack, opts = {}) {
  const ctx = await stack.browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, ...opts });
  (stack.contexts = stack.contexts || []).push(ctx);
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.base });
  const page = await ctx.newPage();
  page.errors = [];
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

/** Number of completed data loads of the page's graph. */
const loads = (page) => page.evaluate(() => +(document.getElementById('cv').dataset.ld || 0));

/** Waits until the graph has been drawn from data `n` times or more. */
async function waitLoads(page, n = 1) {
  await page.waitForFunction((n) => +(document.getElementById('cv').dataset.ld || 0) >= n, n, { timeout: 15000 });
}

/**
 * The plot rectangle (CSS px, relative to the canvas), the view window and series layout the page exposes on the canvas:
 * ymax/ymin the scale's ends (ymin: mirror's lower end, or log's bottom), partial the index of the newest, unfinished
 * point drawn, empty the "unknown" text when nothing is known, nodata the time the hatched no-data tail starts from,
 * xticks the time ticks [time, x, label].
 */
async function plot(page) {
  return page.evaluate(() => {
    const c = document.getElementById('cv');
    const b = c.getBoundingClientRect();
    const d = c.dataset;
    return { left: b.left, top: b.top, x: +d.px, y: +d.py, w: +d.pw, h: +d.ph, vs: +d.vs, ve: +d.ve, step: +d.step, t0: +d.t0, n: +d.n, lu: +d.lu,
      ymax: +d.top, ymin: +d.bottom, partial: d.partial === '' || d.partial === undefined ? null : +d.partial, empty: d.empty ?? null,
      nodata: d.nodata === undefined ? null : +d.nodata, xticks: JSON.parse(d.xticks || '[]') };
  });
}

/**
 * The CSS x of the middle of point i of the /api/series answer `j` (asked for the window of `p` = plot(page)), or null
 * when its column shows more than point i's own drawing: point i or a neighbour is not fully known (drawn faint, or
 * beside a gap), or the column is within 2 px of a time-grid line (the grid shows through the translucent areas, and it
 * crosses the value-grid lines above them in a blended colour).
 */
function pointColumn(p, j, i) {
  if (i < 1 || i + 1 >= j.rx.length || [i - 1, i, i + 1].some((k) => j.known[k] !== j.step)) return null;
  const x = p.x + (j.start + (i + 0.5) * j.step - p.vs) / (p.ve - p.vs) * p.w;
  return p.xticks.every(([, tickX]) => Math.abs(x - tickX) >= 2) ? x : null;
}

/**
 * Counts canvas pixels inside the plot rectangle (or only its columns cols = [x0, x1), CSS px) within `tol` of each RGB
 * colour in `colours`;
 * returns { total, bgShare (share of pixels equal to `bg`), c: [{ n, meanY (CSS px) }] }.
 */
async function pixels(page, colours, tol = 6, bg = [26, 29, 38], cols = null) {
  return page.evaluate(([colours, tol, bg, cols]) => {
    const c = document.getElementById('cv');
    const d = c.dataset;
    const r = c.width / c.getBoundingClientRect().width;
    const x0 = cols ? Math.round(cols[0] * r) : Math.ceil(+d.px * r) + 2;
    const y0 = Math.ceil(+d.py * r) + 2;
    const w = cols ? Math.max(1, Math.round((cols[1] - cols[0]) * r)) : Math.floor(+d.pw * r) - 4;
    const h = Math.floor(+d.ph * r) - 4;
    const px = c.getContext('2d').getImageData(x0, y0, w, h).data;
    const out = colours.map(() => ({ n: 0, sy: 0 }));
    let same = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i] === bg[0] && px[i + 1] === bg[1] && px[i + 2] === bg[2]) same++;
      colours.forEach((k, j) => {
        if (Math.abs(px[i] - k[0]) <= tol && Math.abs(px[i + 1] - k[1]) <= tol && Math.abs(px[i + 2] - k[2]) <= tol) {
          out[j].n++;
          out[j].sy += Math.floor(i / 4 / w);
        }
      });
    }
    return { total: w * h, bgShare: same / (w * h), c: out.map((o) => ({ n: o.n, meanY: o.n ? o.sy / o.n / r : NaN })) };
  }, [colours, tol, bg, cols]);
}

/**
 * The y (CSS px, canvas coordinates) of the highest pixel in the column at CSS x that is neither the background
 * `ignore[0]` nor one of the line colours `ignore[1..]` (grid lines), each within `tol`, nor within 3 of a blend of a
 * line colour over the background (a line's antialiased pixel: Chromium draws parts of the 1 px grid lines at partial
 * coverage; the tight bound keeps the faint top edge of a drawing), scanning down from the top of the plot; null if
 * the column is empty.
 */
async function topmost(page, x, ignore, tol = 10) {
  return page.evaluate(([x, ignore, tol]) => {
    const c = document.getElementById('cv');
    const d = c.dataset;
    const r = c.width / c.getBoundingClientRect().width;
    const y0 = Math.ceil(+d.py * r) + 2;
    const h = Math.floor(+d.ph * r) - 4;
    const px = c.getContext('2d').getImageData(Math.round(x * r), y0, 1, h).data;
    const [bg, ...lines] = ignore;
    const near = (p, q, within) => q.every((v, j) => Math.abs(v - p[j]) <= within);
    // The point of the segment from the background to `line` nearest to p.
    const blend = (p, line) => {
      const dir = line.map((v, j) => v - bg[j]);
      const along = dir.reduce((a, v, j) => a + v * (p[j] - bg[j]), 0) / dir.reduce((a, v) => a + v * v, 0);
      const share = Math.min(1, Math.max(0, along));
      return bg.map((v, j) => v + share * dir[j]);
    };
    for (let k = 0; k < h; k++) {
      const p = px.slice(k * 4, k * 4 + 3);
      const ignored = near(p, bg, tol) || lines.some((line) => near(p, line, tol) || near(p, blend(p, line), 3));
      if (!ignored) return (y0 + k) / r;
    }
    return null;
  }, [x, ignore, tol]);
}

/** The canvas pixels [r, g, b] of the column at CSS x, from the top of the plot to its bottom, one per CSS px. */
async function column(page, x, selector = '#cv') {
  return page.evaluate(([x, selector]) => {
    const c = document.querySelector(selector);
    const d = c.dataset;
    const r = c.width / c.getBoundingClientRect().width;
    const out = [];
    const px = c.getContext('2d').getImageData(Math.round(x * r), 0, 1, c.height).data;
    for (let y = Math.ceil(+d.py); y < +d.py + +d.ph; y++) {
      const k = Math.round(y * r) * 4;
      out.push([px[k], px[k + 1], px[k + 2]]);
    }
    return out;
  }, [x, selector]);
}

/** WCAG 2 relative luminance of [r, g, b] (0-255). */
function luminance(rgb) {
  const [r, g, b] = rgb.map((v) => { const c = v / 255; return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio of two [r, g, b] colours. */
function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** A CSS colour as the browser computes it ("rgb(…)", "rgba(…)") to [r, g, b, a]. */
function parseColor(text) {
  const m = /rgba?\(([^)]+)\)/.exec(text);
  if (!m) throw new Error(`not a computed colour: ${text}`);
  const v = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
  return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
}

/** `top` (with its alpha) over the opaque `under`. */
function over(top, under) {
  const a = top[3] ?? 1;
  return [0, 1, 2].map((i) => Math.round(top[i] * a + under[i] * (1 - a)));
}

/**
 * Closes the pages `newPage` opened for `stack` (each test's, from `afterEach`): pages left open keep polling and keep
 * their connections, and a browser context per test adds up to the server's 32 connections per client address.
 */
async function closePages(stack) {
  const contexts = (stack && stack.contexts) || [];
  stack && (stack.contexts = []);
  await Promise.all(contexts.map((ctx) => ctx.close().catch(() => {})));
}

module.exports = { closePages, GAP, HISTORY, ARTIFACTS, freePort, startStack, untilLive, newPage, until, waitLoads, loads, plot,
  pointColumn, pixels, topmost, column, luminance, contrast, parseColor, over };
