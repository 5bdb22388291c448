// Bad input at the JS <-> native boundary: every public call validates its
// arguments before native code sees them, and the raw addon checks again;
// absurd sizes give a clear error before anything is allocated; C++
// exceptions (also in async workers) become JS Errors naming the operation.
import { afterEach, describe, expect, it } from 'vitest';
import * as xa from '../../lib/index.js';
import { addon } from '../../lib/native.js';
import { blobs, denseNet } from '../helpers.js';

const { Dense, Conv2D, MaxPooling2D } = xa.layers;

function detach(buffer: ArrayBufferLike): void {
  structuredClone(buffer, { transfer: [buffer as ArrayBuffer] });
}

const savedLimit = process.env.XARXA_MEMORY_LIMIT;
afterEach(() => {
  if (savedLimit === undefined) delete process.env.XARXA_MEMORY_LIMIT;
  else process.env.XARXA_MEMORY_LIMIT = savedLimit;
});

describe('Sequential validates tensors', () => {
  it('refuses detached (transferred) and shrunk buffers with a clear error', async () => {
    const nn = denseNet();
    const { x, y } = blobs(10, 784);
    const x2 = xa.tensor(new Float32Array(x.data), [10, 784]);
    detach(x2.data.buffer);
    await expect(nn.fit(x2, y, { verbose: 0 })).rejects.toThrow(
      'fit: x has shape [10, 784] (7840 values) but its data holds 0: its ArrayBuffer was detached (transferred, e.g. by structuredClone or postMessage)',
    );
    await expect(nn.predict(x2)).rejects.toThrow(/predict: x has shape \[10, 784\].*detached/);
    const y2 = xa.tensor(new Float32Array(y.data), [10, 10]);
    detach(y2.data.buffer);
    await expect(nn.evaluate(x, y2, { verbose: 0 })).rejects.toThrow(/evaluate: y has shape \[10, 10\].*detached/);
    await expect(nn.fit(x, y, { verbose: 0, validationData: [x2, y] })).rejects.toThrow(/validationData: x .*detached/);
    const weights = nn.getWeights();
    detach(weights[0].data.buffer);
    expect(() => nn.setWeights(weights)).toThrow(/setWeights: weight 0 has shape \[784, 32\].*detached/);

    // A length-tracking view of a resizable buffer that shrank after the tensor was made.
    // (ES2024 resizable ArrayBuffers; typed loosely for the ES2022 lib this project compiles against.)
    const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void };
    const resizable = new Resizable(10 * 784 * 4, { maxByteLength: 10 * 784 * 4 });
    const view = new Float32Array(resizable);
    const x3 = xa.tensor(view, [10, 784]);
    resizable.resize(4 * 784 * 4);
    await expect(nn.fit(x3, y, { verbose: 0 })).rejects.toThrow('fit: x has shape [10, 784] (7840 values) but its data holds 3136');
    expect(nn.isTraining).toBe(false);
    nn.dispose();
  });

  it('refuses wrong types, shapes, sample counts and empty datasets', async () => {
    const nn = denseNet();
    const { x, y } = blobs(10, 784);
    await expect(nn.fit([[1, 2]] as never, y)).rejects.toThrow(/x must be a Tensor \(xa\.tensor\(\.\.\.\)\), received an array/);
    await expect(nn.fit(null as never, y)).rejects.toThrow(/x must be a Tensor.*received null/);
    await expect(nn.fit(x, new Float32Array(100) as never)).rejects.toThrow(/y must be a Tensor, received a Float32Array/);
    await expect(nn.fit(xa.tensor(new Float32Array(784), [784]), y, { verbose: 0 })).rejects.toThrow(/x must have a batch axis/);
    await expect(nn.fit(x, xa.tensor(new Float32Array([1]), []), { verbose: 0 })).rejects.toThrow(/y must have a batch axis/);
    await expect(nn.fit(x.reshape([10, 28, 28]), y, { verbose: 0 })).rejects.toThrow(/per-sample shape \[28, 28\].*input shape is \[784\]/);
    await expect(nn.fit(x, y.slice(0, 7), { verbose: 0 })).rejects.toThrow('fit: x has 10 samples but y has 7; they must match');
    const empty = xa.tensor(new Float32Array(0), [0, 784]);
    await expect(nn.fit(empty, xa.tensor(new Float32Array(0), [0, 10]), { verbose: 0 })).rejects.toThrow('fit: x has no samples');
    await expect(nn.evaluate(empty, xa.tensor(new Float32Array(0), [0, 10]), { verbose: 0 })).rejects.toThrow('evaluate: x has no samples');
    expect((await nn.predict(empty)).shape).toEqual([0, 10]);
    await expect(nn.fit(x, y, { verbose: 0, validationSplit: 0.95 })).rejects.toThrow('fit: validationSplit 0.95 of 10 samples leaves no training samples');
    // Integer dtypes are converted to float32 (as Keras does).
    const h = await nn.fit(x.astype('int32'), y.astype('uint8'), { verbose: 0 });
    expect(h.history.loss.every(Number.isFinite)).toBe(true);
    nn.dispose();
  });

  it('refuses bad batch sizes, epochs and options', async () => {
    const nn = denseNet();
    const { x, y } = blobs(10, 784);
    for (const batchSize of [0, -1, 1.5, NaN, Infinity, '32']) {
      await expect(nn.fit(x, y, { batchSize: batchSize as never, verbose: 0 })).rejects.toThrow(/fit: batchSize must be an integer >= 1/);
      await expect(nn.predict(x, { batchSize: batchSize as never })).rejects.toThrow(/predict: batchSize must be an integer >= 1/);
    }
    await expect(nn.fit(x, y, { batchSize: 2 ** 31, verbose: 0 })).rejects.toThrow(/batchSize must be at most 2147483647/);
    // A batch larger than the data is one batch (as in Keras).
    expect((await nn.fit(x, y, { batchSize: 1e6, verbose: 0 })).params.steps).toBe(1);
    await expect(nn.fit(x, y, { epochs: -1, verbose: 0 })).rejects.toThrow(/epochs must be an integer >= 0/);
    await expect(nn.fit(x, y, { epochs: 2.5, verbose: 0 })).rejects.toThrow(/epochs must be an integer >= 0/);
    await expect(nn.fit(x, y, { verbose: 3 as never })).rejects.toThrow(/verbose must be 0, 1 or 2/);
    await expect(nn.fit(x, y, { shuffle: 'yes' as never, verbose: 0 })).rejects.toThrow(/shuffle must be a boolean/);
    await expect(nn.fit(x, y, { callbacks: [42] as never, verbose: 0 })).rejects.toThrow(/callbacks must be objects/);
    await expect(nn.fit(x, y, 'fast' as never)).rejects.toThrow(/options must be an object/);
    expect(nn.isTraining).toBe(false);
    nn.dispose();
  });

  it('refuses labels out of range when one-hot encoding', () => {
    expect(() => xa.utils.toCategorical([0, 3, 1], 3)).toThrow('toCategorical: label 3 at index 1 is out of range for 3 classes');
    expect(() => xa.utils.toCategorical([0, -1], 3)).toThrow(/label -1 at index 1 is out of range/);
    expect(() => xa.utils.toCategorical([0, 1.5], 3)).toThrow(/label 1.5 at index 1 is out of range/);
    expect(() => xa.utils.toCategorical([0, NaN], 3)).toThrow(/label NaN at index 1/);
    expect(() => xa.utils.toCategorical([0, 1], 0)).toThrow(/numClasses must be a positive integer/);
  });
});

describe('absurd sizes give clear errors, not allocation failures', () => {
  it('refuses layers and shapes the backend cannot index', () => {
    expect(() => new Dense(1e9, { inputShape: [784] })).not.toThrow(); // a config; adding it to a model is what fails
    // With the input shape known, add checks each layer (as Keras builds them as they come) ...
    const model = (layer: xa.layers.Layer) => () => new xa.Sequential({ layers: [layer] });
    expect(model(new Dense(1e9, { inputShape: [784], name: 'huge' }))).toThrow(/add: layer 0 'huge'\.units must be in \[1, 16777216\], received 1000000000/);
    expect(model(new Dense(2 ** 24, { inputShape: [784], name: 'wide' }))).toThrow(
      "add: layer 0 'wide' (Dense): the kernel [784, 16777216] would hold 13153337344 values; one tensor is limited to 2^31 - 1 (2147483647)",
    );
    expect(model(new Dense(10, { inputShape: [1e6, 1e6] }))).toThrow(/add: spec\.inputShape holds 1000000000000 values; the limit is 2\^31 - 1/);
    expect(model(new Dense(10, { inputShape: [2 ** 31] }))).toThrow(RangeError);
    expect(model(new Conv2D({ filters: 2 ** 20, kernelSize: 3, inputShape: [64, 64, 1024], name: 'c' }))).toThrow(
      /layer 0 'c' \(Conv2D\): the kernel \[3, 3, 1024, 1048576\] would hold 9663676416 values/,
    );
    expect(model(new MaxPooling2D({ poolSize: 1e9, inputShape: [8, 8, 1] }))).toThrow(/add: layer 0 '.*'\.poolSize holds 1000000000000000000 values; the limit is 2\^31 - 1/);
    expect(model(new Conv2D({ filters: 4096, kernelSize: 1, padding: 'same', inputShape: [1024, 1024, 1], name: 'o' }))).toThrow(
      /layer 0 'o' \(Conv2D\): its output \[1024, 1024, 4096\] would hold 4294967296 values per sample/,
    );
    // ... and without it, the first build from the data does.
    const deferred = new xa.Sequential({ layers: [new Dense(2 ** 24, { name: 'later' })] });
    expect(() => deferred.build([784])).toThrow(/build: layer 0 'later' \(Dense\): the kernel \[784, 16777216\] would hold/);
  });

  it('refuses models and batches over the memory limit before allocating', async () => {
    process.env.XARXA_MEMORY_LIMIT = '64M';
    const big = new xa.Sequential({ layers: [new Dense(300_000, { inputShape: [100] })] });
    expect(() => big.build()).toThrow(/build: the model needs about 0\.34 GiB .* more than the memory limit of 0\.06 GiB/);
    // A small model whose batches are too large for the limit: fit refuses the batch size, not the model.
    const nn = new xa.Sequential({ layers: [new Dense(10, { inputShape: [4096], activation: 'softmax' })] });
    nn.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy' });
    const { x, y } = blobs(2000, 4096);
    await expect(nn.fit(x, y, { batchSize: 2000, verbose: 0 })).rejects.toThrow(
      /train: a batch of 2000 samples needs about \d+ MiB of activations, more than the memory limit of 64 MiB; use a smaller batchSize/,
    );
    expect(nn.isTraining).toBe(false);
    const h = await nn.fit(x, y, { batchSize: 100, verbose: 0 });
    expect(h.history.loss.every(Number.isFinite)).toBe(true);
    nn.dispose();
  });
});

describe('the raw addon checks its arguments and reports native failures', () => {
  const A = addon();
  const spec = (layers: Record<string, unknown>[] = [{ type: 'Dense', units: 3, activation: 'softmax' }]) => ({ device: 'cpu', seed: 1, inputShape: [4], layers });
  const compile = { loss: 'categorical_crossentropy', learningRate: 0.1, momentum: 0, nesterov: false };

  it('refuses bad specs with the field named', () => {
    expect(() => new A.NativeModel(undefined as never)).toThrow('model spec must be an object');
    expect(() => new A.NativeModel({ ...spec(), device: 'tpu' })).toThrow("unknown device 'tpu' (expected 'cpu', 'cuda' or 'cuda:N')");
    expect(() => new A.NativeModel({ ...spec(), device: 'cuda:99999999999999' })).toThrow(/unknown device|CUDA/);
    expect(() => new A.NativeModel({ ...spec(), seed: -1 })).toThrow(/spec\.seed must be in/);
    expect(() => new A.NativeModel({ ...spec(), inputShape: [4, -2] })).toThrow(/spec\.inputShape\[1\] must be in \[1, 1073741824\], received -2/);
    expect(() => new A.NativeModel({ ...spec(), inputShape: Array(9).fill(1) })).toThrow(/has 9 dimensions \(at most 8\)/);
    expect(() => new A.NativeModel(spec([{ type: 'LSTM' }]))).toThrow("layers[0]: unknown layer type 'LSTM'");
    expect(() => new A.NativeModel(spec([{ type: 'Dense', units: '3' }]))).toThrow('layers[0].units must be a number');
    expect(() => new A.NativeModel(spec([{ type: 'Dropout', rate: 1, seed: 1 }]))).toThrow('layers[0].rate must be in [0, 1)');
    expect(() => new A.NativeModel(spec(Array(10001).fill({ type: 'Flatten' })))).toThrow(/more than 10000 layers/);
    expect(() => new A.NativeModel(spec([{ type: 'Conv2D', filters: 2, kernelSize: [3, 3], strides: [1, 1], padding: 'valid' }]))).toThrow(
      /Conv2D: expects images of rank 3/,
    );
  });

  it('turns exceptions in async workers into rejected Promises naming the operation', async () => {
    const m = new A.NativeModel(spec());
    // Evaluate before compile: Model::evaluate throws on the worker thread.
    const withLabels = await m.createDataset(new Float32Array(8), new Float32Array(6), 2);
    await expect(m.evaluate(withLabels, 2)).rejects.toThrow('evaluate: Model: compile before evaluate');
    m.compile(compile);
    // Training data without labels: Model::train throws on the worker thread.
    const unlabelled = await m.createDataset(new Float32Array(8), null, 2);
    await expect(m.train(unlabelled, new Int32Array([0, 1]), 1, 0, 2, 1)).rejects.toThrow('train: fit: the training data has no labels');
    expect(() => m.evaluate(unlabelled, 2)).toThrow('evaluate: the dataset has no labels');
    // A throwing progress callback stops training and rejects with what it threw.
    const boom = new Error('callback exploded');
    await expect(m.train(withLabels, new Int32Array([1, 0]), 1, 0, 2, 1, () => { throw boom; })).rejects.toBe(boom);
    // The model is idle again after every failure.
    const s = await m.train(withLabels, new Int32Array([1, 0]), 1, 0, 2, 1);
    expect(s.samples).toBe(2);
    // Zero samples: an empty epoch, not a crash.
    const none = await m.createDataset(new Float32Array(new ArrayBuffer(8), 0, 0), new Float32Array(new ArrayBuffer(8), 0, 0), 0);
    expect(await m.train(none, new Int32Array(0), 4, 0, 0, 0)).toMatchObject({ samples: 0, batches: 0 });
    expect((await m.predict(none, 4)).length).toBe(0);
    m.dispose();
  });

  it('refuses bad datasets, orders and batch ranges, and use after dispose', async () => {
    const m = new A.NativeModel(spec());
    m.compile(compile);
    await expect(async () => m.createDataset(new Float32Array(7), new Float32Array(6), 2)).rejects.toThrow('x must have 8 elements, received 7');
    await expect(async () => m.createDataset(new Float64Array(8) as never, null, 2)).rejects.toThrow('x must be a Float32Array');
    const detached = new Float32Array(8);
    detach(detached.buffer);
    await expect(async () => m.createDataset(detached, null, 2)).rejects.toThrow(/x (is detached|must have 8 elements, received 0)/);
    const ds = await m.createDataset(new Float32Array(8), new Float32Array(6), 2);
    expect(() => m.train(ds, new Int32Array([0, 2]), 1, 0, 2, 1)).toThrow('order[1] = 2 is out of range for 2 samples');
    expect(() => m.train(ds, new Int32Array([0]), 1, 0, 2, 1)).toThrow('order must have one entry per sample (2), received 1');
    expect(() => m.train(ds, new Int32Array([0, 1]), 0, 0, 2, 1)).toThrow(/batchSize must be in \[1, 2147483647\], received 0/);
    expect(() => m.train(ds, new Int32Array([0, 1]), 1, 0, 3, 1)).toThrow(/lastBatch must be in \[0, 2\], received 3/);
    expect(() => m.train({} as never, new Int32Array([0, 1]), 1, 0, 2, 1)).toThrow('dataset must be a NativeDataset');
    const other = new A.NativeModel(spec());
    const foreign = await other.createDataset(new Float32Array(8), new Float32Array(6), 2);
    expect(() => m.evaluate(foreign, 2)).toThrow('dataset belongs to another model');
    other.dispose();
    expect(() => m.setWeight(5, new Float32Array(3))).toThrow(/weight index must be in \[0, 1\], received 5/);
    expect(() => m.setWeight(0, new Float32Array(3))).toThrow('weight values must have 12 elements, received 3');
    ds.dispose();
    expect(() => m.predict(ds, 1)).toThrow('dataset was disposed');
    m.dispose();
    expect(() => m.getWeights()).toThrow('getWeights: the model was disposed');
    expect(() => m.compile(compile)).toThrow('compile: the model was disposed');
    expect(m.memoryInUse()).toBe(0);
    expect(() => A.NativeModel.prototype.train.call({}, ds, new Int32Array(0), 1, 0, 0, 0)).toThrow(Error);
  });
});
