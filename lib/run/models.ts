// The notebook's models, each with its dataset, preprocessing and default
// training settings (the classic Keras notebook: batch 128; 10 epochs for the
// MNIST dense net, 20 for the CIFAR-10 dense net, 10 for the CIFAR-10 CNN with
// a 20% validation split).

import { Sequential } from '../models/sequential.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { MaxPooling2D } from '../layers/pooling2d.js';
import { Flatten } from '../layers/simple.js';
import type { Tensor } from '../tensor.js';

export type DatasetName = 'mnist' | 'fashion-mnist' | 'cifar10';

export interface NotebookModel {
  name: string;
  /** The data and the network, one line (settings() adds the training settings). */
  description: string;
  /** Said after the settings, e.g. that the model is not in the notebook. */
  note?: string;
  dataset: DatasetName;
  epochs: number;
  batchSize: number;
  validationSplit: number;
  /** uint8 images [n, ...] to the float32 network input (reshaped as the model needs, divided by 255). */
  prepare(x: Tensor): Tensor;
  build(): Sequential;
}

/** Flattens [n, h, w(, c)] to [n, h*w*c] and scales bytes to [0, 1]. */
function flatten255(x: Tensor): Tensor {
  const n = x.shape[0];
  return x.reshape([n, x.size / Math.max(n, 1)]).astype('float32').div(255);
}

function denseNet(inputs: number): Sequential {
  const model = new Sequential();
  model.add(new Dense(32, { activation: 'relu', inputShape: [inputs] }));
  model.add(new Dense(16, { activation: 'relu' }));
  model.add(new Dense(10, { activation: 'softmax' }));
  return model;
}

function cnn(): Sequential {
  const model = new Sequential();
  model.add(new Conv2D(32, [2, 2], { strides: 2, padding: 'same', activation: 'relu', inputShape: [32, 32, 3] }));
  model.add(new MaxPooling2D({ poolSize: [2, 2], strides: 1, padding: 'same' }));
  model.add(new Conv2D(16, [2, 2], { strides: 2, padding: 'same', activation: 'relu' }));
  model.add(new MaxPooling2D({ poolSize: [2, 2], strides: 1, padding: 'same' }));
  model.add(new Flatten());
  model.add(new Dense(16, { activation: 'relu' }));
  model.add(new Dense(10, { activation: 'softmax' }));
  return model;
}

export const MODELS: Record<string, NotebookModel> = {
  'mnist-dense': {
    name: 'mnist-dense',
    description: 'MNIST digits, Dense 32-16-10',
    dataset: 'mnist',
    epochs: 10,
    batchSize: 128,
    validationSplit: 0,
    prepare: flatten255,
    build: () => denseNet(28 * 28),
  },
  'cifar10-dense': {
    name: 'cifar10-dense',
    description: 'CIFAR-10, Dense 32-16-10 on the flattened 32x32x3 pixels',
    dataset: 'cifar10',
    epochs: 20,
    batchSize: 128,
    validationSplit: 0,
    prepare: flatten255,
    build: () => denseNet(32 * 32 * 3),
  },
  'cifar10-cnn': {
    name: 'cifar10-cnn',
    description: 'CIFAR-10, Conv2D/MaxPooling2D x2 + Dense 16-10',
    dataset: 'cifar10',
    epochs: 10,
    batchSize: 128,
    validationSplit: 0.2,
    prepare: (x) => x.astype('float32').div(255),
    build: cnn,
  },
  'fashion-dense': {
    name: 'fashion-dense',
    description: 'Fashion-MNIST, Dense 32-16-10',
    note: 'not in the notebook',
    dataset: 'fashion-mnist',
    epochs: 10,
    batchSize: 128,
    validationSplit: 0,
    prepare: flatten255,
    build: () => denseNet(28 * 28),
  },
};

export const MODEL_NAMES = Object.keys(MODELS);

export function getModel(name: string): NotebookModel {
  const model = MODELS[name];
  if (!model) throw new Error(`unknown model '${name}' (expected one of: ${MODEL_NAMES.join(', ')})`);
  return model;
}

/** The model's line with its training settings: the defaults, or what a run uses. */
export function describeRun(spec: NotebookModel, epochs = spec.epochs, batchSize = spec.batchSize): string {
  const settings = [`${epochs} epoch${epochs === 1 ? '' : 's'}`, `batch ${batchSize}`];
  if (spec.validationSplit > 0) settings.push(`validation split ${spec.validationSplit}`);
  return `${spec.description} (${settings.join(', ')}${spec.note ? `; ${spec.note}` : ''})`;
}
