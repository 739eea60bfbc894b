// The protocol view: splits each direction of a connection into IMAP lines (tracking
// literals by their byte counts, never by line ends) and renders them as a transcript.

const decoder = new TextDecoder('utf-8', { fatal: false });
const LITERAL_AT_END = /~?\{(\d+)\+?\}$/;
const MAX_LINE = 64 * 1024;
const LITERAL_PREVIEW = 2048;
/** How often new transcript rows are put on screen, in ms. */
const FLUSH_MS = 250;

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
 * go into the document together, at most every FLUSH_MS: adding them one by one (a layout of
 * the whole list per IMAP line), or even once per animation frame, was most of the page's
 * CPU while a client appended or fetched a thousand messages (bench/wasm.sh).
 */
export class TranscriptView {
  constructor(container, { max = 3000, showConn = true } = {}) {
    this.el = container;
    this.max = max;
    this.showConn = showConn;
    this.filter = null;   // null = all, else a connection key
    this.pending = [];    // rows not yet in the document, oldest first (at most `max`)
    this.flushQueued = false;
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
    const row = document.createElement('div');
    row.className = `line ${kind}`;
    row.dataset.conn = connKey;
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
    this.pending.push(row);
    if (this.pending.length > this.max) this.pending.splice(0, this.pending.length - this.max);
    if (!this.flushQueued) {
      this.flushQueued = true;
      setTimeout(() => this.flush(), FLUSH_MS);
    }
  }

  /** Puts the pending rows into the document (one layout), keeping at most `max` rows. */
  flush() {
    this.flushQueued = false;
    if (this.pending.length === 0) return;
    const stick = this.el.scrollTop + this.el.clientHeight >= this.el.scrollHeight - 30;
    for (const row of this.pending) {
      row.hidden = this.filter !== null && this.filter !== row.dataset.conn;
    }
    this.el.append(...this.pending);
    this.pending = [];
    let extra = this.el.childElementCount - this.max;
    while (extra-- > 0) this.el.firstElementChild.remove();
    if (stick) this.el.scrollTop = this.el.scrollHeight;
  }
}
