// TensorFlow.js 4.22 as a benchmark engine (child process): 'tfjs-cpu' (the
// pure-JS backend) or 'tfjs-wasm' (SIMD, one thread in Node). Same protocol
// as the other peers (bench/peers/protocol.ts).
import path from 'node:path';
import { createRequire } from 'node:module';
import { fail, loadData, readConfig, send, serve, type ChildConfig } from './protocol.js';

const cfg: ChildConfig = readConfig();
const backend = cfg.engine === 'tfjs-wasm' ? 'wasm' : 'cpu';

// tfjs prints a hint about tfjs-node on stdout; the parent ignores such lines.
const tf = await import('@tensorflow/tfjs');
if (backend === 'wasm') {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  // The package's dist folder (where its main file is) holds the .wasm binaries.
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  wasm.setWasmPaths(dist + path.sep);
}
if (!(await tf.setBackend(backend))) fail('unavailable', `tfjs backend '${backend}' did not initialise`);
await tf.ready();

function buildModel(model: ChildConfig['model']) {
  const m = tf.sequential();
  if (model === 'mnist-dense') {
    m.add(tf.layers.dense({ units: 32, activation: 'relu', inputShape: [784] }));
    m.add(tf.layers.dense({ units: 16, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  } else {
    m.add(tf.layers.conv2d({ filters: 32, kernelSize: 2, strides: 2, padding: 'same', activation: 'relu', inputShape: [32, 32, 3] }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }));
    m.add(tf.layers.conv2d({ filters: 16, kernelSize: 2, strides: 2, padding: 'same', activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 16, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  }
  m.compile({ optimizer: tf.train.sgd(cfg.lr), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

// Can this backend train the model at all? One step on a throwaway copy: stock
// tfjs-wasm has no Conv2DBackpropFilter kernel, so a CNN fails here.
async function probe(): Promise<string | undefined> {
  const m = buildModel(cfg.model);
  const xs = tf.zeros([2, ...cfg.shape]);
  const ys = tf.oneHot(tf.tensor1d([0, 1], 'int32'), 10);
  try {
    await m.fit(xs, ys, { batchSize: 2, epochs: 1, verbose: 0 });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    tf.dispose([xs, ys]);
    m.dispose();
  }
}

const problem = await probe();
if (problem !== undefined) {
  const stock = backend === 'wasm' ? 'not trainable on stock tfjs-wasm' : `not trainable on tfjs-${backend}`;
  fail('unavailable', `${stock}: ${problem}`);
}

try {
  const data = loadData(cfg);
  const x = tf.tensor(data.x, [cfg.n, ...cfg.shape]);
  const y = tf.tensor(data.y, [cfg.n, 10]);
  const model = buildModel(cfg.model);
  send({
    type: 'ready',
    versions: { tfjs: tf.version.tfjs, node: process.version },
    device: backend === 'wasm' ? 'CPU: tfjs-backend-wasm (SIMD, 1 thread in Node)' : 'CPU: tfjs pure-JS cpu backend (1 thread)',
    threads: 1,
    params: model.countParams(),
  });
  let t0 = 0;
  let seconds = 0;
  await serve(async () => {
    const h = await model.fit(x, y, {
      batchSize: cfg.batchSize,
      epochs: 1,
      shuffle: true,
      verbose: 0,
      callbacks: {
        onEpochBegin: async () => void (t0 = performance.now()),
        onEpochEnd: async () => void (seconds = (performance.now() - t0) / 1000),
      },
    });
    const acc = (h.history.acc ?? h.history.accuracy)?.[0];
    return { seconds, loss: Number(h.history.loss[0]), acc: acc === undefined ? undefined : Number(acc), samples: cfg.n, steps: Math.ceil(cfg.n / cfg.batchSize) };
  });
} catch (e) {
  fail('error', (e as Error).stack ?? String(e));
}
