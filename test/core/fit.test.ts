// Keras semantics of fit/evaluate/predict on the CPU backend.
import { describe, it, expect } from 'vitest';
import * as xa from '../../lib/index.js';
import { blobs, denseNet, silent } from '../helpers.js';

describe('Sequential.fit (Keras semantics)', () => {
  it('builds the notebook network with 25,818 parameters', () => {
    const nn = denseNet();
    expect(nn.countParams()).toBe(25818);
    const lines: string[] = [];
    nn.summary((l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/Total params: 25,818/);
    expect(lines.join('\n')).toMatch(/\(None, 32\)\s+25120/);
    expect(lines.join('\n')).toMatch(new RegExp(`Device: ${xa.getBackend()}`)); // the device under test (XARXA_DEVICE)
    nn.dispose();
  });

  it('initialises kernels glorot-uniform and biases to zero', () => {
    xa.setSeed(3);
    const nn = denseNet();
    const [k0, b0] = nn.getWeights();
    const limit = Math.sqrt(6 / (784 + 32));
    const values = Array.from(k0.data);
    expect(Math.max(...values)).toBeLessThanOrEqual(limit);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-limit);
    // Uniform on [-limit, limit]: variance limit^2 / 3.
    const variance = values.reduce((s, v) => s + v * v, 0) / values.length;
    expect(variance).toBeCloseTo((limit * limit) / 3, 4);
    expect(Array.from(b0.data).every((v) => v === 0)).toBe(true);
    nn.dispose();
  });

  it('is reproducible with setSeed', async () => {
    const { x, y } = blobs(300, 784);
    const run = async () => {
      xa.setSeed(7);
      const nn = denseNet();
      const h = await nn.fit(x, y, { batchSize: 32, epochs: 2, verbose: 0 });
      nn.dispose();
      return h.history.loss;
    };
    expect(await run()).toEqual(await run());
  });

  it('splits the last fraction for validation, keeps the partial last batch, and averages per sample', async () => {
    const { x, y } = blobs(1000, 784);
    xa.setSeed(1);
    const nn = denseNet();
    const batches: number[] = [];
    const sizes: number[] = [];
    const h = await nn.fit(x, y, {
      batchSize: 128,
      epochs: 2,
      validationSplit: 0.2,
      verbose: 0,
      callbacks: { onBatchEnd: (b, logs) => void (batches.push(b), sizes.push(logs!.size)) },
    });
    // 800 training samples: 6 full batches of 128 and one of 32.
    expect(batches.slice(0, 7)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(sizes.slice(0, 7)).toEqual([128, 128, 128, 128, 128, 128, 32]);
    expect(Object.keys(h.history).sort()).toEqual(['acc', 'accuracy', 'loss', 'val_acc', 'val_accuracy', 'val_loss']);
    expect(h.history.acc).toEqual(h.history.accuracy);
    expect(h.history.val_acc).toEqual(h.history.val_accuracy);
    expect(h.epoch).toEqual([0, 1]);
    expect(h.params.samples).toBe(800);
    // val metrics equal evaluate() on the last 20% with the final weights.
    const [vl, va] = (await nn.evaluate(x.slice(800), y.slice(800), { verbose: 0 })) as number[];
    expect(h.history.val_loss[1]).toBeCloseTo(vl, 6);
    expect(h.history.val_acc[1]).toBeCloseTo(va, 6);
    nn.dispose();
  });

  it('epoch loss is the sample-weighted mean over the epoch; batch logs hold its running value, as in Keras', async () => {
    const { x, y } = blobs(300, 784);
    xa.setSeed(2);
    const nn = denseNet();
    const batchLosses: { loss: number; size: number }[] = [];
    const h = await nn.fit(x, y, {
      batchSize: 128,
      epochs: 1,
      verbose: 0,
      callbacks: { onBatchEnd: (_b, logs) => void batchLogs(logs!) },
    });
    function batchLogs(logs: Record<string, number>) {
      batchLosses.push({ loss: logs.loss, size: logs.size });
    }
    expect(batchLosses.map((b) => b.size)).toEqual([128, 128, 44]);
    expect(batchLosses[2].loss).toBe(h.history.loss[0]); // the running mean after the last batch is the epoch's
    // Each batch's own loss, recovered from the running means, is a plausible cross-entropy.
    const own = batchLosses.map((b, i) => (i === 0 ? b.loss : (b.loss * (128 * i + b.size) - batchLosses[i - 1].loss * 128 * i) / b.size));
    for (const l of own) expect(l).toBeGreaterThan(0);
    expect(own.reduce((a, l, i) => a + l * batchLosses[i].size, 0) / 300).toBeCloseTo(h.history.loss[0], 6);
    nn.dispose();
  });

  it('learns: loss falls and accuracy rises well above chance', async () => {
    const { x, y } = blobs(2000, 784);
    xa.setSeed(5);
    const nn = denseNet();
    nn.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.1 }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
    const h = await nn.fit(x, y, { batchSize: 64, epochs: 5, verbose: 0 });
    expect(h.history.loss[4]).toBeLessThan(h.history.loss[0] * 0.5);
    expect(h.history.acc[4]).toBeGreaterThan(0.9);
    const probs = await nn.predict(x);
    expect(probs.shape).toEqual([2000, 10]);
    const rowSum = Array.from(probs.data.slice(0, 10)).reduce((a, b) => a + b, 0);
    expect(rowSum).toBeCloseTo(1, 5);
    expect(probs.argMax(1).shape).toEqual([2000]);
    nn.dispose();
  });

  it('prints a Keras-style progress line per epoch with verbose 2', async () => {
    const { x, y } = blobs(256, 784);
    const nn = denseNet();
    let text = '';
    await nn.fit(x, y, { batchSize: 128, epochs: 2, verbose: 2, stream: { write: (s: string) => ((text += s), true), isTTY: false } });
    expect(text).toMatch(/^Epoch 1\/2\n2\/2 - \d+s \d+(ms|us)\/step - loss: \d\.\d{4} - acc: \d\.\d{4}\n/);
    expect(text).toMatch(/Epoch 2\/2\n/);
    nn.dispose();
  });

  it('draws the progress bar in place on a TTY with verbose 1', async () => {
    const { x, y } = blobs(256, 784);
    const nn = denseNet();
    let text = '';
    await nn.fit(x, y, { batchSize: 128, epochs: 1, verbose: 1, stream: { write: (s: string) => ((text += s), true), isTTY: true } });
    expect(text).toMatch(/\r2\/2 \[==============================\] - \d+s \d+(ms|us)\/step - loss: \d\.\d{4} - acc: \d\.\d{4}\s*\n$/);
    nn.dispose();
  });

  it('supports momentum and nesterov through optimizer objects', async () => {
    const { x, y } = blobs(500, 784);
    for (const nesterov of [false, true]) {
      xa.setSeed(9);
      const nn = denseNet();
      nn.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.05, momentum: 0.9, nesterov }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
      const h = await nn.fit(x, y, { batchSize: 50, epochs: 3, verbose: 0 });
      expect(h.history.loss[2]).toBeLessThan(h.history.loss[0]);
      nn.dispose();
    }
  });

  it('uses validationData and stops on stopTraining from a callback', async () => {
    const { x, y } = blobs(400, 784);
    const nn = denseNet();
    const h = await nn.fit(x, y, {
      batchSize: 100,
      epochs: 5,
      verbose: 0,
      validationData: [x.slice(0, 50), y.slice(0, 50)],
      callbacks: {
        onEpochEnd(epoch) {
          if (epoch === 1) nn.stopTraining = true;
        },
      },
    });
    expect(h.epoch).toEqual([0, 1]);
    expect(h.history.val_loss).toHaveLength(2);
    nn.dispose();
  });

  it('keeps the JS thread free while training', async () => {
    // Timers keep firing during a long native fit; the fifth one stops it. If fit
    // blocked the JS thread, no tick could run before all 1000 epochs were done.
    // (No wall-clock assumption: a fixed short fit once finished before 3 ticks.)
    const { x, y } = blobs(3000, 784);
    const nn = denseNet();
    let ticks = 0;
    const timer = setInterval(() => {
      if (++ticks === 5) nn.stopTraining = true;
    }, 1);
    const h = await nn.fit(x, y, { batchSize: 32, epochs: 1000, verbose: 0 });
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(5);
    expect(h.epoch.length).toBeLessThan(1000);
    nn.dispose();
  });
});

describe('Sequential errors name the argument, expected and received values', () => {
  it('rejects bad inputs before native code sees them', async () => {
    const { x, y } = blobs(10, 784);
    const nn = denseNet();
    await expect(nn.fit(xa.tensor(new Float32Array(10 * 783), [10, 783]), y, { verbose: 0 })).rejects.toThrow(
      /x has per-sample shape \[783\].*input shape is \[784\]/,
    );
    await expect(nn.fit(x, xa.tensor(new Float32Array(10 * 9), [10, 9]), { verbose: 0 })).rejects.toThrow(/y has per-sample shape \[9\] \(width 9\).*outputs \[10\]/);
    await expect(nn.fit(x, xa.tensor(new Float32Array(10), [10, 1]), { verbose: 0 })).rejects.toThrow(/toCategorical/);
    await expect(nn.fit(x, y.slice(0, 9), { verbose: 0 })).rejects.toThrow(/x has 10 samples but y has 9/);
    await expect(nn.fit(x, y, { batchSize: 0, verbose: 0 })).rejects.toThrow(/batchSize must be an integer >= 1, received number 0/);
    await expect(nn.fit(x, y, { validationSplit: 1.5, verbose: 0 })).rejects.toThrow(/validationSplit must be a number in \[0, 1\)/);
    await expect(nn.fit(x, y, { epochz: 3 } as never)).rejects.toThrow(/unknown option 'epochz'/);
    nn.dispose();
  });

  it('names unknown activations, losses and optimizers, NaN learning rates and fit before compile', async () => {
    const { Dense } = xa.layers;
    expect(() => new Dense(3, { activation: 'relux' as never })).toThrow(/unknown activation 'relux'/);
    const nn = new xa.Sequential();
    nn.add(new Dense(10, { activation: 'softmax', inputShape: [4] }));
    expect(() => nn.compile({ optimizer: 'sgd', loss: 'hinge' })).toThrow(/unknown loss "hinge"/);
    expect(() => nn.compile({ optimizer: 'adamx', loss: 'categorical_crossentropy' })).toThrow(/unknown optimizer "adamx"/);
    expect(() => new xa.optimizers.SGD({ learningRate: NaN })).toThrow(/learningRate must be a finite number >= 0, received NaN/);
    expect(new xa.optimizers.SGD(0.1).learningRate).toBe(0.1); // Keras' SGD(0.1), tfjs' sgd(0.1)
    expect(() => new xa.optimizers.SGD(-1)).toThrow(/learningRate must be a finite number >= 0, received -1/);
    expect(() => new xa.optimizers.SGD({ lr: 0.1 } as never)).toThrow(/unknown option 'lr'/);
    await expect(nn.fit(xa.tensor(new Float32Array(4), [1, 4]), xa.tensor(new Float32Array(10), [1, 10]))).rejects.toThrow(/compile the model before fit/);
    nn.dispose();
  });

  it('refuses a second fit while the first runs, and use after dispose', async () => {
    const { x, y } = blobs(2000, 784);
    const nn = denseNet();
    const first = nn.fit(x, y, { epochs: 2, verbose: 0 });
    await expect(nn.fit(x, y, { verbose: 0 })).rejects.toThrow(/already training/);
    await first;
    nn.dispose();
    await expect(nn.fit(x, y, { verbose: 0 })).rejects.toThrow(/disposed/);
  });
});

describe('Sequential state across build, compile and add (Keras semantics)', () => {
  const { Dense, Conv2D } = xa.layers;

  it('takes the input shape from the data when the first layer has none: fit, evaluate and predict work', async () => {
    const { x, y } = blobs(200, 20);
    xa.setSeed(5);
    const deferred = new xa.Sequential();
    deferred.add(new Dense(16, { activation: 'relu' }));
    deferred.add(new Dense(10, { activation: 'softmax' }));
    deferred.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.1 }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
    const h = await deferred.fit(x, y, { epochs: 5, batchSize: 20, verbose: 0 });
    expect(deferred.inputShape).toEqual([20]);
    expect(h.history.loss[4]).toBeLessThan(h.history.loss[0]);
    const [loss, acc] = (await deferred.evaluate(x, y, { verbose: 0 })) as number[];
    expect(loss).toBeLessThan(h.history.loss[0]);
    expect(acc).toBeGreaterThan(0.2);
    deferred.dispose();
    // Built by predict before compile, then compiled and trained.
    const early = new xa.Sequential();
    early.add(new Dense(10, { activation: 'softmax' }));
    expect((await early.predict(x)).shape).toEqual([200, 10]);
    early.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy' });
    expect((await early.fit(x, y, { verbose: 0 })).history.loss).toHaveLength(1);
    early.dispose();
  });

  it('a layer that does not fit is refused by add, and the model keeps its layers and trained weights', async () => {
    const { x, y } = blobs(64, 20);
    const nn = new xa.Sequential();
    nn.add(new Dense(10, { activation: 'softmax', inputShape: [20] }));
    nn.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy', metrics: ['accuracy'] });
    await nn.fit(x, y, { verbose: 0 });
    const trained = nn.getWeights().map((w) => Array.from(w.data));
    expect(() => nn.add(new Conv2D(4, 3))).toThrow(/Conv2D: expects images of rank 3/);
    expect(nn.layers).toHaveLength(1);
    expect(nn.getWeights().map((w) => Array.from(w.data))).toEqual(trained);
    await nn.fit(x, y, { verbose: 0 }); // still compiled and trainable
    // A layer that fits is added, with the trained weights carried over.
    nn.add(new Dense(3, { activation: 'softmax' }));
    expect(Array.from(nn.getWeights()[0].data)).not.toEqual(trained[0]); // trained again above
    expect(nn.layers).toHaveLength(2);
    nn.dispose();
  });

  it("a layer's getWeights/setWeights read and write its part of the model's weights, as Keras' layer.get_weights()", async () => {
    const nn = new xa.Sequential();
    const first = new Dense(4, { activation: 'relu', inputShape: [3] });
    const flatten = new xa.layers.Flatten();
    const last = new Dense(2, { activation: 'softmax' });
    expect(first.getWeights()).toEqual([]); // in no model yet
    expect(() => first.setWeights([])).toThrow(/dense.*\.setWeights: the layer is in no model yet/);
    [first, flatten, last].forEach((l) => nn.add(l));
    const all = nn.getWeights();
    expect(last.getWeights().map((w) => w.shape)).toEqual([[4, 2], [2]]);
    expect(last.getWeights().map((w) => Array.from(w.data))).toEqual(all.slice(2).map((w) => Array.from(w.data)));
    expect(flatten.getWeights()).toEqual([]);
    const kernel = xa.tensor(Float32Array.from({ length: 12 }, (_, i) => i / 10 - 0.5), [3, 4]);
    first.setWeights([kernel, xa.tensor(new Float32Array([0.1, 0.2, 0.3, 0.4]), [4])]);
    expect(Array.from(nn.getWeights()[0].data)).toEqual(Array.from(kernel.data));
    expect(Array.from(nn.getWeights()[1].data)).toEqual([0.1, 0.2, 0.3, 0.4].map(Math.fround));
    expect(Array.from(nn.getWeights()[2].data)).toEqual(Array.from(all[2].data)); // the others are as they were
    expect(() => last.setWeights([kernel])).toThrow(/dense.*\.setWeights: expected 2 tensors, received 1/);
    expect(() => last.setWeights([kernel, kernel])).toThrow(/setWeights: weight 2 \(Dense kernel\) must have shape \[4, 2\], received \[3, 4\]/);
    // A model without an input shape has no weights until the data builds it.
    const deferred = new xa.Sequential();
    const d = new Dense(2, { activation: 'softmax' });
    deferred.add(d);
    expect(d.getWeights()).toEqual([]);
    deferred.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy' });
    await deferred.fit(xa.tensor(new Float32Array(6), [2, 3]), xa.tensor(new Float32Array([1, 0, 0, 1]), [2, 2]), { verbose: 0 });
    expect(d.getWeights().map((w) => w.shape)).toEqual([[3, 2], [2]]);
    nn.dispose();
    deferred.dispose();
  });

  it('before the model is built, add refuses a layer that does not fit the known input shape (as Keras does)', () => {
    const nn = new xa.Sequential();
    nn.add(new Dense(4, { activation: 'relu', inputShape: [3] }));
    expect(() => nn.add(new Conv2D(4, 3))).toThrow(/^add: Conv2D: expects images of rank 3 .* received \[4\]/);
    expect(nn.layers).toHaveLength(1);
    expect(() => nn.add(new Dense(1 << 16))).not.toThrow();
    expect(() => nn.add(new Dense(1 << 16))).toThrow(/^add: layer 2 '.*' \(Dense\): the kernel \[65536, 65536\] would hold/);
    expect(nn.layers).toHaveLength(2);
    expect(nn.built).toBe(false); // checked by shape, nothing was made on a device
    const image = new xa.Sequential();
    expect(() => image.add(new Conv2D(4, 3, { inputShape: [2, 2, 1] }))).toThrow(/smaller than the window 3/);
    expect(image.layers).toHaveLength(0);
    // Without an input shape nothing can be checked until the data arrives.
    const deferred = new xa.Sequential();
    deferred.add(new Dense(4));
    expect(() => deferred.add(new Conv2D(4, 3))).not.toThrow();
    nn.dispose();
  });

  it('compile and setLearningRate refused by the native model (busy, or a loss the model cannot take) leave the settings as they were', async () => {
    const { x, y } = blobs(20000, 20);
    const nn = new xa.Sequential();
    nn.add(new Dense(10, { activation: 'softmax', inputShape: [20] }));
    nn.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.05 }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
    let done = false;
    const training = nn.fit(x, y, { batchSize: 2, verbose: 0 }).finally(() => (done = true));
    // Wait for the native epoch to run (an unchanged rate is accepted until then).
    let busy = false;
    while (!busy && !done) {
      try {
        nn.setLearningRate(0.05);
        await new Promise((r) => setTimeout(r, 1));
      } catch (e) {
        busy = /busy/.test(String(e));
      }
    }
    expect(busy, 'the epoch ended before the model was seen busy').toBe(true);
    expect(() => nn.setLearningRate(5)).toThrow(/busy/);
    expect(() => nn.compile({ optimizer: 'sgd', loss: 'mse' })).toThrow(/busy/);
    await training;
    expect(nn.optimizer?.learningRate).toBe(0.05);
    expect(nn.compileConfig?.loss).toBe('categorical_crossentropy');
    expect(await nn.evaluate(x, y, { verbose: 0 })).toHaveLength(2); // [loss, accuracy]: metrics kept
    nn.dispose();

    const linear = new xa.Sequential();
    linear.add(new Dense(3, { inputShape: [4] }));
    expect(() => linear.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy' })).toThrow(/needs a softmax output layer/);
    expect(linear.compileConfig).toBeUndefined();
    linear.dispose();
  });

  it('compiling again starts the optimizer from rest (momentum zeroed), as a new Keras optimizer does', async () => {
    const { x, y } = blobs(32, 20);
    const sgd = () => new xa.optimizers.SGD({ learningRate: 0.1, momentum: 0.9 });
    const make = () => {
      xa.setSeed(9);
      const m = new xa.Sequential();
      m.add(new Dense(10, { activation: 'softmax', inputShape: [20] }));
      m.compile({ optimizer: sgd(), loss: 'categorical_crossentropy' });
      return m;
    };
    const a = make();
    await a.fit(x, y, { batchSize: 32, shuffle: false, verbose: 0 });
    a.compile({ optimizer: sgd(), loss: 'categorical_crossentropy' });
    await a.fit(x, y, { batchSize: 32, shuffle: false, verbose: 0 });
    // The same second step from a fresh model holding a's weights after the first step.
    const b = make();
    await b.fit(x, y, { batchSize: 32, shuffle: false, verbose: 0 });
    const c = make();
    c.setWeights(b.getWeights());
    await c.fit(x, y, { batchSize: 32, shuffle: false, verbose: 0 });
    expect(a.getWeights().map((w) => Array.from(w.data))).toEqual(c.getWeights().map((w) => Array.from(w.data)));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('names non-finite numbers in errors (not "null"), and refuses empty validationData', async () => {
    const { x, y } = blobs(10, 784);
    const nn = denseNet();
    await expect(nn.fit(x, y, { batchSize: NaN, verbose: 0 })).rejects.toThrow(/batchSize must be an integer >= 1, received number NaN/);
    await expect(nn.fit(x, y, { epochs: Infinity, verbose: 0 })).rejects.toThrow(/received number Infinity/);
    await expect(nn.fit(x, y, { validationData: [x.slice(0, 0), y.slice(0, 0)], verbose: 0 })).rejects.toThrow(/validationData has no samples/);
    nn.dispose();
  });
});
