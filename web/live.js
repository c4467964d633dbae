// The live state of interfaces: /api/live every 2 s, and what a sample's age means. The server's "now" is the clock
// (a browser whose clock is off still sees "Live"). Endpoints: README.md "URLs and JSON endpoints".

const LIVE_EVERY_MS = 2000;

/**
 * What to show for an /api/live entry at the server's time `now`: { level, age, text, reason }. level is "none" (no
 * sample yet), "ok" (under 5 s old), "warn" (under 30 s) or "stale"; reason is the server's explanation (the router's
 * or the file's error), shown in the page, not only in a tooltip.
 */
function liveStatus(entry, now) {
  const reason = (entry && entry.error) || null;
  if (!entry || entry.ts == null) return { level: 'none', age: null, text: 'No data yet', reason };
  const age = Math.max(0, now - entry.ts);
  const seconds = Math.round(age);
  if (age < 5) return { level: 'ok', age, text: 'Live', reason };
  if (age < 30) return { level: 'warn', age, text: `${seconds} s ago`, reason };
  return { level: 'stale', age, text: `Stale — ${seconds} s ago`, reason };
}

/** Calls onAnswer(answer, error) with each /api/live answer (or the error), every LIVE_EVERY_MS, for ever. */
function pollLive(onAnswer) {
  const poll = async () => {
    let answer = null;
    let error = null;
    try {
      answer = await getJson('/api/live');
      noteServerNow(answer.now);
    } catch (e) {
      error = e;
    }
    onAnswer(answer, error);
    setTimeout(poll, LIVE_EVERY_MS);
  };
  poll();
}

/**
 * Shows an interface's live state in a readout (the page header's, or an overview card's): the element with class
 * "live" and its ".rates", ".age" and ".why" children. Stale figures are dimmed and struck (app.css), the reason is
 * written out. Returns the status shown.
 */
function showLive(box, entry, now, error) {
  const part = (name) => box.querySelector(`.${name}`);
  let status;
  if (error) {
    const text = unreachable(error) ? 'server unreachable' : error.message;
    status = { level: 'down', age: null, text, reason: null };
    part('rates').textContent = status.text;
    part('age').textContent = '';
    part('why').textContent = unreachable(error) ? 'the web server could not be reached' : '';
  } else {
    status = liveStatus(entry, now);
    part('rates').textContent = entry ? `⬇ RX ${formatBits(entry.rx)} ⬆ TX ${formatBits(entry.tx)}` : '—';
    const known = entry && entry.ts != null;
    part('age').textContent = known ? `${status.text} · ${formatTime(entry.ts, true)}` : status.text;
    part('why').textContent = status.reason || '';
  }
  part('why').hidden = !part('why').textContent;
  box.dataset.h = status.level;
  box.dataset.age = status.age == null ? '' : status.age;
  box.title = status.text + (status.reason ? ` — ${status.reason}` : '');
  return status;
}
