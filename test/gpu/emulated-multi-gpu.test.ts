// A node with four GPUs (XARXA_CUDA_EMULATOR_DEVICES=4 on the CUDA emulator):
// one model per GPU, all training at once from one process, each on its own
// worker thread. The emulator makes memory, streams and kernels belong to the
// device they were made on, so an op that ran with another GPU current (a
// missing cudaSetDevice) fails instead of passing. Same seed, same data: every
// GPU ends with the weights a lone run on cuda:0 gets. Runs only when the CUDA
// library in use is the emulator; skips otherwise.
import { describe, expect, it } from 'vitest';
import { onCudaEmulator, runChild } from '../helpers.js';

const emulated = onCudaEmulator('emulated multi-GPU tests');

// Prints JSON: the weights after training alone on cuda:0, then on cuda:0..3 at once, and what each device reports.
const CHILD = `
import * as xa from './lib/index.ts';
const n = 96, shape = [8, 8, 3];
const x = xa.tensor(Float32Array.from({ length: n * 192 }, (_, i) => ((i * 7919) % 101) / 101), [n, ...shape]);
const y = xa.utils.toCategorical(Int32Array.from({ length: n }, (_, i) => i % 4), 4);
function build(device) {
  xa.setBackend(device);
  xa.setSeed(5);
  const nn = new xa.Sequential();
  nn.add(new xa.layers.Conv2D({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: shape }));
  nn.add(new xa.layers.MaxPooling2D({ poolSize: 2 }));
  nn.add(new xa.layers.Flatten());
  nn.add(new xa.layers.Dense(4, { activation: 'softmax' }));
  nn.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.05, momentum: 0.9 }), loss: 'categorical_crossentropy' });
  return nn;
}
const train = async (nn) => {
  await nn.fit(x, y, { epochs: 3, batchSize: 16, shuffle: false, verbose: 0 });
  return nn.getWeights().map((w) => Array.from(w.data));
};
const alone = build('cuda:0');
const reference = await train(alone);
alone.dispose();
const devices = ['cuda:0', 'cuda:1', 'cuda:2', 'cuda:3'];
const models = devices.map(build);
const infos = devices.map((d) => xa.backend.info(d));
const together = await Promise.all(models.map(train));
console.log(JSON.stringify({ reference, together, infos, summaryDevice: models.map((m) => m.deviceInfo().deviceIndex) }));
models.forEach((m) => m.dispose());
`;

describe.skipIf(!emulated)('four GPUs, one model each, at once (on the emulator)', () => {
  it('every GPU trains its model concurrently to the weights of a lone run', { timeout: 120_000 }, () => {
    const r = runChild(CHILD, [], {
      env: { ...process.env, XARXA_CUDA_EMULATOR_DEVICES: '4', XARXA_DEVICE: '', UV_THREADPOOL_SIZE: '8' },
      timeout: 110_000,
    });
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out.infos.map((i: { deviceIndex: number }) => i.deviceIndex)).toEqual([0, 1, 2, 3]);
    expect(out.summaryDevice).toEqual([0, 1, 2, 3]);
    for (const weights of out.together) expect(weights).toEqual(out.reference); // bitwise: same kernels, same order
  });
});
