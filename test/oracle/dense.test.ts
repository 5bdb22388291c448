// Oracle: Dense networks against TensorFlow.js layers (Keras semantics).
// Tolerance: |xarxa - tfjs| <= 1e-5 * max(|tfjs|, 0.1 * max|tfjs tensor|, 1e-6) per element (see tfjs.ts).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  setupBackends,
  tf,
  buildPair,
  classification,
  data,
  expectClose,
  expectSameWeights,
  expectMoved,
  xaWeights,
  reportWorst,
  tfEvaluate,
  tfFit,
  tfPredict,
  xaFit,
  type Act,
  type Loss,
  type Spec,
} from './tfjs.js';
import { randomFloats } from '../helpers.js';

beforeAll(setupBackends);
afterAll(() => reportWorst('dense.test.ts'));

/** The notebook's 784-32-16-10 network, with the hidden activations varied. */
function notebook(hidden: Act, out: Act = 'softmax'): Spec[] {
  return [
    { kind: 'dense', units: 32, activation: hidden },
    { kind: 'dense', units: 16, activation: hidden },
    { kind: 'dense', units: 10, activation: out },
  ];
}

/** 40 samples of 784 features in [0, 1) (like scaled MNIST pixels), 10 one-hot classes. */
const mnistLike = () => classification(40, [784], 10, 17, 0, 1);

describe('oracle: Dense nets vs tfjs (forward, loss)', () => {
  for (const [seed, act] of (['relu', 'sigmoid', 'tanh', 'linear'] as const).entries()) {
    it(`784-32-16-10 ${act}/${act}/softmax: predict and evaluate (cce) equal tfjs`, async () => {
      const test = `forward+cce ${act}`;
      const d = mnistLike();
      const p = buildPair(notebook(act), [784], { copy: act === 'tanh' ? 'xa->tf' : 'tf->xa', seed: seed + 1 });
      const got = await p.xam.predict(d.x);
      const want = await tfPredict(p.tfm, d.tx);
      expectClose(test, 'predict', got.data, want);
      // Rows are probabilities.
      expect(Array.from(got.data.slice(0, 10)).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      const [loss, acc] = (await p.xam.evaluate(d.x, d.y, { verbose: 0, batchSize: 16 })) as number[];
      const [tLoss, tAcc] = await tfEvaluate(p.tfm, d, 16);
      expectClose(test, 'evaluate loss', [loss], [tLoss]);
      expectClose(test, "evaluate acc", [acc], [tAcc]);
      p.dispose();
      d.dispose();
    });
  }

  for (const [seed, out] of (['linear', 'sigmoid', 'tanh', 'softmax'] as const).entries()) {
    it(`784-32-16-10 relu/relu/${out}: evaluate with mean squared error equals tfjs`, async () => {
      const test = `forward+mse out=${out}`;
      const d = mnistLike();
      const p = buildPair(notebook('relu', out), [784], { loss: 'mean_squared_error', seed: seed + 5 });
      expectClose(test, 'predict', (await p.xam.predict(d.x)).data, await tfPredict(p.tfm, d.tx));
      const [loss, acc] = (await p.xam.evaluate(d.x, d.y, { verbose: 0 })) as number[];
      const [tLoss, tAcc] = await tfEvaluate(p.tfm, d);
      expectClose(test, 'evaluate loss', [loss], [tLoss]);
      expectClose(test, "evaluate acc", [acc], [tAcc]);
      p.dispose();
      d.dispose();
    });
  }

  it('clips probabilities like Keras: confident wrong predictions give the same (clipped) loss', async () => {
    const test = 'cce clipping';
    // Large inputs and a scaled-up last kernel saturate the softmax (p < 1e-7 for the true class).
    const d = classification(16, [20], 5, 3, -30, 30);
    const p = buildPair([{ kind: 'dense', units: 5, activation: 'softmax' }], [20]);
    const k = p.xam.getWeights();
    const big = k[0].mul(20);
    p.xam.setWeights([big, k[1]]);
    p.tfm.setWeights([tfTensor(big), tfTensor(k[1])]);
    const [loss] = (await p.xam.evaluate(d.x, d.y, { verbose: 0 })) as number[];
    const [tLoss] = await tfEvaluate(p.tfm, d);
    expect(tLoss).toBeGreaterThan(5); // some rows hit the clip at -log(1e-7) ≈ 16.1
    expectClose(test, 'evaluate loss', [loss], [tLoss]);
    // One SGD step through the clipped rows: the clip's zero gradient matches too.
    await xaFit(p.xam, d, 16);
    await tfFit(p.tfm, d, 16);
    expectSameWeights(test, 'after 1 step', p.xam, p.tfm);
    p.dispose();
    d.dispose();
  });
});

function tfTensor(t: { data: ArrayLike<number>; shape: number[] }) {
  return tf.tensor(Float32Array.from(t.data), t.shape);
}

describe('oracle: Dense nets vs tfjs (SGD training)', () => {
  const cases: { act: Act; out: Act; loss: Loss; momentum?: number; nesterov?: boolean; copy?: 'xa->tf' }[] = [
    { act: 'relu', out: 'softmax', loss: 'categorical_crossentropy' },
    { act: 'relu', out: 'softmax', loss: 'categorical_crossentropy', momentum: 0.9 },
    { act: 'relu', out: 'softmax', loss: 'categorical_crossentropy', momentum: 0.9, nesterov: true, copy: 'xa->tf' },
    { act: 'sigmoid', out: 'softmax', loss: 'categorical_crossentropy', momentum: 0.9 },
    { act: 'tanh', out: 'softmax', loss: 'categorical_crossentropy', copy: 'xa->tf' },
    { act: 'tanh', out: 'linear', loss: 'mean_squared_error', momentum: 0.9, nesterov: true },
    { act: 'relu', out: 'sigmoid', loss: 'mean_squared_error' },
    { act: 'linear', out: 'softmax', loss: 'mean_squared_error', momentum: 0.9 },
  ];
  for (const [i, c] of cases.entries()) {
    const opt = c.momentum ? `momentum ${c.momentum}${c.nesterov ? ' nesterov' : ''}` : 'plain SGD';
    it(`${c.act}/${c.act}/${c.out}, ${c.loss}, ${opt}, lr 0.1: weights after 1 and 5 steps and history equal tfjs (${c.copy ?? 'tf->xa'})`, async () => {
      const test = `sgd ${c.act}/${c.out} ${c.loss} ${opt}`;
      const d = mnistLike();
      const n = d.x.shape[0];
      const batchSize = n / 5;
      const opts = { learningRate: 0.1, momentum: c.momentum, nesterov: c.nesterov };
      // One step: train on the first batch only.
      const first = data(d.x.data.slice(0, batchSize * 784) as Float32Array, [batchSize, 784], d.y.data.slice(0, batchSize * 10) as Float32Array, [batchSize, 10]);
      const one = buildPair(notebook(c.act, c.out), [784], { loss: c.loss, opt: opts, copy: c.copy, seed: 20 + i });
      const h1 = await xaFit(one.xam, first, batchSize);
      const t1 = await tfFit(one.tfm, first, batchSize);
      expectSameWeights(test, 'after 1 step', one.xam, one.tfm);
      expectClose(test, 'loss of step 1', h1.loss, t1.loss);
      expectClose(test, "history acc", h1.acc, t1.acc);
      one.dispose();
      first.dispose();

      // Five steps: one epoch of n/5-sample batches in order.
      const five = buildPair(notebook(c.act, c.out), [784], { loss: c.loss, opt: opts, copy: c.copy, seed: 20 + i });
      const before = xaWeights(five.xam).map((w) => w.slice());
      const h = await xaFit(five.xam, d, batchSize);
      const t = await tfFit(five.tfm, d, batchSize);
      expectSameWeights(test, 'after 5 steps', five.xam, five.tfm);
      expectMoved(test, before, xaWeights(five.xam));
      expectClose(test, 'history loss', h.loss, t.loss);
      expectClose(test, "history acc", h.acc, t.acc);
      // And a second epoch continues identically (momentum state carried over).
      const h2 = await xaFit(five.xam, d, batchSize);
      const t2 = await tfFit(five.tfm, d, batchSize);
      expectSameWeights(test, 'after 10 steps', five.xam, five.tfm);
      expectClose(test, 'history loss epoch 2', h2.loss, t2.loss);
      expectClose(test, "history acc", h2.acc, t2.acc);
      five.dispose();
      d.dispose();
    });
  }

  it('a partial last batch is averaged over its own size, as in tfjs (n=23, batchSize 5)', async () => {
    const test = 'partial last batch';
    const x = randomFloats(23 * 12, 5);
    const y = new Float32Array(23 * 4);
    for (let i = 0; i < 23; i++) y[i * 4 + (i % 4)] = 1;
    const d = data(x, [23, 12], y, [23, 4]);
    const p = buildPair(
      [
        { kind: 'dense', units: 8, activation: 'tanh' },
        { kind: 'dense', units: 4, activation: 'softmax' },
      ],
      [12],
      { opt: { learningRate: 0.5, momentum: 0.5 } },
    );
    const h = await xaFit(p.xam, d, 5, 3);
    const t = await tfFit(p.tfm, d, 5, 3);
    expectSameWeights(test, 'after 3 epochs', p.xam, p.tfm);
    expectClose(test, 'history loss', h.loss, t.loss);
    expectClose(test, "history acc", h.acc, t.acc);
    p.dispose();
    d.dispose();
  });
});
