// Fashion-MNIST, as keras.datasets.fashion_mnist.load_data(): the four
// gzip'ed IDX files, same shapes as MNIST. Keras caches them in datasets/fashion-mnist/.

import path from 'node:path';
import { kindOf } from './cache.js';
import { IDX_LIST, IDX_NAMES, findIdxFiles, readIdxFiles, readMnistNpz } from './mnist-format.js';
import { loadDataset, type DatasetSpec, type DatasetSplits, type LoadDataOptions, type Reader } from './loader.js';

const BASE_URL = 'https://storage.googleapis.com/tensorflow/tf-keras-datasets/';

// md5s published in the Fashion-MNIST README.
const MD5: Record<string, string> = {
  [IDX_NAMES.trainImages]: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
  [IDX_NAMES.trainLabels]: '25c81989df183df01b3e8a0aad5dffbe',
  [IDX_NAMES.testImages]: 'bef4ecab320f06d8554ea6380940ec79',
  [IDX_NAMES.testLabels]: 'bb300cfdad3c16e7a12a480ee83cd310',
};

async function locate(p: string): Promise<Reader | undefined> {
  const kind = await kindOf(p);
  if (kind === 'file') {
    // An .npz with MNIST's keys works too; an IDX file stands for its folder.
    if (p.endsWith('.npz')) return () => readMnistNpz(p);
    return locate(path.dirname(p));
  }
  if (kind !== 'dir') return undefined;
  const idx = await findIdxFiles(p);
  return idx && (() => readIdxFiles(idx));
}

const spec: DatasetSpec = {
  title: 'Fashion-MNIST',
  subdirs: ['fashion-mnist'],
  locate,
  downloadSubdir: 'fashion-mnist',
  remoteFiles: Object.values(IDX_NAMES).map((name) => ({
    name: `${name}.gz`,
    url: `${BASE_URL}${name}.gz`,
    checksum: { algorithm: 'md5' as const, hex: MD5[name] },
  })),
  expectedFiles: `the four IDX files ${IDX_LIST}`,
};

export const fashionMnist = {
  labelNames: Object.freeze([
    'T-shirt/top',
    'Trouser',
    'Pullover',
    'Dress',
    'Coat',
    'Sandal',
    'Shirt',
    'Sneaker',
    'Bag',
    'Ankle boot',
  ]) as readonly string[],
  /** [[xTrain, yTrain], [xTest, yTest]]: uint8 [n, 28, 28] images and uint8 [n] labels. */
  loadData(options?: LoadDataOptions): Promise<DatasetSplits> {
    return loadDataset(spec, options);
  },
};
