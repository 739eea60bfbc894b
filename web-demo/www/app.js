// The demo page: loads the wasm engine, hosts it for `tidings shim` (one engine Connection per
// relayed client), and shows the protocol, the mailboxes and a console, all updating live.

import { ShimLink } from './shim-link.js';
import { LineSplitter, TranscriptView, classifyServer, scheduleUi } from './transcript.js';

const USER = 'demo';
const PASSWORD = 'demo';
const DB_NAME = new URLSearchParams(location.search).get('db') || 'tidings-demo';
const utf8 = new TextEncoder();
const $ = (id) => document.getElementById(id);

/** Everything the page knows; exposed as `window.tidings` for tests and the curious. */
const state = {
  engine: null,
  link: null,
  hello: null,
  mailbox: 'INBOX',
  mailboxes: [],
  messages: [],
  lastFlags: new Map(),   // uid -> flags string, for the mailbox on screen
  conns: new Map(),       // key -> connection record (see track())
  console: null,          // { key, conn }
};
window.tidings = state;

const transcript = new TranscriptView($('transcript'));
const consoleLog = new TranscriptView($('console-log'), { showConn: false });

main().catch((e) => fail(`The page failed: ${e && e.message ? e.message : e}`));

async function main() {
  setPill('status-engine', 'loading', 'engine: loading…');
  let wasm;
  try {
    wasm = await import('../pkg/tidings_web.js');
    await wasm.default();
  } catch (e) {
    setPill('status-engine', 'error', 'engine: not built');
    document.body.dataset.engine = 'error';
    fail(`The wasm engine did not load (${e.message}). Build it with web-demo/build.sh, then reload.`);
    return;
  }
  try {
    state.engine = await wasm.Engine.open(DB_NAME);
    await state.engine.addUser(USER, PASSWORD);
  } catch (e) {
    setPill('status-engine', 'error', 'engine: storage error');
    document.body.dataset.engine = 'error';
    fail(`Opening the IndexedDB store "${DB_NAME}" failed: ${e.message}`);
    return;
  }
  setPill('status-engine', 'ok', `engine: ready · IndexedDB “${DB_NAME}”`);
  state.engine.onChange(USER, scheduleRefresh);
  setupMailboxView();
  setupAddForm();
  setupConsole();
  await refresh();
  document.body.dataset.engine = 'ready';
  startShimLink();
}

// ---- the shim link -------------------------------------------------------------------------

function shimUrl() {
  const given = new URLSearchParams(location.search).get('shim');
  if (given) return given;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/shim`;
}

function startShimLink() {
  if (location.protocol === 'file:') {
    setPill('status-shim', 'error', 'shim: open this page from `tidings shim`');
    return;
  }
  state.link = new ShimLink(state.engine, shimUrl(), {
    onStatus: (st, detail) => {
      document.body.dataset.shim = st;
      const text = {
        connecting: 'shim: connecting…',
        connected: 'shim: connected',
        disconnected: `shim: disconnected (${detail})`,
        replaced: 'shim: another tab took over',
        stopped: 'shim: stopped',
        error: `shim: ${detail}`,
      }[st] || `shim: ${st}`;
      setPill('status-shim', st, text);
      if (st === 'replaced') {
        fail('Another tab is now hosting the engine for the shim.', 'Host it here again', () => {
          hideBanner();
          state.link.start();
        });
      }
    },
    onHello: (info) => {
      state.hello = info;
      const tls = info.imaps ? ` (or TLS on <code>${esc(info.imaps)}</code>)` : '';
      $('howto').innerHTML = `Point an IMAP client at <strong><code>${esc(info.imap)}</code></strong>${tls}, ` +
        `user <code>demo</code>, password <code>demo</code>. Every connection is served by the engine in this tab.`;
    },
    onOpen: (id, info) => {
      const rec = track(`s${id}`, `#${id}`, id, info.peer ? `${info.peer}${info.tls ? ' (TLS)' : ''}` : 'client');
      note(rec, `connected from ${rec.peer}`);
    },
    onClientBytes: (id, bytes) => clientBytes(`s${id}`, bytes),
    onServerBytes: (id, bytes) => serverBytes(`s${id}`, bytes),
    onClosed: (id, who) => closed(`s${id}`, who === 'client' ? 'client closed the connection'
      : who === 'server' ? 'session ended by the server' : who),
  });
  state.link.start();
}

// ---- connections and the transcript ----------------------------------------------------------

function track(key, label, hueSeed, peer) {
  const rec = {
    key, label, peer, open: true, hue: (hueSeed * 67 + 200) % 360, up: 0, down: 0,
  };
  rec.fromClient = new LineSplitter(
    (line) => log(rec, 'client', line),
    (preview, n) => log(rec, 'literal', literalText(preview, n)),
  );
  rec.fromServer = new LineSplitter(
    (line) => log(rec, classifyServer(line), line),
    (preview, n) => log(rec, 'literal', literalText(preview, n)),
  );
  state.conns.set(key, rec);
  renderConnList();
  return rec;
}

function literalText(preview, n) {
  const more = n > preview.length ? ` … (${n} bytes)` : '';
  return `${preview.replace(/\r\n$/, '')}${more}` || `(${n} bytes)`;
}

function log(rec, kind, text) {
  transcript.add(rec.key, rec.label, kind, text, rec.hue);
  if (state.console && rec.key === state.console.key) consoleLog.add(rec.key, rec.label, kind, text);
}

function note(rec, text) {
  log(rec, 'event', text);
}

function clientBytes(key, bytes) {
  const rec = state.conns.get(key);
  if (!rec) return;
  rec.up += bytes.length;
  rec.fromClient.push(bytes);
  renderConnListSoon();
}

function serverBytes(key, bytes) {
  const rec = state.conns.get(key);
  if (!rec) return;
  rec.down += bytes.length;
  rec.fromServer.push(bytes);
  renderConnListSoon();
}

function closed(key, why) {
  const rec = state.conns.get(key);
  if (!rec || !rec.open) return;
  rec.open = false;
  note(rec, why);
  renderConnList();
}

// Byte counters change with every chunk; redrawing the list a few times a second, in the
// same tick as the transcript (one layout for both), is plenty: once per frame kept the tab
// re-laying out the page all through a big APPEND or FETCH.
function renderConnListSoon() {
  scheduleUi(renderConnList);
}

function renderConnList() {
  const box = $('conn-list');
  box.textContent = '';
  const all = document.createElement('button');
  all.textContent = 'all connections';
  all.className = transcript.filter === null ? 'active' : '';
  all.onclick = () => { transcript.setFilter(null); renderConnList(); };
  box.append(all);
  // Open ones first, then the 8 most recent closed ones.
  const recs = [...state.conns.values()];
  const shown = recs.filter((r) => r.open).concat(recs.filter((r) => !r.open).slice(-8));
  for (const rec of shown) {
    const b = document.createElement('button');
    b.className = `${rec.open ? '' : 'closed'} ${transcript.filter === rec.key ? 'active' : ''}`;
    b.title = `${rec.peer} · ${rec.up} bytes from the client, ${rec.down} to it`;
    const dot = document.createElement('span');
    dot.className = 'dot';
    dot.style.setProperty('--hue', rec.hue);
    b.append(dot, `${rec.label} ${rec.peer} · ↑${size(rec.up)} ↓${size(rec.down)}`);
    b.onclick = () => { transcript.setFilter(transcript.filter === rec.key ? null : rec.key); renderConnList(); };
    box.append(b);
  }
}

// ---- mailboxes and messages --------------------------------------------------------------------

let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 60);
}

let refreshing = null;
let refreshAgain = false;
async function refresh() {
  if (refreshing) { refreshAgain = true; return refreshing; }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      try {
        await loadMailView();
      } catch (e) {
        console.warn('refresh failed', e);
      }
    } while (refreshAgain);
    refreshing = null;
  })();
  return refreshing;
}

async function loadMailView() {
  const boxes = await state.engine.listMailboxes(USER);
  state.mailboxes = boxes;
  if (!boxes.some((b) => b.name === state.mailbox)) state.mailbox = 'INBOX';
  const messages = boxes.some((b) => b.name === state.mailbox)
    ? await state.engine.listMessages(USER, state.mailbox) : [];
  renderMailboxes();
  renderMessages(messages);
  document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
}

function setupMailboxView() {
  $('mailboxes').addEventListener('click', (ev) => {
    const li = ev.target.closest('li[data-name]');
    if (!li) return;
    state.mailbox = li.dataset.name;
    state.lastFlags = new Map();
    refresh();
  });
}

function renderMailboxes() {
  const ul = $('mailboxes');
  ul.textContent = '';
  const select = $('add-mailbox');
  const chosen = select.value || 'INBOX';
  select.textContent = '';
  for (const b of state.mailboxes) {
    const li = document.createElement('li');
    li.dataset.name = b.name;
    li.className = b.name === state.mailbox ? 'selected' : '';
    const name = document.createElement('span');
    name.textContent = b.name;
    const count = document.createElement('span');
    count.className = 'count';
    count.innerHTML = b.unseen ? `<span class="unseen">${b.unseen}</span> / ${b.messages}` : `${b.messages}`;
    count.title = `${b.messages} messages, ${b.unseen} unseen · UIDVALIDITY ${b.uidvalidity} · UIDNEXT ${b.uidnext}`;
    li.append(name, count);
    ul.append(li);
    const opt = document.createElement('option');
    opt.value = opt.textContent = b.name;
    select.append(opt);
  }
  select.value = state.mailboxes.some((b) => b.name === chosen) ? chosen : 'INBOX';
  $('mailbox-name').textContent = state.mailbox;
  const cur = state.mailboxes.find((b) => b.name === state.mailbox);
  $('mailbox-meta').textContent = cur ? `UIDVALIDITY ${cur.uidvalidity} · UIDNEXT ${cur.uidnext}` : '';
}

function renderMessages(messages) {
  state.messages = messages;
  const tbody = $('messages').querySelector('tbody');
  tbody.textContent = '';
  const first = state.lastFlags.size === 0;
  const next = new Map();
  for (const m of messages) {
    const flagsKey = m.flags.join(' ');
    next.set(m.uid, flagsKey);
    const tr = document.createElement('tr');
    tr.dataset.uid = m.uid;
    const lower = m.flags.map((f) => f.toLowerCase());
    if (!lower.includes('\\seen')) tr.classList.add('unseen');
    if (lower.includes('\\deleted')) tr.classList.add('deleted');
    if (!first && state.lastFlags.get(m.uid) !== flagsKey) tr.classList.add('changed');
    tr.append(
      cell('uid', String(m.uid)),
      flagsCell(m.flags),
      cell('from', m.from),
      cell('subject', m.subject || '(no subject)'),
      cell('date', shortDate(m.date)),
      cell('size', size(m.size)),
    );
    tbody.append(tr);
  }
  state.lastFlags = next;
  $('no-messages').hidden = messages.length > 0;
}

function cell(cls, text) {
  const td = document.createElement('td');
  td.className = cls;
  td.textContent = text;
  return td;
}

function flagsCell(flags) {
  const td = document.createElement('td');
  td.className = 'flags';
  for (const f of flags) {
    const s = document.createElement('span');
    s.className = `flag f-${f.replace(/^\\/, '').toLowerCase().replace(/[^a-z0-9_-]/g, '')}`;
    s.textContent = f;
    td.append(s);
  }
  return td;
}

// ---- adding a message ----------------------------------------------------------------------------

function setupAddForm() {
  $('add-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const mailbox = $('add-mailbox').value || 'INBOX';
    const raw = buildMessage($('add-from').value, $('add-subject').value, $('add-body').value);
    const out = $('add-result');
    try {
      const uid = await state.engine.appendMessage(USER, mailbox, utf8.encode(raw));
      out.textContent = `appended UID ${uid} to ${mailbox}`;
    } catch (e) {
      out.textContent = `failed: ${e.message}`;
    }
  });
}

/** An RFC 5322 message with CRLF line ends; non-ASCII subjects as RFC 2047 words. */
export function buildMessage(from, subject, body) {
  const date = new Date().toUTCString().replace(/GMT$/, '+0000');
  const id = `${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}@tidings.demo`;
  const lines = [
    `From: ${headerValue(from || 'someone@example.org')}`,
    'To: demo@localhost',
    `Subject: ${headerValue(subject)}`,
    `Date: ${date}`,
    `Message-ID: <${id}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    ...String(body).replace(/\r\n?/g, '\n').split('\n'),
  ];
  return lines.join('\r\n') + '\r\n';
}

function headerValue(s) {
  const clean = String(s).replace(/[\r\n]+/g, ' ');
  // eslint-disable-next-line no-control-regex
  if (/^[\x20-\x7e]*$/.test(clean)) return clean;
  const b64 = btoa(String.fromCharCode(...utf8.encode(clean)));
  return `=?UTF-8?B?${b64}?=`;
}

// ---- the console ---------------------------------------------------------------------------------

const COMMANDS = new Set(('CAPABILITY NOOP LOGOUT STARTTLS AUTHENTICATE LOGIN ENABLE SELECT EXAMINE CREATE ' +
  'DELETE RENAME SUBSCRIBE UNSUBSCRIBE LIST LSUB NAMESPACE STATUS APPEND IDLE CHECK CLOSE UNSELECT ' +
  'EXPUNGE SEARCH FETCH STORE COPY MOVE UID ID').split(' '));

let consoleSeq = 0;
let consoleTag = 1;
let lastSentLiteral = false;
const history = [];
let historyAt = 0;

function setupConsole() {
  const input = $('console-input');
  $('console-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendConsole(input.value);
    history.push(input.value);
    historyAt = history.length;
    input.value = '';
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowUp' && historyAt > 0) { input.value = history[--historyAt]; ev.preventDefault(); }
    if (ev.key === 'ArrowDown') { input.value = history[++historyAt] ?? ''; historyAt = Math.min(historyAt, history.length); ev.preventDefault(); }
  });
  const quick = [
    'LOGIN demo demo', 'CAPABILITY', 'LIST "" "*"', 'SELECT INBOX', 'FETCH 1:* (FLAGS ENVELOPE)',
    'STORE 1 +FLAGS (\\Flagged)', 'IDLE', 'DONE', 'LOGOUT',
  ];
  for (const q of quick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = q;
    b.onclick = () => sendConsole(q);
    $('console-quick').append(b);
  }
  openConsole();
}

function openConsole() {
  const key = `console-${++consoleSeq}`;
  const rec = track(key, 'console', 0, 'in-page console');
  state.console = { key, conn: null };
  state.console.conn = state.engine.connect(
    (bytes) => serverBytes(key, bytes),
    () => {
      closed(key, 'session ended by the server; the next command opens a new one');
      if (state.console && state.console.key === key) state.console.conn = null;
    },
  );
  note(rec, 'console connection opened');
}

/** Sends one typed line (plus CRLF). A known command without a tag gets one. */
function sendConsole(line) {
  if (!state.engine) return;
  if (!state.console || !state.console.conn) openConsole();
  let text = line;
  const first = text.trim().split(/\s+/)[0].toUpperCase();
  if (!lastSentLiteral && COMMANDS.has(first)) text = `c${consoleTag++} ${text.trim()}`;
  lastSentLiteral = /\{\d+\+?\}$/.test(text);
  const bytes = utf8.encode(`${text}\r\n`);
  clientBytes(state.console.key, bytes);
  state.console.conn.feed(bytes);
}

// ---- small helpers ---------------------------------------------------------------------------------

function setPill(id, st, text) {
  const el = $(id);
  el.dataset.state = st;
  el.textContent = text;
}

function fail(message, actionText, action) {
  const b = $('banner');
  b.textContent = message;
  if (actionText) {
    const btn = document.createElement('button');
    btn.textContent = actionText;
    btn.onclick = action;
    b.append(btn);
  }
  b.hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
}

function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function shortDate(s) {
  if (!s) return '';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
