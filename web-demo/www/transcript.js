// The protocol view: splits each direction of a connection into IMAP lines (tracking
// literals by their byte counts, never by line ends) and renders them as a transcript.

const decoder = new TextDecoder('utf-8', { fatal: false });
const LITERAL_AT_END = /~?\{(\d+)\+?\}$/;
const MAX_LINE = 64 * 1024;
/** Literal bytes shown: a literal row shows about six lines (CSS `max-height: 9em`), and the
 * new rows on screen are laid out (text shaped, lines broken) in the frame that adds them. */
const LITERAL_PREVIEW = 512;
/** Shortest and longest time between two screen updates, in ms. */
const TICK_MIN_MS = 250;
const TICK_MAX_MS = 2000;
/** About the share of the tab's one thread screen updates may take. */
const UI_SHARE = 0.04;

const uiTasks = new Set();
let uiTimer = null;
let uiDelay = TICK_MIN_MS;

/**
 * Runs `fn` at the next screen update, together with every other update scheduled
 * meanwhile (the transcripts, the connection list), so the page is laid out once per tick,
 * not once per view. Ticks come every TICK_MIN_MS, or less often when one tick (its DOM
 * changes, then the layout and paint they cause) took more than UI_SHARE of that time: a
 * big APPEND or FETCH adds hundreds of transcript rows per tick, each tick then costs tens
 * of ms, and the engine's connections wait for the thread meanwhile.
 */
export function scheduleUi(fn) {
  uiTasks.add(fn);
  if (uiTimer === null) uiTimer = setTimeout(uiTick, uiDelay);
}

function uiTick() {
  const start = performance.now();
  const tasks = [...uiTasks];
  uiTasks.clear();
  for (const t of tasks) {
    try { t(); } catch (e) { console.error('screen update failed', e); }
  }
  const js = performance.now() - start;
  // The layout and paint of the changes run in the next frame, and again in the one after
  // (`content-visibility: auto` lays out the rows that turned out to be on screen). A frame
  // callback runs before a frame's rendering, a timer set in it after. Until the last of
  // these timers, `uiTimer` stays set, so what is scheduled meanwhile waits for the next tick.
  afterFrame((first) => afterFrame((second) => {
    const cost = js + first + second;
    uiDelay = Math.min(TICK_MAX_MS, Math.max(TICK_MIN_MS, cost / UI_SHARE));
    uiTimer = uiTasks.size > 0 ? setTimeout(uiTick, uiDelay) : null;
  }));
}

/** Calls `then(ms)` after the next frame, with about how long that frame's rendering took. */
function afterFrame(then) {
  requestAnimationFrame(() => {
    const frame = performance.now();
    setTimeout(() => then(performance.now() - frame), 0);
  });
}

/** Turns a byte stream (any chunking) into line and literal events. */
export class LineSplitter {
  constructor(onLine, onLiteral) {
    this.onLine = onLine;        // (text) => void, without CRLF
    this.onLiteral = onLiteral;  // (previewText, totalBytes) => void
    this.pending = [];           // chunks of the current line
    this.pendingLen = 0;
    this.literalLeft = 0;
    this.literalTotal = 0;
    this.literalPreview = [];
    this.literalPreviewLen = 0;
  }

  push(bytes) {
    let i = 0;
    while (i < bytes.length) {
      if (this.literalLeft > 0) {
        const n = Math.min(this.literalLeft, bytes.length - i);
        if (this.literalPreviewLen < LITERAL_PREVIEW) {
          const take = bytes.subarray(i, i + Math.min(n, LITERAL_PREVIEW - this.literalPreviewLen));
          this.literalPreview.push(take.slice());
          this.literalPreviewLen += take.length;
        }
        this.literalLeft -= n;
        i += n;
        if (this.literalLeft === 0) {
          this.onLiteral(decoder.decode(concat(this.literalPreview)), this.literalTotal);
          this.literalPreview = [];
          this.literalPreviewLen = 0;
        }
        continue;
      }
      const nl = bytes.indexOf(10, i);
      if (nl < 0) {
        this.pending.push(bytes.slice(i));
        this.pendingLen += bytes.length - i;
        if (this.pendingLen > MAX_LINE) this.flushLine(false);
        return;
      }
      this.pending.push(bytes.subarray(i, nl + 1).slice());
      i = nl + 1;
      this.flushLine(true);
    }
  }

  flushLine(complete) {
    let line = decoder.decode(concat(this.pending));
    this.pending = [];
    this.pendingLen = 0;
    if (complete) line = line.replace(/\r?\n$/, '');
    this.onLine(complete ? line : line + ' …');
    const m = complete && LITERAL_AT_END.exec(line);
    if (m) {
      this.literalLeft = this.literalTotal = Number(m[1]);
      if (this.literalLeft === 0) this.onLiteral('', 0);
    }
  }
}

function concat(chunks) {
  if (chunks.length === 1) return chunks[0];
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

/** The kind of a server line, for styling: untagged, continuation or tagged (+status). */
export function classifyServer(line) {
  if (line.startsWith('* ')) return 'untagged';
  if (line === '+' || line.startsWith('+ ')) return 'cont';
  const status = /^\S+ (OK|NO|BAD|PREAUTH|BYE)\b/i.exec(line);
  return status ? `tagged tagged-${status[1].toLowerCase()}` : 'tagged';
}

/**
 * A bounded, auto-scrolling list of transcript entries with a connection filter. New rows
 * go into the document together, a few times a second (see `scheduleUi`): adding them one
 * by one (a layout of the whole list per IMAP line), or even once per animation frame, was
 * most of the page's CPU while a client appended or fetched a thousand messages
 * (bench/wasm.sh). A tick's cost grows with the rows it lays out, and under such a flood
 * every row is new each tick: with 3,000 rows a tick took 10-70 ms of the tab's one thread,
 * with 1,000 still 30-40 ms. 400 rows are ten screens or so of history.
 */
export class TranscriptView {
  constructor(container, { max = 400, showConn = true } = {}) {
    this.el = container;
    this.max = max;
    this.showConn = showConn;
    this.filter = null;   // null = all, else a connection key
    this.pending = [];    // entries not yet in the document, oldest first (under 2 × `max`)
    this.flushQueued = false;
    this.flushFn = () => this.flush();
  }

  setFilter(key) {
    this.filter = key;
    this.flush();
    for (const row of this.el.children) {
      row.hidden = key !== null && row.dataset.conn !== key;
    }
    this.el.scrollTop = this.el.scrollHeight;
  }

  /** kind: 'client' | 'untagged' | 'cont' | 'tagged…' | 'literal' | 'event'. */
  add(connKey, connLabel, kind, text, hue) {
    // Rows are built at the flush, and only the newest `max`: one FETCH of 1,000 messages
    // gives 2,000 entries, most of which would never reach the screen.
    this.pending.push({ connKey, connLabel, kind, text, hue });
    if (this.pending.length >= 2 * this.max) this.pending = this.pending.slice(-this.max);
    if (!this.flushQueued) {
      this.flushQueued = true;
      scheduleUi(this.flushFn);
    }
  }

  row({ connKey, connLabel, kind, text, hue }) {
    const row = document.createElement('div');
    row.className = `line ${kind}`;
    row.dataset.conn = connKey;
    row.hidden = this.filter !== null && this.filter !== connKey;
    if (this.showConn) {
      const tag = document.createElement('span');
      tag.className = 'conn';
      tag.textContent = connLabel;
      if (hue !== undefined) tag.style.setProperty('--hue', hue);
      row.append(tag);
    }
    const dir = document.createElement('span');
    dir.className = 'dir';
    dir.textContent = kind === 'client' ? 'C:' : kind === 'event' ? '··' : kind === 'literal' ? '' : 'S:';
    const body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    row.append(dir, body);
    return row;
  }

  /** Puts the pending rows into the document (one layout), keeping at most `max` rows. */
  flush() {
    this.flushQueued = false;
    if (this.pending.length === 0) return;
    const stick = this.el.scrollTop + this.el.clientHeight >= this.el.scrollHeight - 30;
    const rows = this.pending.slice(-this.max).map((entry) => this.row(entry));
    this.pending = [];
    if (rows.length >= this.max) {
      this.el.replaceChildren(...rows);
    } else {
      this.el.append(...rows);
      const extra = this.el.childElementCount - this.max;
      if (extra > 0) {
        // The oldest rows go in one removal, not one DOM mutation each.
        const old = document.createRange();
        old.setStartBefore(this.el.firstElementChild);
        old.setEndAfter(this.el.children[extra - 1]);
        old.deleteContents();
      }
    }
    if (stick) this.el.scrollTop = this.el.scrollHeight;
  }
}
