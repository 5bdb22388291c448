// Progress reports from a native training job. With progressEvery > 1 the
// running loss and accuracy are read without stalling the device (on CUDA an
// asynchronous copy the host polls), so a report may arrive a batch or more
// after the batch it describes. Whatever arrives must carry that batch's exact
// running totals, and the last report is always the last batch.
// Runs on the device under test (XARXA_DEVICE; the CPU by default).
import { describe, expect, it } from 'vitest';
import * as xa from '../../lib/index.js';
import { addon } from '../../lib/native.js';
import { blobs } from '../helpers.js';

type Stats = { lossSum: number; correct: number; samples: number; batches: number; stopped: boolean; firstNonFiniteBatch?: number };

const n = 1000;
const batchSize = 25; // 40 batches
const steps = n / batchSize;
const { x, y } = blobs(n, 64);

async function model(xs: Float32Array = x.data as Float32Array) {
  const A = addon();
  const m = new A.NativeModel({
    device: xa.backend.getBackend(),
    seed: 5,
    inputShape: [64],
    layers: [
      { type: 'Dense', units: 16, activation: 'relu' },
      { type: 'Dense', units: 10, activation: 'softmax' },
    ],
  });
  m.compile({ loss: 'categorical_crossentropy', learningRate: 0.1, momentum: 0, nesterov: false });
  const ds = await m.createDataset(xs, y.data as Float32Array, n);
  return { m, ds };
}

const order = Int32Array.from({ length: n }, (_, i) => (i * 389) % n); // a fixed permutation (389 is prime)

describe('progress reports during native training', () => {
  it('every 4 batches: each report holds the running totals of the batch it names; the last is the last batch', async () => {
    // Reference: the same training one batch per call, summed here.
    const ref = await model();
    const running: Stats[] = [];
    let total: Stats = { lossSum: 0, correct: 0, samples: 0, batches: 0, stopped: false };
    for (let b = 0; b < steps; b++) {
      const s: Stats = await ref.m.train(ref.ds, order, batchSize, b, b + 1, 1);
      total = { lossSum: total.lossSum + s.lossSum, correct: total.correct + s.correct, samples: total.samples + s.samples, batches: b + 1, stopped: false };
      running.push(total);
    }
    ref.ds.dispose();
    ref.m.dispose();

    const run = await model();
    const reports: [number, Stats][] = [];
    const final: Stats = await run.m.train(run.ds, order, batchSize, 0, steps, 4, (b: number, s: Stats) => void reports.push([b, { ...s }]));
    run.ds.dispose();
    run.m.dispose();

    expect(final.samples).toBe(n);
    expect(final.lossSum).toBeCloseTo(running[steps - 1].lossSum, 6);
    expect(final.correct).toBe(running[steps - 1].correct);
    expect(reports.length).toBeGreaterThan(0);
    expect(reports[reports.length - 1][0]).toBe(steps - 1);
    let previous = -1;
    for (const [b, s] of reports) {
      expect(b, 'batches are reported in order').toBeGreaterThan(previous);
      // Requested at least 4 batches apart (batch 3 first); when each landed depends on the device.
      if (b !== steps - 1) expect(b - previous, `batch ${b} after ${previous}`).toBeGreaterThanOrEqual(4);
      expect(s.samples).toBe(running[b].samples);
      expect(s.batches).toBe(b + 1);
      expect(s.correct).toBe(running[b].correct);
      expect(Math.abs(s.lossSum - running[b].lossSum) / running[b].lossSum).toBeLessThan(1e-6);
      previous = b;
    }
  });

  it('names the exact batch where the loss became NaN, however rarely it is read', async () => {
    // One NaN pixel in the sample that batch 13 draws first (order[13 * 25] = 13 * 25 * 389 mod n).
    const xs = Float32Array.from(x.data as Float32Array);
    xs[order[13 * batchSize] * 64 + 5] = Number.NaN;
    const { m, ds } = await model(xs);
    const reports: number[] = [];
    const s: Stats = await m.train(ds, order, batchSize, 0, steps, 10, (b: number) => void reports.push(b));
    ds.dispose();
    m.dispose();
    expect(Number.isNaN(s.lossSum)).toBe(true);
    expect(s.firstNonFiniteBatch).toBe(13);
    const clean = await model();
    const ok: Stats = await clean.m.train(clean.ds, order, batchSize, 0, steps, 10);
    clean.ds.dispose();
    clean.m.dispose();
    expect(ok.firstNonFiniteBatch).toBe(-1);
  });
});
