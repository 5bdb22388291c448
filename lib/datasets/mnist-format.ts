// Reading MNIST-shaped data (28x28 uint8 images + labels 0..9), shared by
// MNIST and Fashion-MNIST: Keras' .npz, or the four original IDX files.

import fs from 'node:fs/promises';
import path from 'node:path';
import { Tensor } from '../tensor.js';
import { DatasetFileError, maybeGunzip } from './bytes.js';
import { firstExisting } from './cache.js';
import { parseIdx } from './idx.js';
import { IncompleteDatasetError, type DatasetSplits } from './loader.js';
import { parseNpy } from './npy.js';
import { readZip } from './zip.js';

const SIDE = 28;

export const IDX_NAMES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export type IdxRole = keyof typeof IDX_NAMES;
export type IdxFiles = Record<IdxRole, string>;

/** "a.gz, b.gz, ..." for messages. */
export const IDX_LIST = Object.values(IDX_NAMES)
  .map((n) => `${n}.gz`)
  .join(', ');

/** Gzip'ed or plain, with '-' or '.' before "idx" (gunzip of the originals gives 'train-images.idx3-ubyte'). */
function variants(name: string): string[] {
  const dotted = name.replace(/-idx/, '.idx');
  return [`${name}.gz`, name, `${dotted}.gz`, dotted];
}

/** The four IDX files in `dir`; undefined if none is there, IncompleteDatasetError if only some are. */
export async function findIdxFiles(dir: string): Promise<IdxFiles | undefined> {
  const found: Partial<IdxFiles> = {};
  const missing: string[] = [];
  for (const [role, name] of Object.entries(IDX_NAMES) as [IdxRole, string][]) {
    const file = await firstExisting(dir, variants(name));
    if (file) found[role] = file;
    else missing.push(`${name}.gz`);
  }
  if (missing.length === 4) return undefined;
  if (missing.length) throw new IncompleteDatasetError(dir, missing);
  return found as IdxFiles;
}

/** Checks an images/labels pair and wraps it as Keras does: x [n, 28, 28] uint8, y [n] uint8. */
function imagePair(images: { shape: number[]; data: Uint8Array }, labels: { shape: number[]; data: Uint8Array }, imagesFile: string, labelsFile: string): [Tensor, Tensor] {
  const [n, rows, cols] = images.shape;
  if (images.shape.length !== 3 || rows !== SIDE || cols !== SIDE) {
    throw new DatasetFileError(imagesFile, `images have shape [${images.shape.join(', ')}], expected [n, ${SIDE}, ${SIDE}]`);
  }
  if (labels.shape.length !== 1) throw new DatasetFileError(labelsFile, `labels have shape [${labels.shape.join(', ')}], expected [n]`);
  if (labels.shape[0] !== n) {
    throw new DatasetFileError(labelsFile, `${labels.shape[0]} labels for ${n} images (in ${path.basename(imagesFile)})`);
  }
  checkLabels(labels.data, labelsFile);
  return [new Tensor(images.data, [n, SIDE, SIDE]), new Tensor(labels.data, [n])];
}

/** Class labels must be 0..9; anything else means a corrupt or wrong file. */
export function checkLabels(labels: Uint8Array, file: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] > 9) throw new DatasetFileError(file, `label ${labels[i]} at index ${i} is not a class 0..9 (corrupt or not a label file)`);
  }
}

async function readIdx(file: string, ndim: number): Promise<{ shape: number[]; data: Uint8Array }> {
  const raw = await maybeGunzip(await fs.readFile(file), file);
  return parseIdx(raw, file, ndim);
}

export async function readIdxFiles(files: IdxFiles): Promise<DatasetSplits> {
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    readIdx(files.trainImages, 3),
    readIdx(files.trainLabels, 1),
    readIdx(files.testImages, 3),
    readIdx(files.testLabels, 1),
  ]);
  return [
    imagePair(trainImages, trainLabels, files.trainImages, files.trainLabels),
    imagePair(testImages, testLabels, files.testImages, files.testLabels),
  ];
}

/** Keras' mnist.npz: a zip of x_train.npy, y_train.npy, x_test.npy, y_test.npy. */
export async function readMnistNpz(file: string): Promise<DatasetSplits> {
  const entries = await readZip(await fs.readFile(file), file);
  const array = (key: string) => {
    const bytes = entries.get(`${key}.npy`);
    if (!bytes) throw new DatasetFileError(file, `no '${key}' array (holds: ${[...entries.keys()].join(', ') || 'nothing'})`);
    return parseNpy(bytes, `${file} (${key}.npy)`);
  };
  const at = (key: string) => `${file} (${key})`;
  return [
    imagePair(array('x_train'), array('y_train'), at('x_train'), at('y_train')),
    imagePair(array('x_test'), array('y_test'), at('x_test'), at('y_test')),
  ];
}
