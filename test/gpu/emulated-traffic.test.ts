// What a training step asks of the GPU, counted by the CUDA emulator
// (XARXA_CUDA_EMULATOR_COUNTERS): the training set goes to the device once per
// fit, and a step neither waits for the device nor copies its batch; the host
// reads only the loss/accuracy scalars, every 10 batches; with CUDA graphs
// (the default) the host issues a step as one graph launch. Two fits that differ
// only in the number of batches are compared, so set-up work cancels out.
// Runs only when the CUDA library in use is the emulator; skips otherwise.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODELS } from '../../lib/run/models.js';
import { onCudaEmulator, runChild } from '../helpers.js';

const emulated = onCudaEmulator('emulated traffic tests');

const CHILD = `
import * as xa from './lib/index.ts';
import { MODELS } from './lib/run/models.ts';
const [name, samples] = process.argv.slice(-2);
const n = Number(samples);
const shape = name === 'mnist-dense' ? [784] : [32, 32, 3];
const f = shape.reduce((a, b) => a * b, 1);
const x = xa.tensor(Float32Array.from({ length: n * f }, (_, i) => ((i * 7919) % 101) / 101), [n, ...shape]);
const y = xa.utils.toCategorical(Int32Array.from({ length: n }, (_, i) => i % 10), 10);
xa.setBackend('cuda');
const nn = MODELS[name].build();
nn.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy', metrics: ['accuracy'] });
await nn.fit(x, y, { epochs: 1, batchSize: 128, verbose: 0 });
`;

interface Counters {
  kernelLaunches: number;
  deviceWork: number;
  hostWaits: number;
  bytesToDevice: number;
  bytesToHost: number;
  graphLaunches: number;
}

function counters(model: string, samples: number, graphs: boolean): Counters {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xarxa-traffic-')), 'counters.json');
  const r = runChild(CHILD, [model, String(samples)], {
    env: { ...process.env, XARXA_CUDA_EMULATOR_COUNTERS: file, XARXA_CUDA_GRAPHS: graphs ? '1' : '0' },
    timeout: 120_000,
  });
  expect({ status: r.status, signal: r.signal }, r.stderr).toEqual({ status: 0, signal: null });
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

describe.skipIf(!emulated)('GPU traffic of a training step, on the emulator', () => {
  for (const [model, features, small, large] of [
    ['mnist-dense', 784, 2560, 10240],
    ['cifar10-cnn', 32 * 32 * 3, 256, 1024],
  ] as const) {
    for (const graphs of [true, false]) {
      it(`${model}, ${graphs ? 'steps as CUDA graphs' : 'op by op'}: no waits, no batch copies, scalars only`, { timeout: 240_000 }, () => {
        expect(MODELS[model]).toBeDefined();
        const a = counters(model, small, graphs);
        const b = counters(model, large, graphs);
        const steps = (large - small) / 128;
        const perStep = (k: keyof Counters) => (b[k] - a[k]) / steps;
        console.info(
          `[gpu] ${model} per training step${graphs ? ' (CUDA graphs)' : ''}: ${perStep('graphLaunches')} graph launches, ` +
            `${perStep('kernelLaunches')} kernel launches by the host, ${perStep('deviceWork')} device ` +
            `operations (kernels + cuBLAS/cuDNN calls + copies), ${perStep('hostWaits')} host waits, ` +
            `${perStep('bytesToHost')} bytes to the host; set-up: ${a.hostWaits} waits`,
        );
        // The extra samples travel once, with their labels (10 floats) and their place in the order (an int32).
        expect(b.bytesToDevice - a.bytesToDevice).toBe((large - small) * (features + 10 + 1) * 4);
        expect(b.hostWaits - a.hostWaits).toBe(0);
        // A 24-byte snapshot of the running totals (loss, correct, first NaN batch) every 10 batches, at most.
        expect(b.bytesToHost - a.bytesToHost).toBeLessThanOrEqual(Math.ceil(steps / 10) * 24);
        // A step's device operations, exactly (on a GPU each costs a few microseconds however
        // small, which is what bounds small models): the dense net's 18 are one gather, 3 GEMMs
        // + 3 bias/activation forward, one loss-and-accuracy kernel, 3 activation/bias backward
        // kernels, 5 GEMMs backward, one SGD update and the NaN bookkeeping; as a graph, one
        // more: the copy of the step's order. Up to 0.1 more: a stats snapshot every 10th step.
        const ops = (model === 'mnist-dense' ? 18 : 36) + (graphs ? 1 : 0);
        expect(perStep('deviceWork')).toBeGreaterThanOrEqual(ops);
        expect(perStep('deviceWork')).toBeLessThanOrEqual(ops + 0.1);
        if (graphs) {
          // One graph launch per step; the host's own launches: the NaN bookkeeping only.
          expect(perStep('graphLaunches')).toBe(1);
          expect(perStep('kernelLaunches')).toBeLessThanOrEqual(1);
        } else {
          expect(perStep('graphLaunches')).toBe(0);
          expect(perStep('kernelLaunches')).toBeLessThanOrEqual(model === 'mnist-dense' ? 10 : 21);
        }
      });
    }
  }
});
