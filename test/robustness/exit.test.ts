// process.exit() while a native training job runs on a worker thread: the
// process ends with the code it asked for, never with a crash (a signal, an
// abort in native teardown) or a hang. Runs on the device under test
// (XARXA_DEVICE is passed on), so a GPU run covers CUDA teardown too.
import { describe, expect, it } from 'vitest';
import { runChildAsync } from '../helpers.js';

const CHILD = `
import * as xa from './lib/index.ts';
const [delay] = process.argv.slice(-1).map(Number);
const n = 20000, f = 784;
const x = xa.tensor(new Float32Array(n * f).map((_, i) => (i % 97) / 97), [n, f]);
const y = xa.utils.toCategorical(Int32Array.from({ length: n }, (_, i) => i % 10), 10);
const nn = new xa.Sequential();
nn.add(new xa.layers.Dense(256, { activation: 'relu', inputShape: [f] }));
nn.add(new xa.layers.Dense(10, { activation: 'softmax' }));
nn.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy' });
nn.fit(x, y, { epochs: 1000, batchSize: 8, verbose: 0, callbacks: { onTrainBegin: () => { setTimeout(() => process.exit(3), delay); } } });
`;

describe('process.exit during fit', () => {
  // Generous limits: on the CUDA emulator the exit waits for the work the host queued ahead, run on the CPU.
  it('exits with the requested code, at any moment of a native training job', { timeout: 300_000 }, async () => {
    const delays = [0, 5, 20, 60, 150];
    const runs = await Promise.all(delays.map((delay) => runChildAsync(CHILD, [String(delay)], { timeout: 240_000 })));
    runs.forEach((r, i) => {
      const delay = delays[i];
      expect({ delay, status: r.status, signal: r.signal }).toEqual({ delay, status: 3, signal: null });
      expect(r.stderr, `delay ${delay} ms`).not.toMatch(/error|abort|segmentation|terminate|assert|fatal/i);
    });
  });
});
