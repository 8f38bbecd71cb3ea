// Browser test of the fhir-migrate dashboard: headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core (pinned in tests/servers).
//   node dashboard.test.mjs http://127.0.0.1:PORT/ SCREENSHOT.png
// Checks, while a migration runs: the page loads nothing from elsewhere, the
// window timeline and the throughput chart render, and both update as the
// migration moves on. Saves a screenshot. Exit 0 on success, 1 on failure.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(new URL('../servers/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [url, screenshot] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error('usage: node dashboard.test.mjs URL SCREENSHOT');
  process.exit(2);
}
const origin = new URL(url).origin;
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

const userDataDir = mkdtempSync(join(tmpdir(), 'fm-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1400, height: 1000 },
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  const foreign = [];
  const errors = [];
  page.on('request', (r) => { if (!r.url().startsWith(origin)) foreign.push(r.url()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => Number(document.body.dataset.polls || 0) >= 1, null, { timeout: 30000 });

  const snapshot = () => page.evaluate(() => {
    const tl = document.getElementById('timeline');
    const states = {};
    for (const d of tl.children) states[d.className] = (states[d.className] || 0) + 1;
    const c = document.getElementById('chart');
    const g = c.getContext('2d');
    const px = g.getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
    return {
      polls: Number(document.body.dataset.polls),
      windows: tl.children.length,
      states,
      loaded: document.getElementById('loaded').textContent,
      points: Number(c.dataset.points),
      painted,
      rows: document.querySelectorAll('#types tbody tr').length,
    };
  });

  const first = await snapshot();
  console.log('first look:', JSON.stringify(first));
  check(first.windows > 0, `the timeline shows windows (${first.windows})`);
  const total = first.windows;
  check((first.states.loaded || 0) < total, 'the migration is still running when the page opens');

  // Wait for the migration to move on and the chart to gather samples.
  let last = first;
  const deadline = Date.now() + 90000;
  while (Date.now() < deadline) {
    await page.waitForTimeout(1000);
    last = await snapshot();
    const moved = last.loaded !== first.loaded && (last.states.loaded || 0) > (first.states.loaded || 0);
    if (moved && last.points >= 4) break;
  }
  console.log('later look:', JSON.stringify(last));
  check(last.polls > first.polls, `the page refreshes itself (${first.polls} -> ${last.polls} polls)`);
  check((last.states.loaded || 0) > (first.states.loaded || 0),
    `the timeline updates (${first.states.loaded || 0} -> ${last.states.loaded || 0} windows done)`);
  check(last.loaded !== first.loaded, `the loaded count updates (${first.loaded} -> ${last.loaded})`);
  check(last.points >= 4, `the chart has samples (${last.points})`);
  check(last.painted > 1000, `the chart is drawn (${last.painted} painted pixels)`);
  check(last.rows > 0, `per-type progress has rows (${last.rows})`);
  const text = await page.textContent('body');
  check(/Last verification/.test(text) && /Recent failures/.test(text), 'the verification and failure panels are there');

  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);
  check(foreign.length === 0, `nothing is loaded from another origin (${foreign.join(', ') || 'none'})`);
  check(errors.length === 0, `no script errors (${errors.join(' | ') || 'none'})`);
} catch (e) {
  failures.push(String(e?.stack || e));
  console.error(e);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
if (failures.length) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('dashboard: all checks passed');
