// The page's end of the shim protocol (docs/shim-protocol.md, `tidings-shim.v1`): frames
// encode/decode, and a link that turns OPEN/DATA/CLOSE frames into engine Connections.

export const SUBPROTOCOL = 'tidings-shim.v1';
export const T_HELLO = 0, T_OPEN = 1, T_DATA = 2, T_CLOSE = 3;
export const CLOSE_REPLACED = 4001;
/**
 * Largest DATA payload the page sends. The engine hands over a whole response at once (a
 * FETCH of a mailbox can be tens of MiB); the shim drops a client once more than 16 MiB are
 * queued for it, so big output goes out in pieces the shim can pass on as they come.
 */
export const MAX_DATA = 256 * 1024;

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();
const text = new TextDecoder();

/** One frame as a binary message: type, u32 BE connection id, payload. */
export function encodeFrame(type, id, payload = EMPTY) {
  const m = new Uint8Array(5 + payload.length);
  m[0] = type;
  new DataView(m.buffer).setUint32(1, id);
  m.set(payload, 5);
  return m;
}

/** `{type, id, payload}` or null for a message shorter than the header. */
export function decodeFrame(buf) {
  const m = new Uint8Array(buf);
  if (m.length < 5) return null;
  return { type: m[0], id: new DataView(m.buffer, m.byteOffset).getUint32(1), payload: m.subarray(5) };
}

function json(bytes) {
  try { return JSON.parse(text.decode(bytes)); } catch { return {}; }
}

/**
 * Keeps a WebSocket to the shim and serves each relayed client with an engine Connection.
 * `hooks`: onStatus(state, detail), onHello(info), onOpen(id, info), onClientBytes(id, bytes),
 * onServerBytes(id, bytes), onClosed(id, who).
 */
export class ShimLink {
  constructor(engine, url, hooks) {
    this.engine = engine;
    this.url = url;
    this.hooks = hooks;
    this.conns = new Map();   // shim connection id -> engine Connection
    this.ws = null;
    this.backoff = 500;
    this.stopped = false;
    this.timer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  connect() {
    clearTimeout(this.timer);
    this.hooks.onStatus('connecting', this.url);
    let ws;
    try {
      ws = new WebSocket(this.url, SUBPROTOCOL);
    } catch (e) {
      this.hooks.onStatus('error', String(e));
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = 500;
      this.hooks.onStatus('connected', this.url);
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') return;   // v1 is binary only
      const f = decodeFrame(ev.data);
      if (f) this.onFrame(ws, f);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.dropAll('page link closed');
      if (ev.code === CLOSE_REPLACED) {
        this.stopped = true;
        this.hooks.onStatus('replaced', 'another tab took over the shim');
        return;
      }
      if (this.stopped) {
        this.hooks.onStatus('stopped', '');
        return;
      }
      this.hooks.onStatus('disconnected', `retrying in ${Math.round(this.backoff / 100) / 10}s`);
      this.timer = setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 10000);
    };
  }

  onFrame(ws, f) {
    switch (f.type) {
      case T_HELLO:
        this.hooks.onHello(json(f.payload));
        break;
      case T_OPEN: {
        const id = f.id;
        const info = json(f.payload);
        const conn = this.engine.connect(
          (bytes) => {
            this.hooks.onServerBytes(id, bytes);
            if (ws.readyState !== WebSocket.OPEN) return;
            for (let at = 0; at < bytes.length; at += MAX_DATA) {
              ws.send(encodeFrame(T_DATA, id, bytes.subarray(at, at + MAX_DATA)));
            }
          },
          () => {
            // The engine ended the session (LOGOUT, autologout): tell the shim.
            if (this.conns.delete(id)) {
              if (ws.readyState === WebSocket.OPEN) {
                ws.send(encodeFrame(T_CLOSE, id, utf8.encode('session ended')));
              }
              this.hooks.onClosed(id, 'server');
            }
          },
        );
        this.conns.set(id, conn);
        this.hooks.onOpen(id, info);
        break;
      }
      case T_DATA: {
        const conn = this.conns.get(f.id);
        if (!conn || f.payload.length === 0) return;
        // No copy: `feed` copies into the engine at once, and the transcript copies what
        // it keeps; the view is not used after this.
        this.hooks.onClientBytes(f.id, f.payload);
        conn.feed(f.payload);
        break;
      }
      case T_CLOSE: {
        const conn = this.conns.get(f.id);
        if (!conn) return;
        this.conns.delete(f.id);
        conn.close();
        this.hooks.onClosed(f.id, 'client');
        break;
      }
      default:
        break;   // unknown types are ignored (room to grow within v1)
    }
  }

  dropAll(why) {
    for (const [id, conn] of this.conns) {
      conn.close();
      this.hooks.onClosed(id, why);
    }
    this.conns.clear();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, 'page stopped');
  }
}
