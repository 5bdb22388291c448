// resvg draws text only with fonts it can load; without any, PNGs silently lose
// their labels. Probe once and say so, rather than hand out unlabelled charts.

import { Resvg } from '@resvg/resvg-js';

export const FONT_OPTIONS = { loadSystemFonts: true } as const;

const PROBE =
  '<svg xmlns="http://www.w3.org/2000/svg" width="60" height="30">' +
  '<text x="2" y="22" font-family="sans-serif" font-size="20">Ag</text></svg>';

let probed: boolean | undefined;

/** Whether resvg finds a font to draw text with (probed once per process). */
export function textRenders(): boolean {
  if (probed === undefined) {
    const pixels = new Resvg(PROBE, { font: FONT_OPTIONS }).render().pixels;
    probed = false;
    for (let i = 3; i < pixels.length; i += 4) {
      if (pixels[i] !== 0) {
        probed = true;
        break;
      }
    }
    if (!probed) {
      console.warn(
        'xa.plot: no system font found, PNG figures will have no text. ' +
          'Install one, e.g. `apt-get install -y fonts-dejavu-core` (or use .svg files).',
      );
    }
  }
  return probed;
}
