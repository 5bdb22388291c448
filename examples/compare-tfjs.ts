// The notebook's three runs with xarxa and with TensorFlow.js on the same data
// and hyperparameters (SGD lr 0.01, batch 128, categorical cross-entropy,
// glorot-uniform kernels, zero biases, shuffled batches), to put xarxa's test
// accuracy beside tfjs's.
//
//   npx tsx examples/compare-tfjs.ts --mnist ../shared/data/mnist --cifar /tmp/cifar-keras
//   npx tsx examples/compare-tfjs.ts --models cifar10-cnn --engines tfjs --train-limit 5000 --epochs 1
//
// Options: --models a,b (mnist-dense, cifar10-dense, cifar10-cnn), --engines xarxa,tfjs,
// --tfjs-backend auto|wasm|cpu (auto: wasm for the dense nets, cpu for the CNN: stock
// tfjs-wasm has no Conv2DBackpropFilter kernel), --epochs N (default: the notebook's),
// --train-limit N / --test-limit N (first N samples), --seeds 1,2 (xarxa only: tfjs has
// no global seed), --tfjs-runs N (tfjs runs per model, default 1), --json FILE (all results).
//
// A development tool: it imports xarxa from the source tree (../lib), not the built package.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import * as xa from '../lib/index.js';
import { getModel } from '../lib/run/models.js';
import { loadNotebookData } from '../lib/run/data.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'mnist-dense,cifar10-dense,cifar10-cnn' },
    engines: { type: 'string', default: 'xarxa,tfjs' },
    'tfjs-backend': { type: 'string', default: 'auto' },
    epochs: { type: 'string' },
    'train-limit': { type: 'string' },
    'test-limit': { type: 'string' },
    seeds: { type: 'string', default: '1' },
    'tfjs-runs': { type: 'string', default: '1' },
    mnist: { type: 'string' },
    cifar: { type: 'string' },
    json: { type: 'string' },
  },
});

interface Result {
  model: string;
  engine: string;
  dataset: string;
  seed: number | null;
  epochs: number;
  trainSamples: number;
  validationSamples: number;
  testSamples: number;
  testLoss: number;
  testAccuracy: number;
  fitSeconds: number;
  evaluateSeconds: number;
  history: Record<string, number[]>;
}

const models = values.models!.split(',');
const engines = values.engines!.split(',');
const seeds = values.seeds!.split(',').map(Number);
const limit = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const trainLimit = limit(values['train-limit']);
const testLimit = limit(values['test-limit']);
const results: Result[] = [];

const head = (t: xa.Tensor, n: number | undefined) => (n === undefined || n >= t.shape[0] ? t : t.slice(0, n));
const fmt = (x: number, d = 4) => x.toFixed(d);

// ---- TensorFlow.js ---------------------------------------------------------------------

type TF = typeof import('@tensorflow/tfjs');
let tfModule: TF | undefined;
let tfBackend = '';

async function tfjs(backend: 'wasm' | 'cpu'): Promise<TF> {
  const tf = tfModule ?? (tfModule = await import('@tensorflow/tfjs'));
  if (backend === 'wasm' && !tf.findBackend('wasm')) {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // The package's dist folder (where its main file is) holds the .wasm binaries.
    const dist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(dist + path.sep);
  }
  if (tfBackend !== backend) {
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend '${backend}' did not initialise`);
    await tf.ready();
    tfBackend = backend;
  }
  return tf;
}

function tfModel(tf: TF, name: string) {
  const m = tf.sequential();
  if (name === 'cifar10-cnn') {
    m.add(tf.layers.conv2d({ filters: 32, kernelSize: 2, strides: 2, padding: 'same', activation: 'relu', inputShape: [32, 32, 3] }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }));
    m.add(tf.layers.conv2d({ filters: 16, kernelSize: 2, strides: 2, padding: 'same', activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 16, activation: 'relu' }));
  } else {
    m.add(tf.layers.dense({ units: 32, activation: 'relu', inputShape: [name === 'mnist-dense' ? 784 : 3072] }));
    m.add(tf.layers.dense({ units: 16, activation: 'relu' }));
  }
  m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  m.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

// ---- the runs --------------------------------------------------------------------------

for (const name of models) {
  const spec = getModel(name);
  const dataPath = spec.dataset === 'mnist' ? values.mnist : spec.dataset === 'cifar10' ? values.cifar : undefined;
  const data = await loadNotebookData(spec.dataset, { data: dataPath, fallback: false }, (l) => console.log(l));
  const [[xTrain, yTrain], [xTest, yTest]] = data.splits;
  const x = spec.prepare(head(xTrain, trainLimit));
  const y = xa.utils.toCategorical(head(yTrain, trainLimit), 10);
  const xt = spec.prepare(head(xTest, testLimit));
  const yt = xa.utils.toCategorical(head(yTest, testLimit), 10);
  const epochs = values.epochs !== undefined ? Number(values.epochs) : spec.epochs;
  const trainSamples = Math.floor(x.shape[0] * (1 - spec.validationSplit));
  const common = { model: name, dataset: data.title, epochs, trainSamples, validationSamples: x.shape[0] - trainSamples, testSamples: xt.shape[0] };
  console.log(`\n== ${name} on ${data.title}: ${x.shape[0]} training samples (validation split ${spec.validationSplit}), ${xt.shape[0]} test samples, ${epochs} epochs`);

  if (engines.includes('xarxa')) {
    for (const seed of seeds) {
      xa.setSeed(seed);
      const model = spec.build();
      model.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy', metrics: ['accuracy'] });
      let t = performance.now();
      const history = await model.fit(x, y, { batchSize: 128, epochs, validationSplit: spec.validationSplit, verbose: 2 });
      const fitSeconds = (performance.now() - t) / 1000;
      t = performance.now();
      const [testLoss, testAccuracy] = (await model.evaluate(xt, yt, { batchSize: 128, verbose: 0 })) as number[];
      const evaluateSeconds = (performance.now() - t) / 1000;
      model.dispose();
      const h = Object.fromEntries(Object.entries(history.history).filter(([k]) => k !== 'acc' && k !== 'val_acc'));
      results.push({ ...common, engine: `xarxa (${xa.backend.getBackend()})`, seed, testLoss, testAccuracy, fitSeconds, evaluateSeconds, history: h });
      console.log(`xarxa seed ${seed}: test loss ${fmt(testLoss)}, test accuracy ${fmt(testAccuracy)}, fit ${fmt(fitSeconds, 1)} s`);
    }
  }

  if (engines.includes('tfjs')) {
    const choice = values['tfjs-backend'] === 'auto' ? (name === 'cifar10-cnn' ? 'cpu' : 'wasm') : (values['tfjs-backend'] as 'wasm' | 'cpu');
    const tf = await tfjs(choice);
    for (let run = 0; run < Number(values['tfjs-runs']); run++) {
      const model = tfModel(tf, name);
      const xs = tf.tensor(x.data as Float32Array, x.shape);
      const ys = tf.tensor(y.data as Float32Array, y.shape);
      const xts = tf.tensor(xt.data as Float32Array, xt.shape);
      const yts = tf.tensor(yt.data as Float32Array, yt.shape);
      let t = performance.now();
      let epochStart = t;
      const history = await model.fit(xs, ys, {
        batchSize: 128,
        epochs,
        validationSplit: spec.validationSplit,
        shuffle: true,
        verbose: 0,
        callbacks: {
          onEpochBegin: async () => {
            epochStart = performance.now();
          },
          onEpochEnd: async (epoch, logs) => {
            const shown = Object.entries(logs ?? {}).map(([k, v]) => `${k}: ${fmt(v)}`).join(' - ');
            console.log(`tfjs-${choice} epoch ${epoch + 1}/${epochs} - ${((performance.now() - epochStart) / 1000).toFixed(1)}s - ${shown}`);
          },
        },
      });
      const fitSeconds = (performance.now() - t) / 1000;
      t = performance.now();
      const scores = model.evaluate(xts, yts, { batchSize: 128 }) as import('@tensorflow/tfjs').Scalar[];
      const [testLoss, testAccuracy] = await Promise.all(scores.map(async (s) => (await s.data())[0]));
      const evaluateSeconds = (performance.now() - t) / 1000;
      tf.dispose([xs, ys, xts, yts, ...scores]);
      model.dispose();
      const h = Object.fromEntries(Object.entries(history.history).map(([k, v]) => [k.replace(/^acc$/, 'accuracy').replace(/^val_acc$/, 'val_accuracy'), v as number[]]));
      results.push({ ...common, engine: `tfjs ${tf.version.tfjs} (${choice})`, seed: null, testLoss, testAccuracy, fitSeconds, evaluateSeconds, history: h });
      console.log(`tfjs-${choice}: test loss ${fmt(testLoss)}, test accuracy ${fmt(testAccuracy)}, fit ${fmt(fitSeconds, 1)} s`);
    }
  }
}

console.log('\n| model | data | engine | seed | epochs | train / val / test samples | test loss | test accuracy | fit time |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  console.log(
    `| ${r.model} | ${r.dataset} | ${r.engine} | ${r.seed ?? '-'} | ${r.epochs} | ${r.trainSamples} / ${r.validationSamples} / ${r.testSamples} | ${fmt(r.testLoss)} | ${fmt(r.testAccuracy)} | ${fmt(r.fitSeconds, 1)} s |`,
  );
}
if (values.json) {
  fs.mkdirSync(path.dirname(path.resolve(values.json)), { recursive: true });
  fs.writeFileSync(values.json, `${JSON.stringify({ createdAt: new Date().toISOString(), node: process.version, results }, null, 2)}\n`);
  console.log(`\nResults: ${values.json}`);
}
