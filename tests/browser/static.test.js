// Static checks of the sources in web/ (no browser, no server): a header line per file, nothing the strict CSP would
// block (inline script or style, style= or on…= attributes), no innerHTML or eval, only contract endpoints fetched.
// The size budget of the shipped (minified, gzipped) bytes and the 120-character line limit are checked by
// `cargo test` (src/web/assets.rs), where the shipped bytes are.
'use strict';
const { it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const WEB = path.resolve(__dirname, '..', '..', 'web');
const read = (f) => fs.readFileSync(path.join(WEB, f), 'utf8');
const files = (ext) => fs.readdirSync(WEB).filter((f) => f.endsWith(ext));
const HTML = files('.html');
const SCRIPTS = files('.js');

it('the sources are there', () => {
  assert.deepEqual(HTML.sort(), ['index.html', 'overview.html', 'setup.html', 'totals.html']);
  assert.ok(SCRIPTS.length >= 7, SCRIPTS.join(' '));
});

it('every page file opens with a header pointing to the endpoint list', () => {
  for (const f of [...HTML, ...SCRIPTS, ...files('.css')]) {
    const head = read(f).split('\n').slice(0, 4).join(' ');
    assert.match(head, /README\.md "URLs and JSON\s+(\/\/\s+)?endpoints"/, f);
  }
});

it('nothing inline that the CSP blocks, no innerHTML, no eval', () => {
  for (const f of HTML) {
    const html = read(f);
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/i, `${f}: inline <script>`);
    assert.doesNotMatch(html, /<style/i, `${f}: inline <style>`);
    assert.doesNotMatch(html, /\sstyle=/i, `${f}: style= attribute`);
    assert.doesNotMatch(html, /\son[a-z]+=/i, `${f}: on…= handler attribute`);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//i, `${f}: external resource`);
  }
  for (const f of SCRIPTS) {
    const js = read(f);
    for (const bad of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'eval(', 'new Function', "setAttribute('style'",
      'cssText', 'document.write']) {
      assert.ok(!js.includes(bad), `${f}: ${bad}`);
    }
  }
  for (const f of files('.css')) assert.doesNotMatch(read(f), /url\(|@import/, `${f}: external resource in CSS`);
});

it('the scripts fetch only endpoints of the contract', () => {
  const used = SCRIPTS.flatMap((f) => [...read(f).matchAll(/['`](\/api\/[a-z]+(?:\/[a-z]+)?|\/live)[?'`]/g)]
    .map((m) => m[1]));
  assert.ok(new Set(used).size >= 11, used.join(' '));
  const contract = ['/api/interfaces', '/api/live', '/api/series', '/api/rrdtool', '/api/totals', '/api/stats',
    '/api/setup/state', '/api/setup/login', '/api/setup/logout', '/api/setup/config', '/api/setup/interfaces',
    '/api/setup/save'];
  for (const u of used) assert.ok(contract.includes(u), u);
});
