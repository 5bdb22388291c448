import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { image, images, svgToPng, textRenders } from '../../lib/plot/index.js';
import { tensor } from '../../lib/tensor.js';
import { decodePng, distinctColours, inkFraction, pixel, readPng, svgSize, svgTexts } from './png-helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'xarxa-plot-'));

// N grey 28x28 "digits": a bright square whose size grows with the index.
function digits(n: number) {
  const data = new Uint8Array(n * 28 * 28);
  for (let i = 0; i < n; i++) {
    for (let y = 8; y < 14 + i; y++) for (let x = 8; x < 14 + i; x++) data[i * 784 + y * 28 + x] = 255;
  }
  return tensor(data, [n, 28, 28]);
}

describe('plot.images', () => {
  it('lays out a grid with captions, upscaling 28x28 digits 4x with sharp pixels', async () => {
    const file = join(tmp(), 'grid.png');
    const titles = ['Predicted: 3; Real: 5', 'Predicted: 1; Real: 7', 'Predicted: 0; Real: 6'];
    const svg = await images(digits(3), { titles, cols: 2, file });
    expect(svgTexts(svg)).toEqual(titles);
    const png = readPng(file);
    expect([png.width, png.height]).toEqual([svgSize(svg).width, svgSize(svg).height]);
    // Two columns, two rows: the images are 112 px, so at least 2 * 112 wide and high.
    expect(png.width).toBeGreaterThan(2 * 112);
    expect(png.height).toBeGreaterThan(2 * 112);
    expect(distinctColours(png)).toBeGreaterThan(3);
    expect(inkFraction(png)).toBeGreaterThan(0.1);
    // Nearest-neighbour upscale: only pure black and white inside the first image.
    const first = /<image x="([\d.]+)" y="([\d.]+)"/.exec(svg)!;
    const [x0, y0] = [Math.ceil(Number(first[1])), Math.ceil(Number(first[2]))];
    expect(pixel(png, x0 + 2, y0 + 2)).toEqual([0, 0, 0, 255]);
    expect(pixel(png, x0 + 8 * 4 + 2, y0 + 8 * 4 + 2)).toEqual([255, 255, 255, 255]);
  });

  it('shows colour images given as [0, 1] floats or [0, 255] floats, and [N,H,W,1]', async () => {
    const red = new Float32Array(2 * 4 * 4 * 3);
    for (let p = 0; p < red.length; p += 3) red[p] = 1;
    const dir = tmp();
    for (const [name, t] of [
      ['unit.png', tensor(red, [2, 4, 4, 3])],
      ['bytes.png', tensor(red.map((v) => v * 255), [2, 4, 4, 3])],
    ] as const) {
      const svg = await images(t, { file: join(dir, name), scale: 10 });
      const png = readPng(join(dir, name));
      const first = /<image x="([\d.]+)" y="([\d.]+)"/.exec(svg)!;
      expect(pixel(png, Number(first[1]) + 5, Number(first[2]) + 5)).toEqual([255, 0, 0, 255]);
    }
    const grey = await images(tensor(new Float32Array(3 * 5 * 5).fill(0.5), [3, 5, 5, 1]));
    expect(grey.match(/<image /g)).toHaveLength(3);
  });

  it('accepts an array of single images of different sizes', async () => {
    const svg = await images([tensor(new Uint8Array(6 * 6).fill(200), [6, 6]), tensor(new Uint8Array(8 * 4 * 3), [8, 4, 3])], { scale: 3 });
    expect(svg).toContain('width="18" height="18"');
    expect(svg).toContain('width="12" height="24"');
  });

  it('writes an SVG grid for a .svg file name', async () => {
    const svg = await images(digits(2), { file: join(tmp(), 'g.svg') });
    expect(svg).toContain('data:image/png;base64,');
  });

  it('rejects mismatched titles and wrong shapes', async () => {
    await expect(images(digits(2), { titles: ['a'] })).rejects.toThrow('1 titles for 2 images');
    await expect(images(tensor(new Uint8Array(10), [10]))).rejects.toThrow('expected a batch');
    await expect(images(digits(2), { cols: 0 })).rejects.toThrow('cols must be a positive integer');
  });
});

describe('plot.image', () => {
  it('shows one image with its label', async () => {
    const file = join(tmp(), 'one.png');
    const svg = await image(digits(1).reshape([28, 28]), { title: 'Label: 5', file });
    expect(svgTexts(svg)).toEqual(['Label: 5']);
    const png = readPng(file);
    expect(png.width).toBeGreaterThanOrEqual(112);
    expect(inkFraction(png)).toBeGreaterThan(0.2);
    await expect(image(digits(2))).rejects.toThrow('plot.image: expected an image');
  });
});

describe('fonts', () => {
  it.skipIf(!textRenders())('draws text in PNGs (a system font is installed)', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="80" height="30"><rect width="80" height="30" fill="white"/><text x="4" y="22" font-family="sans-serif" font-size="18">epoch</text></svg>';
    expect(inkFraction(decodePng(svgToPng(svg)))).toBeGreaterThan(0.02);
  });
  if (!textRenders()) console.warn('plot tests: no system font, PNG text is not checked (apt-get install -y fonts-dejavu-core)');
});
