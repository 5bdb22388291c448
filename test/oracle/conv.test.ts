// Oracle: Conv2D, MaxPooling2D, AveragePooling2D and Flatten against
// TensorFlow.js layers: forward outputs, and gradients through one SGD step.
// Tolerance: |xarxa - tfjs| <= 1e-5 * max(|tfjs|, max|tfjs tensor|, 1e-6) per element (see tfjs.ts).
//
// Gradients: xarxa has no gradient API, so each layer is checked inside a
// small trainable chain
//   pre: Conv2D(3, 2x2 'same', tanh)  ->  layer under test  ->  Flatten -> Dense(4, softmax)
// and the weights are compared after one SGD step (lr 0.1, one batch): the
// layer's own kernel/bias update checks its weight gradient, and the update
// of `pre` (which comes BEFORE it) checks its input gradient.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  setupBackends,
  buildPair,
  classification,
  copyXaToTf,
  data,
  expectClose,
  expectSameWeights,
  quantised,
  reportWorst,
  tfEvaluate,
  tfFit,
  tfPredict,
  xa,
  xaFit,
  tfWeights,
  xaWeights,
  type Data,
  type Pair,
  type Spec,
} from './tfjs.js';
import { scaledError } from './tfjs.js';

beforeAll(setupBackends);
afterAll(() => reportWorst('conv.test.ts'));

const N = 8;
const CLASSES = 4;

/** Forward only: the layer alone on the input, full output tensors compared. */
async function checkForward(test: string, layer: Spec, inputShape: number[], x: Float32Array, seed: number): Promise<number[]> {
  const p = buildPair([layer], inputShape, { loss: null, seed });
  const d = data(x, [N, ...inputShape], new Float32Array(N), [N, 1]);
  const got = await p.xam.predict(d.x);
  const want = await tfPredict(p.tfm, d.tx);
  const tfShape = (p.tfm.outputs[0].shape as number[]).slice(1);
  expect(got.shape.slice(1), `${test}: output shape`).toEqual(tfShape);
  expectClose(test, 'forward output', got.data, want);
  p.dispose();
  d.dispose();
  return tfShape;
}

/** One SGD step through pre -> layer -> Flatten -> Dense softmax; weights, loss and outputs compared. */
async function checkStep(test: string, layer: Spec | null, inputShape: number[], d: Data, seed: number, prepare?: (p: Pair) => void): Promise<void> {
  const fmt = layer ? layerFormat(layer) : inputShape[0] === 3 ? 'channelsFirst' : 'channelsLast';
  const pre: Spec = { kind: 'conv2d', filters: 3, kernelSize: 2, padding: 'same', activation: 'tanh', dataFormat: fmt };
  const specs: Spec[] = [pre, ...(layer ? [layer] : []), { kind: 'flatten', dataFormat: fmt }, { kind: 'dense', units: CLASSES, activation: 'softmax' }];
  const p = buildPair(specs, inputShape, { seed });
  prepare?.(p);
  expectClose(test, 'chain predict', (await p.xam.predict(d.x)).data, await tfPredict(p.tfm, d.tx));
  const [loss] = (await p.xam.evaluate(d.x, d.y, { verbose: 0 })) as number[];
  const [tLoss] = await tfEvaluate(p.tfm, d);
  expectClose(test, 'evaluate loss', [loss], [tLoss]);
  const before = xaWeights(p.xam).map((w) => w.slice());
  const h = await xaFit(p.xam, d, N);
  const t = await tfFit(p.tfm, d, N);
  expectSameWeights(test, 'after 1 step', p.xam, p.tfm);
  expectClose(test, 'history loss', h.loss, t.loss);
  // The input gradient really reached `pre`: its kernel moved.
  expect(scaledError(xaWeights(p.xam)[0], before[0]), `${test}: pre-layer kernel did not change`).toBeGreaterThan(1e-4);
  p.dispose();
}

function layerFormat(s: Spec): 'channelsLast' | 'channelsFirst' {
  return 'dataFormat' in s && s.dataFormat ? s.dataFormat : 'channelsLast';
}

function images(h: number, w: number, c: number, seed: number, channelsFirst = false): Data {
  const shape = channelsFirst ? [c, h, w] : [h, w, c];
  return classification(N, shape, CLASSES, seed);
}

describe('oracle: Conv2D vs tfjs', () => {
  const cases: { k: number | [number, number]; s: number | [number, number]; pad: 'same' | 'valid'; h: number; w: number }[] = [];
  for (const pad of ['same', 'valid'] as const)
    for (const s of [1, 2])
      for (const k of [2, 3])
        for (const size of [6, 7]) cases.push({ k, s, pad, h: size, w: size });
  // Non-square kernels, strides and images.
  cases.push({ k: [2, 3], s: [1, 2], pad: 'same', h: 7, w: 6 });
  cases.push({ k: [3, 2], s: [2, 1], pad: 'valid', h: 6, w: 9 });
  cases.push({ k: 3, s: 3, pad: 'same', h: 8, w: 8 });

  for (const [i, c] of cases.entries()) {
    const name = `kernel ${c.k}, strides ${c.s}, '${c.pad}', ${c.h}x${c.w}x3 -> 4 filters`;
    it(`${name}: forward, and weights after one step`, async () => {
      const test = `conv ${name}`;
      const layer: Spec = { kind: 'conv2d', filters: 4, kernelSize: c.k, strides: c.s, padding: c.pad, activation: 'relu' };
      const d = images(c.h, c.w, 3, 100 + i);
      await checkForward(test, { ...layer, activation: 'linear' }, [c.h, c.w, 3], d.x.data as Float32Array, 200 + i);
      await checkStep(test, layer, [c.h, c.w, 3], d, 300 + i);
      d.dispose();
    });
  }

  it('channelsFirst (tfjs channelsFirst conv and Flatten): forward and one step', async () => {
    for (const [i, pad] of (['same', 'valid'] as const).entries()) {
      const test = `conv channelsFirst ${pad}`;
      const layer: Spec = { kind: 'conv2d', filters: 4, kernelSize: 3, strides: 2, padding: pad, activation: 'sigmoid', dataFormat: 'channelsFirst' };
      const d = images(7, 6, 3, 400 + i, true);
      await checkForward(test, layer, [3, 7, 6], d.x.data as Float32Array, 410 + i);
      await checkStep(test, layer, [3, 7, 6], d, 420 + i);
      d.dispose();
    }
  });

  it('channelsFirst equals channelsLast on transposed data (xarxa against itself)', async () => {
    const test = 'conv channelsFirst vs channelsLast';
    const [h, w, c] = [7, 6, 3];
    const last = images(h, w, c, 430);
    const xl = last.x.data as Float32Array;
    const xf = new Float32Array(xl.length);
    for (let b = 0; b < N; b++)
      for (let ch = 0; ch < c; ch++)
        for (let i = 0; i < h * w; i++) xf[(b * c + ch) * h * w + i] = xl[(b * h * w + i) * c + ch];
    const build = (fmt: 'channelsLast' | 'channelsFirst') => {
      xa.setSeed(5);
      const m = new xa.Sequential();
      m.add(new xa.layers.Conv2D(4, 3, { padding: 'same', activation: 'tanh', dataFormat: fmt, inputShape: fmt === 'channelsLast' ? [h, w, c] : [c, h, w] }));
      m.add(new xa.layers.MaxPooling2D({ poolSize: 2, strides: 1, padding: 'same', dataFormat: fmt }));
      m.add(new xa.layers.Flatten({ dataFormat: fmt }));
      m.add(new xa.layers.Dense(CLASSES, { activation: 'softmax' }));
      m.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.1 }), loss: 'categorical_crossentropy' });
      return m;
    };
    const ml = build('channelsLast');
    const mf = build('channelsFirst');
    mf.setWeights(ml.getWeights());
    const first = xa.tensor(xf, [N, c, h, w]);
    expectClose(test, 'predict', (await mf.predict(first)).data, (await ml.predict(last.x)).data);
    await mf.fit(first, last.y, { batchSize: N, epochs: 1, shuffle: false, verbose: 0 });
    await ml.fit(last.x, last.y, { batchSize: N, epochs: 1, shuffle: false, verbose: 0 });
    const wf = xaWeights(mf);
    xaWeights(ml).forEach((wl, i) => expectClose(test, `weight ${i} after 1 step`, wf[i], wl));
    ml.dispose();
    mf.dispose();
    last.dispose();
  });
});

describe('oracle: MaxPooling2D and AveragePooling2D vs tfjs (ties included)', () => {
  const cases: { pool: number | [number, number]; s?: number | [number, number]; pad: 'same' | 'valid'; size: [number, number] }[] = [
    { pool: 2, pad: 'valid', size: [6, 6] },
    { pool: 2, pad: 'valid', size: [7, 7] },
    { pool: 2, s: 1, pad: 'same', size: [5, 5] }, // asymmetric: the extra row/column after
    { pool: 2, s: 1, pad: 'same', size: [6, 6] },
    { pool: 3, s: 2, pad: 'same', size: [7, 7] }, // 1 before, 1 after
    { pool: 3, s: 2, pad: 'same', size: [6, 6] }, // 0 before, 1 after
    { pool: 3, s: 1, pad: 'same', size: [5, 6] },
    { pool: 3, s: 2, pad: 'valid', size: [7, 6] },
    { pool: 2, pad: 'same', size: [5, 7] }, // strides default to the pool size
    { pool: [2, 3], s: [2, 1], pad: 'same', size: [7, 6] },
  ];
  for (const kind of ['maxPool', 'avgPool'] as const) {
    for (const [i, c] of cases.entries()) {
      const name = `${kind === 'maxPool' ? 'MaxPooling2D' : 'AveragePooling2D'} pool ${c.pool}, strides ${c.s ?? 'default'}, '${c.pad}', ${c.size[0]}x${c.size[1]}`;
      it(`${name}: forward on quantised input (ties), and the gradient through it`, async () => {
        const test = name;
        const layer: Spec = { kind, poolSize: c.pool, strides: c.s, padding: c.pad };
        const [h, w] = c.size;
        // Values in {0, 1, 2}: most windows hold ties for the maximum.
        const xq = quantised(N, [h, w, 3], 3, 500 + i);
        await checkForward(test, layer, [h, w, 3], xq, 600 + i);
        if (kind === 'avgPool' && c.pad === 'same') {
          // tfjs' own layer too (the default reference here is ExactAveragePooling2D, see tfjs.ts).
          await checkForward(test, { ...layer, tfBuiltin: true }, [h, w, 3], xq, 600 + i);
        }
        // Through a trainable pre-layer with integer kernel taps, its outputs tie too;
        // with several input channels the tied cells have different inputs, so the
        // pre-layer's kernel update depends on WHICH tied cell takes the gradient.
        const y = classification(N, [1], CLASSES, 700 + i).y.data as Float32Array;
        const d = data(xq, [N, h, w, 3], y, [N, CLASSES]);
        await checkStep(test, layer, [h, w, 3], d, 800 + i, (p) => {
          const ws = p.xam.getWeights();
          const k = ws[0].data as Float32Array; // [2, 2, 3, 3]
          for (let j = 0; j < k.length; j++) k[j] = [1, 0, 1, 2, 1, 0][j % 6] * 0.25; // exact in float32
          const b = ws[1].data as Float32Array;
          b.fill(0.25); // one value per channel keeps the ties
          p.xam.setWeights(ws);
          copyXaToTf(p.xam, p.tfm);
        });
        d.dispose();
      });
    }
  }

  it('max pooling: the first maximum of a tied window takes the gradient (both libraries)', async () => {
    // One 2x2 window over a 1-channel pre-layer output that ties at all four cells
    // but comes from different inputs: only the first (top-left) input may move the kernel.
    const test = 'max pool tie order';
    const inputShape = [2, 2, 2];
    // Two channels: cell values (a, b) with a + b = 1 everywhere, distinct per cell.
    const x = new Float32Array([1, 0, 0.75, 0.25, 0.5, 0.5, 0.25, 0.75]);
    const d = data(x, [1, ...inputShape], new Float32Array([1, 0]), [1, 2]);
    const p = buildPair(
      [
        { kind: 'conv2d', filters: 1, kernelSize: 1, activation: 'linear', useBias: false },
        { kind: 'maxPool', poolSize: 2 },
        { kind: 'flatten' },
        { kind: 'dense', units: 2, activation: 'softmax' },
      ],
      inputShape,
      { seed: 900 },
    );
    const ws = p.xam.getWeights();
    (ws[0].data as Float32Array).set([1, 1]); // every cell sums to exactly 1: a 4-way tie
    p.xam.setWeights(ws);
    copyXaToTf(p.xam, p.tfm);
    const k0 = Float32Array.from(ws[0].data as Float32Array);
    await xaFit(p.xam, d, 1);
    await tfFit(p.tfm, d, 1);
    expectSameWeights(test, 'after 1 step', p.xam, p.tfm);
    // dK = x[argmax cell] * g: the top-left cell (1, 0) moves only the first tap.
    const k1 = xaWeights(p.xam)[0];
    expect(k1[0]).not.toBe(k0[0]);
    expect(k1[1]).toBe(k0[1]);
    p.dispose();
    d.dispose();
  });

  it("tfjs' own AveragePooling2D 'same' gradient is not the true one (why ExactAveragePooling2D is the reference)", async () => {
    // If this fails after a tfjs upgrade, tfjs fixed AvgPoolGrad: drop ExactAveragePooling2D.
    const layer: Spec = { kind: 'avgPool', poolSize: 2, strides: 1, padding: 'same' };
    const d = images(5, 5, 3, 940);
    const run = async (tfBuiltin: boolean) => {
      const p = buildPair([{ kind: 'conv2d', filters: 3, kernelSize: 2, activation: 'tanh' }, { ...layer, tfBuiltin }, { kind: 'flatten' }, { kind: 'dense', units: CLASSES, activation: 'softmax' }], [5, 5, 3], { seed: 941 });
      expect(p.tfm.layers[1].getClassName()).toBe(tfBuiltin ? 'AveragePooling2D' : 'ExactAveragePooling2D');
      await tfFit(p.tfm, d, N);
      await xaFit(p.xam, d, N);
      const out = { tf: tfWeights(p.tfm)[0], xa: xaWeights(p.xam)[0] };
      p.dispose();
      return out;
    };
    const builtin = await run(true);
    const exact = await run(false);
    expectClose('avg pool same: exact reference', 'pre kernel after 1 step', exact.xa, exact.tf);
    // The two tfjs layers give the same forward but different first-layer updates.
    expect(scaledError(builtin.tf, exact.tf)).toBeGreaterThan(1e-3);
    d.dispose();
  });

  it('channelsFirst pooling (tfjs channelsFirst): forward and one step', async () => {
    for (const [i, kind] of (['maxPool', 'avgPool'] as const).entries()) {
      const test = `${kind} channelsFirst 3x3/2 same 7x6`;
      const layer: Spec = { kind, poolSize: 3, strides: 2, padding: 'same', dataFormat: 'channelsFirst' };
      const d = images(7, 6, 3, 950 + i, true);
      await checkForward(test, layer, [3, 7, 6], d.x.data as Float32Array, 960 + i);
      await checkStep(test, layer, [3, 7, 6], d, 970 + i);
      d.dispose();
    }
  });
});

describe('oracle: Flatten vs tfjs', () => {
  it('keeps Keras element order (channelsLast and channelsFirst): forward and the gradient through it', async () => {
    for (const [i, fmt] of (['channelsLast', 'channelsFirst'] as const).entries()) {
      const test = `flatten ${fmt}`;
      const shape = fmt === 'channelsLast' ? [5, 4, 3] : [3, 5, 4];
      const d = images(5, 4, 3, 980 + i, fmt === 'channelsFirst');
      await checkForward(test, { kind: 'flatten', dataFormat: fmt }, shape, d.x.data as Float32Array, 985 + i);
      // pre conv -> Flatten -> Dense: the pre-layer's update needs the gradient through Flatten.
      await checkStep(test, null, shape, d, 990 + i);
      d.dispose();
    }
  });

  it('channelsFirst on rank-2 samples [c, l] moves the channel axis last, after a Dense on the last axis', async () => {
    for (const [i, fmt] of (['channelsLast', 'channelsFirst'] as const).entries()) {
      const test = `flatten ${fmt} rank-2 samples`;
      // [N, 3, 10] -> Dense(4) on the last axis -> [N, 3, 4] -> Flatten -> Dense(4, softmax)
      const specs: Spec[] = [
        { kind: 'dense', units: 4, activation: 'tanh' },
        { kind: 'flatten', dataFormat: fmt },
        { kind: 'dense', units: CLASSES, activation: 'softmax' },
      ];
      const d = classification(N, [3, 10], CLASSES, 995 + i);
      const p = buildPair(specs, [3, 10], { seed: 996 + i, copy: i === 0 ? 'tf->xa' : 'xa->tf' });
      expect(p.xam.outputShape).toEqual([CLASSES]);
      expectClose(test, 'predict', (await p.xam.predict(d.x)).data, await tfPredict(p.tfm, d.tx));
      await xaFit(p.xam, d, N);
      await tfFit(p.tfm, d, N);
      expectSameWeights(test, 'after 1 step', p.xam, p.tfm);
      p.dispose();
      d.dispose();
    }
  });
});
