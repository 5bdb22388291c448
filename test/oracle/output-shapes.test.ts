// Oracle: outputs other than [samples, classes], against TensorFlow.js layers.
// Keras takes the loss and the accuracy along the last axis: a one-unit output
// gets binary accuracy (threshold 0.5); an output of rank > 1 ([steps, classes],
// or a Conv2D's image) gets the loss and accuracy per position, averaged over
// positions and samples; a channelsFirst Conv2D's softmax runs over its last axis
// (the width). Tolerance as in tfjs.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildPair,
  data,
  expectClose,
  expectMoved,
  expectSameWeights,
  reportWorst,
  setupBackends,
  tfEvaluate,
  tfFit,
  tfPredict,
  xaFit,
  xaWeights,
  type Loss,
  type Spec,
} from './tfjs.js';
import { randomFloats } from '../helpers.js';

beforeAll(setupBackends);
afterAll(() => reportWorst('output-shapes.test.ts'));

/** Labels [n, ...positions, classes]: one-hot per position (classes > 1) or 0/1 (classes = 1). */
function labels(n: number, positions: number[], classes: number, seed: number): Float32Array {
  const count = n * positions.reduce((a, b) => a * b, 1);
  const r = randomFloats(count, seed);
  const y = new Float32Array(count * classes);
  for (let i = 0; i < count; i++) {
    if (classes === 1) y[i] = r[i] < 0.5 ? 0 : 1;
    else y[i * classes + Math.floor(r[i] * classes)] = 1;
  }
  return y;
}

/** Evaluate, one epoch of 4 steps (history and weights) and a second epoch, each equal to tfjs. */
// `still`: weights whose gradient is zero by symmetry, left out of the "weights moved" check.
async function trainsLikeTfjs(test: string, specs: Spec[], inputShape: number[], outShape: number[], loss: Loss, seed: number, still: number[] = []) {
  const n = 24;
  const x = randomFloats(n * inputShape.reduce((a, b) => a * b, 1), seed).map((v) => 2 * v - 1);
  const d = data(x, [n, ...inputShape], labels(n, outShape.slice(0, -1), outShape.at(-1)!, seed + 1), [n, ...outShape]);
  const p = buildPair(specs, inputShape, { loss, opt: { learningRate: 0.5 }, seed });
  expectClose(test, 'predict', (await p.xam.predict(d.x)).data, await tfPredict(p.tfm, d.tx));
  const [loss0, acc0] = (await p.xam.evaluate(d.x, d.y, { verbose: 0, batchSize: 10 })) as number[];
  const [tLoss0, tAcc0] = await tfEvaluate(p.tfm, d, 10);
  expectClose(test, 'evaluate loss', [loss0], [tLoss0]);
  expectClose(test, 'evaluate accuracy', [acc0], [tAcc0]);
  const before = xaWeights(p.xam).map((w) => w.slice());
  for (const epoch of [1, 2]) {
    const h = await xaFit(p.xam, d, 6);
    const t = await tfFit(p.tfm, d, 6);
    expectSameWeights(test, `weights after epoch ${epoch}`, p.xam, p.tfm);
    expectClose(test, `history loss, epoch ${epoch}`, h.loss, t.loss);
    expectClose(test, `history accuracy, epoch ${epoch}`, h.acc, t.acc);
  }
  const keep = (ws: Float32Array[]) => ws.filter((_, i) => !still.includes(i));
  expectMoved(test, keep(before), keep(xaWeights(p.xam)));
  p.dispose();
  d.dispose();
  return { acc0, tAcc0 };
}

describe('oracle: output shapes vs tfjs (loss and accuracy along the last axis)', () => {
  it('one output unit: binary accuracy (threshold 0.5), not argmax over one column', async () => {
    for (const [i, out] of (['sigmoid', 'linear'] as const).entries()) {
      const specs: Spec[] = [{ kind: 'dense', units: 8, activation: 'tanh' }, { kind: 'dense', units: 1, activation: out }];
      const { acc0 } = await trainsLikeTfjs(`one unit, ${out}`, specs, [5], [1], 'mean_squared_error', 40 + i);
      expect(acc0, 'argmax over one column would count every sample right').toBeLessThan(1);
    }
  });

  it('Dense on [steps, features]: cross-entropy and accuracy per step, averaged', async () => {
    const specs: Spec[] = [{ kind: 'dense', units: 7, activation: 'relu' }, { kind: 'dense', units: 4, activation: 'softmax' }];
    await trainsLikeTfjs('dense [3, 5] -> [3, 4] softmax, cce', specs, [3, 5], [3, 4], 'categorical_crossentropy', 50);
    await trainsLikeTfjs('dense [3, 5] -> [3, 4] sigmoid, mse', [specs[0], { kind: 'dense', units: 4, activation: 'sigmoid' }], [3, 5], [3, 4], 'mean_squared_error', 51);
  });

  it('Conv2D softmax as the output: per pixel over channels (channelsLast), over the width (channelsFirst)', async () => {
    await trainsLikeTfjs(
      'conv2d softmax channelsLast, cce',
      [{ kind: 'conv2d', filters: 3, kernelSize: 2, activation: 'softmax', dataFormat: 'channelsLast' }],
      [5, 5, 2], [4, 4, 3], 'categorical_crossentropy', 60,
    );
    await trainsLikeTfjs(
      'conv2d softmax channelsFirst, cce',
      [{ kind: 'conv2d', filters: 3, kernelSize: 2, activation: 'softmax', dataFormat: 'channelsFirst' }],
      [2, 5, 5], [3, 4, 4], 'categorical_crossentropy', 61,
      [1], // a channel's bias shifts a whole row of the softmax over the width: no gradient
    );
    // channelsFirst softmax in a hidden layer: its own backward (not folded into the loss).
    await trainsLikeTfjs(
      'conv2d softmax channelsFirst (hidden), mse',
      [
        { kind: 'conv2d', filters: 3, kernelSize: 2, activation: 'softmax', dataFormat: 'channelsFirst' },
        { kind: 'flatten', dataFormat: 'channelsFirst' },
        { kind: 'dense', units: 3, activation: 'linear' },
      ],
      [2, 5, 5], [3], 'mean_squared_error', 62,
      [1],
    );
  });
});
