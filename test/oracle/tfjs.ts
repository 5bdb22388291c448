// Shared helpers for the TensorFlow.js oracle tests: build the SAME model in
// tfjs-layers (the reference for Keras semantics, pure-JS cpu backend) and in
// xarxa, copy weights between them, and compare numbers with one tolerance.
//
// Tolerance (all oracle tests): each compared tensor B (tfjs) and A (xarxa)
// must satisfy, for every element i,
//   |A[i] - B[i]| <= RTOL * max(|B[i]|, FLOOR * max_j |B[j]|, 1e-6),   RTOL = 1e-5, FLOOR = 1
// i.e. a relative error of 1e-5 in the max norm (the floor of each element is
// the largest magnitude in its tensor; a scalar or a loss is plain relative).
// Why the floor is not smaller: float32 sums (GEMM, convolution) round with an
// error proportional to the size of their terms, not of their result. tfjs'
// cpu kernels accumulate in float64 JS numbers (rounded to float32 per block
// of 48), xarxa's GEMM in float32, so an output, bias or weight that comes out
// near zero by cancellation differs by ~1e-7 of its tensor's scale. Against a
// float64 re-implementation both stay within float32 rounding (after 5 SGD
// steps of the 784-32-16-10 net: xarxa 1e-7..2e-6 normwise, tfjs 1e-7..5e-7),
// yet elementwise with a floor of 0.1*max they differ by up to 2.3e-5 (a bias
// of 0.0010 in a tensor reaching 0.05, |diff| 1e-7).
// Each comparison records its worst scaled error so a run prints the worst
// error seen per test (see reportWorst).
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import * as xa from '../../lib/index.js';
import { randomFloats } from '../helpers.js';

export { tf, xa };

// 1e-5 on the CPU; the GPU suite (scripts/gpu-check.sh) passes XARXA_TEST_TOLERANCE=1e-4,
// since cuDNN/cuBLAS sum in other orders.
export const RTOL = Number(process.env.XARXA_TEST_TOLERANCE ?? 1e-5);
export const FLOOR = 1;
const MIN_FLOOR = 1e-6;

let ready: Promise<void> | undefined;

/**
 * tfjs on its pure-JS cpu backend; xarxa on XARXA_ORACLE_DEVICE, else XARXA_DEVICE (the GPU
 * suite, scripts/gpu-check.sh and the emulator check, set it to cuda), else the CPU: never
 * the automatic choice, so that a GPU machine runs these at the CPU tolerance only when asked.
 */
export function setupBackends(): Promise<void> {
  ready ??= (async () => {
    tf.env().set('PROD', true); // no debug-mode checks or warnings
    await tf.setBackend('cpu');
    await tf.ready();
    xa.setBackend(process.env.XARXA_ORACLE_DEVICE || process.env.XARXA_DEVICE || 'cpu');
  })();
  return ready;
}

// ---- one layer description, built in both libraries ------------------------

export type Act = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'softmax';
export type Fmt = 'channelsLast' | 'channelsFirst';

export type Spec =
  | { kind: 'dense'; units: number; activation?: Act; useBias?: boolean }
  | { kind: 'conv2d'; filters: number; kernelSize: number | [number, number]; strides?: number | [number, number]; padding?: 'same' | 'valid'; activation?: Act; dataFormat?: Fmt; useBias?: boolean }
  | {
      kind: 'maxPool' | 'avgPool';
      poolSize: number | [number, number];
      strides?: number | [number, number];
      padding?: 'same' | 'valid';
      dataFormat?: Fmt;
      /** avgPool 'same' only: use tfjs' own layer, whose gradient is wrong (see ExactAveragePooling2D). */
      tfBuiltin?: boolean;
    }
  | { kind: 'flatten'; dataFormat?: Fmt }
  | { kind: 'dropout'; rate: number };

function tfLayer(s: Spec, first: { inputShape: number[] } | {}, seed: number): tf.layers.Layer {
  // Seeded: glorot-uniform kernels as in Keras, and small random biases (not
  // Keras' zeros) so that forward tests exercise the bias too.
  const init = {
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed + 7919 }),
  };
  switch (s.kind) {
    case 'dense':
      return tf.layers.dense({ units: s.units, activation: s.activation ?? 'linear', useBias: s.useBias ?? true, ...init, ...first });
    case 'conv2d':
      return tf.layers.conv2d({
        ...init,
        filters: s.filters,
        kernelSize: s.kernelSize,
        strides: s.strides ?? 1,
        padding: s.padding ?? 'valid',
        activation: s.activation ?? 'linear',
        dataFormat: s.dataFormat ?? 'channelsLast',
        useBias: s.useBias ?? true,
        ...first,
      });
    case 'maxPool':
    case 'avgPool': {
      const args = { poolSize: s.poolSize, strides: s.strides, padding: s.padding ?? 'valid', dataFormat: s.dataFormat ?? 'channelsLast', ...first } as const;
      if (s.kind === 'avgPool' && args.padding === 'same' && !s.tfBuiltin) return new ExactAveragePooling2D(args);
      return s.kind === 'maxPool' ? tf.layers.maxPooling2d(args) : tf.layers.averagePooling2d(args);
    }
    case 'flatten':
      return tf.layers.flatten({ dataFormat: s.dataFormat ?? 'channelsLast', ...first });
    case 'dropout':
      return tf.layers.dropout({ rate: s.rate, ...first });
  }
}

function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/**
 * AveragePooling2D with 'same' padding, built from ops whose gradients tfjs
 * gets right: explicit (TF-style, extra cell after) zero padding, a 'valid'
 * average pool, times the window size, divided by the count of real cells.
 * Its forward equals tfjs' own averagePooling2d (checked in conv.test.ts), but
 * its gradient is the true one. tfjs 4.22's cpu AvgPoolGrad divides every
 * window's gradient by the full window size (kernels/AvgPoolGrad.js:
 * avgMultiplier = 1 / (filterHeight * filterWidth)), even for windows that
 * overlap the padding, where its forward divides by the real-cell count; TF
 * and Keras divide the gradient by that count too.
 */
export class ExactAveragePooling2D extends tf.layers.Layer {
  static className = 'ExactAveragePooling2D';
  private readonly pool: [number, number];
  private readonly stride: [number, number];
  private readonly channelsFirst: boolean;

  constructor(args: { poolSize: number | [number, number]; strides?: number | [number, number]; dataFormat?: Fmt; inputShape?: number[] }) {
    super(args.inputShape ? { inputShape: args.inputShape } : {});
    this.pool = pair(args.poolSize);
    this.stride = args.strides === undefined ? this.pool : pair(args.strides);
    this.channelsFirst = args.dataFormat === 'channelsFirst';
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as number[];
    const [h, w] = this.channelsFirst ? [s[2], s[3]] : [s[1], s[2]];
    const [oh, ow] = [Math.ceil(h / this.stride[0]), Math.ceil(w / this.stride[1])];
    return this.channelsFirst ? [s[0], s[1], oh, ow] : [s[0], oh, ow, s[3]];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      if (this.channelsFirst) x = x.transpose([0, 2, 3, 1]);
      const [, h, w] = x.shape;
      const pads = ([h, w] as number[]).map((n, i) => {
        const out = Math.ceil(n / this.stride[i]);
        const total = Math.max(0, (out - 1) * this.stride[i] + this.pool[i] - n);
        return [Math.floor(total / 2), total - Math.floor(total / 2)] as [number, number];
      });
      const sumPool = (t: tf.Tensor4D) => tf.avgPool(tf.pad(t, [[0, 0], pads[0], pads[1], [0, 0]]), this.pool, this.stride, 'valid').mul(this.pool[0] * this.pool[1]);
      const counts = sumPool(tf.ones([1, h, w, 1]));
      let y: tf.Tensor = sumPool(x).div(counts);
      if (this.channelsFirst) y = y.transpose([0, 3, 1, 2]);
      return y;
    });
  }
}

function xaLayer(s: Spec, first: { inputShape: number[] } | {}): xa.layers.Layer {
  const L = xa.layers;
  switch (s.kind) {
    case 'dense':
      return new L.Dense(s.units, { activation: s.activation ?? 'linear', useBias: s.useBias ?? true, ...first });
    case 'conv2d':
      return new L.Conv2D(s.filters, s.kernelSize, {
        strides: s.strides ?? 1,
        padding: s.padding ?? 'valid',
        activation: s.activation ?? 'linear',
        dataFormat: s.dataFormat ?? 'channelsLast',
        useBias: s.useBias ?? true,
        ...first,
      });
    case 'maxPool':
    case 'avgPool': {
      const args = { poolSize: s.poolSize, strides: s.strides, padding: s.padding ?? 'valid', dataFormat: s.dataFormat ?? 'channelsLast', ...first } as const;
      return s.kind === 'maxPool' ? new L.MaxPooling2D(args) : new L.AveragePooling2D(args);
    }
    case 'flatten':
      return new L.Flatten({ dataFormat: s.dataFormat ?? 'channelsLast', ...first });
    case 'dropout':
      return new L.Dropout(s.rate, { ...first });
  }
}

export type Loss = 'categorical_crossentropy' | 'mean_squared_error';
export interface Opt {
  learningRate: number;
  momentum?: number;
  nesterov?: boolean;
}

export interface Pair {
  tfm: tf.Sequential;
  xam: xa.Sequential;
  dispose(): void;
}

/**
 * The same Sequential model in both libraries, compiled with the same loss and
 * SGD optimizer (metrics: accuracy; loss null: not compiled, for predict only). Weights start as tfjs initialised them
 * (seeded) and are copied into xarxa, unless `copy` says 'xa->tf': then
 * xarxa's own (seeded) initialisation is copied into tfjs.
 */
export function buildPair(
  specs: Spec[],
  inputShape: number[],
  o: { loss?: Loss | null; opt?: Opt; copy?: 'tf->xa' | 'xa->tf'; seed?: number } = {},
): Pair {
  const loss = o.loss === undefined ? 'categorical_crossentropy' : o.loss;
  const opt = o.opt ?? { learningRate: 0.1 };
  const seed = o.seed ?? 1;
  xa.setSeed(seed); // xarxa's own initialisation (used by 'xa->tf') is deterministic too
  const tfm = tf.sequential();
  const xam = new xa.Sequential();
  specs.forEach((s, i) => {
    tfm.add(tfLayer(s, i === 0 ? { inputShape } : {}, seed * 1000 + i));
    xam.add(xaLayer(s, i === 0 ? { inputShape } : {}));
  });
  const momentum = opt.momentum ?? 0;
  const tfOpt = momentum > 0 ? tf.train.momentum(opt.learningRate, momentum, opt.nesterov ?? false) : tf.train.sgd(opt.learningRate);
  if (loss !== null) {
    tfm.compile({ optimizer: tfOpt, loss: loss === 'categorical_crossentropy' ? 'categoricalCrossentropy' : 'meanSquaredError', metrics: ['accuracy'] });
    xam.compile({ optimizer: new xa.optimizers.SGD({ learningRate: opt.learningRate, momentum, nesterov: opt.nesterov ?? false }), loss, metrics: ['accuracy'] });
  } else {
    xam.build(inputShape); // forward-only: predict needs no compile
  }
  if ((o.copy ?? 'tf->xa') === 'tf->xa') copyTfToXa(tfm, xam);
  else copyXaToTf(xam, tfm);
  return {
    tfm,
    xam,
    dispose() {
      xam.dispose();
      tfm.dispose();
      tfOpt.dispose();
    },
  };
}

export function copyTfToXa(tfm: tf.LayersModel, xam: xa.Sequential): void {
  xam.setWeights(tfm.getWeights().map((w) => xa.tensor(Float32Array.from(w.dataSync()), [...w.shape])));
}

export function copyXaToTf(xam: xa.Sequential, tfm: tf.LayersModel): void {
  const ws = xam.getWeights().map((w) => tf.tensor(Float32Array.from(w.data as Float32Array), w.shape));
  tfm.setWeights(ws);
  ws.forEach((w) => w.dispose());
}

export function tfWeights(tfm: tf.LayersModel): Float32Array[] {
  return tfm.getWeights().map((w) => w.dataSync() as Float32Array);
}

export function xaWeights(xam: xa.Sequential): Float32Array[] {
  return xam.getWeights().map((w) => w.data as Float32Array);
}

// ---- data ---------------------------------------------------------------------

export interface Data {
  x: xa.Tensor;
  y: xa.Tensor;
  tx: tf.Tensor;
  ty: tf.Tensor;
  dispose(): void;
}

/** The same float32 data in both libraries. */
export function data(x: Float32Array, xShape: number[], y: Float32Array, yShape: number[]): Data {
  const tx = tf.tensor(x, xShape);
  const ty = tf.tensor(y, yShape);
  return { x: xa.tensor(x, xShape), y: xa.tensor(y, yShape), tx, ty, dispose: () => (tx.dispose(), ty.dispose()) };
}

/** Uniform [lo, hi) inputs with one-hot labels over `classes` (class i*3 % classes). */
export function classification(n: number, sampleShape: number[], classes: number, seed: number, lo = -1, hi = 1): Data {
  const size = n * sampleShape.reduce((a, b) => a * b, 1);
  const x = randomFloats(size, seed).map((v) => lo + (hi - lo) * v);
  const y = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) y[i * classes + ((i * 3 + (i >> 2)) % classes)] = 1;
  return data(x, [n, ...sampleShape], y, [n, classes]);
}

/** Inputs quantised to {0, 1, ..., levels-1} (many ties in every pooling window). */
export function quantised(n: number, sampleShape: number[], levels: number, seed: number): Float32Array {
  const size = n * sampleShape.reduce((a, b) => a * b, 1);
  return randomFloats(size, seed).map((v) => Math.floor(v * levels));
}

// ---- comparison ------------------------------------------------------------------

/** Largest |a-b| / max(|b|, FLOOR * max|b|, 1e-6): b is the tfjs reference. */
export function scaledError(a: ArrayLike<number>, b: ArrayLike<number>, fraction = FLOOR): number {
  return worstElement(a, b, fraction).error;
}

function worstElement(a: ArrayLike<number>, b: ArrayLike<number>, fraction = FLOOR): { error: number; index: number } {
  if (a.length !== b.length) throw new Error(`length mismatch: xarxa ${a.length} vs tfjs ${b.length}`);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  const floor = Math.max(fraction * scale, MIN_FLOOR);
  let error = 0;
  let index = -1;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor);
    if (!(e <= error)) {
      error = Number.isNaN(e) ? Infinity : e; // NaN fails the comparison
      index = i;
    }
  }
  return { error, index };
}

const worstByTest = new Map<string, number>();

/** Asserts xarxa ≈ tfjs within RTOL (with FLOOR), and records the worst error under `test`. */
export function expectClose(test: string, what: string, a: ArrayLike<number>, b: ArrayLike<number>): number {
  const { error: e, index: i } = worstElement(a, b);
  worstByTest.set(test, Math.max(worstByTest.get(test) ?? 0, e));
  const where = i >= 0 ? ` at [${i}] of ${a.length}: xarxa ${a[i]} vs tfjs ${b[i]}` : '';
  expect(e, `${test}: ${what}: worst |xarxa-tfjs|/max(|tfjs|, max|tfjs|) = ${e.toExponential(2)}${where}`).toBeLessThanOrEqual(RTOL);
  return e;
}

/** Compares every weight tensor of the two models. */
export function expectSameWeights(test: string, what: string, xam: xa.Sequential, tfm: tf.LayersModel): void {
  const a = xaWeights(xam);
  const b = tfWeights(tfm);
  expect(a.length).toBe(b.length);
  a.forEach((w, i) => expectClose(test, `${what}: weight ${i}`, w, b[i]));
}

/** Every weight tensor moved (relative change > 1e-4), so that weight comparisons are not vacuous. */
export function expectMoved(what: string, before: Float32Array[], after: Float32Array[]): void {
  before.forEach((b, i) => expect(scaledError(after[i], b), `${what}: weight ${i} did not change in training`).toBeGreaterThan(1e-4));
}

/** Prints the worst scaled error recorded per test (call from afterAll). */
export function reportWorst(file: string): void {
  const lines = [...worstByTest].map(([t, e]) => `  ${e.toExponential(2)}  ${t}`);
  worstByTest.clear();
  if (lines.length) console.log(`[oracle] ${file}: worst |xarxa-tfjs|/max|tfjs| per test (limit ${RTOL}):\n${lines.join('\n')}`);
}

/** tfjs fit with Keras' defaults made explicit, returning history. */
export async function tfFit(tfm: tf.LayersModel, d: Data, batchSize: number, epochs = 1): Promise<Record<string, number[]>> {
  const h = await tfm.fit(d.tx, d.ty, { batchSize, epochs, shuffle: false, verbose: 0 });
  return h.history as Record<string, number[]>;
}

export async function xaFit(xam: xa.Sequential, d: Data, batchSize: number, epochs = 1): Promise<Record<string, number[]>> {
  const h = await xam.fit(d.x, d.y, { batchSize, epochs, shuffle: false, verbose: 0 });
  return h.history;
}

export async function tfPredict(tfm: tf.LayersModel, x: tf.Tensor): Promise<Float32Array> {
  const y = tfm.predict(x) as tf.Tensor;
  const out = (await y.data()) as Float32Array;
  y.dispose();
  return out;
}

export async function tfEvaluate(tfm: tf.LayersModel, d: Data, batchSize = 32): Promise<number[]> {
  const r = tfm.evaluate(d.tx, d.ty, { batchSize }) as tf.Scalar[];
  const out = r.map((s) => s.dataSync()[0]);
  r.forEach((s) => s.dispose());
  return out;
}
