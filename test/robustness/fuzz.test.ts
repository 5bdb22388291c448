// A fuzz test of the public API and the raw addon: thousands of calls with
// random and hostile arguments (wrong types, negative and huge dimensions,
// mismatched shapes, typed arrays of the wrong kind or length, detached
// buffers, throwing getters and callbacks, damaged model.json files). Every
// call must either succeed or throw (reject with) an Error whose message is
// not empty; the process must not crash, hang or abort. Prints the counts.
//
// XARXA_FUZZ_SEED=n replays a run; XARXA_FUZZ_SECONDS bounds its length.
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as xa from '../../lib/index.js';
import { addon } from '../../lib/native.js';
import { tempDir } from '../io/tfjs-files.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const SEED = Number(process.env.XARXA_FUZZ_SEED ?? 20240607);
const SECONDS = Number(process.env.XARXA_FUZZ_SECONDS ?? 9); // per part (two parts)
const CALL_TIMEOUT_MS = 15_000;

// ---- random values ------------------------------------------------------------------

let state = SEED >>> 0;
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const chance = (p: number) => rand() < p;
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
function pick<T>(items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)];
}

function detachedFloat32(n: number): Float32Array {
  const a = new Float32Array(n);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

const throwingGetter = () =>
  Object.defineProperty({}, 'type', {
    get() {
      throw new Error('hostile getter');
    },
    enumerable: true,
  });

const HOSTILE_NUMBERS = [0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 30, 2 ** 31, 2 ** 31 - 1, 2 ** 53, -(2 ** 31), 1e9, 1e12, -0];

function anyValue(depth = 0): unknown {
  switch (int(0, 17)) {
    case 0:
      return undefined;
    case 1:
      return null;
    case 2:
      return chance(0.5);
    case 3:
      return pick(HOSTILE_NUMBERS);
    case 4:
      return int(-3, 10);
    case 5:
      return pick(['', 'abc', '3', 'cpu', 'relu', 'same', 'Dense', '__proto__']);
    case 6:
      return {};
    case 7:
      return depth < 2 ? Array.from({ length: int(0, 4) }, () => anyValue(depth + 1)) : [];
    case 8:
      return new Float32Array(int(0, 16));
    case 9:
      return new Int32Array(int(0, 8));
    case 10:
      return new Float64Array(int(0, 8));
    case 11:
      return new Uint8Array(int(0, 8));
    case 12:
      return detachedFloat32(int(1, 8));
    case 13:
      return () => 1;
    case 14:
      return Symbol('s');
    case 15:
      return 7n;
    case 16:
      return throwingGetter();
    default:
      return new Proxy(
        {},
        {
          get() {
            throw new Error('hostile proxy');
          },
        },
      );
  }
}

const dim = (): number => (chance(0.85) ? int(1, 6) : pick(HOSTILE_NUMBERS));
const maybe = <T>(value: () => T, p = 0.85): T | unknown => (chance(p) ? value() : anyValue());
const pair = () => maybe(() => (chance(0.5) ? [dim(), dim()] : dim()));

// ---- bookkeeping --------------------------------------------------------------------

const counts = { calls: 0, threw: 0, succeeded: 0 };
/** Successes and errors per operation, to see how deep the fuzz gets. */
const byLabel = new Map<string, { ok: number; error: number }>();
const tally = (label: string, ok: boolean) => {
  const t = byLabel.get(label) ?? { ok: 0, error: 0 };
  if (ok) t.ok++;
  else t.error++;
  byLabel.set(label, t);
};
const problems: string[] = [];

const messages = new Map<string, number>();
function checkError(label: string, e: unknown): void {
  counts.threw++;
  if (process.env.XARXA_FUZZ_DEBUG && e instanceof Error) {
    const key = `${label}: ${e.message.replace(/\d+/g, 'N').slice(0, 90)}`;
    messages.set(key, (messages.get(key) ?? 0) + 1);
  }
  if (!(e instanceof Error) || typeof e.message !== 'string' || e.message.trim() === '') {
    problems.push(`${label}: threw a non-Error or an empty message: ${inspect(e, { depth: 1 })}`);
  }
}

async function call<T>(label: string, fn: () => T | Promise<T>): Promise<T | undefined> {
  counts.calls++;
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = fn();
    if (result && typeof (result as Promise<T>).then === 'function') {
      const hung = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`${label}: no answer after ${CALL_TIMEOUT_MS} ms`), { hang: true })), CALL_TIMEOUT_MS);
      });
      const value = await Promise.race([result as Promise<T>, hung]);
      counts.succeeded++;
      tally(label, true);
      return value;
    }
    counts.succeeded++;
    tally(label, true);
    return result as T;
  } catch (e) {
    tally(label, false);
    if ((e as { hang?: boolean }).hang) problems.push((e as Error).message);
    else checkError(label, e);
    return undefined;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

const savedLimit = process.env.XARXA_MEMORY_LIMIT;
let root: string;
beforeAll(() => {
  // Keeps "valid but large" random models small: they are refused before allocating.
  process.env.XARXA_MEMORY_LIMIT = '64M';
  root = tempDir('fuzz');
});
afterAll(() => {
  if (savedLimit === undefined) delete process.env.XARXA_MEMORY_LIMIT;
  else process.env.XARXA_MEMORY_LIMIT = savedLimit;
  fs.rmSync(root, { recursive: true, force: true });
});

// ---- the raw addon ----------------------------------------------------------------------

const LAYER_TYPES = ['Dense', 'Conv2D', 'MaxPooling2D', 'AveragePooling2D', 'Flatten', 'Dropout', 'Activation'];

/** A layer spec: plausible for an input of rank `rank` most of the time, hostile sometimes. */
function layerSpec(rank: number, hostility: number): unknown {
  if (chance(hostility / 4)) return anyValue();
  const ok = () => !chance(hostility);
  const type = ok() ? pick(rank === 3 ? ['Conv2D', 'MaxPooling2D', 'AveragePooling2D', 'Flatten', 'Dropout', 'Activation'] : ['Dense', 'Dense', 'Dropout', 'Activation']) : chance(0.5) ? pick(LAYER_TYPES) : anyValue();
  const spec: Record<string, unknown> = { type };
  const set = (key: string, value: () => unknown, p = 1) => {
    if (chance(p)) spec[key] = ok() ? value() : anyValue();
  };
  set('units', () => int(1, 6));
  set('filters', () => int(1, 4));
  set('kernelSize', () => [int(1, 2), int(1, 2)]);
  set('strides', () => [int(1, 2), int(1, 2)]);
  set('poolSize', () => [int(1, 2), int(1, 2)]);
  set('padding', () => pick(['valid', 'same']));
  set('dataFormat', () => pick(['channelsLast', 'channelsFirst']), 0.5);
  set('activation', () => pick(['linear', 'relu', 'sigmoid', 'tanh', 'softmax']), 0.7);
  set('useBias', () => chance(0.7), 0.5);
  set('rate', () => pick([0, 0.25, 0.5]));
  set('seed', () => int(0, 1000));
  return spec;
}

function modelSpec(): unknown {
  if (chance(0.02)) return anyValue();
  const hostility = pick([0, 0, 0.01, 0.05, 0.2]);
  const ok = () => !chance(hostility);
  const rank3 = chance(0.5);
  const layers: unknown[] = [];
  const count = int(1, 4);
  for (let i = 0; i < count; i++) layers.push(layerSpec(rank3 && !layers.some((l) => (l as { type?: unknown })?.type === 'Flatten') ? 3 : 1, hostility));
  if (rank3 && chance(0.7)) layers.push({ type: 'Flatten' });
  if (chance(0.7)) layers.push({ type: 'Dense', units: int(1, 4), activation: pick(['softmax', 'linear', 'sigmoid']) });
  return {
    device: ok() ? 'cpu' : pick(['cuda:999999999999', 'tpu', 'cuda:x', '', 3, null, 'CPU']),
    seed: ok() ? int(0, 2 ** 20) : anyValue(),
    inputShape: ok() ? (rank3 ? [int(2, 8), int(2, 8), int(1, 3)] : [int(1, 16)]) : chance(0.5) ? [dim(), dim(), dim()] : anyValue(),
    layers: ok() ? layers : anyValue(),
  };
}

function floats(n: number, wrong = 0.15): unknown {
  if (chance(wrong)) return chance(0.5) ? anyValue() : new Float32Array(Math.max(0, n + pick([-1, 1, 5])));
  if (!(n >= 0) || n > 200_000) return new Float32Array(7); // the right size would be too big to bother
  return new Float32Array(n).map(() => rand());
}

async function fuzzNativeModel(A: ReturnType<typeof addon>): Promise<void> {
  const model = await call('new NativeModel', () => new A.NativeModel(modelSpec() as never));
  if (!model) return;
  const info = await call('layers', () => model.layers());
  const inRow = info?.[0]?.inputShape.reduce((a, b) => a * b, 1) ?? 1;
  const outRow = info?.at(-1)?.outputShape.reduce((a, b) => a * b, 1) ?? 1;
  const datasets: unknown[] = [];
  const softmaxOut = info?.at(-1)?.kind === 'Dense' || info?.at(-1)?.kind === 'Activation';
  if (chance(0.8)) {
    // Mostly valid calls first, so that training, evaluation and prediction run often.
    await call('compile', () =>
      model.compile({ loss: softmaxOut && chance(0.5) ? 'categorical_crossentropy' : 'mean_squared_error', learningRate: pick([0.01, 0.5, 1e6]), momentum: pick([0, 0.9]), nesterov: chance(0.5) }),
    );
    const n = int(1, 12);
    const ds = await call('createDataset', () => model.createDataset(floats(n * inRow, 0.02) as never, floats(n * outRow, 0.02) as never, n));
    if (ds) datasets.push(ds);
  }
  const steps = int(0, 14);
  for (let s = 0; s < steps; s++) {
    const n = chance(0.9) ? int(0, 12) : pick(HOSTILE_NUMBERS);
    const op = int(0, 40);
    switch (op <= 13 ? op : pick([6, 7, 8, 9])) {
      case 0:
        await call('compile', () =>
          model.compile(
            maybe(() => ({
              loss: maybe(() => pick(['categorical_crossentropy', 'mean_squared_error'])),
              learningRate: maybe(() => pick([0.01, 0.5, 0])),
              momentum: maybe(() => pick([0, 0.9])),
              nesterov: maybe(() => chance(0.5)),
            })) as never,
          ),
        );
        break;
      case 1:
        await call('setLearningRate', () => model.setLearningRate(maybe(() => 0.05) as never));
        break;
      case 2:
        await call('getWeights', () => model.getWeights());
        break;
      case 3: {
        const weights = info?.flatMap((l) => l.weights) ?? [];
        const index = chance(0.8) && weights.length ? int(0, weights.length - 1) : pick(HOSTILE_NUMBERS);
        const size = weights[index as number]?.shape.reduce((a, b) => a * b, 1) ?? 3;
        await call('setWeight', () => model.setWeight(index as never, floats(size) as never));
        break;
      }
      case 4:
      case 5: {
        const ds = await call('createDataset', () =>
          model.createDataset(floats(Number(n) * inRow) as never, (chance(0.15) ? null : floats(Number(n) * outRow)) as never, (chance(0.9) ? n : anyValue()) as never),
        );
        if (ds) datasets.push(ds);
        break;
      }
      case 6:
      case 7: {
        const ds = chance(0.85) && datasets.length ? pick(datasets) : anyValue();
        let size = 0;
        try {
          size = Number((ds as { size?: () => number })?.size?.() ?? 0);
        } catch {
          // a hostile object: keep 0
        }
        const order = chance(0.9) ? Int32Array.from({ length: size || 0 }, (_, i) => i) : anyValue();
        const batch = chance(0.9) ? int(1, 5) : pick(HOSTILE_NUMBERS);
        const total = Math.ceil((size || 0) / (Number(batch) || 1));
        const progress = pick([
          undefined,
          () => {},
          () => {
            throw new Error('progress callback failed');
          },
          () => model.requestStop(),
          () => {
            try {
              model.dispose();
            } catch {
              /* busy: expected */
            }
          },
          42,
        ]);
        await call('train', () => model.train(ds as never, order as never, batch as never, 0, chance(0.9) ? total : (pick(HOSTILE_NUMBERS) as never), int(0, 3), progress as never));
        break;
      }
      case 8:
        await call('evaluate', () => model.evaluate((datasets.length && chance(0.85) ? pick(datasets) : anyValue()) as never, (chance(0.9) ? int(1, 8) : pick(HOSTILE_NUMBERS)) as never));
        break;
      case 9:
        await call('predict', () => model.predict((datasets.length && chance(0.85) ? pick(datasets) : anyValue()) as never, (chance(0.9) ? int(1, 8) : pick(HOSTILE_NUMBERS)) as never));
        break;
      case 10:
        await call('info/memoryInUse/requestStop', () => [model.info(), model.memoryInUse(), model.requestStop()]);
        break;
      case 11: {
        const method = pick(['compile', 'train', 'evaluate', 'predict', 'getWeights', 'setWeight', 'createDataset', 'layers', 'dispose'] as const);
        const self = pick([{}, null, undefined, 3, 'str', [], new Float32Array(2)]);
        await call(`NativeModel.prototype.${method} on a foreign this`, () =>
          (A.NativeModel.prototype as unknown as Record<string, (...a: unknown[]) => unknown>)[method].call(self, anyValue(), anyValue(), anyValue()),
        );
        break;
      }
      case 12: {
        const ds = datasets.length && chance(0.5) ? pick(datasets) : new A.NativeDataset();
        await call('dataset.dispose/size', () => [(ds as { size(): number }).size(), (ds as { dispose(): void }).dispose(), (ds as { size(): number }).size()]);
        break;
      }
      default: // 13; 14..40 train, evaluate and predict more often
        await call('dispose', () => model.dispose());
    }
  }
  if (chance(0.8)) await call('dispose', () => model.dispose()); // else left to the garbage collector
}

// ---- the public API -----------------------------------------------------------------------

function randomTensorLike(shape: number[]): unknown {
  if (chance(0.12)) return anyValue();
  const size = shape.reduce((a, b) => a * b, 1);
  if (chance(0.05)) {
    const t = xa.tensor(new Float32Array(size), shape);
    structuredClone(t.data.buffer, { transfer: [t.data.buffer as ArrayBuffer] });
    return t;
  }
  const data = new Float32Array(size).map(() => (chance(0.002) ? pick([NaN, Infinity]) : rand()));
  const t = xa.tensor(data, shape);
  return chance(0.1) ? t.astype(pick(['int32', 'uint8'] as const)) : t;
}

function publicLayer(first: boolean): unknown {
  const inputShape = first ? maybe(() => pick([[6], [4, 4, 1], [5, 5, 2]])) : undefined;
  const opts = (extra: Record<string, unknown>) => (first ? { ...extra, inputShape } : extra);
  switch (int(0, 8)) {
    case 0:
    case 1:
      return new xa.layers.Dense(maybe(() => int(1, 8)) as never, opts({ activation: maybe(() => pick(['relu', 'softmax', 'linear'])) }) as never);
    case 2:
      return new xa.layers.Conv2D(opts({ filters: maybe(() => int(1, 4)), kernelSize: pair(), padding: maybe(() => pick(['same', 'valid'])) }) as never);
    case 3:
      return new xa.layers.MaxPooling2D(opts({ poolSize: pair() }) as never);
    case 4:
      return new xa.layers.AveragePooling2D(opts({ poolSize: pair(), strides: chance(0.3) ? pair() : undefined }) as never);
    case 5:
      return new xa.layers.Flatten(opts({}) as never);
    case 6:
      return new xa.layers.Dropout(maybe(() => pick([0, 0.3])) as never, opts({}) as never);
    case 7:
      return new xa.layers.Activation(maybe(() => pick(['relu', 'tanh'])) as never, opts({}) as never);
    default:
      return anyValue();
  }
}

async function fuzzSequential(damagedJson: string[]): Promise<void> {
  const model = await call('new Sequential', () => new xa.Sequential(chance(0.9) ? {} : (anyValue() as never)));
  if (!model) return;
  const layers = int(1, 4);
  for (let i = 0; i < layers; i++) {
    const layer = await call('layer constructor', () => publicLayer(i === 0));
    await call('add', () => model.add(layer as never));
  }
  if (chance(0.7)) await call('add softmax', () => model.add(new xa.layers.Dense(3, { activation: 'softmax' })));
  await call('compile', () =>
    model.compile(
      maybe(() => ({
        optimizer: maybe(() => (chance(0.5) ? 'sgd' : new xa.optimizers.SGD({ learningRate: pick([0.01, 0.1]), momentum: pick([0, 0.9]) }))),
        loss: maybe(() => pick(['categorical_crossentropy', 'mse'])),
        metrics: maybe(() => ['accuracy'], 0.7),
      })) as never,
    ),
  );
  const steps = int(1, 6);
  for (let s = 0; s < steps; s++) {
    const inShape = model.inputShape ?? [6];
    const out = await call('outputShape', () => model.outputShape);
    const n = chance(0.9) ? int(0, 24) : pick([0, 1]);
    const x = randomTensorLike([n, ...(chance(0.9) ? inShape : [int(1, 5)])]);
    const y = randomTensorLike([chance(0.9) ? n : int(0, 3), ...(out && chance(0.9) ? out : [int(1, 4)])]);
    switch (int(0, 9)) {
      case 0:
      case 1:
      case 2:
        await call('fit', () =>
          model.fit(x as never, y as never, {
            verbose: 0,
            ...(chance(0.8) ? { epochs: pick([0, 1, 2, -1, 1.5, NaN]) } : {}),
            ...(chance(0.8) ? { batchSize: pick([1, 4, 64, 0, -3, NaN, 2 ** 31, 1e6]) } : {}),
            ...(chance(0.2) ? { validationSplit: pick([0.25, 0.99, 1, -0.1, NaN]) } : {}),
            ...(chance(0.2) ? { checkFinite: true } : {}),
            ...(chance(0.1) ? { shuffle: anyValue() } : {}),
            ...(chance(0.3)
              ? {
                  callbacks: pick([
                    [xa.callbacks.TerminateOnNaN()],
                    [xa.callbacks.EarlyStopping({ monitor: 'loss', patience: 0 })],
                    { onBatchEnd: () => void (model.stopTraining = true) },
                    {
                      onEpochEnd: () => {
                        throw new Error('callback failed');
                      },
                    },
                    [42],
                    anyValue(),
                  ]),
                }
              : {}),
            ...(chance(0.05) ? (anyValue() as object) : {}),
          } as never),
        );
        break;
      case 3:
        await call('evaluate', () => model.evaluate(x as never, y as never, { verbose: 0, ...(chance(0.2) ? { batchSize: anyValue() } : {}) } as never));
        break;
      case 4:
        await call('predict', () => model.predict(x as never, chance(0.8) ? {} : ({ batchSize: anyValue() } as never)));
        break;
      case 5: {
        const weights = await call('getWeights', () => model.getWeights());
        const edited = weights && chance(0.7) ? weights.map((w) => (chance(0.8) ? w : anyValue())) : anyValue();
        await call('setWeights', () => model.setWeights(edited as never));
        break;
      }
      case 6:
        await call('summary/countParams', () => [model.summary(() => {}), model.countParams()]);
        break;
      case 7: {
        // Hostile targets, but any string stays inside the test's temporary folder.
        const hostile = anyValue();
        const dir = chance(0.8) ? path.join(root, `m${int(0, 5)}`) : typeof hostile === 'string' ? path.join(root, 'hostile', hostile) : hostile;
        await call('save', () => model.save(dir as never));
        if (typeof dir === 'string' && chance(0.5)) {
          const loaded = await call('loadModel', () => xa.loadModel(dir));
          if (loaded) loaded.dispose();
        }
        break;
      }
      case 8: {
        const file = pick(damagedJson);
        const loaded = await call('loadModel (damaged model.json)', () => xa.loadModel(file, chance(0.3) ? { compile: false } : {}));
        if (loaded) {
          await call('predict on a loaded model', () => loaded.predict(xa.tensor(new Float32Array(loaded.inputShape!.reduce((a, b) => a * b, 2)), [2, ...loaded.inputShape!])));
          loaded.dispose();
        }
        break;
      }
      default:
        await call('stopTraining/setLearningRate', () => {
          model.stopTraining = anyValue() as never;
          model.setLearningRate(anyValue() as never);
        });
    }
  }
  await call('dispose', () => model.dispose());
}

async function fuzzFunctions(): Promise<void> {
  switch (int(0, 7)) {
    case 0:
      await call('xa.tensor', () => xa.tensor(anyValue() as never, chance(0.5) ? (anyValue() as never) : undefined, chance(0.3) ? (anyValue() as never) : undefined));
      break;
    case 1: {
      const t = xa.tensor(new Float32Array(12).map(() => rand()), [3, 4]);
      const op = pick(['reshape', 'astype', 'div', 'mul', 'argMax', 'slice', 'gather', 'toArray'] as const);
      await call(`Tensor.${op}`, () => (t[op] as (...a: unknown[]) => unknown)(anyValue(), anyValue()));
      break;
    }
    case 2:
      await call('toCategorical', () => xa.utils.toCategorical(anyValue() as never, anyValue() as never));
      break;
    case 3:
      await call('setSeed', () => xa.setSeed(anyValue() as never));
      break;
    case 4:
      await call('setBackend', () => xa.setBackend(pick(['cpu', 'tpu', '', 'cuda:x', anyValue()]) as never));
      xa.setBackend('cpu');
      break;
    case 5: {
      const cls = pick(['EarlyStopping', 'ModelCheckpoint', 'TerminateOnNaN'] as const);
      await call(`callbacks.${cls}`, () => (xa.callbacks[cls] as unknown as (a: unknown) => unknown)(anyValue()));
      break;
    }
    case 6:
      await call('optimizers.SGD', () => new xa.optimizers.SGD(anyValue() as never));
      break;
    default:
      await call('layers', () => publicLayer(chance(0.5)));
  }
}

/** Damaged copies of a good model.json: a random node replaced by a hostile value. */
async function damagedModels(): Promise<string[]> {
  const good = path.join(root, 'good');
  const m = new xa.Sequential();
  m.add(new xa.layers.Conv2D({ filters: 2, kernelSize: 2, inputShape: [4, 4, 1], activation: 'relu' }));
  m.add(new xa.layers.Flatten());
  m.add(new xa.layers.Dense(3, { activation: 'softmax' }));
  m.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy', metrics: ['accuracy'] });
  await m.save(good);
  m.dispose();
  const json = fs.readFileSync(path.join(good, 'model.json'), 'utf8');
  const files: string[] = [];
  for (let i = 0; i < 60; i++) {
    const doc = JSON.parse(json);
    const nodes: [Record<string, unknown>, string][] = [];
    const walk = (v: unknown) => {
      if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (nodes.push([v as Record<string, unknown>, k]), walk(x));
    };
    walk(doc);
    for (let k = int(1, 3); k > 0; k--) {
      const [parent, key] = pick(nodes);
      const replacement = pick([null, -1, 0, 1e9, 2 ** 31, 'x', [], {}, [1e6, 1e6], 1.5, true, 'float16', '../../x.bin']);
      if (chance(0.2)) delete parent[key];
      else parent[key] = replacement;
    }
    const dir = path.join(root, `damaged-${i}`);
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(good, 'weights.bin'), path.join(dir, 'weights.bin'));
    if (chance(0.2)) fs.truncateSync(path.join(dir, 'weights.bin'), int(0, 40));
    fs.writeFileSync(path.join(dir, 'model.json'), chance(0.05) ? json.slice(0, int(0, json.length)) : JSON.stringify(doc));
    files.push(dir);
  }
  return files;
}

describe('fuzz', () => {
  // loadModel warns about dropped metrics of damaged files; keep the output to the counts.
  const warn = console.warn;
  beforeAll(() => void (console.warn = () => {}));
  afterAll(() => void (console.warn = warn));

  it(`the raw addon survives thousands of random and hostile calls (seed ${SEED})`, async () => {
    const A = addon();
    const start = performance.now();
    const before = { ...counts };
    let models = 0;
    while (performance.now() - start < SECONDS * 1000 && counts.calls - before.calls < 20_000) {
      await fuzzNativeModel(A);
      if (++models % 200 === 0) gc();
      if (chance(0.02)) await call('deviceInfo/cudaStatus', () => [A.deviceInfo(pick(['cpu', 'cuda:7', 'x', anyValue()]) as never), A.cudaStatus()]);
    }
    const calls = counts.calls - before.calls;
    console.log(
      `fuzz (raw addon, seed ${SEED}): ${calls} calls on ${models} random models, ${counts.threw - before.threw} errors thrown, ${counts.succeeded - before.succeeded} successes, 0 crashes, ${problems.length} problems`,
    );
    const depth = ['new NativeModel', 'createDataset', 'train', 'evaluate', 'predict', 'setWeight', 'compile'].map((l) => `${l} ${byLabel.get(l)?.ok ?? 0}/${(byLabel.get(l)?.ok ?? 0) + (byLabel.get(l)?.error ?? 0)}`);
    console.log(`fuzz (raw addon): succeeded/called: ${depth.join(', ')}`);
    if (process.env.XARXA_FUZZ_DEBUG) console.log([...messages].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([m, c]) => `${c} ${m}`).join('\n'));
    expect(problems).toEqual([]);
    expect(calls).toBeGreaterThan(2000);
    expect(byLabel.get('train')?.ok ?? 0).toBeGreaterThan(50);
  }, 60_000);

  it(`the public API survives thousands of random and hostile calls (seed ${SEED})`, async () => {
    const damaged = await damagedModels();
    const start = performance.now();
    const before = { ...counts };
    let rounds = 0;
    while (performance.now() - start < SECONDS * 1000 && counts.calls - before.calls < 20_000) {
      if (chance(0.4)) await fuzzSequential(damaged);
      else for (let i = 0; i < 10; i++) await fuzzFunctions();
      if (++rounds % 100 === 0) gc();
    }
    const calls = counts.calls - before.calls;
    console.log(
      `fuzz (public API, seed ${SEED}): ${calls} calls, ${counts.threw - before.threw} errors thrown, ${counts.succeeded - before.succeeded} successes, 0 crashes, ${problems.length} problems`,
    );
    console.log(`fuzz total: ${counts.calls} calls, ${counts.threw} errors thrown, ${counts.succeeded} successes, crashes: 0`);
    expect(problems).toEqual([]);
    expect(calls).toBeGreaterThan(2000);
  }, 60_000);
});
