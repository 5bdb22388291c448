// CIFAR-10 batch files. Each batch holds n images as planar rows of 3072
// bytes (1024 R, then 1024 G, then 1024 B, each 32x32 row-major) and n labels.
// Python version: a pickled dict {b'labels': [...], b'data': uint8 (n, 3072), ...}.
// Binary version: n records of 1 label byte + 3072 planar bytes.

import { DatasetFileError } from './bytes.js';
import { checkLabels } from './mnist-format.js';
import { NdArray, parsePickle } from './pickle.js';

export const SIDE = 32;
export const CHANNELS = 3;
export const ROW = SIDE * SIDE * CHANNELS; // 3072

export interface Batch {
  labels: Uint8Array;
  data: Uint8Array; // planar rows, n * 3072 bytes
}

export function readPythonBatch(buf: Uint8Array, file: string): Batch {
  const batch = parsePickle(buf, file);
  if (!(batch instanceof Map)) throw new DatasetFileError(file, 'the pickle does not hold a dict (not a CIFAR-10 batch)');
  const data = batch.get('data');
  const labelList = batch.get('labels');
  if (!(data instanceof NdArray)) throw new DatasetFileError(file, "no 'data' array (not a CIFAR-10 batch)");
  if (!Array.isArray(labelList)) throw new DatasetFileError(file, "no 'labels' list (not a CIFAR-10 batch)");
  if (data.dtype !== 'u1' || data.shape.length !== 2 || data.shape[1] !== ROW) {
    throw new DatasetFileError(file, `'data' is ${data.dtype} (${data.shape.join(', ')}), expected uint8 (n, ${ROW})`);
  }
  if (data.shape[0] !== labelList.length) throw new DatasetFileError(file, `${labelList.length} labels for ${data.shape[0]} images`);
  const labels = new Uint8Array(labelList.length);
  labelList.forEach((label, i) => {
    if (!Number.isInteger(label) || label < 0 || label > 9) {
      throw new DatasetFileError(file, `label ${String(label)} at index ${i} is not a class 0..9 (corrupt)`);
    }
    labels[i] = label as number;
  });
  return { labels, data: data.data };
}

export function readBinaryBatch(buf: Uint8Array, file: string): Batch {
  const record = ROW + 1;
  if (buf.length === 0 || buf.length % record !== 0) {
    throw new DatasetFileError(file, `${buf.length} bytes is not a whole number of ${record}-byte records (truncated or corrupt)`);
  }
  const n = buf.length / record;
  const labels = new Uint8Array(n);
  const data = new Uint8Array(n * ROW);
  for (let i = 0; i < n; i++) {
    labels[i] = buf[i * record];
    data.set(buf.subarray(i * record + 1, (i + 1) * record), i * ROW);
  }
  checkLabels(labels, file);
  return { labels, data };
}

/**
 * Copies planar rows into channels-last images, as Keras does with
 * x.transpose(0, 2, 3, 1): out[i, y, x, c] = planar[i, c * 1024 + y * 32 + x].
 */
export function planarToChannelsLast(planar: Uint8Array, out: Uint8Array, outOffset: number): void {
  const plane = SIDE * SIDE;
  const n = planar.length / ROW;
  for (let i = 0; i < n; i++) {
    const src = i * ROW;
    const dst = outOffset + i * ROW;
    for (let p = 0; p < plane; p++) {
      out[dst + p * 3] = planar[src + p];
      out[dst + p * 3 + 1] = planar[src + plane + p];
      out[dst + p * 3 + 2] = planar[src + 2 * plane + p];
    }
  }
}
