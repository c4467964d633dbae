// The settings page (/setup): log in, edit the config file's routers, storage and [web] keys, test a router and
// load its interfaces, save, and follow the daemon applying it. Endpoints: README.md "URLs and JSON endpoints".
// build.rs bundles it after common.js into setup.js. The stored router passwords never reach the page: their fields
// start empty ("unchanged"), and a stored router whose host, port or user changed needs its password typed again.

let loaded = null; // the last GET /api/setup/config answer
let version = null; // the config version the form was loaded from, then the one saved
let applying = 0; // which save the "applied at" poll is for
let throttledUntil = 0; // no login before this (ms), after a 429
const view = {}; // the theme this page shows: only `theme`, as in the graph page's view

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const trimmed = (input) => input.value.trim();
const orNull = (text) => (text === '' ? null : text);
const numberOrNull = (input) => (input.value === '' ? null : Number(input.value));
const list = (text) => text.split(/[\s,]+/).filter(Boolean);

/** A request; resolves with { status, body } (body {} if not JSON); rejects only when the server cannot be reached. */
async function request(method, url, body) {
  const init = { method, signal: AbortSignal.timeout(15000) };
  if (body !== undefined) {
    init.headers = { 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    // Not JSON: the status says enough.
  }
  return { status: response.status, body: answer };
}

/** What a failed request's answer says, in words. */
const answerText = (r) => r.body.error || `The server answered HTTP ${r.status}.`;

function note(text) {
  $('note').textContent = text;
  $('note').hidden = !text;
}

function showText(id, text) {
  $(id).textContent = text;
  $(id).hidden = !text;
}

const saveState = (text) => { $('save-state').textContent = text; };

// Starting, logging in and out.

async function start() {
  getJson('/api/interfaces').then((answer) => {
    document.title = `${answer.title} · settings`;
    $('title').textContent = `${answer.title}: settings`;
    if (!loaded) serverTheme = answer.theme === 'classic' ? 'classic' : 'dark';
    showTheme();
  }, () => {});
  let r;
  try {
    r = await request('GET', '/api/setup/state');
  } catch (e) {
    return note(fetchErrorText(e));
  }
  if (r.status !== 200) return note(answerText(r));
  if (!r.body.password_set) return note(r.body.how || 'No admin password is set: nothing can be changed here.');
  if (!r.body.logged_in) return askLogin('');
  return loadConfig();
}

/** Shows the login form; the settings form, if any, stays as it is (a session that ended loses nothing). */
function askLogin(why) {
  note(why);
  $('login').hidden = false;
  $('logout').hidden = true;
  $('password').focus();
}

function throttle(seconds) {
  throttledUntil = Date.now() + seconds * 1000;
  const tick = () => {
    const left = Math.ceil((throttledUntil - Date.now()) / 1000);
    $('login-button').disabled = left > 0;
    showText('login-error', left > 0 ? `Too many attempts: try again in ${left} s.` : '');
    if (left > 0) setTimeout(tick, Math.min(1000, throttledUntil - Date.now()));
  };
  tick();
}

async function logIn(e) {
  e.preventDefault();
  if (Date.now() < throttledUntil) return;
  $('login-button').disabled = true;
  let r;
  try {
    r = await request('POST', '/api/setup/login', { password: $('password').value });
  } catch (error) {
    r = { status: 0, body: { error: fetchErrorText(error) } };
  }
  $('login-button').disabled = false;
  if (r.status === 200) {
    $('password').value = '';
    showText('login-error', '');
    $('login').hidden = true;
    if (loaded) {
      note(modeNote());
      $('logout').hidden = false;
      return undefined;
    }
    return loadConfig();
  }
  if (r.status === 429) return throttle(r.body.retry_after || 1);
  $('password').select();
  return showText('login-error', r.status === 401 ? 'Wrong password.' : answerText(r));
}

async function logOut() {
  try {
    await request('POST', '/api/setup/logout', {});
  } catch (e) {
    return note(fetchErrorText(e));
  }
  loaded = null;
  $('setup').hidden = true;
  $('routers').textContent = '';
  saveState('');
  return askLogin('Logged out.');
}

/** Handles an answer that means the session is gone; true if it was that. */
function sessionEnded(r) {
  if (r.status !== 401) return false;
  askLogin('Your session has ended: log in again. The form keeps what you typed.');
  return true;
}

// Loading the config into the form.

async function loadConfig() {
  let r;
  try {
    r = await request('GET', '/api/setup/config');
  } catch (e) {
    return note(fetchErrorText(e));
  }
  if (sessionEnded(r)) return undefined;
  if (r.status !== 200) return note(answerText(r));
  fill(r.body);
  return undefined;
}

/** The storage and [web] inputs, by their config path. */
const keyed = () => [...document.querySelectorAll('#storage [data-path], #web [data-path]')];

function fill(config) {
  loaded = config;
  version = config.version;
  const d = config.defaults;
  serverTheme = (config.web.theme || d.theme) === 'classic' ? 'classic' : 'dark';
  showTheme();
  const profile = document.querySelector('[data-path="storage.profile"]');
  profile.textContent = '';
  profile.append(option('', `default (${d.profile})`));
  for (const name of config.profiles) profile.append(option(name, name));
  const placeholders = { 'storage.data_dir': d.data_dir, 'web.listen': d.listen, 'web.port': d.web_port,
    'web.title': d.title, 'web.allow': 'private networks (default)', 'web.trusted_proxies': 'none',
    'web.hostnames': 'none', 'web.timezone': "the machine's" };
  for (const input of keyed()) {
    const [part, key] = input.dataset.path.split('.');
    const value = config[part][key];
    if (input.type === 'checkbox') input.checked = value !== false;
    else input.value = value == null ? '' : Array.isArray(value) ? value.join(', ') : value;
    if (placeholders[input.dataset.path] != null) input.placeholder = placeholders[input.dataset.path];
  }
  $('routers').textContent = '';
  if (!config.web_only) config.routers.forEach((router, i) => $('routers').append(routerBox(router, i)));
  $('routers-part').hidden = config.web_only;
  $('storage').hidden = config.web_only;
  clearErrors();
  note(modeNote());
  $('login').hidden = true;
  $('logout').hidden = false;
  $('setup').hidden = false;
}

/** The note over the form: what it cannot change here. */
const modeNote = () => (loaded.web_only ? 'Web-only mode (-w): only the web server\'s settings can be changed here.'
  : '');

function option(value, text) {
  const o = el('option', null, text);
  o.value = value;
  return o;
}

/** A labelled input (or select) in `box`, kept as `box.f[key]`. */
function field(box, key, text, input, hint) {
  const label = el('label', null, text);
  label.append(input);
  if (hint) label.append(hint);
  input.dataset.key = key;
  box.f[key] = input;
  box.querySelector('.grid').append(label);
  return input;
}

const textInput = (value, placeholder, type) => Object.assign(el('input'), { value: value == null ? '' : value,
  placeholder: placeholder == null ? '' : String(placeholder), type: type || 'text' });

/** A router's part of the form; `original` is its index in the loaded config, null for a new one. */
function routerBox(router, original) {
  const d = loaded.defaults;
  const box = el('div', 'panel router');
  box.original = original;
  box.stored = original == null ? null : router;
  box.f = {};
  const head = el('div', 'row');
  const title = el('h3', null, router.name || router.host || 'New router');
  const remove = el('button', 'sec', 'Remove this router');
  remove.type = 'button';
  remove.addEventListener('click', () => box.remove());
  head.append(title, remove);
  box.append(head, el('div', 'grid'));
  field(box, 'name', 'Name', textInput(router.name, router.host || 'the host'));
  field(box, 'host', 'Host', textInput(router.host, 'address or name'));
  field(box, 'port', 'API port', textInput(router.port, d.port, 'number'));
  field(box, 'user', 'User', textInput(router.user, '')).autocomplete = 'off';
  const password = textInput('', router.password_set && original != null ? 'unchanged' : '', 'password');
  password.autocomplete = 'new-password';
  field(box, 'password', 'Password', password, el('small', 'hint', ''));
  const source = el('select');
  source.append(option('', `default (${d.source})`), option('counters', 'counters'),
    option('monitor-traffic', 'monitor-traffic'));
  source.value = router.source || '';
  field(box, 'source', 'Source', source);
  const timeout = field(box, 'timeout', 'Timeout (s)', textInput(router.timeout, d.timeout, 'number'));
  timeout.step = 'any';
  for (const key of ['host', 'port', 'user', 'password']) box.f[key].addEventListener('input', () => passwordHint(box));
  box.f.name.addEventListener('input', () => { title.textContent = trimmed(box.f.name) || trimmed(box.f.host); });
  passwordHint(box);

  box.ifaces = el('div', 'ifaces');
  const columns = el('div', 'iface cols muted');
  for (const name of ['Interface', 'Label', 'File', '']) columns.append(el('span', null, name));
  box.append(el('h3', null, 'Interfaces'), columns, box.ifaces);
  for (const f of router.interfaces) box.ifaces.append(ifaceRow(f));
  const tools = el('div', 'row');
  const load = el('button', null, 'Load interfaces');
  load.type = 'button';
  load.title = 'Test the connection and list the router\'s interfaces';
  load.addEventListener('click', () => loadInterfaces(box));
  const byName = el('button', 'sec', 'Add by name');
  byName.type = 'button';
  byName.title = 'Type an interface\'s name (for a router that cannot be reached now)';
  byName.addEventListener('click', () => {
    const row = ifaceRow({});
    box.ifaces.append(row);
    row.querySelector('input').focus();
  });
  box.pick = el('select', 'pick');
  box.pick.hidden = true;
  box.pick.setAttribute('aria-label', 'the router\'s interfaces');
  box.add = el('button', 'sec', 'Add');
  box.add.type = 'button';
  box.add.hidden = true;
  box.add.addEventListener('click', () => addPicked(box));
  box.result = el('span', 'result');
  box.result.setAttribute('role', 'status');
  tools.append(load, byName, box.pick, box.add, box.result);
  box.append(tools);
  return box;
}

/** An interface's row: name, label, file, and a button that removes it. */
function ifaceRow(f) {
  const row = el('div', 'iface');
  const inputs = [['name', 'Interface', f.name, 'e.g. ether1'], ['label', 'Label', f.label, 'the name'],
    ['rrd', 'File', f.rrd, 'automatic']];
  for (const [key, text, value, placeholder] of inputs) {
    const input = textInput(value, placeholder);
    input.dataset.key = key;
    input.setAttribute('aria-label', text);
    if (key === 'name') input.required = true;
    row.append(input);
  }
  const remove = el('button', 'sec', '✕');
  remove.type = 'button';
  remove.title = 'Stop monitoring this interface (its file stays)';
  remove.setAttribute('aria-label', 'Remove');
  remove.addEventListener('click', () => row.remove());
  row.append(remove);
  return row;
}

/**
 * Whether a stored router's host, port or user differs from the file's while it has a password, so that the password
 * must be typed again (one without a password has nothing to send to a new host).
 */
function moved(box) {
  const s = box.stored;
  if (!s || !s.password_set) return false;
  const port = (value) => (value == null ? loaded.defaults.port : value);
  return trimmed(box.f.host) !== s.host || port(numberOrNull(box.f.port)) !== port(s.port)
    || trimmed(box.f.user) !== s.user;
}

const PASSWORD_AGAIN = 'Type the password again: the host, port or user changed.';

function passwordHint(box) {
  const needed = moved(box) && box.f.password.value === '';
  box.f.password.required = moved(box);
  const hint = box.f.password.nextElementSibling;
  hint.textContent = needed ? PASSWORD_AGAIN : '';
  hint.hidden = !needed;
}

/** The password to send: typed, else null (keep the stored one) for a stored router with one, else empty (none). */
function passwordOf(box) {
  const typed = box.f.password.value;
  if (typed !== '') return typed;
  return box.stored && box.stored.password_set ? null : '';
}

/** Refuses (next to the field) a stored router's changed host, port or user without its password; true if fine. */
function passwordReady(box) {
  if (!moved(box) || box.f.password.value !== '') return true;
  fieldError(box.f.password, PASSWORD_AGAIN);
  box.f.password.focus();
  return false;
}

// Testing a router and picking its interfaces.

async function loadInterfaces(box) {
  clearErrors(box);
  box.result.classList.remove('bad');
  if (!passwordReady(box)) return;
  box.result.textContent = 'Connecting…';
  const f = box.f;
  let r;
  try {
    r = await request('POST', '/api/setup/interfaces', { router: box.original, host: trimmed(f.host),
      port: numberOrNull(f.port), user: trimmed(f.user), password: passwordOf(box), timeout: numberOrNull(f.timeout) });
  } catch (e) {
    r = { status: 0, body: { error: fetchErrorText(e) } };
  }
  if (sessionEnded(r)) return;
  if (r.status === 200 && r.body.ok) {
    const found = r.body.interfaces;
    box.result.textContent = `Connected: ${found.length} interface${found.length === 1 ? '' : 's'}.`;
    return showPick(box, found);
  }
  box.result.textContent = '';
  if (r.body.field && f[r.body.field]) return fieldError(f[r.body.field], answerText(r));
  box.result.textContent = answerText(r);
  box.result.classList.add('bad');
}

/** The names of the interfaces in a router's form. */
const namesIn = (box) => [...box.ifaces.querySelectorAll('[data-key=name]')].map(trimmed);

function showPick(box, found) {
  const have = namesIn(box);
  box.pick.textContent = '';
  for (const f of found) {
    const state = [f.type, f.running ? 'running' : 'not running'];
    if (f.disabled) state.push('disabled');
    const o = option(f.name, `${f.name} (${state.join(', ')})`);
    o.disabled = have.includes(f.name);
    box.pick.append(o);
  }
  box.pick.value = (found.find((f) => !have.includes(f.name)) || {}).name || '';
  box.pick.hidden = box.add.hidden = !found.length;
}

function addPicked(box) {
  const name = box.pick.value;
  if (!name || namesIn(box).includes(name)) return;
  box.ifaces.append(ifaceRow({ name }));
  box.pick.selectedOptions[0].disabled = true;
  const next = [...box.pick.options].find((o) => !o.disabled);
  box.pick.value = next ? next.value : '';
}

// Saving.

const routerBoxes = () => [...$('routers').children];

/** The form as the save request's `config`; also numbers each field's `data-path` for the server's error paths. */
function collect() {
  const config = { web: {} };
  for (const input of keyed()) {
    const [part, key] = input.dataset.path.split('.');
    const was = loaded[part][key];
    let value;
    if (input.type === 'checkbox') value = was == null && input.checked ? null : input.checked;
    else if (input.type === 'number') value = numberOrNull(input);
    else if (input.dataset.list != null) value = key === 'allow' && !trimmed(input) ? null : list(input.value);
    else value = orNull(trimmed(input));
    (config[part] ||= {})[key] = value;
  }
  if (loaded.web_only) {
    delete config.storage;
    return config;
  }
  config.routers = routerBoxes().map((box, i) => {
    box.dataset.path = `routers.${i}`;
    box.ifaces.dataset.path = `routers.${i}.interfaces`;
    const f = box.f;
    for (const key in f) f[key].dataset.path = `routers.${i}.${key}`;
    const interfaces = [...box.ifaces.querySelectorAll(':scope > .iface')].map((row, j) => {
      const out = {};
      for (const input of row.querySelectorAll('input')) {
        input.dataset.path = `routers.${i}.interfaces.${j}.${input.dataset.key}`;
        out[input.dataset.key] = input.dataset.key === 'name' ? trimmed(input) : orNull(trimmed(input));
      }
      return out;
    });
    return { original: box.original, name: orNull(trimmed(f.name)), host: trimmed(f.host), port: numberOrNull(f.port),
      user: trimmed(f.user), password: passwordOf(box), source: orNull(f.source.value),
      timeout: numberOrNull(f.timeout), interfaces };
  });
  return config;
}

/** An error next to a field (or a part: a router, its interfaces). */
function fieldError(target, text) {
  target.classList.add('bad');
  target.setAttribute('aria-invalid', 'true');
  const small = el('small', 'ferr', text);
  small.setAttribute('role', 'alert');
  const label = target.closest('label');
  const row = target.closest('.iface');
  if (label) label.append(small);
  else if (row) row.after(small);
  else target.prepend(small);
}

function clearErrors(within = $('setup')) {
  for (const small of within.querySelectorAll('.ferr')) small.remove();
  for (const bad of within.querySelectorAll('.bad')) {
    bad.classList.remove('bad');
    bad.removeAttribute('aria-invalid');
  }
  if (within === $('setup')) showText('save-error', '');
}

/** Shows a 422's errors next to their fields; those with no field here go under the Save button. */
function showErrors(errors) {
  const rest = [];
  for (const e of errors) {
    let path = String(e.field || '');
    let target = null;
    while (path && !(target = $('setup').querySelector(`[data-path="${CSS.escape(path)}"]`))) {
      path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '';
    }
    if (target && path === e.field) fieldError(target, e.error);
    else if (target) fieldError(target, `${e.field}: ${e.error}`);
    else rest.push(e.field ? `${e.field}: ${e.error}` : e.error);
  }
  showText('save-error', rest.join('\n'));
  const first = $('setup').querySelector('.bad');
  if (first) first.focus();
}

async function save(e) {
  e.preventDefault();
  clearErrors();
  saveState('');
  const ready = loaded.web_only || routerBoxes().map(passwordReady).every(Boolean);
  if (!ready) return showText('save-error', 'Nothing was saved: a password is missing (see above).');
  const config = collect();
  $('save').disabled = true;
  saveState('Saving…');
  let r;
  try {
    r = await request('POST', '/api/setup/save', { version, config });
  } catch (error) {
    r = { status: 0, body: { error: fetchErrorText(error) } };
  }
  $('save').disabled = false;
  saveState('');
  if (sessionEnded(r)) return undefined;
  if (r.status === 422 && Array.isArray(r.body.errors)) {
    showErrors(r.body.errors);
    return showText('save-error', $('save-error').textContent || 'Nothing was saved: see the fields marked above.');
  }
  if (r.status !== 200) return showText('save-error', `Nothing was saved: ${answerText(r)}`);
  const saved = r.body.version;
  version = saved;
  if (r.body.redirect) return follow(r.body.redirect, saved);
  const off = config.web.enabled === false || config.web.settings === false;
  if (!off) await loadConfig();
  return waitApplied(saved, off && config.web);
}

/** After a save that turned this page or the web server off: says so, and leaves nothing to click. */
function gone(text) {
  saveState('');
  $('setup').hidden = true;
  $('logout').hidden = true;
  note(text);
}

/**
 * "saved", then "applied at HH:MM:SS" once the daemon runs the saved version; `off`: the saved [web] turned this page
 * (settings) or the web server (enabled) off, so that the daemon applying it ends the answers here.
 */
async function waitApplied(saved, off) {
  const mine = ++applying;
  saveState('Saved; waiting for the daemon to apply it…');
  const end = Date.now() + 60000;
  while (mine === applying && Date.now() < end) {
    try {
      const r = await request('GET', '/api/setup/state');
      if (r.body.applied_version === saved) {
        return saveState(`Saved; applied at ${formatTime(r.body.applied_at, true)}.`);
      }
      if (off && r.status === 404) return gone('Saved and applied: this page is off now (web.settings = false).');
    } catch {
      // Not answering for a moment (the daemon may be busy): ask again; or the web server is off now.
      if (off && off.enabled === false) return gone('Saved and applied: the web server is off (web.enabled = false).');
    }
    await sleep(300);
  }
  if (mine === applying) saveState('Saved, but the daemon has not applied it in a minute: see its log.');
  return undefined;
}

/**
 * A move to another address or port: the CSP lets this page ask only its own address, and the daemon opens the new
 * socket before it closes this one, so once this address stops answering the new one answers: go there. If this one
 * answers with the saved version instead, the daemon could not listen there and stayed here.
 */
async function follow(url, saved) {
  const mine = ++applying;
  saveState(`Saved; moving to ${url} …`);
  const end = Date.now() + 60000;
  while (mine === applying && Date.now() < end) {
    await sleep(300);
    let r;
    try {
      r = await request('GET', '/api/setup/state');
    } catch {
      location.href = url;
      return undefined;
    }
    if (r.body.applied_version === saved) {
      await loadConfig();
      return saveState('Saved, but the daemon could not listen on the new address and stays on this one: see its log.');
    }
  }
  if (mine === applying) saveState(`Saved; ${url} does not answer yet.`);
  return undefined;
}

// The theme: the one this browser chose last, else the server's.

function showTheme() {
  $('theme').textContent = applyTheme(view) ? 'Dark' : 'Classic';
}

$('theme').addEventListener('click', () => {
  view.theme = nextTheme(view);
  showTheme();
});
$('login').addEventListener('submit', logIn);
$('logout').addEventListener('click', logOut);
$('setup').addEventListener('submit', save);
$('reload').addEventListener('click', () => {
  saveState('');
  loadConfig();
});
$('add-router').addEventListener('click', () => {
  const box = routerBox({ host: '', user: '', interfaces: [] }, null);
  $('routers').append(box);
  box.f.host.focus();
});
showTheme();
start();
