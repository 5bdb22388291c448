// mnist / fashionMnist loadData on small generated files: both formats, the
// search order (XARXA_DATASETS_DIR, then $KERAS_HOME/datasets), and the errors.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { datasetCacheDir, fashionMnist, mnist, type DatasetSplits } from '../../lib/datasets/index.js';
import { mnistLike, tempDir, writeIdx, writeIdxFiles, writeMnistNpz, writeNpy, writeZip, type MnistLike } from './fixtures.js';

const saved = { KERAS_HOME: process.env.KERAS_HOME, XARXA_DATASETS_DIR: process.env.XARXA_DATASETS_DIR };
let tmp: string;

beforeEach(() => {
  tmp = tempDir();
  // Point the cache at an empty folder so nothing on this machine is picked up.
  process.env.KERAS_HOME = path.join(tmp, 'keras');
  delete process.env.XARXA_DATASETS_DIR;
});

afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

function expectSplits(splits: DatasetSplits, d: MnistLike): void {
  const [[xTrain, yTrain], [xTest, yTest]] = splits;
  const n = d.yTrain.length;
  const m = d.yTest.length;
  expect(xTrain.shape).toEqual([n, 28, 28]);
  expect(yTrain.shape).toEqual([n]);
  expect(xTest.shape).toEqual([m, 28, 28]);
  expect(yTest.shape).toEqual([m]);
  for (const t of [xTrain, yTrain, xTest, yTest]) {
    expect(t.dtype).toBe('uint8');
    expect(Buffer.isBuffer(t.data)).toBe(false); // a plain Uint8Array: Tensor#slice must copy
  }
  expect(Array.from(xTrain.data)).toEqual(Array.from(d.xTrain));
  expect(Array.from(yTrain.data)).toEqual(Array.from(d.yTrain));
  expect(Array.from(xTest.data)).toEqual(Array.from(d.xTest));
  expect(Array.from(yTest.data)).toEqual(Array.from(d.yTest));
}

describe('datasetCacheDir', () => {
  it('is $KERAS_HOME/datasets, else ~/.keras/datasets', () => {
    expect(datasetCacheDir()).toBe(path.join(tmp, 'keras', 'datasets'));
    delete process.env.KERAS_HOME;
    expect(datasetCacheDir()).toBe(path.join(os.homedir(), '.keras', 'datasets'));
  });
});

describe('mnist.loadData', () => {
  const d = mnistLike(5, 3);

  it('has the digit label names', () => {
    expect(mnist.labelNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('reads an npz given as { path }', async () => {
    const file = path.join(tmp, 'mnist.npz');
    fs.writeFileSync(file, writeMnistNpz(d));
    expectSplits(await mnist.loadData({ path: file }), d);
  });

  it('reads gzip IDX files from a folder, or from one of its files', async () => {
    writeIdxFiles(path.join(tmp, 'idx'), d);
    expectSplits(await mnist.loadData({ path: path.join(tmp, 'idx') }), d);
    expectSplits(await mnist.loadData({ path: path.join(tmp, 'idx', 't10k-labels-idx1-ubyte.gz') }), d);
  });

  it('reads plain IDX files with the original dotted names', async () => {
    const dir = path.join(tmp, 'plain');
    writeIdxFiles(dir, d, false);
    for (const name of fs.readdirSync(dir)) fs.renameSync(path.join(dir, name), path.join(dir, name.replace('-idx', '.idx')));
    expectSplits(await mnist.loadData({ path: dir }), d);
  });

  it('finds mnist.npz in the Keras cache, and XARXA_DATASETS_DIR first', async () => {
    fs.mkdirSync(datasetCacheDir(), { recursive: true });
    fs.writeFileSync(path.join(datasetCacheDir(), 'mnist.npz'), writeMnistNpz(d));
    expectSplits(await mnist.loadData({ download: false }), d);
    expectSplits(await mnist.loadData({ path: 'mnist.npz' }), d); // Keras: a relative path is taken from the cache

    const other = mnistLike(2, 1, 99);
    process.env.XARXA_DATASETS_DIR = path.join(tmp, 'shared');
    writeIdxFiles(path.join(tmp, 'shared', 'mnist'), other); // the shared layout: <dir>/mnist/*.gz
    expectSplits(await mnist.loadData({ download: false }), other);
  });

  it('says which files to put where when nothing is found', async () => {
    const err = await mnist.loadData({ download: false }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toContain('MNIST: no local copy found and downloading is disabled (download: false)');
    expect(message).toContain('mnist.npz');
    expect(message).toContain('train-images-idx3-ubyte.gz');
    expect(message).toContain(datasetCacheDir());
    await expect(mnist.loadData({ path: path.join(tmp, 'nope') })).rejects.toThrow(/does not exist/);
  });

  it('never uses a partial set of IDX files', async () => {
    const dir = path.join(tmp, 'part');
    writeIdxFiles(dir, d);
    fs.rmSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
    await expect(mnist.loadData({ path: dir })).rejects.toThrow(/only part of the dataset: missing t10k-labels-idx1-ubyte\.gz/);
    process.env.XARXA_DATASETS_DIR = dir;
    await expect(mnist.loadData({ download: false })).rejects.toThrow(/Note: .*missing t10k-labels-idx1-ubyte\.gz/);
  });

  it('reports truncated gzip, wrong magic, bad labels and mismatched counts, naming the file', async () => {
    const dir = path.join(tmp, 'bad');
    const file = (name: string) => path.join(dir, name);
    const reset = () => writeIdxFiles(dir, d);

    reset();
    const gz = fs.readFileSync(file('train-images-idx3-ubyte.gz'));
    fs.writeFileSync(file('train-images-idx3-ubyte.gz'), gz.subarray(0, gz.length - 50));
    await expect(mnist.loadData({ path: dir })).rejects.toThrow(/train-images-idx3-ubyte\.gz: not a valid gzip file/);

    reset();
    fs.copyFileSync(file('train-labels-idx1-ubyte.gz'), file('train-images-idx3-ubyte.gz'));
    await expect(mnist.loadData({ path: dir })).rejects.toThrow(/train-images-idx3-ubyte\.gz: wrong magic number 0x00000801/);

    reset();
    fs.writeFileSync(file('t10k-labels-idx1-ubyte.gz'), zlib.gzipSync(writeIdx([3], Uint8Array.of(1, 10, 2))));
    await expect(mnist.loadData({ path: dir })).rejects.toThrow(/t10k-labels-idx1-ubyte\.gz: label 10 at index 1 is not a class 0\.\.9/);

    reset();
    fs.writeFileSync(file('t10k-labels-idx1-ubyte.gz'), zlib.gzipSync(writeIdx([2], Uint8Array.of(1, 2))));
    await expect(mnist.loadData({ path: dir })).rejects.toThrow(/t10k-labels-idx1-ubyte\.gz: 2 labels for 3 images/);

    reset();
    fs.writeFileSync(file('t10k-images-idx3-ubyte.gz'), zlib.gzipSync(writeIdx([3, 27, 27], new Uint8Array(3 * 27 * 27))));
    await expect(mnist.loadData({ path: dir })).rejects.toThrow(/t10k-images-idx3-ubyte\.gz: images have shape \[3, 27, 27\], expected \[n, 28, 28\]/);

    reset();
    const raw = zlib.gunzipSync(fs.readFileSync(file('train-images-idx3-ubyte.gz')));
    fs.writeFileSync(file('train-images-idx3-ubyte.gz'), zlib.gzipSync(raw.subarray(0, raw.length - 100)));
    await expect(mnist.loadData({ path: dir })).rejects.toThrow(/train-images-idx3-ubyte\.gz: truncated: header says \[5, 28, 28\]/);
  });

  it('reports a corrupt or incomplete npz', async () => {
    const file = path.join(tmp, 'mnist.npz');
    const npz = writeMnistNpz(d);
    fs.writeFileSync(file, npz.subarray(0, npz.length - 40));
    await expect(mnist.loadData({ path: file })).rejects.toThrow(/mnist\.npz: .*(truncated|corrupt)/);

    fs.writeFileSync(file, writeZip([{ name: 'x_train.npy', data: writeNpy([1, 28, 28], d.xTrain.subarray(0, 784)) }]));
    await expect(mnist.loadData({ path: file })).rejects.toThrow(/mnist\.npz: no 'y_train' array \(holds: x_train\.npy\)/);

    const flipped = Buffer.from(npz);
    flipped[flipped.indexOf('y_test.npy') + 'y_test.npy'.length + 128] ^= 0xff; // a label byte of the stored y_test entry
    fs.writeFileSync(file, flipped);
    await expect(mnist.loadData({ path: file })).rejects.toThrow(/mnist\.npz \(entry y_test\.npy\): CRC-32 mismatch/);
  });
});

describe('fashionMnist.loadData', () => {
  const d = mnistLike(4, 2, 5);

  it('has the Fashion-MNIST class names', () => {
    expect(fashionMnist.labelNames).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  });

  it('reads the IDX files from { path } and from the Keras cache subfolder', async () => {
    writeIdxFiles(path.join(tmp, 'f'), d);
    expectSplits(await fashionMnist.loadData({ path: path.join(tmp, 'f') }), d);
    writeIdxFiles(path.join(datasetCacheDir(), 'fashion-mnist'), d);
    expectSplits(await fashionMnist.loadData({ download: false }), d);
  });

  it('says which files to put where when nothing is found', async () => {
    await expect(fashionMnist.loadData({ download: false })).rejects.toThrow(
      /Fashion-MNIST: no local copy found .* Put the four IDX files train-images-idx3-ubyte\.gz, .* into .*fashion-mnist/,
    );
  });
});
