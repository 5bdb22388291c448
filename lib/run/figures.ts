// Small additions to xa.plot for the run's figures: a heading over an image
// grid (so every CIFAR figure can say "CIFAR-10 (JPEG proxy)"), and a
// placeholder figure for what has nothing to show (no errors, no epochs).

import { saveFigure } from '../plot/index.js';

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const HEADING = 30;
const FONT = 15;

function sizeOf(svg: string): { width: number; height: number } {
  const open = svg.slice(0, svg.indexOf('>'));
  const width = Number(/\bwidth="([\d.]+)"/.exec(open)?.[1]);
  const height = Number(/\bheight="([\d.]+)"/.exec(open)?.[1]);
  if (!(width > 0 && height > 0)) throw new Error('figures: the SVG has no width/height');
  return { width, height };
}

/** `svg` (with width and height attributes) under a one-line heading. */
export function withHeading(svg: string, heading: string): string {
  const { width: innerWidth, height } = sizeOf(svg);
  const width = Math.max(innerWidth, Math.ceil(heading.length * FONT * 0.6) + 20);
  const inner = svg.replace(/^<svg\b/, `<svg x="${(width - innerWidth) / 2}" y="${HEADING}"`);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + HEADING}" viewBox="0 0 ${width} ${height + HEADING}" ` +
    `font-family="sans-serif" fill="#222"><rect width="${width}" height="${height + HEADING}" fill="white"/>` +
    `<text x="${width / 2}" y="${HEADING - 9}" text-anchor="middle" font-size="${FONT}" font-weight="bold">${escapeXml(heading)}</text>` +
    `${inner}</svg>`
  );
}

/** A white figure with a heading and one line of text. */
export function placeholderSvg(heading: string, text: string): string {
  const width = Math.max(360, Math.ceil(Math.max(heading.length, text.length) * FONT * 0.6) + 40);
  const height = 90;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" fill="#222">` +
    `<rect width="${width}" height="${height}" fill="white"/>` +
    `<text x="${width / 2}" y="${HEADING - 9}" text-anchor="middle" font-size="${FONT}" font-weight="bold">${escapeXml(heading)}</text>` +
    `<text x="${width / 2}" y="${HEADING + 30}" text-anchor="middle" font-size="${FONT - 2}" fill="#555">${escapeXml(text)}</text></svg>`
  );
}

export async function savePlaceholder(file: string, heading: string, text: string): Promise<void> {
  await saveFigure(placeholderSvg(heading, text), file, 2);
}

/** Writes `svg` under `heading` to `file` (.png at twice the size, or .svg). */
export async function saveWithHeading(svg: string, heading: string, file: string, pixelRatio = 2): Promise<void> {
  await saveFigure(withHeading(svg, heading), file, pixelRatio);
}
