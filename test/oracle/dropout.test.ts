// Oracle: Dropout. At inference (predict, evaluate) it is the identity, as in
// tfjs/Keras; in fit it is inverted dropout: each value kept with probability
// 1 - rate and scaled by 1/(1 - rate), with a fresh mask every step, and the
// gradient masked by the same mask. The masks come from different random
// generators in the two libraries, so training is checked statistically.
// Tolerances: against tfjs, |xarxa - tfjs| <= 1e-5 * max(|tfjs|, max|tfjs tensor|, 1e-6)
// (see tfjs.ts); the kept fraction within 5 standard deviations of 1 - rate.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { RTOL, setupBackends, buildPair, classification, expectClose, reportWorst, tfEvaluate, tfPredict, xa, xaFit, xaWeights, tfFit, expectSameWeights, type Spec } from './tfjs.js';

beforeAll(setupBackends);
afterAll(() => reportWorst('dropout.test.ts'));

const withDropout = (rate: number): Spec[] => [
  { kind: 'dense', units: 32, activation: 'relu' },
  { kind: 'dropout', rate },
  { kind: 'dense', units: 16, activation: 'tanh' },
  { kind: 'dropout', rate },
  { kind: 'dense', units: 10, activation: 'softmax' },
];
const withoutDropout: Spec[] = withDropout(0).filter((s) => s.kind !== 'dropout');

describe('oracle: Dropout at inference', () => {
  it('predict and evaluate are the identity: equal to the model without Dropout, and to tfjs', async () => {
    const test = 'dropout inference';
    const d = classification(32, [64], 10, 61, 0, 1);
    const p = buildPair(withDropout(0.5), [64], { seed: 62 });
    const plain = buildPair(withoutDropout, [64], { seed: 63 });
    plain.xam.setWeights(p.xam.getWeights());
    const got = await p.xam.predict(d.x);
    // Bitwise: the same ops on the same numbers.
    expect(Array.from(got.data)).toEqual(Array.from((await plain.xam.predict(d.x)).data));
    expectClose(test, 'predict vs tfjs', got.data, await tfPredict(p.tfm, d.tx));
    const ev = (await p.xam.evaluate(d.x, d.y, { verbose: 0 })) as number[];
    expect(ev).toEqual((await plain.xam.evaluate(d.x, d.y, { verbose: 0 })) as number[]);
    expectClose(test, 'evaluate vs tfjs', ev, await tfEvaluate(p.tfm, d));
    // Still the identity after training (fit leaves no mask behind).
    await xaFit(p.xam, d, 8);
    plain.xam.setWeights(p.xam.getWeights());
    expect(Array.from((await p.xam.predict(d.x)).data)).toEqual(Array.from((await plain.xam.predict(d.x)).data));
    p.dispose();
    plain.dispose();
    d.dispose();
  });

  it('rate 0 trains exactly like tfjs (no mask at all)', async () => {
    const test = 'dropout rate 0 training';
    const d = classification(40, [64], 10, 64, 0, 1);
    const p = buildPair(withDropout(0), [64], { seed: 65, opt: { learningRate: 0.1, momentum: 0.9 } });
    const h = await xaFit(p.xam, d, 8);
    const t = await tfFit(p.tfm, d, 8);
    expectSameWeights(test, 'after 5 steps', p.xam, p.tfm);
    expectClose(test, 'history loss', h.loss, t.loss);
    p.dispose();
    d.dispose();
  });
});

describe('Dropout in fit (statistical)', () => {
  // x = [1] -> pre: Dense(D, linear, no bias, kernel 1) -> Dropout(rate)
  //   -> post: Dense(1, linear, no bias, kernel c) -> MSE against y = 0; SGD lr 1, batch 1.
  // With mask m_j in {0, 1/(1-rate)}: h_j = m_j, out = c * sum_j m_j, g = dL/dout = 2 * out, and
  //   post_j -= g * m_j         (the post layer sees the scaled, masked values)
  //   pre_j  -= g * c * m_j     (the gradient goes back through the SAME mask)
  const D = 20000;
  const c = 1e-4;

  function build(rate: number): xa.Sequential {
    const m = new xa.Sequential();
    m.add(new xa.layers.Dense(D, { useBias: false, inputShape: [1] }));
    m.add(new xa.layers.Dropout(rate));
    m.add(new xa.layers.Dense(1, { useBias: false }));
    m.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 1 }), loss: 'mean_squared_error' });
    m.setWeights([xa.tensor(new Float32Array(D).fill(1), [1, D]), xa.tensor(new Float32Array(D).fill(c), [D, 1])]);
    return m;
  }

  async function step(m: xa.Sequential): Promise<{ kept: boolean[]; post: Float32Array; pre: Float32Array }> {
    const [pre0, post0] = xaWeights(m).map((w) => Float32Array.from(w));
    await m.fit(xa.tensor(new Float32Array([1]), [1, 1]), xa.tensor(new Float32Array([0]), [1, 1]), { batchSize: 1, epochs: 1, shuffle: false, verbose: 0 });
    const [pre1, post1] = xaWeights(m);
    const post = post1.map((v, j) => v - post0[j]);
    const pre = pre1.map((v, j) => v - pre0[j]);
    // Put the model back to the starting weights for the next step (masks still change: the step counter moves on).
    m.setWeights([xa.tensor(pre0, [1, D]), xa.tensor(post0, [D, 1])]);
    return { kept: Array.from(post, (v) => v !== 0), post, pre };
  }

  for (const rate of [0.2, 0.5, 0.8]) {
    it(`rate ${rate}: keeps ~${1 - rate} of the values, scales them by 1/(1-rate), masks the gradient the same way, and redraws the mask every step`, async () => {
      const m = build(rate);
      const s1 = await step(m);
      const s2 = await step(m);
      const scale = 1 / (1 - rate);
      for (const s of [s1, s2]) {
        const k = s.kept.filter(Boolean).length;
        // Kept fraction: binomial, within 5 standard deviations.
        const sd = Math.sqrt((rate * (1 - rate)) / D);
        expect(Math.abs(k / D - (1 - rate)), `kept ${k} of ${D}`).toBeLessThan(5 * sd);
        // Every kept value is exactly the same update: -g * scale, with g = 2 * c * k * scale.
        const g = 2 * c * k * scale;
        for (let j = 0; j < D; j++) {
          if (!s.kept[j]) {
            expect(s.pre[j]).toBe(0); // dropped: no gradient reaches the pre layer either
            continue;
          }
          // (out sums 20,000 values in float32: 1e-4 on the CPU, 1e-3 at the GPU tolerance, where
          // cuBLAS sums in another order)
          expect(Math.abs(s.post[j] + g * scale) / (g * scale), `post[${j}]`).toBeLessThan(10 * RTOL);
          expect(Math.abs(s.pre[j] - c * s.post[j]) / Math.abs(c * s.post[j]), `pre[${j}]`).toBeLessThan(1e-3);
        }
      }
      // A fresh mask each step: the two masks agree on ~rate^2 + (1-rate)^2 of the cells, not all.
      const agree = s1.kept.filter((v, j) => v === s2.kept[j]).length / D;
      const expected = rate * rate + (1 - rate) * (1 - rate);
      expect(Math.abs(agree - expected)).toBeLessThan(0.03);
      m.dispose();
    });
  }
});
