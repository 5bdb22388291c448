// The addon in worker threads: each thread (Node environment) has its own
// addon state, models train in several threads at once, and terminating a
// worker in the middle of a native training job neither crashes nor hangs
// the process.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { addon, packageRoot } from '../../lib/native.js';

const require = createRequire(import.meta.url);
const addonPath: string = process.env.XARXA_ADDON ?? require('node-gyp-build').path(packageRoot());

// Plain JS run in the workers: trains a small model `rounds` times and reports the samples seen.
const TRAIN = `
const { parentPort, workerData } = require('node:worker_threads');
const A = require(workerData.addonPath);
(async () => {
  const m = new A.NativeModel({ device: 'cpu', seed: 1, inputShape: [8], layers: [{ type: 'Dense', units: 16, activation: 'relu' }, { type: 'Dense', units: 3, activation: 'softmax' }] });
  m.compile({ loss: 'categorical_crossentropy', learningRate: 0.1, momentum: 0.9, nesterov: false });
  let samples = 0;
  for (let i = 0; i < workerData.rounds; i++) {
    const ds = await m.createDataset(new Float32Array(40 * 8).fill(0.5), new Float32Array(40 * 3).fill(1 / 3), 40);
    const s = await m.train(ds, Int32Array.from({ length: 40 }, (_, k) => k), 4, 0, 10, 1, () => {});
    samples += s.samples;
    ds.dispose();
  }
  if (workerData.long) {
    const n = 20000;
    const big = await m.createDataset(new Float32Array(n * 8).fill(0.5), new Float32Array(n * 3).fill(1 / 3), n);
    parentPort.postMessage('long job started');
    // Train until terminated: one epoch takes only tens of milliseconds on a fast CPU.
    for (;;) await m.train(big, Int32Array.from({ length: n }, (_, k) => k), 1, 0, n, 1, () => {});
  }
  m.dispose();
  parentPort.postMessage(samples);
})().catch((e) => parentPort.postMessage('error: ' + e.message));
`;

function worker(data: Record<string, unknown>): Worker {
  return new Worker(TRAIN, { eval: true, workerData: { addonPath, ...data } });
}

describe('worker threads', () => {
  it('several threads train at once, each with its own addon state', async () => {
    const results = [0, 1, 2].map(
      () =>
        new Promise<unknown>((resolve, reject) => {
          const w = worker({ rounds: 30 });
          w.on('message', resolve);
          w.on('error', reject);
        }),
    );
    // The main thread trains meanwhile.
    const A = addon();
    const m = new A.NativeModel({ device: 'cpu', seed: 2, inputShape: [8], layers: [{ type: 'Dense', units: 3, activation: 'softmax' }] });
    m.compile({ loss: 'categorical_crossentropy', learningRate: 0.1, momentum: 0, nesterov: false });
    let mine = 0;
    for (let i = 0; i < 30; i++) {
      const ds = await m.createDataset(new Float32Array(40 * 8), new Float32Array(40 * 3).fill(1 / 3), 40);
      mine += (await m.train(ds, Int32Array.from({ length: 40 }, (_, k) => k), 4, 0, 10, 1)).samples;
      ds.dispose();
    }
    expect(await Promise.all(results)).toEqual([1200, 1200, 1200]);
    expect(mine).toBe(1200);
    // Still fine after the workers' environments are gone.
    const ds = await m.createDataset(new Float32Array(8), new Float32Array(3).fill(1 / 3), 1);
    expect((await m.evaluate(ds, 1)).samples).toBe(1);
    m.dispose();
  });

  it('terminating a worker in the middle of a native training job does not crash or hang the process', async () => {
    for (let i = 0; i < 3; i++) {
      const w = worker({ rounds: 1, long: true });
      await new Promise<void>((resolve, reject) => {
        w.on('message', (m) => m === 'long job started' && resolve());
        w.on('error', reject);
      });
      await new Promise((r) => setTimeout(r, 10 + 10 * i));
      expect(await w.terminate()).toBe(1);
    }
    // The process (and the addon in this thread) carries on.
    await new Promise((r) => setTimeout(r, 200));
    const A = addon();
    const m = new A.NativeModel({ device: 'cpu', seed: 3, inputShape: [2], layers: [{ type: 'Dense', units: 2 }] });
    expect(m.layers()).toHaveLength(1);
    m.dispose();
  });
});
