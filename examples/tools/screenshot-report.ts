// A PNG screenshot of a run's report.html in headless Chromium (for the README).
//
//   npx tsx examples/tools/screenshot-report.ts reports/mnist-dense-.../report.html docs/images/report.png [--height 1800]
//
// Needs playwright-core and a Chromium (default /usr/bin/chromium, or CHROMIUM=/path).
// The page is self-contained (no requests), so it renders offline.

import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { height: { type: 'string' }, width: { type: 'string', default: '1100' }, scale: { type: 'string', default: '1' } },
});
if (positionals.length !== 2) {
  console.error('usage: screenshot-report.ts REPORT.html OUT.png [--height PX (default: the whole page)] [--width PX] [--scale N]');
  process.exit(2);
}
const [html, out] = positionals;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: Number(values.width), height: 900 }, deviceScaleFactor: Number(values.scale) });
  await page.goto(pathToFileURL(path.resolve(html)).href, { waitUntil: 'load' });
  const full = await page.evaluate(() => document.documentElement.scrollHeight);
  const height = values.height ? Math.min(Number(values.height), full) : full;
  await page.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width: Number(values.width), height } });
  console.log(`${out}: ${values.width} x ${height} CSS px of ${full}`);
} finally {
  await browser.close();
}
