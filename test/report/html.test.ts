import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReport, writeReport } from '../../lib/report/index.js';
import { sampleReport } from './fixture.js';

describe('report.writeReport', () => {
  it('writes dir/report.html, creating the folder', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'xarxa-report-')), 'run-1');
    const file = await writeReport(dir, sampleReport());
    expect(file).toBe(join(dir, 'report.html'));
    expect(readFileSync(file, 'utf8')).toContain('<!DOCTYPE html>');
  });

  it('holds every section, self-contained and with all text escaped', async () => {
    const html = await renderReport(sampleReport());
    for (const heading of ['Settings', 'Device and timings', 'Training history', 'Confusion matrix', 'Classification report', 'Misclassified samples', 'Model summary', 'Notes']) {
      expect(html).toContain(`<h2>${heading}</h2>`);
    }
    expect(html).toContain('<title>MNIST &lt;demo&gt; &amp; report</title>');
    expect(html).toContain('<th scope="row">loss &lt;fn&gt;</th><td>categorical_crossentropy</td>');
    expect(html).toContain('<td>rmsprop</td>');
    expect(html).toContain('<td>12.35 s</td>');
    expect(html).toContain('CPU (test) &lt;none&gt;');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('66.67%');
    expect(html).toContain('0.2988');
    expect(html).toContain('     zero       0.75      0.75      0.75         4');
    expect(html).toContain('Predicted: two; Real: one');
    // Figures are inline SVG, with the axes the notebook shows.
    expect(html.match(/<figure[^>]*><svg/g)).toHaveLength(3);
    expect(html).toContain('>predicted<');
    expect(html).toContain('>real<');
    expect(html).toContain('>epoch<');
    // Nothing to fetch: no scripts, no stylesheets, no remote sources.
    expect(html).not.toMatch(/<script|<link|\ssrc="http|href="http|url\((?!#)/i);
    // Ids are unique on the page (vega's legend gradients are numbered process-wide).
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('says so when there are no misclassified samples', async () => {
    const report = sampleReport();
    report.misclassified = { images: [], titles: [] };
    expect(await renderReport(report)).toContain('No misclassified samples.');
  });
});
