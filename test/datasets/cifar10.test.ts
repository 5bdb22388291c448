// cifar10.loadData on small generated batches: the python (pickle) and binary
// versions, as folders and as tar.gz, the planar -> channels-last conversion,
// and the errors on corrupt or incomplete files.

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cifar10, datasetCacheDir, type DatasetSplits } from '../../lib/datasets/index.js';
import { PickleWriter, binaryBatchFiles, cifarLike, pythonBatchFiles, tempDir, writeFiles, writeTar, type CifarLike } from './fixtures.js';

const saved = { KERAS_HOME: process.env.KERAS_HOME, XARXA_DATASETS_DIR: process.env.XARXA_DATASETS_DIR };
let tmp: string;
const PER_BATCH = 3;
const c = cifarLike(PER_BATCH);

beforeEach(() => {
  tmp = tempDir();
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

/** Checks shapes, labels and every pixel against the planar source: x[i, y, x, ch] = row[ch * 1024 + y * 32 + x]. */
function expectSplits(splits: DatasetSplits, data: CifarLike): void {
  const [[xTrain, yTrain], [xTest, yTest]] = splits;
  const nTrain = 5 * PER_BATCH;
  expect(xTrain.shape).toEqual([nTrain, 32, 32, 3]);
  expect(yTrain.shape).toEqual([nTrain, 1]);
  expect(xTest.shape).toEqual([PER_BATCH, 32, 32, 3]);
  expect(yTest.shape).toEqual([PER_BATCH, 1]);
  for (const t of [xTrain, yTrain, xTest, yTest]) expect(t.dtype).toBe('uint8');
  expect(Array.from(yTrain.data)).toEqual(data.labels.slice(0, 5).flat());
  expect(Array.from(yTest.data)).toEqual(data.labels[5]);

  const check = (x: Uint8Array, planar: Uint8Array[]) => {
    const rows = Buffer.concat(planar);
    let wrong = 0;
    for (let i = 0; i < rows.length / 3072; i++)
      for (let y = 0; y < 32; y++)
        for (let col = 0; col < 32; col++)
          for (let ch = 0; ch < 3; ch++) if (x[((i * 32 + y) * 32 + col) * 3 + ch] !== rows[i * 3072 + ch * 1024 + y * 32 + col]) wrong++;
    expect(wrong).toBe(0);
  };
  check(xTrain.data as Uint8Array, data.data.slice(0, 5));
  check(xTest.data as Uint8Array, data.data.slice(5));
}

function targz(folder: string, files: { name: string; data: Uint8Array }[]): Buffer {
  return zlib.gzipSync(writeTar(files.map((f) => ({ name: `${folder}/${f.name}`, data: f.data }))));
}

describe('cifar10', () => {
  it('has the CIFAR-10 class names', () => {
    expect(cifar10.labelNames).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  });

  it('converts a known image to channels last', async () => {
    // One red-only pixel at (y=1, x=2) and one blue-only pixel at (y=31, x=0) in the first image.
    const one = cifarLike(1, 3);
    one.data[0].fill(0);
    one.data[0][0 * 1024 + 1 * 32 + 2] = 200;
    one.data[0][2 * 1024 + 31 * 32 + 0] = 100;
    const dir = path.join(tmp, 'cifar-10-batches-bin');
    writeFiles(dir, binaryBatchFiles(one));
    const [[x]] = await cifar10.loadData({ path: dir });
    const at = (y: number, col: number) => Array.from(x.data.subarray((y * 32 + col) * 3, (y * 32 + col) * 3 + 3));
    expect(at(1, 2)).toEqual([200, 0, 0]);
    expect(at(31, 0)).toEqual([0, 0, 100]);
    expect(at(0, 0)).toEqual([0, 0, 0]);
  });

  for (const style of ['py2', 'py3'] as const) {
    it(`reads the python batches (${style} pickles) from cifar-10-batches-py/`, async () => {
      const dir = path.join(tmp, 'cifar-10-batches-py');
      writeFiles(dir, pythonBatchFiles(c, style));
      expectSplits(await cifar10.loadData({ path: dir }), c);
      expectSplits(await cifar10.loadData({ path: tmp }), c); // the folder above it works too
    });
  }

  it('reads the binary batches from cifar-10-batches-bin/', async () => {
    writeFiles(path.join(tmp, 'cifar-10-batches-bin'), binaryBatchFiles(c));
    expectSplits(await cifar10.loadData({ path: path.join(tmp, 'cifar-10-batches-bin') }), c);
  });

  it('reads both tar.gz versions', async () => {
    const py = path.join(tmp, 'cifar-10-python.tar.gz');
    fs.writeFileSync(py, targz('cifar-10-batches-py', pythonBatchFiles(c)));
    expectSplits(await cifar10.loadData({ path: py }), c);
    const bin = path.join(tmp, 'cifar-10-binary.tar.gz');
    fs.writeFileSync(bin, targz('cifar-10-batches-bin', binaryBatchFiles(c)));
    expectSplits(await cifar10.loadData({ path: bin }), c);
  });

  it('finds the archive in the Keras cache, and an extracted folder in XARXA_DATASETS_DIR first', async () => {
    fs.mkdirSync(datasetCacheDir(), { recursive: true });
    fs.writeFileSync(path.join(datasetCacheDir(), 'cifar-10-batches-py.tar.gz'), targz('cifar-10-batches-py', pythonBatchFiles(c)));
    expectSplits(await cifar10.loadData({ download: false }), c);

    const other = cifarLike(PER_BATCH, 77);
    process.env.XARXA_DATASETS_DIR = path.join(tmp, 'shared');
    writeFiles(path.join(tmp, 'shared', 'cifar10', 'cifar-10-batches-bin'), binaryBatchFiles(other));
    expectSplits(await cifar10.loadData({ download: false }), other);
  });

  it('extracts an archive read from the Keras cache there once (as Keras does), and nowhere else', async () => {
    const cache = datasetCacheDir();
    fs.mkdirSync(cache, { recursive: true });
    fs.writeFileSync(path.join(cache, 'cifar-10-python.tar.gz'), targz('cifar-10-batches-py', pythonBatchFiles(c)));
    expectSplits(await cifar10.loadData({ download: false }), c);
    const extracted = path.join(cache, 'cifar-10-batches-py');
    expect(fs.readdirSync(extracted).sort()).toEqual(['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch']);
    expect(fs.readdirSync(cache).sort()).toEqual(['cifar-10-batches-py', 'cifar-10-python.tar.gz']); // no temporary left
    fs.rmSync(path.join(cache, 'cifar-10-python.tar.gz'));
    expectSplits(await cifar10.loadData({ download: false }), c); // from the folder now

    // A folder that exists is never overwritten (here an incomplete one the user made).
    fs.rmSync(extracted, { recursive: true });
    fs.mkdirSync(extracted);
    fs.writeFileSync(path.join(extracted, 'notes.txt'), 'mine');
    fs.writeFileSync(path.join(cache, 'cifar-10-python.tar.gz'), targz('cifar-10-batches-py', pythonBatchFiles(c)));
    expectSplits(await cifar10.loadData({ download: false }), c);
    expect(fs.readdirSync(extracted)).toEqual(['notes.txt']);

    // Archives elsewhere (an explicit path, XARXA_DATASETS_DIR) are only read.
    const mine = path.join(tmp, 'mine');
    fs.mkdirSync(mine);
    fs.writeFileSync(path.join(mine, 'cifar-10-python.tar.gz'), targz('cifar-10-batches-py', pythonBatchFiles(c)));
    expectSplits(await cifar10.loadData({ path: path.join(mine, 'cifar-10-python.tar.gz') }), c);
    expectSplits(await cifar10.loadData({ path: mine }), c);
    process.env.XARXA_DATASETS_DIR = mine;
    expectSplits(await cifar10.loadData({ download: false }), c);
    expect(fs.readdirSync(mine)).toEqual(['cifar-10-python.tar.gz']);
  });

  it('says which files to put where when nothing is found', async () => {
    await expect(cifar10.loadData({ download: false })).rejects.toThrow(
      /CIFAR-10: no local copy found and downloading is disabled .* Put cifar-10-batches-py\.tar\.gz or cifar-10-python\.tar\.gz .* into /,
    );
  });

  it('never uses an incomplete folder', async () => {
    const dir = path.join(tmp, 'cifar-10-batches-py');
    writeFiles(dir, pythonBatchFiles(c).filter((f) => f.name !== 'data_batch_3'));
    await expect(cifar10.loadData({ path: dir })).rejects.toThrow(/only part of the dataset: missing data_batch_3/);
  });

  it('reports corrupt batches, naming the file', async () => {
    const bin = path.join(tmp, 'cifar-10-batches-bin');
    const files = binaryBatchFiles(c);
    files[1].data[3073] = 12; // the second record's label
    writeFiles(bin, files);
    await expect(cifar10.loadData({ path: bin })).rejects.toThrow(/data_batch_2\.bin: label 12 at index 1 is not a class 0\.\.9/);
    fs.writeFileSync(path.join(bin, 'data_batch_2.bin'), files[1].data.subarray(0, 3073 + 100));
    await expect(cifar10.loadData({ path: bin })).rejects.toThrow(/data_batch_2\.bin: 3173 bytes is not a whole number of 3073-byte records/);

    const py = path.join(tmp, 'cifar-10-batches-py');
    const pyFiles = pythonBatchFiles(c);
    writeFiles(py, pyFiles);
    fs.writeFileSync(path.join(py, 'test_batch'), pyFiles[5].data.subarray(0, 5000));
    await expect(cifar10.loadData({ path: py })).rejects.toThrow(/test_batch: unexpected end of data .*truncated/);
    fs.writeFileSync(path.join(py, 'test_batch'), new PickleWriter().cifarBatch([1, 2], c.data[5], 2));
    await expect(cifar10.loadData({ path: py })).rejects.toThrow(/test_batch: array of shape \(2, 3072\) holds 9216 bytes instead of 6144/);
    fs.writeFileSync(path.join(py, 'test_batch'), new PickleWriter().cifarBatch([1, 2], c.data[5], 3));
    await expect(cifar10.loadData({ path: py })).rejects.toThrow(/test_batch: 2 labels for 3 images/);
  });

  it('reports a truncated archive and one without batches', async () => {
    const file = path.join(tmp, 'cifar-10-python.tar.gz');
    const gz = targz('cifar-10-batches-py', pythonBatchFiles(c));
    fs.writeFileSync(file, gz.subarray(0, gz.length - 1000));
    await expect(cifar10.loadData({ path: file })).rejects.toThrow(/cifar-10-python\.tar\.gz: not a valid gzip file/);
    fs.writeFileSync(file, targz('x', [{ name: 'readme.html', data: Buffer.from('hi') }]));
    await expect(cifar10.loadData({ path: file })).rejects.toThrow(/cifar-10-python\.tar\.gz: the archive lacks CIFAR-10 batches/);
  });
});
