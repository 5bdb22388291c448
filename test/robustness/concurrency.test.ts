// Concurrency: a model refuses overlapping work with a clear error; two
// models train at once in one process without disturbing each other.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as xa from '../../lib/index.js';
import { addon } from '../../lib/native.js';
import { blobs, denseNet } from '../helpers.js';
import { tempDir } from '../io/tfjs-files.js';

const { Dense, Conv2D, MaxPooling2D, Flatten, Dropout } = xa.layers;

const root = tempDir('concurrency');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Resolves a little after the first epoch began: the model is then inside a native training job. */
function whenTraining(): { started: Promise<void>; hooks: xa.callbacks.CallbackHooks } {
  let resolve!: () => void;
  const started = new Promise<void>((r) => (resolve = r));
  return { started, hooks: { onEpochBegin: () => void setTimeout(resolve, 5) } };
}

describe('one model, overlapping calls', () => {
  it('refuses fit, evaluate, predict, save, setWeights and dispose while it trains, and works afterwards', async () => {
    const { x, y } = blobs(4000, 784);
    const nn = denseNet();
    const { started, hooks } = whenTraining();
    const run = nn.fit(x, y, { epochs: 3, batchSize: 1, verbose: 0, callbacks: [hooks] });
    expect(nn.isTraining).toBe(true);
    await expect(nn.fit(x, y, { verbose: 0 })).rejects.toThrow('fit: this model is already training (or evaluating/predicting); wait for it to finish');
    await expect(nn.evaluate(x, y, { verbose: 0 })).rejects.toThrow('evaluate: this model is busy training; wait for fit to finish');
    await expect(nn.predict(x)).rejects.toThrow('predict: this model is busy training; wait for fit to finish');
    expect(() => nn.dispose()).toThrow('dispose: the model is busy; wait for fit/evaluate/predict to finish');
    expect(() => nn.add(new Dense(3))).toThrow(/add: the model is busy/);
    await started; // now a native epoch is running
    await expect(nn.save(path.join(root, 'busy'))).rejects.toThrow('getWeights: the model is busy (training, evaluating or predicting)');
    const weights = nn.getWeights.bind(nn);
    expect(() => weights()).toThrow(/busy/);
    const zeros = [784 * 32, 32, 32 * 16, 16, 16 * 10, 10].map((n, i) => xa.tensor(new Float32Array(n), [[784, 32], [32], [32, 16], [16], [16, 10], [10]][i]));
    expect(() => nn.setWeights(zeros)).toThrow('setWeights: the model is busy (training, evaluating or predicting)');
    const h = await run;
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(nn.isTraining).toBe(false);
    await nn.save(path.join(root, 'idle'));
    expect((await nn.predict(x.slice(0, 3))).shape).toEqual([3, 10]);
    nn.dispose();
  });

  it('refuses a second fit that starts while predict runs', async () => {
    const { x, y } = blobs(3000, 784);
    const nn = denseNet();
    const p = nn.predict(x, { batchSize: 1 });
    await expect(nn.fit(x, y, { verbose: 0 })).rejects.toThrow(/already training/);
    expect((await p).shape).toEqual([3000, 10]);
    nn.dispose();
  });

  it('the raw addon refuses overlapping jobs and keeps a disposed dataset alive for a running job', async () => {
    const A = addon();
    const m = new A.NativeModel({ device: 'cpu', seed: 3, inputShape: [64], layers: [{ type: 'Dense', units: 10, activation: 'softmax' }] });
    m.compile({ loss: 'categorical_crossentropy', learningRate: 0.1, momentum: 0, nesterov: false });
    const n = 5000;
    const ds = await m.createDataset(new Float32Array(n * 64).fill(0.5), new Float32Array(n * 10).fill(0.1), n);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    const job = m.train(ds, order, 1, 0, n, 100);
    expect(() => m.train(ds, order, 1, 0, n, 1)).toThrow('train: the model is busy (training, evaluating or predicting)');
    expect(() => m.predict(ds, 1)).toThrow('predict: the model is busy (training, evaluating or predicting)');
    expect(() => m.setWeight(0, new Float32Array(640))).toThrow('setWeights: the model is busy (training, evaluating or predicting)');
    expect(() => m.dispose()).toThrow('dispose: the model is busy; stop training first');
    ds.dispose(); // the job holds its own reference
    order.fill(n + 7); // the job trains on its own copy of the order
    const stats = await job;
    expect(stats.samples).toBe(n);
    expect(Number.isFinite(stats.lossSum)).toBe(true);
    // requestStop stops the running job after its current batch; a stale request does not stop the next one.
    // (100,000 one-sample batches, so the job cannot end before requestStop even when this thread is descheduled
    // for a while on a loaded machine: 5,000 could, in a few milliseconds.)
    const big = 100_000;
    const again = await m.createDataset(new Float32Array(big * 64).fill(0.5), new Float32Array(big * 10).fill(0.1), big);
    const all = Int32Array.from({ length: big }, (_, i) => i);
    const stopped = m.train(again, all, 1, 0, big, 1);
    m.requestStop();
    const partial = await stopped;
    expect(partial.stopped).toBe(true);
    expect(partial.samples).toBeLessThan(big);
    m.requestStop();
    expect((await m.train(again, all, 100, 0, big / 100, 1)).samples).toBe(big);
    m.dispose();
  });
});

describe('two models at once', () => {
  function convNet(seed: number): xa.Sequential {
    xa.setSeed(seed);
    const m = new xa.Sequential();
    m.add(new Conv2D({ filters: 6, kernelSize: 3, activation: 'relu', inputShape: [12, 12, 1] }));
    m.add(new MaxPooling2D({ poolSize: 2 }));
    m.add(new Flatten());
    m.add(new Dropout(0.3));
    m.add(new Dense(10, { activation: 'softmax' }));
    m.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.05, momentum: 0.9 }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
    return m;
  }
  function mlp(seed: number): xa.Sequential {
    xa.setSeed(seed);
    const m = new xa.Sequential();
    m.add(new Dense(64, { activation: 'tanh', inputShape: [144] }));
    m.add(new Dropout(0.2));
    m.add(new Dense(10, { activation: 'softmax' }));
    m.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.1 }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
    return m;
  }

  it('train concurrently with exactly the results each gets alone', async () => {
    const a = blobs(1500, 144, 10, 1);
    const b = blobs(1200, 144, 10, 2);
    const ax = a.x.reshape([1500, 12, 12, 1]);
    // shuffle: false, so that the order does not depend on the global seed sequence;
    // dropout masks and initial weights come from each model's own seeds.
    const opts = { epochs: 3, batchSize: 32, verbose: 0 as const, shuffle: false };
    const result = async (m: xa.Sequential, h: xa.History, probe: xa.Tensor) => {
      const out = { history: h.history, weights: m.getWeights().map((w) => Array.from(w.data)), preds: Array.from((await m.predict(probe)).data) };
      m.dispose();
      return out;
    };
    const [probeA, probeB] = [ax.slice(0, 50), b.x.slice(0, 50)];

    const aloneA = convNet(11);
    const rA = await result(aloneA, await aloneA.fit(ax, a.y, opts), probeA);
    const aloneB = mlp(22);
    const rB = await result(aloneB, await aloneB.fit(b.x, b.y, opts), probeB);

    const bothA = convNet(11);
    const bothB = mlp(22);
    // A third model with callbacks (batch-by-batch native calls) runs alongside too.
    const bothC = mlp(33);
    let ticks = 0;
    const [hA, hB] = await Promise.all([
      bothA.fit(ax, a.y, opts),
      bothB.fit(b.x, b.y, opts),
      bothC.fit(b.x, b.y, { ...opts, callbacks: { onBatchEnd: () => void ticks++ } }),
    ]);
    bothC.dispose();
    expect(ticks).toBeGreaterThan(0);
    const cA = await result(bothA, hA, probeA);
    const cB = await result(bothB, hB, probeB);
    expect(cA).toEqual(rA);
    expect(cB).toEqual(rB);
    expect(rA.history.loss[2]).toBeLessThan(rA.history.loss[0]);
  });
});
