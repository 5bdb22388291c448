// Opens the report in headless Chromium (Debian's package, driven by
// playwright-core) to check that every figure renders and nothing is fetched.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { writeReport } from '../../lib/report/index.js';
import { sampleReport } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../.artifacts', import.meta.url));
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`report browser test skipped: ${CHROMIUM} not found (run scripts/install-chromium.sh)`);

describe('report in a browser', () => {
  it.skipIf(!hasChromium)('renders every figure with no console errors and no requests', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xarxa-report-'));
    const file = await writeReport(join(dir, 'out'), sampleReport());
    const profile = join(dir, 'profile');
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const problems: string[] = [];
      const pageUrl = pathToFileURL(file).href;
      context.on('requestfailed', (r) => problems.push(`failed request: ${r.url()}`));
      context.on('request', (r) => {
        if (r.url() !== pageUrl && !r.url().startsWith('data:')) problems.push(`request: ${r.url()}`);
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      await page.setViewportSize({ width: 1200, height: 900 });
      await page.goto(pageUrl, { waitUntil: 'load' });

      const figures = await page.evaluate(() => {
        const box = (e: Element) => e.getBoundingClientRect();
        return {
          svgs: [...document.querySelectorAll('figure > svg')].map((s) => ({ w: box(s).width, h: box(s).height })),
          imgs: [...document.querySelectorAll('img')].map((i) => ({ complete: i.complete, w: i.naturalWidth, h: i.naturalHeight })),
          galleryImages: document.querySelectorAll('figure svg image').length,
        };
      });
      expect(figures.svgs).toHaveLength(3);
      for (const s of figures.svgs) expect(s.w * s.h).toBeGreaterThan(0);
      for (const i of figures.imgs) expect(i.complete && i.w > 0 && i.h > 0).toBe(true);
      expect(figures.galleryImages).toBeGreaterThan(0);

      // The gallery's embedded PNGs really paint: its screenshot has more than background and text colours.
      const gallery = PNG.sync.read(await page.locator('figure[aria-label="misclassified samples"]').screenshot());
      const colours = new Set<number>();
      for (let i = 0; i < gallery.data.length; i += 4) colours.add(gallery.data.readUInt32BE(i));
      expect(colours.size).toBeGreaterThan(2);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
