// CPU <-> CUDA parity: the same model, the same initial weights, the same
// batches: outputs and weights after 5 SGD steps agree within 1e-4 relative.
// Skips with a visible message where no GPU is present.
import { describe, it, expect } from 'vitest';
import * as xa from '../../lib/index.js';
import { MODELS } from '../../lib/run/models.js';
import { blobs, maxRelError, randomFloats } from '../helpers.js';

const status = xa.backend.cudaStatus();
if (!status.available) console.warn(`[gpu] CUDA parity tests skipped: ${status.error}`);

type Build = () => xa.Sequential;

// The notebook's models, as `xarxa run` builds them.
const dense: Build = () => MODELS['mnist-dense'].build();
const cnn: Build = () => MODELS['cifar10-cnn'].build();

async function run(device: string, build: Build, init: xa.Tensor[] | undefined, x: xa.Tensor, y: xa.Tensor) {
  xa.setBackend(device);
  const nn = build();
  nn.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.05, momentum: 0.9 }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
  if (init) nn.setWeights(init);
  const before = await nn.predict(x);
  const h = await nn.fit(x, y, { batchSize: Math.ceil(x.shape[0] / 5), epochs: 1, shuffle: false, verbose: 0 });
  const weights = nn.getWeights();
  const after = await nn.predict(x);
  nn.dispose();
  return { weights, before, after, loss: h.history.loss[0], acc: h.history.acc[0] };
}

describe.skipIf(!status.available)('CPU <-> CUDA parity of a notebook training run (5 steps, same init)', () => {
  for (const [name, build, make] of [
    ['dense 784-32-16-10', dense, () => blobs(320, 784)],
    [
      'CIFAR CNN',
      cnn,
      () => {
        const n = 160;
        const b = blobs(n, 10);
        return { x: xa.tensor(randomFloats(n * 32 * 32 * 3, 11), [n, 32, 32, 3]), y: b.y };
      },
    ],
  ] as const) {
    it(name, async () => {
      const { x, y } = make();
      // The same seed gives the same initial weights on both devices (initialisation runs on the host).
      xa.setSeed(1234);
      const ref = await run('cpu', build, undefined, x, y);
      xa.setSeed(1234);
      const gpu = await run('cuda:0', build, undefined, x, y);
      expect(maxRelError(gpu.before.data, ref.before.data)).toBeLessThan(1e-4);
      ref.weights.forEach((w, i) => expect(maxRelError(gpu.weights[i].data, w.data, 1e-2)).toBeLessThan(1e-4));
      expect(maxRelError(gpu.after.data, ref.after.data)).toBeLessThan(1e-4);
      expect(Math.abs(gpu.loss - ref.loss) / ref.loss).toBeLessThan(1e-4);
      expect(gpu.acc).toBeCloseTo(ref.acc, 6);
      xa.setBackend('cpu');
    });
  }

  // predict and evaluate hand the convolution views into the dataset that start
  // at a batch's first row: with 5x5x1 images in batches of 3, 12 bytes past a
  // 16-byte boundary (cuDNN kernels may refuse such pointers).
  it('predict and evaluate a CNN on batches that start off 16-byte boundaries', async () => {
    const n = 10;
    const x = xa.tensor(randomFloats(n * 25, 3), [n, 5, 5, 1]);
    const y = blobs(n, 4, 4).y;
    const outputs: { pred: Float32Array; loss: number }[] = [];
    for (const device of ['cpu', 'cuda:0']) {
      xa.setBackend(device);
      xa.setSeed(7);
      const nn = new xa.Sequential();
      nn.add(new xa.layers.Conv2D({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [5, 5, 1] }));
      nn.add(new xa.layers.Flatten());
      nn.add(new xa.layers.Dense(4, { activation: 'softmax' }));
      nn.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy', metrics: ['accuracy'] });
      const pred = (await nn.predict(x, { batchSize: 3 })).data as Float32Array;
      const scores = await nn.evaluate(x, y, { batchSize: 3, verbose: 0 });
      outputs.push({ pred, loss: Array.isArray(scores) ? scores[0] : scores });
      nn.dispose();
    }
    expect(maxRelError(outputs[1].pred, outputs[0].pred)).toBeLessThan(1e-4);
    expect(Math.abs(outputs[1].loss - outputs[0].loss) / outputs[0].loss).toBeLessThan(1e-4);
    xa.setBackend('cpu');
  });
});
