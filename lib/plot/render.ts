// One way out for every figure: an SVG string, written as .svg or rasterised
// to .png (by the file's extension).

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { FONT_OPTIONS, textRenders } from './fonts.js';

/** Compile a vega-lite spec and render it headless (no canvas, no DOM) to SVG. */
export async function vegaLiteToSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterise an SVG to PNG bytes; `pixelRatio` 2 gives twice the SVG's width and height. */
export function svgToPng(svg: string, pixelRatio = 1): Buffer {
  if (!(pixelRatio > 0)) throw new Error(`svgToPng: pixelRatio must be positive, received ${pixelRatio}`);
  textRenders(); // warns once when no font is available; the PNG is still made
  const resvg = new Resvg(svg, {
    font: FONT_OPTIONS,
    fitTo: { mode: 'zoom', value: pixelRatio },
    // Keep upscaled pixel images (digits) blocky instead of blurred.
    imageRendering: 1,
  });
  return resvg.render().asPng();
}

/** 'png' or 'svg' from the file name; checked before any drawing so a typo fails fast. */
export function figureFormat(file: string): 'png' | 'svg' {
  const ext = extname(file).toLowerCase();
  if (ext !== '.png' && ext !== '.svg') {
    throw new Error(`xa.plot: cannot tell the format of '${file}': use a .png or .svg file name`);
  }
  return ext === '.png' ? 'png' : 'svg';
}

/** Write `svg` to `file` as SVG or PNG, by extension; parent folders are created. */
export async function saveFigure(svg: string, file: string, pixelRatio = 1): Promise<void> {
  const format = figureFormat(file);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, format === 'svg' ? svg : svgToPng(svg, pixelRatio));
}
