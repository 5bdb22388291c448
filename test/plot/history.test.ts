import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { history, historySpec } from '../../lib/plot/index.js';
import { distinctColours, inkFraction, readPng, svgSize, svgTexts } from './png-helpers.js';

const keras = {
  history: {
    loss: [0.9, 0.5, 0.35, 0.3],
    accuracy: [0.7, 0.85, 0.9, 0.92],
    val_loss: [0.6, 0.45, 0.4, 0.41],
    val_accuracy: [0.8, 0.86, 0.88, 0.87],
  },
  epoch: [0, 1, 2, 3],
};

const tmp = (): string => mkdtempSync(join(tmpdir(), 'xarxa-plot-'));

describe('plot.history', () => {
  it('draws accuracy then loss panels with epochs from 1, train and validation legends', async () => {
    const svg = await history(keras, { title: 'Run 1' });
    const texts = svgTexts(svg);
    expect(texts).toContain('epoch');
    expect(texts).toContain('accuracy');
    expect(texts).toContain('loss');
    expect(texts).toContain('train');
    expect(texts).toContain('validation');
    expect(texts).toContain('Run 1');
    expect(svg.indexOf('>accuracy<')).toBeLessThan(svg.indexOf('>loss<'));
    // Epoch ticks start at 1 (Keras records 0-based epochs).
    // The first axis drawn is the accuracy panel's x axis: whole epochs 1..4, then its title.
    expect(texts.slice(0, 5)).toEqual(['1', '2', '3', '4', 'epoch']);
    const spec = historySpec(keras) as { hconcat: { data: { values: { epoch: number }[] } }[] };
    expect(spec.hconcat).toHaveLength(2);
    const epochs = spec.hconcat[0].data.values.map((p) => p.epoch);
    expect(Math.min(...epochs)).toBe(1);
    expect(Math.max(...epochs)).toBe(4);
  });

  it('writes a non-blank PNG at twice the SVG size, creating folders', async () => {
    const file = join(tmp(), 'nested', 'deeper', 'history.png');
    const svg = await history(keras, { file });
    const png = readPng(file);
    const size = svgSize(svg);
    expect(png.width).toBe(size.width * 2);
    expect(png.height).toBe(size.height * 2);
    expect(distinctColours(png)).toBeGreaterThan(20);
    expect(inkFraction(png)).toBeGreaterThan(0.02);
  });

  it('writes SVG for a .svg file name', async () => {
    const file = join(tmp(), 'history.svg');
    const svg = await history(keras, { file });
    expect(readFileSync(file, 'utf8')).toBe(svg);
    expect(svg.startsWith('<svg')).toBe(true);
  });

  it('handles old Keras names, a single series and no epoch list', async () => {
    const spec = historySpec({ history: { val_acc: [0.5, 0.6], acc: [0.4, 0.7], loss: [1, 0.5] } }) as { hconcat: { title: string }[] };
    expect(spec.hconcat.map((p) => p.title)).toEqual(['acc', 'loss']);
    const svg = await history({ history: { loss: [2, 1, NaN, 0.5] } });
    expect(svgTexts(svg)).toContain('loss');
    expect(svgTexts(svg)).toContain('train');
    expect(svgTexts(svg)).not.toContain('validation');
  });

  it('rejects empty histories and unknown extensions', async () => {
    await expect(history({ history: {} })).rejects.toThrow('no series');
    await expect(history(keras, { file: join(tmp(), 'h.jpg') })).rejects.toThrow('use a .png or .svg');
  });
});
