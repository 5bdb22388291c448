import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { confusionMatrix as computeConfusionMatrix } from '../../lib/metrics/index.js';
import { confusionMatrix } from '../../lib/plot/index.js';
import { distinctColours, inkFraction, readPng, svgSize, svgTexts } from './png-helpers.js';

const counts = [
  [50, 2, 0],
  [3, 40, 7],
  [1, 0, 47],
];

describe('plot.confusionMatrix', () => {
  it("labels the axes 'predicted' and 'real' and writes every count", async () => {
    const svg = await confusionMatrix(counts, { labels: ['cat', 'dog', 'bird'], title: 'Test set' });
    const texts = svgTexts(svg);
    for (const t of ['predicted', 'real', 'cat', 'dog', 'bird', 'Test set']) expect(texts).toContain(t);
    for (const n of counts.flat()) expect(texts).toContain(String(n));
    // Contrasting text: white on the dark diagonal, black on the pale cells.
    expect(svg).toMatch(/<text[^>]*fill="white"[^>]*>50<\/text>/);
    expect(svg).toMatch(/<text[^>]*fill="black"[^>]*>2<\/text>/);
  });

  it('takes the int32 Tensor of metrics.confusionMatrix and escapes labels', async () => {
    const cm = computeConfusionMatrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2]);
    const svg = await confusionMatrix(cm, { labels: ['<a>', 'b&c', 'd'] });
    expect(svg).toContain('&lt;a&gt;');
    expect(svg).toContain('b&amp;c');
    expect(svg).not.toContain('<a>');
  });

  it('normalizes rows to fractions', async () => {
    const texts = svgTexts(await confusionMatrix(counts, { normalize: true }));
    expect(texts).toContain('0.96');
    expect(texts).toContain('0.80');
    expect(texts).toContain('fraction');
  });

  it('writes a non-blank PNG of the expected size', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'xarxa-plot-')), 'cm.png');
    const svg = await confusionMatrix(counts, { file });
    const png = readPng(file);
    expect(png.width).toBe(svgSize(svg).width * 2);
    expect(png.height).toBe(svgSize(svg).height * 2);
    expect(distinctColours(png)).toBeGreaterThan(20);
    expect(inkFraction(png)).toBeGreaterThan(0.1);
  });

  it('rejects non-square matrices and wrong label counts', async () => {
    await expect(confusionMatrix([[1, 2]])).rejects.toThrow('square');
    await expect(confusionMatrix(counts, { labels: ['a'] })).rejects.toThrow('1 labels for a 3x3 matrix');
  });
});
