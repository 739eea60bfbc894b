// Drives the demo page in headless Chromium (Debian's, via playwright-core) for the Python
// end-to-end test: one command per stdin line, one JSON answer per stdout line.
//
//   node tests/shim/page_driver.mjs URL
//   commands: wait-ready | reload | screenshot PATH | eval JS | text SELECTOR | console LINE |
//             profile-start | profile-stop PATH (the page's CPU profile, .cpuprofile JSON) | quit
//
// Every command is bounded in time; the browser uses a fresh profile in a temp dir.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const url = process.argv[2];
const EXE = process.env.CHROMIUM || '/usr/bin/chromium';
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tidings-chromium-'));
const pageLog = [];
let cdp = null;   // a CDP session, made by the first profile-start

function answer(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const context = await chromium.launchPersistentContext(profile, {
  executablePath: EXE,
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] || await context.newPage();
page.on('console', (m) => pageLog.push(`[${m.type()}] ${m.text()}`));
page.on('pageerror', (e) => pageLog.push(`[pageerror] ${e.message}`));
await page.goto(url);

async function waitReady() {
  await page.waitForSelector('body[data-engine="ready"][data-shim="connected"]', { timeout: 30000 });
}

async function run(line) {
  const sp = line.indexOf(' ');
  const cmd = sp < 0 ? line : line.slice(0, sp);
  const arg = sp < 0 ? '' : line.slice(sp + 1);
  switch (cmd) {
    case 'wait-ready':
      await waitReady();
      return {};
    case 'reload':
      await page.reload();
      await waitReady();
      return {};
    case 'screenshot':
      fs.mkdirSync(path.dirname(arg), { recursive: true });
      await page.screenshot({ path: arg });
      return { path: arg };
    case 'eval':
      return { value: await page.evaluate(arg) };
    case 'text':
      return { value: await page.locator(arg).allInnerTexts() };
    case 'console':
      await page.fill('#console-input', arg);
      await page.press('#console-input', 'Enter');
      return {};
    case 'profile-start':
      cdp = cdp || await context.newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
      return {};
    case 'profile-stop': {
      if (!cdp) throw new Error('profile-stop without profile-start');
      const { profile: prof } = await cdp.send('Profiler.stop');
      fs.writeFileSync(arg, JSON.stringify(prof));
      return { path: arg };
    }
    case 'log':
      return { value: pageLog.slice(-50) };
    case 'quit':
      return { quit: true };
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

const rl = readline.createInterface({ input: process.stdin });
answer({ started: true });
for await (const line of rl) {
  if (!line.trim()) continue;
  let reply;
  try {
    reply = { ok: true, ...(await run(line.trim())) };
  } catch (e) {
    reply = { ok: false, error: String(e && e.message ? e.message : e), log: pageLog.slice(-30) };
  }
  answer(reply);
  if (reply.quit) break;
}
await context.close();
fs.rmSync(profile, { recursive: true, force: true });
process.exit(0);
