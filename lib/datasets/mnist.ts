// MNIST, as keras.datasets.mnist.load_data(): x uint8 [60000, 28, 28],
// y uint8 [60000]; test 10000. Reads Keras' mnist.npz, or the original IDX files.

import path from 'node:path';
import { kindOf } from './cache.js';
import { IDX_LIST, findIdxFiles, readIdxFiles, readMnistNpz } from './mnist-format.js';
import { loadDataset, type DatasetSpec, type DatasetSplits, type LoadDataOptions, type Reader } from './loader.js';

const NPZ = 'mnist.npz';

const IDX_FILE = /^(train|t10k)-(images|labels)[-.]idx[13]-ubyte/;

async function locate(p: string): Promise<Reader | undefined> {
  const kind = await kindOf(p);
  if (kind === 'file') {
    // One of the IDX files stands for the folder that holds all four.
    if (IDX_FILE.test(path.basename(p))) return locate(path.dirname(p));
    return () => readMnistNpz(p);
  }
  if (kind !== 'dir') return undefined;
  const npz = path.join(p, NPZ);
  if ((await kindOf(npz)) === 'file') return () => readMnistNpz(npz);
  const idx = await findIdxFiles(p);
  return idx && (() => readIdxFiles(idx));
}

const spec: DatasetSpec = {
  title: 'MNIST',
  subdirs: ['mnist'],
  locate,
  downloadSubdir: '',
  remoteFiles: [
    {
      name: NPZ,
      url: 'https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz',
      checksum: { algorithm: 'sha256', hex: '731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1' },
    },
  ],
  expectedFiles: `${NPZ} (Keras' file), or the four IDX files ${IDX_LIST}`,
};

export const mnist = {
  labelNames: Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) as readonly string[],
  /** [[xTrain, yTrain], [xTest, yTest]]: uint8 [n, 28, 28] images and uint8 [n] labels. */
  loadData(options?: LoadDataOptions): Promise<DatasetSplits> {
    return loadDataset(spec, options);
  },
};
