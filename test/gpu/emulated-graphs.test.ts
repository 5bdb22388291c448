// Training steps recorded as CUDA graphs (Backend::record, native/cuda/graph.cc)
// on the CUDA emulator, which captures work like a GPU (native/cuda/emulator):
// replaying a step gives exactly the numbers of running its ops one by one
// (XARXA_CUDA_GRAPHS=0), for the dense net and the CNN, with momentum and a
// partial last batch; a step is one graph launch; and a GPU or library that
// cannot capture trains as before, saying why in deviceInfo().stepGraphs.
// Runs only when the CUDA library in use is the emulator; skips otherwise.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lineAfter, onCudaEmulator, runChild } from '../helpers.js';

const emulated = onCudaEmulator('emulated CUDA graph tests');

// Prints "ok <losses> | <weight checksum> | <stepGraphs>" or "error <message>".
const CHILD = `
import * as xa from './lib/index.ts';
const [model, samples] = process.argv.slice(-2);
const cnn = model === 'cnn';
const n = Number(samples), shape = cnn ? [12, 12, 3] : [64];
const f = shape.reduce((a, b) => a * b, 1);
const x = xa.tensor(Float32Array.from({ length: n * f }, (_, i) => ((i * 7919) % 101) / 101), [n, ...shape]);
const y = xa.utils.toCategorical(Int32Array.from({ length: n }, (_, i) => (i * 7) % 4), 4);
try {
  xa.setBackend('cuda');
  xa.setSeed(11);
  const nn = new xa.Sequential();
  if (cnn) {
    nn.add(new xa.layers.Conv2D({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: shape }));
    nn.add(new xa.layers.MaxPooling2D({ poolSize: 2 }));
    nn.add(new xa.layers.Flatten());
  } else {
    nn.add(new xa.layers.Dense(24, { activation: 'relu', inputShape: shape }));
  }
  if (model === 'dropout') nn.add(new xa.layers.Dropout(0.25));
  nn.add(new xa.layers.Dense(4, { activation: 'softmax' }));
  nn.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.05, momentum: 0.9 }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
  const h = await nn.fit(x, y, { epochs: 3, batchSize: 32, verbose: 0 });
  const sum = nn.getWeights().reduce((a, w) => a + Array.from(w.data).reduce((s, v, i) => s + v * ((i % 7) + 1), 0), 0);
  console.log('ok ' + h.history.loss.join(' ') + ' ' + h.history.acc.join(' ') + ' | ' + sum + ' | ' + nn.deviceInfo().stepGraphs);
} catch (e) {
  console.log('error ' + e.message.replace(/\\n/g, ' '));
}
`;

interface Run {
  ok?: string;
  numbers?: string; // losses, accuracies and the weight checksum, as printed (exact)
  stepGraphs?: string;
  error?: string;
  graphLaunches: number;
  stderr: string;
}

function run(env: Record<string, string>, model: 'dense' | 'cnn' | 'dropout' = 'dense', samples = 200): Run {
  const counters = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xarxa-graphs-')), 'counters.json');
  const r = runChild(CHILD, [model, String(samples)], {
    env: { ...process.env, XARXA_DEVICE: '', XARXA_CUDA_EMULATOR_COUNTERS: counters, ...env },
    timeout: 120_000,
  });
  expect({ status: r.status, signal: r.signal }, r.stderr).toEqual({ status: 0, signal: null });
  const line = (prefix: string) => lineAfter(r.stdout, prefix);
  const ok = line('ok');
  const [losses, sum, stepGraphs] = ok ? ok.split(' | ') : [];
  const graphLaunches = JSON.parse(fs.readFileSync(counters, 'utf8')).graphLaunches as number;
  fs.rmSync(path.dirname(counters), { recursive: true, force: true });
  return { ok, numbers: ok ? `${losses} | ${sum}` : undefined, stepGraphs, error: line('error'), graphLaunches, stderr: r.stderr };
}

describe.skipIf(!emulated)('training steps as CUDA graphs, on the emulator', () => {
  // 200 samples in batches of 32: 6 full batches and one of 8 per epoch. The
  // first full batch runs op by op, the second is recorded; five replays per epoch.
  for (const model of ['dense', 'cnn'] as const) {
    it(`${model}: replayed steps give exactly the numbers of steps run op by op (momentum, partial last batch)`, { timeout: 240_000 }, () => {
      const graphs = run({}, model);
      const eager = run({ XARXA_CUDA_GRAPHS: '0' }, model);
      expect(graphs.error, graphs.stderr).toBeUndefined();
      expect(graphs.stepGraphs).toBe('on');
      expect(graphs.graphLaunches).toBe(3 * 5);
      expect(eager.stepGraphs).toBe('off: XARXA_CUDA_GRAPHS=0');
      expect(eager.graphLaunches).toBe(0);
      expect(graphs.numbers).toBe(eager.numbers);
      const losses = graphs.numbers!.split(' | ')[0].split(' ').slice(0, 3).map(Number);
      expect(losses[2]).toBeLessThan(losses[0]); // and it learns
    });
  }

  it('dropout draws new numbers every step: no step is recorded', { timeout: 120_000 }, () => {
    const r = run({}, 'dropout');
    expect(r.error, r.stderr).toBeUndefined();
    expect(r.graphLaunches).toBe(0);
    expect(r.stepGraphs).toBe('on');
  });

  // A GPU, driver or library that cannot capture: the same numbers, op by op, and the reason.
  for (const [fault, why] of [
    ['unsupported', /^off: recording a step failed \(cudaStreamBeginCapture: .*cudaErrorStreamCaptureUnsupported.*\); steps run op by op$/],
    ['unsafe', /^off: recording a step failed \(cuda gather_batch: .*cudaErrorStreamCaptureUnsupported.*\); steps run op by op$/],
    ['invalidated', /^off: recording a step failed \(cudaStreamEndCapture: .*cudaErrorStreamCaptureInvalidated.*\); steps run op by op$/],
  ] as const) {
    it(`a capture that fails (${fault}): steps run op by op with the same numbers, and stepGraphs says why`, { timeout: 240_000 }, () => {
      const failed = run({ XARXA_CUDA_EMULATOR_CAPTURE: fault });
      const eager = run({ XARXA_CUDA_GRAPHS: '0' });
      expect(failed.error, failed.stderr).toBeUndefined();
      expect(failed.graphLaunches).toBe(0);
      expect(failed.stepGraphs).toMatch(why);
      expect(failed.numbers).toBe(eager.numbers);
    });
  }

  it('no device memory for cuBLAS\'s workspace (32 MiB on Hopper): steps run op by op, and stepGraphs says why', { timeout: 240_000 }, () => {
    const small = run({ XARXA_CUDA_EMULATOR_MEMORY: '16' });
    const eager = run({ XARXA_CUDA_GRAPHS: '0' });
    expect(small.error, small.stderr).toBeUndefined();
    expect(small.stepGraphs).toBe("off: no device memory for cuBLAS's workspace (32 MiB)");
    expect(small.graphLaunches).toBe(0);
    expect(small.numbers).toBe(eager.numbers);
  });

  it('XARXA_CUDA_GRAPHS other than 0 or 1: an error naming it', () => {
    const r = run({ XARXA_CUDA_GRAPHS: 'yes' });
    expect(r.error).toMatch(/XARXA_CUDA_GRAPHS must be 0 or 1, got 'yes'/);
  });
});
