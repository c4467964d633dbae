// Browser tests of the settings page (/setup, web/setup.html + setup.js) in headless Chromium against the real daemon
// collecting from routeros-sim on 127.0.0.1: no admin password (the page only says how to set one), login with a wrong
// then the right password, the title changed and shown by the graph page, an interface picked from the router's list
// and collected, a changed host without the password typed again refused (by the page and by the server), posts from
// another origin refused, a hand edit of the file between load and save refused with the form kept, a port change that
// takes the browser to the new port, logout, login throttling, the 360 px layout, and that no answer of the settings
// routes ever carries the router's password. The tests run in order and share one daemon (and its config file).
'use strict';
const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { ARTIFACTS, freePort, startStack, newPage, until, closePages } = require('./harness');

const ADMIN = 'correct horse battery staple';
/** The router password the harness writes into the config; no answer of the settings routes may contain it. */
const ROUTER_PASSWORD = 'secret';

/**
 * The stored form `mt-trafmon passwd` writes, made here independently with Node's crypto: PBKDF2-HMAC-SHA256 with a
 * random 16-byte salt and 1000 rounds (the fewest the daemon accepts: the tests' logins stay fast).
 */
function adminHash(password) {
  const salt = crypto.randomBytes(16);
  const hash = crypto.pbkdf2Sync(password, salt, 1000, 32, 'sha256');
  return `pbkdf2-sha256$1000$${salt.toString('base64')}$${hash.toString('base64')}`;
}

const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
// Answers with an error status are expected here (401, 409, 422, 429, 403), and Chromium logs each as a console error;
// so do the polls of an address that stopped answering after a move. Anything else (CSP violations, script errors)
// fails the test.
const EXPECTED = /^Failed to load resource: (the server responded with a status of (40[01349]|422|429)|net::ERR_CONNECTION_REFUSED)/;
const noErrors = (page) => assert.deepEqual(page.errors.filter((e) => !EXPECTED.test(e)), [], 'console, page or CSP errors');
const text = (page, selector) => page.evaluate((s) => document.querySelector(s).textContent, selector);
const visible = (page, selector) => page.evaluate((s) => {
  const e = document.querySelector(s);
  return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0;
}, selector);
const value = (page, selector) => page.evaluate((s) => document.querySelector(s).value, selector);

describe('the settings page', () => {
  let S;
  let base; // the daemon's address (it moves in the port test)
  const bodies = []; // [url, status, body] of every answer of the settings routes seen by a page
  const metrics = {};
  const api = async (p) => {
    const r = await fetch(base + p);
    if (!r.ok) throw new Error(`${p}: HTTP ${r.status} ${await r.text()}`);
    return r.json();
  };
  const configText = () => fs.readFileSync(S.config, 'utf8');

  /** A page whose answers from the settings routes are kept for the password check. */
  async function open(opts) {
    const page = await newPage(S, opts);
    page.on('response', async (response) => {
      const url = response.url();
      if (!/\/(setup|api\/setup\/)/.test(new URL(url).pathname)) return;
      try {
        bodies.push([url, response.status(), await response.text()]);
      } catch {
        bodies.push([url, response.status(), '']); // a redirect or a page gone: no body to read
      }
    });
    return page;
  }

  /** A page logged in to /setup with the settings form shown. */
  async function loggedIn(opts) {
    const page = await open(opts);
    await page.goto(`${base}/setup`);
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#password', ADMIN);
    await page.click('#login-button');
    await page.waitForSelector('#setup:not([hidden]) #save');
    return page;
  }

  /** Clicks Save & apply; resolves with the save answer's status and when it arrived (ms). */
  async function save(page) {
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/setup/save'));
    await page.click('#save');
    const response = await answer;
    return { status: response.status(), at: Date.now(), body: await response.json().catch(() => ({})) };
  }

  /** "applied at HH:MM:SS" shown after a save. */
  const applied = (page) => page.waitForFunction(
    () => /^Saved; applied at \d\d:\d\d:\d\d\.$/.test(document.getElementById('save-state').textContent),
    null, { timeout: 15000 });

  before(async () => {
    S = await startStack();
    base = S.base;
  });
  afterEach(() => closePages(S));
  after(async () => {
    fs.writeFileSync(path.join(ARTIFACTS, 'setup-metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
    if (S) await S.stop();
  });

  it('without an admin password, the page says how to set one and offers nothing to change', async () => {
    const page = await open();
    await page.goto(`${base}/setup`);
    await page.waitForFunction(() => document.getElementById('note').textContent !== 'Loading…');
    assert.match(await text(page, '#note'), /mt-trafmon passwd/);
    for (const s of ['#login', '#setup', '#logout']) assert.equal(await visible(page, s), false, s);
    assert.equal(await page.locator('input:visible, select:visible').count(), 0, 'something to fill in');
    const r = await page.evaluate(async () => (await fetch('/api/setup/config')).status);
    assert.equal(r, 401);
    noErrors(page);
    // The password as `mt-trafmon passwd` would store it; the daemon takes it with its live reload.
    fs.writeFileSync(S.config, configText().replace('title = "Test Monitor"\n',
      `title = "Test Monitor"\nadmin_password = "${adminHash(ADMIN)}"\n`));
    await until('the daemon to take the admin password', async () => (await api('/api/setup/state')).password_set, 10000);
  });

  it('login: a wrong password is refused, the right one opens the form, without the router\'s password', async () => {
    const page = await open();
    await page.goto(`${base}/setup`);
    await page.waitForSelector('#login:not([hidden])');
    assert.equal(await visible(page, '#setup'), false);
    await page.fill('#password', 'wrong password');
    await page.click('#login-button');
    await page.waitForSelector('#login-error:not([hidden])');
    assert.equal(await text(page, '#login-error'), 'Wrong password.');
    assert.equal(await visible(page, '#setup'), false);
    await page.fill('#password', ADMIN);
    await page.click('#login-button');
    await page.waitForSelector('#setup:not([hidden]) .router');
    assert.equal(await visible(page, '#login'), false);
    assert.equal(await visible(page, '#logout'), true);
    const cookie = (await page.context().cookies(base)).find((c) => c.name === 'mt_session');
    assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict' && cookie.path === '/', JSON.stringify(cookie));
    assert.equal(await page.locator('.router').count(), 1);
    assert.equal(await value(page, '.router [data-key=host]'), '127.0.0.1');
    assert.equal(await value(page, '.router [data-key=port]'), String(S.sim.port));
    assert.equal(await value(page, '.router [data-key=password]'), '');
    assert.equal(await page.getAttribute('.router [data-key=password]', 'placeholder'), 'unchanged');
    assert.deepEqual(await page.$$eval('.router .iface [data-key=name]', (l) => l.map((i) => i.value)), ['ether1', 'ether2']);
    assert.equal(await value(page, '[data-path="web.title"]'), 'Test Monitor');
    const html = await page.evaluate(() => document.documentElement.outerHTML
      + [...document.querySelectorAll('input')].map((i) => i.value).join('\n'));
    assert.ok(!html.includes(ROUTER_PASSWORD), 'the router password is in the page');
    await shot(page, 'setup-desktop-dark');
    noErrors(page);
  });

  it('a 360 px phone: the whole form fits the width, in both themes', async () => {
    const page = await loggedIn({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 360, 'wider than the phone');
    await shot(page, 'setup-phone-dark');
    await page.click('#theme');
    assert.equal(await page.evaluate(() => document.documentElement.classList.contains('cl')), true);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 360, 'wider than the phone');
    await shot(page, 'setup-phone-classic');
    await page.click('#theme');
    noErrors(page);
  });

  it('the title changed here is on the graph page within 2 s', async () => {
    const graph = await open();
    await graph.goto(`${base}/`);
    await graph.waitForFunction(() => document.getElementById('title').textContent === 'Test Monitor');
    assert.equal(await graph.getAttribute('#setup-link', 'href'), '/setup');
    assert.equal(await visible(graph, '#setup-link'), true);
    const page = await loggedIn();
    await page.fill('[data-path="web.title"]', 'Edge Router');
    const saved = await save(page);
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    for (;;) {
      await graph.reload();
      await graph.waitForFunction(() => document.getElementById('title').textContent.trim() !== '');
      if (await text(graph, '#title') === 'Edge Router') break;
      assert.ok(Date.now() - saved.at < 2000, 'the graph page still shows the old title 2 s after the save');
    }
    metrics.titleShownMs = Date.now() - saved.at;
    assert.ok(metrics.titleShownMs <= 2000, `${metrics.titleShownMs} ms`);
    await applied(page);
    assert.match(configText(), /title = "Edge Router"/);
    assert.ok(configText().includes(`password = "${ROUTER_PASSWORD}"`), 'the stored router password was kept');
    noErrors(page);
    noErrors(graph);
  });

  it('an interface picked from the router\'s list is collected within 5 s', async () => {
    const page = await loggedIn();
    await page.click('.router button:text("Load interfaces")');
    await page.waitForSelector('.router .pick:not([hidden])');
    assert.match(await text(page, '.router .result'), /^Connected: 5 interfaces\.$/);
    const options = await page.$$eval('.router .pick option', (l) => l.map((o) => [o.value, o.textContent, o.disabled]));
    assert.deepEqual(options, [
      ['ether1', 'ether1 (ether, running)', true],
      ['ether2', 'ether2 (ether, running)', true],
      ['ether3', 'ether3 (ether, not running, disabled)', false],
      ['bridge1', 'bridge1 (bridge, running)', false],
      ['wlan1', 'wlan1 (wlan, running)', false],
    ]);
    await page.selectOption('.router .pick', 'bridge1');
    await page.click('.router button:text-is("Add")');
    assert.deepEqual(await page.$$eval('.router .iface [data-key=name]', (l) => l.map((i) => i.value)),
      ['ether1', 'ether2', 'bridge1']);
    await page.fill('.router .iface:nth-child(3) [data-key=label]', 'Bridge');
    const saved = await save(page);
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    const live = await until('a live sample of bridge1', async () => {
      const j = await api('/api/live');
      return j.interfaces.find((f) => f.id === 'sim/bridge1' && f.ts !== null);
    }, 5000 - (Date.now() - saved.at), 100);
    metrics.interfaceCollectedMs = Date.now() - saved.at;
    assert.ok(live.rx >= 0 && live.tx >= 0, JSON.stringify(live));
    const listed = (await api('/api/interfaces')).interfaces.find((f) => f.id === 'sim/bridge1');
    assert.equal(listed.label, 'Bridge');
    await applied(page);
    noErrors(page);
  });

  it('a router added with its password is collected; removed, it is gone', async () => {
    const page = await loggedIn();
    await page.click('#add-router');
    const box = page.locator('.router').nth(1);
    await box.locator('[data-key=name]').fill('second');
    await box.locator('[data-key=host]').fill('127.0.0.1');
    await box.locator('[data-key=port]').fill(String(S.sim.port));
    await box.locator('[data-key=user]').fill('admin');
    assert.equal(await box.locator('.hint').isVisible(), false, 'a new router asks for no retyping');
    await box.locator('[data-key=password]').fill(ROUTER_PASSWORD);
    await box.locator('button:text("Load interfaces")').click();
    await box.locator('.pick:not([hidden])').waitFor();
    await box.locator('.pick').selectOption('wlan1');
    await box.locator('button:text-is("Add")').click();
    let saved = await save(page);
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    await until('a live sample of second/wlan1', async () => {
      const j = await api('/api/live');
      return j.interfaces.find((f) => f.id === 'second/wlan1' && f.ts !== null);
    }, 10000);
    await applied(page);
    // The form was loaded again from the file: the new router is a stored one now, its password not in the page.
    assert.equal(await page.getAttribute('.router:nth-child(2) [data-key=password]', 'placeholder'), 'unchanged');
    assert.equal(await value(page, '.router:nth-child(2) [data-key=password]'), '');
    await page.click('.router:nth-child(2) button:text("Remove this router")');
    assert.equal(await page.locator('.router').count(), 1);
    saved = await save(page);
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    await until('second/wlan1 gone', async () => !(await api('/api/interfaces')).interfaces.some((f) => f.router === 'second'),
      10000);
    await applied(page);
    noErrors(page);
  });

  it('a changed host without the password typed again is refused, by the page and by the server', async () => {
    const page = await loggedIn();
    const before = configText();
    const posted = [];
    page.on('request', (r) => { if (r.method() === 'POST') posted.push(r.url()); });
    await page.fill('.router [data-key=host]', '127.0.0.2');
    assert.equal(await visible(page, '.router .hint'), true);
    assert.match(await text(page, '.router .hint'), /^Type the password again/);
    await page.click('.router button:text("Load interfaces")');
    await page.waitForSelector('.router .ferr');
    await page.click('#save');
    await page.waitForSelector('#save-error:not([hidden])');
    assert.match(await text(page, '#save-error'), /^Nothing was saved/);
    assert.deepEqual(posted, [], 'the page sent it anyway');
    // The server refuses it too, for a test and for a save.
    const answers = await page.evaluate(async (simPort) => {
      const post = async (url, body) => {
        const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        return [r.status, await r.json()];
      };
      const test = await post('/api/setup/interfaces', { router: 0, host: '127.0.0.2', port: simPort, user: 'admin',
        password: null, timeout: null });
      const config = await (await fetch('/api/setup/config')).json();
      const routers = config.routers.map((r, i) => ({ ...r, original: i, password: null }));
      routers[0].host = '127.0.0.2';
      const saved = await post('/api/setup/save', { version: config.version,
        config: { storage: config.storage, routers, web: config.web } });
      return { test, saved };
    }, S.sim.port);
    assert.equal(answers.test[0], 400, JSON.stringify(answers.test));
    assert.equal(answers.test[1].field, 'password');
    assert.ok(answers.saved[0] === 400 || answers.saved[0] === 422, JSON.stringify(answers.saved));
    assert.equal(configText(), before, 'the file changed');
    // Typed again, the test goes to the new host (loopback, where nothing listens): the wizard's words come back.
    await page.fill('.router [data-key=password]', ROUTER_PASSWORD);
    assert.equal(await visible(page, '.router .hint'), false);
    await page.click('.router button:text("Load interfaces")');
    await page.waitForSelector('.router .result.bad');
    assert.match(await text(page, '.router .result'), new RegExp(`^nothing answers on port ${S.sim.port} of 127\\.0\\.0\\.2`));
    await page.click('#reload');
    await page.waitForFunction(() => document.querySelector('.router [data-key=host]').value === '127.0.0.1');
    noErrors(page);
  });

  it('posts from another origin are refused', async () => {
    const page = await loggedIn();
    const before = configText();
    const cookie = (await page.context().cookies(base)).find((c) => c.name === 'mt_session');
    const version = (await page.evaluate(async () => (await fetch('/api/setup/config')).json())).version;
    // A page of another site on another loopback port: a form posted to the save route, and a fetch with the
    // browser's cookies. The session cookie goes along (same host, so same site), the Origin does not match.
    const otherPort = await freePort();
    const body = JSON.stringify({ version, config: { web: { title: 'Hijacked' } } });
    const other = http.createServer((req, res) => {
      res.setHeader('Content-Type', 'text/html');
      if (req.url === '/form') {
        res.end(`<form method="post" enctype="text/plain" action="${base}/api/setup/save">
          <input name='${body.slice(0, -2)}' value='"}}'></form><script>document.forms[0].submit()</script>`);
      } else {
        res.end(`<script>fetch('${base}/api/setup/save', { method: 'POST', mode: 'no-cors', credentials: 'include',
          headers: { 'Content-Type': 'text/plain' }, body: '${body}' })</script>`);
      }
    });
    await new Promise((resolve) => other.listen(otherPort, '127.0.0.1', resolve));
    try {
      for (const p of ['/form', '/fetch']) {
        const answer = page.waitForResponse((r) => r.url() === `${base}/api/setup/save`);
        await page.goto(`http://127.0.0.1:${otherPort}${p}`);
        const r = await answer;
        assert.equal(r.status(), 403, `${p}: ${r.status()}`);
        // Chromium reports the headers and body of the form's navigation, not those of a no-cors fetch (the raw
        // requests below carry a foreign Origin and the cookie for certain).
        if (p === '/form') {
          assert.ok(JSON.parse(await r.text()).error, `${p}: a JSON refusal`);
          const sent = await r.request().allHeaders();
          assert.equal(sent.origin, `http://127.0.0.1:${otherPort}`, p);
          assert.match(sent.cookie || '', /mt_session=/, `${p}: the session cookie went along`);
        }
      }
    } finally {
      other.close();
    }
    // Raw requests with the session cookie: a foreign Origin, a foreign Referer, neither: 403. The page's own origin
    // passes that check (a stale version then gives 409), so the 403s are the origin's.
    const raw = async (headers) => {
      const r = await fetch(`${base}/api/setup/save`, { method: 'POST', headers: { 'Content-Type': 'application/json',
        Cookie: `mt_session=${cookie.value}`, ...headers }, body: JSON.stringify({ version: 'stale', config: { web: {} } }) });
      return r.status;
    };
    assert.equal(await raw({ Origin: `http://127.0.0.1:${otherPort}` }), 403);
    assert.equal(await raw({ Origin: 'null' }), 403);
    assert.equal(await raw({ Referer: `http://127.0.0.1:${otherPort}/setup` }), 403);
    assert.equal(await raw({}), 403);
    assert.equal(await raw({ Origin: base }), 409);
    assert.equal(configText(), before, 'the file changed');
    assert.doesNotMatch(configText(), /Hijacked/);
  });

  it('a hand edit of the file between load and save is refused, and the form keeps what was typed', async () => {
    const page = await loggedIn();
    await page.fill('[data-path="web.title"]', 'Typed Title');
    await page.fill('.router .iface:nth-child(1) [data-key=label]', 'Uplink');
    fs.appendFileSync(S.config, '# a hand edit\n');
    const edited = configText();
    const saved = await save(page);
    assert.equal(saved.status, 409, JSON.stringify(saved.body));
    await page.waitForSelector('#save-error:not([hidden])');
    const shown = await text(page, '#save-error');
    assert.ok(shown.startsWith('Nothing was saved: ') && shown.includes(saved.body.error), shown);
    assert.equal(await value(page, '[data-path="web.title"]'), 'Typed Title');
    assert.equal(await value(page, '.router .iface:nth-child(1) [data-key=label]'), 'Uplink');
    assert.equal(configText(), edited, 'the file was overwritten');
    await page.click('#reload');
    await page.waitForFunction(() => document.querySelector('[data-path="web.title"]').value === 'Edge Router');
    noErrors(page);
  });

  it('a 422 puts the server\'s words next to the field', async () => {
    const page = await loggedIn();
    const before = configText();
    await page.fill('.router .iface:nth-child(2) [data-key=name]', '');
    const saved = await save(page);
    assert.equal(saved.status, 422, JSON.stringify(saved.body));
    const fields = saved.body.errors.map((e) => e.field);
    assert.deepEqual(fields, ['routers.0.interfaces.1.name'], JSON.stringify(saved.body));
    for (const e of saved.body.errors) {
      const next = await page.evaluate((f) => {
        const input = document.querySelector(`[data-path="${f}"]`);
        const at = input && (input.closest('label') || input.closest('.iface') || input);
        const small = at && ((at.tagName === 'LABEL' ? at.lastElementChild : at.nextElementSibling) || {});
        return input ? [input.classList.contains('bad'), small.className, small.textContent] : null;
      }, e.field);
      assert.deepEqual(next, [true, 'ferr', e.error], e.field);
    }
    assert.equal(configText(), before);
    noErrors(page);
  });

  it('logout ends the session', async () => {
    const page = await loggedIn();
    await page.click('#logout');
    await page.waitForSelector('#login:not([hidden])');
    assert.equal(await visible(page, '#setup'), false);
    assert.equal(await page.locator('#routers > *').count(), 0);
    assert.equal(await page.evaluate(async () => (await fetch('/api/setup/config')).status), 401);
    assert.equal(await page.evaluate(async () => (await (await fetch('/api/setup/state')).json()).logged_in), false);
    await page.reload();
    await page.waitForSelector('#login:not([hidden])');
    noErrors(page);
  });

  it('web-only mode (-w): only the web server\'s part is shown and sent', async () => {
    await S.stopDaemon();
    await S.startDaemon(['-w']);
    try {
      const page = await loggedIn();
      assert.match(await text(page, '#note'), /^Web-only mode/);
      for (const s of ['#routers-part', '#storage']) assert.equal(await visible(page, s), false, s);
      assert.equal(await page.locator('.router').count(), 0);
      await page.fill('[data-path="web.title"]', 'Web Only');
      const sent = page.waitForRequest((r) => r.url().endsWith('/api/setup/save'));
      const saved = await save(page);
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      assert.deepEqual(Object.keys(JSON.parse((await sent).postData()).config), ['web']);
      await applied(page);
      assert.equal((await api('/api/interfaces')).title, 'Web Only');
      assert.match(configText(), /\[\[router\.interface\]\]\s+name = "bridge1"/, 'the routers were kept');
      noErrors(page);
    } finally {
      await S.stopDaemon();
      await S.startDaemon();
    }
  });

  it('a new port: the browser lands on it once it answers', async () => {
    const page = await loggedIn();
    const port = await freePort();
    await page.fill('[data-path="web.port"]', String(port));
    const saved = await save(page);
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    assert.equal(saved.body.redirect, `http://127.0.0.1:${port}/setup`);
    await page.waitForURL(`http://127.0.0.1:${port}/setup`, { timeout: 20000 });
    metrics.movedMs = Date.now() - saved.at;
    const old = base;
    base = `http://127.0.0.1:${port}`;
    // Still logged in: the cookie belongs to the host, whatever the port, and the session to the daemon.
    await page.waitForSelector('#setup:not([hidden]) .router');
    assert.equal(await value(page, '[data-path="web.port"]'), String(port));
    await assert.rejects(fetch(`${old}/api/setup/state`), 'the old port still answers');
    noErrors(page);
  });

  it('logins are throttled per address, and the page says how long to wait', async () => {
    const page = await open();
    await page.goto(`${base}/setup`);
    await page.waitForSelector('#login:not([hidden])');
    const post = (password) => page.evaluate(async (password) => {
      const r = await fetch('/api/setup/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ password }) });
      return [r.status, await r.json(), r.headers.get('Retry-After')];
    }, password);
    // Wrong passwords until one is refused for being too many; then wait as told, and fail again, so that the wait
    // grows to several seconds.
    let throttled = null;
    for (let i = 0; i < 12; i++) {
      const r = await post('wrong');
      if (r[0] === 429) {
        throttled = r;
        if (r[1].retry_after >= 3) break;
        await new Promise((resolve) => setTimeout(resolve, r[1].retry_after * 1000 + 100));
      } else {
        assert.equal(r[0], 401, JSON.stringify(r));
      }
    }
    assert.ok(throttled, 'never throttled');
    const right = await post(ADMIN);
    assert.equal(right[0], 429, `the right password during the wait: ${JSON.stringify(right)}`);
    assert.ok(right[1].retry_after >= 1 && String(right[1].retry_after) === right[2], JSON.stringify(right));
    assert.match(right[1].error, /try again in \d+ s/);
    // The page: the wait, counting down, with the button off.
    await page.fill('#password', ADMIN);
    await page.click('#login-button');
    await page.waitForFunction(() => /^Too many attempts: try again in \d+ s\.$/.test(document.getElementById('login-error').textContent));
    assert.equal(await page.isDisabled('#login-button'), true);
    await page.waitForFunction(() => !document.getElementById('login-button').disabled, null, { timeout: 20000 });
    await page.fill('#password', ADMIN);
    await page.click('#login-button');
    await page.waitForSelector('#setup:not([hidden]) .router');
    noErrors(page);
  });

  it('the page turned off here: /setup and its routes answer 404, the graph page stays without its link', async () => {
    const page = await loggedIn();
    await page.uncheck('[data-path="web.settings"]');
    const saved = await save(page);
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    await page.waitForFunction(() => /^Saved and applied: this page is off now/.test(document.getElementById('note').textContent));
    assert.equal(await visible(page, '#setup'), false);
    assert.match(configText(), /settings = false/);
    for (const p of ['/setup', '/setup.js', '/setup.css', '/api/setup/state', '/api/setup/config']) {
      assert.equal((await fetch(base + p)).status, 404, p);
    }
    assert.equal((await fetch(`${base}/api/interfaces`)).status, 200);
    const graph = await open();
    await graph.goto(`${base}/`);
    await graph.waitForFunction(() => document.getElementById('title').textContent.trim() !== '');
    assert.equal(await visible(graph, '#setup-link'), false, 'no link to a page that is off');
    noErrors(page);
    noErrors(graph);
  });

  it('no answer of the settings routes carried the router\'s password', () => {
    assert.ok(bodies.length >= 20, `${bodies.length} answers`);
    assert.ok(bodies.some(([url]) => url.endsWith('/api/setup/config')));
    const leaked = bodies.filter(([, , body]) => body.includes(ROUTER_PASSWORD));
    assert.deepEqual(leaked.map(([url, status]) => `${status} ${url}`), []);
  });
});
