// Static checks of web/ (no browser, no server): a header line per file, nothing the strict CSP would block (inline
// script or style, style= or on…= attributes), no innerHTML or eval, only contract endpoints fetched, the size budget.
'use strict';
const { it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const WEB = path.resolve(__dirname, '..', '..', 'web');
const read = (f) => fs.readFileSync(path.join(WEB, f), 'utf8');
const PAGE = ['index.html', 'app.css', 'app.js'];
const BUDGET = 12 * 1024; // gzip -9 bytes, HTML + CSS + JS

it('every page file opens with a header line pointing to the endpoint list', () => {
  for (const f of PAGE) {
    const first = read(f).split('\n')[0];
    assert.match(first, /README\.md "URLs and JSON endpoints"/, f);
  }
});

it('nothing inline that the CSP blocks, no innerHTML, no eval', () => {
  const html = read('index.html');
  assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/i, 'inline <script>');
  assert.doesNotMatch(html, /<style/i, 'inline <style>');
  assert.doesNotMatch(html, /\sstyle=/i, 'style= attribute');
  assert.doesNotMatch(html, /\son[a-z]+=/i, 'on…= handler attribute');
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//i, 'external resource');
  const js = read('app.js');
  for (const bad of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'eval(', 'new Function', "setAttribute('style'", 'cssText', 'document.write']) {
    assert.ok(!js.includes(bad), bad);
  }
  assert.doesNotMatch(read('app.css'), /url\(|@import/, 'external resource in CSS');
});

it('app.js fetches only endpoints of the contract', () => {
  const used = [...read('app.js').matchAll(/'(\/api\/[a-z]+|\/live)[?']/g)].map((m) => m[1]);
  assert.ok(used.length >= 4);
  for (const u of used) assert.ok(['/api/interfaces', '/api/live', '/api/series', '/api/rrdtool'].includes(u), u);
});

it('HTML + CSS + JS stay within 12 KB gzipped', () => {
  const sizes = Object.fromEntries(PAGE.map((f) => [f, zlib.gzipSync(fs.readFileSync(path.join(WEB, f)), { level: 9 }).length]));
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  assert.ok(total <= BUDGET, `${total} B gzipped: ${JSON.stringify(sizes)}`);
});
