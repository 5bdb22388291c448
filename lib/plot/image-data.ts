// Pixel tensors (grey or channels-last colour, bytes or floats) to RGBA
// bitmaps and PNG data URIs, upscaled with nearest neighbour so small
// images such as 28x28 digits stay sharp.

import { PNG } from 'pngjs';
import { Tensor } from '../tensor.js';

/** A batch [N,H,W] / [N,H,W,C] Tensor, or a list of single images [H,W] / [H,W,C]. C is 1, 3 or 4. */
export type ImagesInput = Tensor | ReadonlyArray<Tensor>;

export interface Bitmap {
  width: number;
  height: number;
  /** RGBA bytes, row-major. */
  rgba: Uint8Array;
}

const CHANNELS = [1, 3, 4];

/** 255 when the values look like [0, 1] floats (max <= 1), else 1 (already [0, 255]). */
function valueScale(t: Tensor): number {
  if (t.dtype !== 'float32') return 1;
  let max = -Infinity;
  for (const v of t.data) if (v > max) max = v;
  return max <= 1 ? 255 : 1;
}

function toBitmap(data: ArrayLike<number>, offset: number, height: number, width: number, channels: number, scale: number): Bitmap {
  const rgba = new Uint8Array(width * height * 4);
  const byte = (v: number): number => (Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round(v * scale))) : 0);
  for (let p = 0; p < width * height; p++) {
    const src = offset + p * channels;
    const grey = channels === 1;
    rgba[p * 4] = byte(data[src]);
    rgba[p * 4 + 1] = byte(data[grey ? src : src + 1]);
    rgba[p * 4 + 2] = byte(data[grey ? src : src + 2]);
    rgba[p * 4 + 3] = channels === 4 ? byte(data[src + 3]) : 255;
  }
  return { width, height, rgba };
}

function shapeError(where: string, t: Tensor, expected: string): Error {
  return new Error(`${where}: expected ${expected}, received shape [${t.shape.join(', ')}]`);
}

/** One image [H,W] or [H,W,C]. */
export function singleBitmap(t: Tensor, where: string, scale = valueScale(t)): Bitmap {
  if (!(t instanceof Tensor)) throw new TypeError(`${where}: expected a Tensor image`);
  if (t.rank === 2) return toBitmap(t.data, 0, t.shape[0], t.shape[1], 1, scale);
  if (t.rank === 3 && CHANNELS.includes(t.shape[2])) return toBitmap(t.data, 0, t.shape[0], t.shape[1], t.shape[2], scale);
  throw shapeError(where, t, 'an image [H, W] or [H, W, C] with C = 1, 3 or 4');
}

/** Every image of a batch tensor or list; a batch's value range is judged over the whole batch. */
export function toBitmaps(images: ImagesInput, where: string): Bitmap[] {
  if (Array.isArray(images)) return images.map((t, i) => singleBitmap(t, `${where}: image ${i}`));
  if (!(images instanceof Tensor)) throw new TypeError(`${where}: expected a Tensor or an array of Tensors`);
  const t = images;
  const scale = valueScale(t);
  if (t.rank === 3) {
    const [n, h, w] = t.shape;
    return Array.from({ length: n }, (_, i) => toBitmap(t.data, i * h * w, h, w, 1, scale));
  }
  if (t.rank === 4 && CHANNELS.includes(t.shape[3])) {
    const [n, h, w, c] = t.shape;
    return Array.from({ length: n }, (_, i) => toBitmap(t.data, i * h * w * c, h, w, c, scale));
  }
  throw shapeError(where, t, 'a batch [N, H, W] or [N, H, W, C] with C = 1, 3 or 4, or an array of images');
}

/** Each pixel repeated `factor` times in both directions. */
export function upscale(b: Bitmap, factor: number): Bitmap {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`plot: scale must be a positive integer, received ${factor}`);
  if (factor === 1) return b;
  const width = b.width * factor;
  const height = b.height * factor;
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = (Math.floor(y / factor) * b.width + Math.floor(x / factor)) * 4;
      rgba.set(b.rgba.subarray(src, src + 4), (y * width + x) * 4);
    }
  }
  return { width, height, rgba };
}

export function encodePng(b: Bitmap): Buffer {
  const png = new PNG({ width: b.width, height: b.height });
  png.data = Buffer.from(b.rgba.buffer, b.rgba.byteOffset, b.rgba.byteLength);
  return PNG.sync.write(png);
}

export function pngDataUri(b: Bitmap): string {
  return `data:image/png;base64,${encodePng(b).toString('base64')}`;
}
