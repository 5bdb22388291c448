// A grid of images with a caption over each ("Predicted: 3; Real: 5").
// This is a picture layout, not a chart, so it is a small SVG of <image>
// elements (PNG data URIs) rather than a vega spec.

import type { Tensor } from '../tensor.js';
import { type Bitmap, type ImagesInput, pngDataUri, singleBitmap, toBitmaps, upscale } from './image-data.js';
import { figureFormat, saveFigure } from './render.js';

export interface ImagesPlotOptions {
  /** One caption per image, drawn above it. */
  titles?: readonly string[];
  /** Images per row (default: up to 5). */
  cols?: number;
  file?: string;
  /** Integer upscale factor (default: enough for about 100 px, so 4 for 28x28). */
  scale?: number;
}

export interface ImagePlotOptions {
  title?: string;
  file?: string;
  scale?: number;
}

const GAP = 10;
const FONT_SIZE = 13;
const TITLE_BAND = 22;
// Rough width of a sans-serif character, to keep long captions inside their cell.
const CHAR_WIDTH = 0.62 * FONT_SIZE;

const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function defaultScale(bitmaps: Bitmap[]): number {
  const largest = Math.max(...bitmaps.map((b) => Math.max(b.width, b.height)));
  return Math.max(1, Math.ceil(96 / largest));
}

function gridSvg(bitmaps: Bitmap[], titles: readonly string[] | undefined, cols: number, scale: number): string {
  const scaled = bitmaps.map((b) => upscale(b, scale));
  const longest = Math.max(0, ...(titles ?? []).map((t) => t.length));
  const cellW = Math.ceil(Math.max(...scaled.map((b) => b.width), longest * CHAR_WIDTH));
  const cellH = Math.max(...scaled.map((b) => b.height)) + (titles ? TITLE_BAND : 0);
  const rows = Math.ceil(scaled.length / cols);
  const width = GAP + cols * (cellW + GAP);
  const height = GAP + rows * (cellH + GAP);

  const parts = scaled.map((b, i) => {
    const x = GAP + (i % cols) * (cellW + GAP);
    const y = GAP + Math.floor(i / cols) * (cellH + GAP);
    const top = y + (titles ? TITLE_BAND : 0);
    const caption = titles
      ? `<text x="${x + cellW / 2}" y="${y + FONT_SIZE + 2}" text-anchor="middle">${escapeXml(titles[i])}</text>`
      : '';
    const image =
      `<image x="${x + (cellW - b.width) / 2}" y="${top}" width="${b.width}" height="${b.height}" ` +
      `image-rendering="pixelated" style="image-rendering:pixelated" href="${pngDataUri(b)}"/>`;
    return caption + image;
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="sans-serif" font-size="${FONT_SIZE}" fill="#222">` +
    `<rect width="${width}" height="${height}" fill="white"/>${parts.join('')}</svg>`
  );
}

/** Images in a grid, with optional captions; returns the SVG, writes `file` (.png/.svg) if given. */
export async function images(input: ImagesInput, options: ImagesPlotOptions = {}): Promise<string> {
  if (options.file) figureFormat(options.file);
  const bitmaps = toBitmaps(input, 'plot.images');
  if (bitmaps.length === 0) throw new Error('plot.images: no images to show');
  const { titles } = options;
  if (titles && titles.length !== bitmaps.length) {
    throw new Error(`plot.images: ${titles.length} titles for ${bitmaps.length} images`);
  }
  const cols = options.cols ?? Math.min(5, bitmaps.length);
  if (!Number.isInteger(cols) || cols < 1) throw new Error(`plot.images: cols must be a positive integer, received ${cols}`);
  const svg = gridSvg(bitmaps, titles?.map(String), cols, options.scale ?? defaultScale(bitmaps));
  if (options.file) await saveFigure(svg, options.file);
  return svg;
}

/** One image [H,W] or [H,W,C] with an optional caption (e.g. its label). */
export async function image(img: Tensor, options: ImagePlotOptions = {}): Promise<string> {
  singleBitmap(img, 'plot.image'); // shape check with this function's name in the message
  return images([img], {
    titles: options.title === undefined ? undefined : [options.title],
    cols: 1,
    file: options.file,
    scale: options.scale,
  });
}
