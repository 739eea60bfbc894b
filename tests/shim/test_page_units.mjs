// Unit tests for the page's pure parts under Node: the shim frame codec (shim-link.js) and
// the transcript's line splitter (transcript.js), which must not depend on chunking.
// Run: node tests/shim/test_page_units.mjs

import { encodeFrame, decodeFrame, T_DATA, T_CLOSE } from '../../web-demo/www/shim-link.js';
import { LineSplitter, classifyServer } from '../../web-demo/www/transcript.js';

let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n${e.stack}`);
  }
}
function eq(a, b, what = '') {
  const ja = JSON.stringify(a), jb = JSON.stringify(b);
  if (ja !== jb) throw new Error(`${what} expected ${jb}, got ${ja}`);
}

const enc = new TextEncoder();

check('frame round trip, big-endian id, matches the Rust layout', () => {
  const m = encodeFrame(T_DATA, 0x01020304, enc.encode('a1 NOOP\r\n'));
  eq([...m.subarray(0, 5)], [2, 1, 2, 3, 4]);
  const f = decodeFrame(m.buffer);
  eq([f.type, f.id, new TextDecoder().decode(f.payload)], [2, 0x01020304, 'a1 NOOP\r\n']);
  eq([...encodeFrame(T_CLOSE, 7)], [3, 0, 0, 0, 7]);
});

check('short messages decode to null', () => {
  for (let n = 0; n < 5; n++) eq(decodeFrame(new Uint8Array(n).buffer), null);
});

const STREAM = 'a1 OK LOGIN done\r\n* 1 FETCH (BODY[] {22}\r\n* BYE inside literal\r\n)\r\n' +
  '+ go ahead\r\n* 2 EXISTS\r\na2 NO [TRYCREATE] no\r\na3 BAD what\r\n* 3 FETCH (BODY[] {0}\r\n)\r\n';

function split(chunks) {
  const out = [];
  const s = new LineSplitter((l) => out.push(['line', l]), (p, n) => out.push(['lit', p, n]));
  for (const c of chunks) s.push(c);
  return out;
}

check('splitter: literals are counted, not line-split', () => {
  const out = split([enc.encode(STREAM)]);
  eq(out, [
    ['line', 'a1 OK LOGIN done'],
    ['line', '* 1 FETCH (BODY[] {22}'],
    ['lit', '* BYE inside literal\r\n', 22],
    ['line', ')'],
    ['line', '+ go ahead'],
    ['line', '* 2 EXISTS'],
    ['line', 'a2 NO [TRYCREATE] no'],
    ['line', 'a3 BAD what'],
    ['line', '* 3 FETCH (BODY[] {0}'],
    ['lit', '', 0],
    ['line', ')'],
  ]);
});

check('splitter: every chunking gives the same events', () => {
  const bytes = enc.encode(STREAM);
  const whole = JSON.stringify(split([bytes]));
  for (let size = 1; size <= 9; size++) {
    const chunks = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    eq(JSON.stringify(split(chunks)), whole, `chunk size ${size}:`);
  }
});

check('splitter: client LITERAL+ and multibyte text split mid-character', () => {
  const bytes = enc.encode('a APPEND INBOX {6+}\r\nhé!\r\na NOOP\r\n');
  const out = split([bytes.subarray(0, 22), bytes.subarray(22)]);
  eq(out, [['line', 'a APPEND INBOX {6+}'], ['lit', 'hé!\r\n', 6], ['line', 'a NOOP']]);
});

check('classifyServer tells the kinds apart', () => {
  eq(classifyServer('* 3 EXISTS'), 'untagged');
  eq(classifyServer('+ idling'), 'cont');
  eq(classifyServer('+'), 'cont');
  eq(classifyServer('a1 OK done'), 'tagged tagged-ok');
  eq(classifyServer('a1 NO [x] no'), 'tagged tagged-no');
  eq(classifyServer('a1 BAD nope'), 'tagged tagged-bad');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
