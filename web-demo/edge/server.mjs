#!/usr/bin/env node
// Tidings edge host: the same wasm engine as the page, under Node.js, serving IMAP over
// node's `net`. Mail lives in memory (Engine.memory()); optionally in a JSON snapshot file.
//
//   node web-demo/edge/server.mjs [--port 3143] [--host 127.0.0.1] [--user demo:demo]...
//                                 [--snapshot FILE]
//
// Prints `listening imap HOST:PORT` once it accepts connections (port 0 = any free port).
// The pattern (docs/edge-host.md): a transport gives bytes to Connection.feed() and writes
// what onData() hands back; that is all a runtime has to provide.

import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const opts = { port: 3143, host: '127.0.0.1', users: [], snapshot: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port') opts.port = Number(value());
    else if (a === '--host') opts.host = value();
    else if (a === '--user') opts.users.push(value());
    else if (a === '--snapshot') opts.snapshot = value();
    else if (a === '--pkg') opts.pkg = value();
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage('bad --port');
  if (opts.users.length === 0) opts.users.push('demo:demo');
  return opts;
}

function usage(err) {
  if (err) console.error(`server.mjs: ${err}`);
  console.error('usage: node web-demo/edge/server.mjs [--port 3143] [--host 127.0.0.1] ' +
    '[--user NAME:PASSWORD]... [--snapshot FILE] [--pkg DIR]');
  process.exit(err ? 2 : 0);
}

/** Loads the `wasm-bindgen --target nodejs` build (CommonJS) from web-demo/pkg-node. */
function loadEngine(pkgDir) {
  const entry = path.join(pkgDir, 'tidings_web.js');
  if (!fs.existsSync(entry)) {
    console.error(`server.mjs: ${entry} is missing: build it with web-demo/build.sh`);
    process.exit(1);
  }
  return createRequire(import.meta.url)(entry);
}

/**
 * Optional persistence: every account's mailboxes and raw messages (with flags) as JSON,
 * written after changes (debounced) and loaded at start. Flags are restored by replaying
 * STORE through an engine connection, since the API appends without flags.
 */
class Snapshot {
  constructor(file, engine, users) {
    this.file = file;
    this.engine = engine;
    this.users = users;
    this.timer = null;
    this.writing = Promise.resolve();
  }

  async load() {
    if (!fs.existsSync(this.file)) return 0;
    const data = JSON.parse(fs.readFileSync(this.file, 'utf8'));
    let n = 0;
    for (const [user, acct] of Object.entries(data.accounts || {})) {
      const password = this.users.get(user);
      if (password === undefined) continue;
      for (const box of acct.mailboxes || []) {
        if (box.name !== 'INBOX') await imapOnce(this.engine, user, password, [`CREATE ${quote(box.name)}`]);
        const stores = [];
        for (const m of box.messages || []) {
          const uid = await this.engine.appendMessage(user, box.name, Buffer.from(m.raw, 'base64'));
          const flags = m.flags.filter((f) => f !== '\\Recent');
          if (flags.length) stores.push(`UID STORE ${uid} FLAGS.SILENT (${flags.join(' ')})`);
          n++;
        }
        if (stores.length) await imapOnce(this.engine, user, password, [`SELECT ${quote(box.name)}`, ...stores]);
      }
    }
    return n;
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.writing = this.writing.then(() => this.save()); }, 200);
  }

  async save() {
    const accounts = {};
    for (const user of this.users.keys()) {
      const mailboxes = [];
      for (const box of await this.engine.listMailboxes(user)) {
        const messages = [];
        for (const m of await this.engine.listMessages(user, box.name)) {
          const raw = await fetchRaw(this.engine, user, this.users.get(user), box.name, m.uid);
          if (raw) messages.push({ flags: m.flags, raw: Buffer.from(raw).toString('base64') });
        }
        mailboxes.push({ name: box.name, messages });
      }
      accounts[user] = { mailboxes };
    }
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ version: 1, accounts }));
    fs.renameSync(tmp, this.file);
  }
}

function quote(s) {
  return `"${String(s).replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Runs commands on a private engine connection; resolves when the last one is tagged. */
function imapOnce(engine, user, password, commands) {
  return new Promise((resolve) => {
    const lines = [`LOGIN ${quote(user)} ${quote(password)}`, ...commands, 'LOGOUT'];
    const last = `x${lines.length - 1} `;
    let seen = '';
    const conn = engine.connect((bytes) => {
      seen += Buffer.from(bytes).toString('latin1');
      if (seen.includes(`\r\n${last}`)) resolve(seen);
    }, () => resolve(seen));
    conn.feed(Buffer.from(lines.map((c, i) => `x${i} ${c}\r\n`).join(''), 'utf8'));
  });
}

/** BODY.PEEK[] of one message, read through the engine like any client would. */
async function fetchRaw(engine, user, password, mailbox, uid) {
  const out = await imapOnce(engine, user, password, [`EXAMINE ${quote(mailbox)}`, `UID FETCH ${uid} (BODY.PEEK[])`]);
  const m = /BODY\[\] \{(\d+)\}\r\n/.exec(out);
  if (!m) return null;
  const start = m.index + m[0].length;
  return Buffer.from(out.slice(start, start + Number(m[1])), 'latin1');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { Engine } = loadEngine(opts.pkg ? path.resolve(opts.pkg) : path.join(here, '..', 'pkg-node'));
  const engine = Engine.memory();
  const users = new Map();
  for (const spec of opts.users) {
    const at = spec.indexOf(':');
    if (at <= 0) usage(`--user wants NAME:PASSWORD, got ${spec}`);
    users.set(spec.slice(0, at), spec.slice(at + 1));
    await engine.addUser(spec.slice(0, at), spec.slice(at + 1));
  }

  let snapshot = null;
  if (opts.snapshot) {
    snapshot = new Snapshot(path.resolve(opts.snapshot), engine, users);
    const n = await snapshot.load();
    console.log(`snapshot ${snapshot.file}: ${n} messages loaded`);
    for (const user of users.keys()) engine.onChange(user, () => snapshot.schedule());
  }

  const sockets = new Set();
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    let open = true;
    const conn = engine.connect(
      (bytes) => { if (open) socket.write(bytes); },
      () => { open = false; socket.end(); },   // the server ended the session (LOGOUT, …)
    );
    log(`connection ${conn.id} from ${peer}`);
    socket.on('data', (chunk) => {
      // Any chunking is fine: the engine's codec is incremental.
      if (open) conn.feed(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    });
    const gone = () => {
      sockets.delete(socket);
      if (open) { open = false; conn.close(); }
    };
    socket.on('end', () => { gone(); socket.end(); });
    socket.on('close', gone);
    socket.on('error', (e) => log(`connection ${conn.id}: ${e.message}`));
  });
  server.on('error', (e) => { console.error(`server.mjs: ${e.message}`); process.exit(1); });
  server.listen(opts.port, opts.host, () => {
    const a = server.address();
    // Machine-readable line, as `tidings serve` and `tidings shim` print.
    console.log(`listening imap ${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
    console.log(`users: ${[...users.keys()].join(', ')} (storage: ${snapshot ? 'memory + snapshot' : 'memory'})`);
  });

  const stop = async () => {
    server.close();
    for (const s of sockets) s.end('* BYE Tidings edge host shutting down\r\n');
    if (snapshot) {
      clearTimeout(snapshot.timer);
      await snapshot.writing;
      await snapshot.save();
    }
    setTimeout(() => process.exit(0), 100).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function log(msg) {
  if (process.env.TIDINGS_LOG !== 'off') console.error(`[edge] ${msg}`);
}

main().catch((e) => {
  console.error(`server.mjs: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
