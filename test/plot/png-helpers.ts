// Checks on rendered figures: decode the PNG and make sure it holds a picture,
// not an empty canvas.

import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';

export function decodePng(bytes: Buffer): PNG {
  return PNG.sync.read(bytes);
}

export function readPng(file: string): PNG {
  return decodePng(readFileSync(file));
}

/** Number of distinct RGBA colours. */
export function distinctColours(png: PNG): number {
  const seen = new Set<number>();
  for (let i = 0; i < png.data.length; i += 4) seen.add(png.data.readUInt32BE(i));
  return seen.size;
}

/** Fraction of pixels that differ from the top-left (background) pixel. */
export function inkFraction(png: PNG): number {
  const background = png.data.readUInt32BE(0);
  let ink = 0;
  for (let i = 0; i < png.data.length; i += 4) if (png.data.readUInt32BE(i) !== background) ink++;
  return ink / (png.width * png.height);
}

/** RGBA of one pixel. */
export function pixel(png: PNG, x: number, y: number): number[] {
  const i = (y * png.width + x) * 4;
  return Array.from(png.data.subarray(i, i + 4));
}

/** The width and height attributes of an SVG's root element. */
export function svgSize(svg: string): { width: number; height: number } {
  const root = svg.slice(0, svg.indexOf('>'));
  const width = Number(/\swidth="([\d.]+)"/.exec(root)?.[1]);
  const height = Number(/\sheight="([\d.]+)"/.exec(root)?.[1]);
  return { width, height };
}

/** Texts of all <text> elements in an SVG. */
export function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}
