// Stopping training cleanly: stopTraining from callbacks and timers,
// EarlyStopping, TerminateOnNaN, NonFiniteLossError (epoch and batch of a
// diverging run), checkFinite, and ModelCheckpoint.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import * as xa from '../../lib/index.js';
import { blobs, denseNet } from '../helpers.js';
import { tempDir } from '../io/tfjs-files.js';

const { Dense } = xa.layers;

/** A regression net that diverges (inf/NaN loss) with a huge learning rate. */
function divergingNet(lr = 1e6): xa.Sequential {
  xa.setSeed(4);
  const nn = new xa.Sequential();
  nn.add(new Dense(32, { activation: 'relu', inputShape: [784] }));
  nn.add(new Dense(10));
  nn.compile({ optimizer: new xa.optimizers.SGD({ learningRate: lr }), loss: 'mse' });
  return nn;
}

const data = blobs(640, 784);

afterEach(() => vi.restoreAllMocks());

describe('stopTraining', () => {
  it('set in onBatchEnd stops after that batch and returns the history so far (validated, as Keras does)', async () => {
    const { x, y } = blobs(200, 784);
    xa.setSeed(1);
    const nn = denseNet();
    const seen: { b: number; loss: number; size: number }[] = [];
    let ended = false;
    const h = await nn.fit(x, y, {
      epochs: 5,
      batchSize: 10,
      verbose: 0,
      validationData: [x.slice(0, 20), y.slice(0, 20)],
      callbacks: {
        onBatchEnd(b, logs) {
          seen.push({ b, loss: logs!.loss, size: logs!.size });
          if (b === 3) nn.stopTraining = true;
        },
        onTrainEnd() {
          ended = true;
        },
      },
    });
    expect(seen.map((s) => s.b)).toEqual([0, 1, 2, 3]);
    expect(h.epoch).toEqual([0]);
    expect(h.history.loss[0]).toBe(seen[3].loss); // batch logs hold the epoch's running mean (Keras)
    expect(h.history.val_loss).toHaveLength(1);
    expect(ended).toBe(true);
    expect(nn.isTraining).toBe(false);
    // The model is usable afterwards and fit resets the flag.
    const again = await nn.fit(x, y, { epochs: 2, batchSize: 50, verbose: 0 });
    expect(again.epoch).toEqual([0, 1]);
    nn.dispose();
  });

  // As in Keras, an epoch once begun trains at least one batch and is recorded.
  it.each([
    ['onEpochBegin of epoch 3', 'onEpochBegin', [0, 1, 2], [0, 1, 2, 3, 0, 1, 2, 3, 0]],
    ['onTrainBegin', 'onTrainBegin', [0], [0]],
  ] as const)('set in %s still trains one batch of that epoch (recorded), as in Keras', async (_, hook, epochs, batchesSeen) => {
    const { x, y } = blobs(100, 784);
    for (const withBatchHooks of [false, true]) {
      const nn = denseNet();
      const batches: number[] = [];
      const stop = hook === 'onTrainBegin' ? { onTrainBegin: () => void (nn.stopTraining = true) } : { onEpochBegin: (e: number) => void (e === 2 && (nn.stopTraining = true)) };
      const h = await nn.fit(x, y, {
        epochs: 5,
        batchSize: 25,
        verbose: 0,
        callbacks: { ...stop, ...(withBatchHooks ? { onBatchEnd: (b: number) => void batches.push(b) } : {}) },
      });
      expect(h.epoch).toEqual(epochs);
      expect(h.history.loss.every(Number.isFinite)).toBe(true);
      if (withBatchHooks) expect(batches).toEqual(batchesSeen);
      nn.dispose();
    }
  });

  it('hooks get what Keras passes: {} at train and epoch begin, the epoch logs at epoch end, the last epoch logs at train end', async () => {
    const { x, y } = blobs(100, 784);
    const nn = denseNet();
    const got: Record<string, unknown> = {};
    const h = await nn.fit(x, y, {
      epochs: 2,
      batchSize: 50,
      verbose: 0,
      callbacks: {
        onTrainBegin: (logs) => void (got.trainBegin = logs),
        onEpochBegin: (_e, logs) => void (got.epochBegin = logs),
        onTrainEnd: (logs) => void (got.trainEnd = logs),
      },
    });
    expect(got.trainBegin).toEqual({});
    expect(got.epochBegin).toEqual({});
    expect(got.trainEnd).toEqual({ loss: h.history.loss[1], accuracy: h.history.accuracy[1], acc: h.history.acc[1] });
    nn.dispose();
  });

  it('set from a timer stops a long native epoch after the current batch', async () => {
    const { x, y } = blobs(4000, 784);
    const nn = denseNet();
    const started = performance.now();
    setTimeout(() => (nn.stopTraining = true), 30);
    const h = await nn.fit(x, y, { epochs: 1000, batchSize: 8, verbose: 0 });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(h.epoch.length).toBeGreaterThanOrEqual(1);
    expect(h.epoch.length).toBeLessThan(1000);
    expect(h.history.loss.every(Number.isFinite)).toBe(true);
    nn.dispose();
  });
});

describe('EarlyStopping (Keras semantics)', () => {
  it('stops after `patience` epochs without an improvement of at least minDelta', async () => {
    const nn = denseNet();
    const es = xa.callbacks.EarlyStopping({ monitor: 'loss', patience: 2, minDelta: 100 });
    const h = await nn.fit(data.x, data.y, { epochs: 10, batchSize: 64, verbose: 0, callbacks: [es] });
    // Epoch 0 improves on +Infinity; epochs 1 and 2 do not improve by 100: stop at epoch 2.
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(es.stoppedEpoch).toBe(2);
    expect(es.bestEpoch).toBe(0);
    expect(es.best).toBe(h.history.loss[0]);
    nn.dispose();
  });

  it('keeps going while the quantity improves, and respects a baseline', async () => {
    const nn = denseNet();
    nn.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.1 }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
    const es = new xa.callbacks.EarlyStopping({ monitor: 'loss', patience: 0 });
    const h = await nn.fit(data.x, data.y, { epochs: 4, batchSize: 32, verbose: 0, callbacks: [es] });
    expect(h.epoch).toEqual([0, 1, 2, 3]); // the loss falls every epoch
    expect(es.stoppedEpoch).toBe(0);
    // mode 'max' on a falling loss: only epoch 0 improves. Without a baseline that
    // restarts the wait, so it stops at epoch 2 (patience 2); with an unreachable
    // baseline the wait is never restarted and it stops at epoch 1.
    const plain = xa.callbacks.EarlyStopping({ monitor: 'loss', mode: 'max', patience: 2 });
    expect((await nn.fit(data.x, data.y, { epochs: 6, batchSize: 32, verbose: 0, callbacks: [plain] })).epoch).toEqual([0, 1, 2]);
    const strict = xa.callbacks.EarlyStopping({ monitor: 'loss', mode: 'max', patience: 2, baseline: 1e9 });
    expect((await nn.fit(data.x, data.y, { epochs: 6, batchSize: 32, verbose: 0, callbacks: [strict] })).epoch).toEqual([0, 1]);
    expect(strict.stoppedEpoch).toBe(1);
    nn.dispose();
  });

  it('restoreBestWeights puts back the weights of the best epoch', async () => {
    xa.setSeed(2);
    const nn = denseNet();
    const perEpoch: number[][] = [];
    // mode 'max' on the (falling) loss: epoch 0 is the "best", so training stops at epoch 1 and epoch 0's weights come back.
    const es = xa.callbacks.EarlyStopping({ monitor: 'loss', mode: 'max', patience: 1, restoreBestWeights: true });
    const record = { onEpochEnd: () => void perEpoch.push(nn.getWeights().flatMap((w) => Array.from(w.data))) };
    const h = await nn.fit(data.x, data.y, { epochs: 5, batchSize: 64, verbose: 0, callbacks: [record, es] });
    expect(h.epoch).toEqual([0, 1]);
    expect(es.bestEpoch).toBe(0);
    const final = nn.getWeights().flatMap((w) => Array.from(w.data));
    expect(final).toEqual(perEpoch[0]);
    expect(final).not.toEqual(perEpoch[1]);
    nn.dispose();
  });

  it('warns once and does nothing when the monitored quantity is missing', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const nn = denseNet();
    const h = await nn.fit(data.x, data.y, { epochs: 3, batchSize: 128, verbose: 0, callbacks: [xa.callbacks.EarlyStopping({ patience: 0 })] });
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/conditioned on 'val_loss', which is not in the logs \(available: loss, accuracy, acc\)/);
    nn.dispose();
  });

  it('sees a quantity that an earlier callback adds to the epoch logs, and so does the history (one logs object, as in Keras)', async () => {
    const f1 = [0.5, 0.6, 0.55, 0.54, 0.53, 0.52];
    const nn = denseNet();
    const stop = xa.callbacks.EarlyStopping({ monitor: 'val_f1', mode: 'max', patience: 1 });
    const h = await nn.fit(data.x, data.y, {
      epochs: 6,
      batchSize: 128,
      verbose: 0,
      callbacks: [{ onEpochEnd: (e, logs) => void (logs!.val_f1 = f1[e]) }, stop],
    });
    expect(h.epoch).toEqual([0, 1, 2]); // best at epoch 1, no improvement at 2: patience 1 is spent
    expect(h.history.val_f1).toEqual([0.5, 0.6, 0.55]);
    expect(stop.stoppedEpoch).toBe(2);
    nn.dispose();
  });

  it('validates its options', () => {
    expect(() => xa.callbacks.EarlyStopping({ patience: -1 })).toThrow(/patience must be an integer >= 0, received -1/);
    expect(() => xa.callbacks.EarlyStopping({ mode: 'up' as never })).toThrow(/mode must be 'auto', 'min' or 'max'/);
    expect(() => xa.callbacks.EarlyStopping({ minDelta: NaN })).toThrow(/minDelta must be a finite number/);
    expect(() => xa.callbacks.EarlyStopping({ patiance: 2 } as never)).toThrow(/unknown option 'patiance'/);
    expect(() => xa.callbacks.EarlyStopping({ monitor: '' })).toThrow(/monitor must be the name/);
    // mode 'auto' decides as Keras 3 does: the loss down, the accuracy up, anything else must say.
    expect(xa.callbacks.EarlyStopping({ monitor: 'val_accuracy' }).mode).toBe('max');
    expect(xa.callbacks.EarlyStopping({ monitor: 'acc' }).mode).toBe('max');
    expect(xa.callbacks.EarlyStopping({ monitor: 'val_loss' }).mode).toBe('min');
    expect(() => xa.callbacks.EarlyStopping({ monitor: 'val_f1' })).toThrow(/cannot tell whether 'val_f1' should be maximised or minimised; pass mode: 'max' or mode: 'min'/);
    expect(xa.callbacks.earlyStopping()).toBeInstanceOf(xa.callbacks.EarlyStopping);
  });
});

describe('non-finite losses', () => {
  it('a diverging run throws NonFiniteLossError naming the epoch and batch, with the history so far', async () => {
    // Batch by batch (a callback with onBatchEnd): the losses seen before the error are all finite.
    const losses: number[] = [];
    const nn = divergingNet();
    const err = (await nn
      .fit(data.x, data.y, { epochs: 3, batchSize: 32, verbose: 0, shuffle: false, callbacks: { onBatchEnd: (_b, l) => void losses.push(l!.loss) } })
      .catch((e) => e)) as xa.NonFiniteLossError;
    expect(err).toBeInstanceOf(xa.NonFiniteLossError);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(err.epoch).toBe(0);
    expect(err.batch).toBe(losses.length); // the first batch whose loss was not finite
    expect(err.message).toBe(
      `fit: the loss became NaN or infinite at epoch 1, batch ${err.batch + 1}; training stopped (lower the learning rate or check the inputs)`,
    );
    expect(err.history.epoch).toEqual([]);
    expect(nn.isTraining).toBe(false);
    nn.dispose();

    // The native loop (no batch hooks) reports the same place.
    const fast = divergingNet();
    const err2 = (await fast.fit(data.x, data.y, { epochs: 3, batchSize: 32, verbose: 0, shuffle: false }).catch((e) => e)) as xa.NonFiniteLossError;
    expect(err2).toBeInstanceOf(xa.NonFiniteLossError);
    expect([err2.epoch, err2.batch]).toEqual([err.epoch, err.batch]);
    fast.dispose();
  });

  it('reports a later epoch and carries the completed epochs in .history', async () => {
    // A linear regression whose learning rate is a little too high: it diverges slowly.
    const linear = () => {
      xa.setSeed(4);
      const nn = new xa.Sequential({ layers: [new Dense(10, { inputShape: [784] })] });
      nn.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.05 }), loss: 'mse' });
      return nn;
    };
    const losses: number[][] = [];
    const slow = linear();
    const err = (await slow
      .fit(data.x, data.y, {
        epochs: 20,
        batchSize: 32,
        verbose: 0,
        shuffle: false,
        callbacks: { onEpochBegin: () => void losses.push([]), onBatchEnd: (_b, l) => void losses.at(-1)!.push(l!.loss) },
      })
      .catch((e) => e)) as xa.NonFiniteLossError;
    slow.dispose();
    expect(err).toBeInstanceOf(xa.NonFiniteLossError);
    expect(err.epoch).toBeGreaterThan(0);
    expect(err.epoch).toBe(losses.length - 1);
    expect(err.batch).toBe(losses.at(-1)!.length);
    expect(losses.flat().every(Number.isFinite)).toBe(true);
    expect(err.history.epoch).toEqual(Array.from({ length: err.epoch }, (_, i) => i));
    expect(err.history.history.loss.every(Number.isFinite)).toBe(true);
    const fast = linear();
    const err2 = (await fast.fit(data.x, data.y, { epochs: 20, batchSize: 32, verbose: 0, shuffle: false }).catch((e) => e)) as xa.NonFiniteLossError;
    fast.dispose();
    expect([err2.epoch, err2.batch]).toEqual([err.epoch, err.batch]);
  });

  it('with TerminateOnNaN, fit stops at that batch and returns the history (like Keras)', async () => {
    const reference = divergingNet();
    const err = (await reference.fit(data.x, data.y, { epochs: 3, batchSize: 32, verbose: 0, shuffle: false }).catch((e) => e)) as xa.NonFiniteLossError;
    reference.dispose();

    const weights: number[][][] = [];
    let onCpu = false;
    for (const withBatchHooks of [false, true]) {
      const nn = divergingNet();
      const stopper = xa.callbacks.TerminateOnNaN();
      let text = '';
      const callbacks: xa.callbacks.CallbackHooks[] = [stopper];
      if (withBatchHooks) callbacks.push({ onBatchEnd: () => {} });
      const h = await nn.fit(data.x, data.y, {
        epochs: 3,
        batchSize: 32,
        verbose: 2,
        shuffle: false,
        callbacks,
        stream: { write: (s: string) => ((text += s), true), isTTY: false },
      });
      expect(stopper.stoppedAt).toEqual({ epoch: err.epoch, batch: err.batch });
      expect(h.epoch).toEqual([0]);
      expect(Number.isFinite(h.history.loss[0])).toBe(false);
      expect(text).toContain(`Batch ${err.batch}: Invalid loss, terminating training`);
      weights.push(nn.getWeights().map((w) => Array.from(w.data)));
      onCpu = nn.deviceInfo().backend === 'cpu';
      nn.dispose();
    }
    // As Keras, no batch after the bad one is trained: the weights are those the bad
    // batch left, with or without batch hooks. (Without them a GPU notices at the next
    // stats snapshot, about every 10 batches; the CPU reads its stats every batch.)
    if (onCpu) expect(weights[0]).toEqual(weights[1]);
  });

  it('checkFinite rejects NaN/Infinity in x before training; y is always checked', async () => {
    const nn = denseNet();
    const x = data.x.slice(0, 10);
    const bad = new Float32Array(x.data);
    bad[3 * 784 + 5] = NaN;
    await expect(nn.fit(xa.tensor(bad, [10, 784]), data.y.slice(0, 10), { verbose: 0, checkFinite: true })).rejects.toThrow(
      'fit: x holds a non-finite value (NaN) at sample 3',
    );
    bad[3 * 784 + 5] = 0;
    bad[7 * 784] = -Infinity;
    await expect(nn.fit(xa.tensor(bad, [10, 784]), data.y.slice(0, 10), { verbose: 0, checkFinite: true })).rejects.toThrow(/x holds a non-finite value \(-Infinity\) at sample 7/);
    await expect(
      nn.fit(x, data.y.slice(0, 10), { verbose: 0, checkFinite: true, validationData: [xa.tensor(bad, [10, 784]), data.y.slice(0, 10)] }),
    ).rejects.toThrow(/validationData: x holds a non-finite value/);
    const badY = new Float32Array(data.y.slice(0, 10).data);
    badY[12] = NaN;
    await expect(nn.fit(x, xa.tensor(badY, [10, 10]), { verbose: 0 })).rejects.toThrow('fit: y holds a non-finite value (NaN) at sample 1');
    await expect(nn.evaluate(x, xa.tensor(badY, [10, 10]), { verbose: 0 })).rejects.toThrow(/evaluate: y holds a non-finite value/);
    nn.dispose();
    bad[3 * 784 + 5] = NaN;
    // Without checkFinite a non-finite input trains into a NaN loss, which is reported
    // (through tanh; the CPU backend's relu maps NaN to 0).
    const tanhNet = new xa.Sequential({ layers: [new Dense(8, { activation: 'tanh', inputShape: [784] }), new Dense(10, { activation: 'softmax' })] });
    tanhNet.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy' });
    await expect(tanhNet.fit(xa.tensor(bad, [10, 784]), data.y.slice(0, 10), { verbose: 0, batchSize: 10 })).rejects.toThrow(xa.NonFiniteLossError);
    tanhNet.dispose();
  });
});

describe('ModelCheckpoint', () => {
  const root = tempDir('ckpt');
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('saves every epoch into a templated folder', async () => {
    xa.setSeed(6);
    const nn = denseNet();
    const ckpt = xa.callbacks.ModelCheckpoint({ dir: path.join(root, 'epoch-{epoch:02d}-{loss:.3f}') });
    const weights: number[][] = [];
    const h = await nn.fit(data.x, data.y, {
      epochs: 3,
      batchSize: 64,
      verbose: 0,
      callbacks: [ckpt, { onEpochEnd: () => void weights.push(nn.getWeights().flatMap((w) => Array.from(w.data))) }],
    });
    expect(ckpt.saved.map((d) => path.basename(d))).toEqual(h.history.loss.map((l, i) => `epoch-0${i + 1}-${l.toFixed(3)}`));
    for (let i = 0; i < 3; i++) {
      const m = await xa.loadModel(ckpt.saved[i]);
      expect(m.getWeights().flatMap((w) => Array.from(w.data))).toEqual(weights[i]);
      m.dispose();
    }
    nn.dispose();
  });

  it('with saveBestOnly keeps the model of the best monitored epoch', async () => {
    xa.setSeed(7);
    const nn = denseNet();
    nn.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.3, momentum: 0.9 }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
    const dir = path.join(root, 'best');
    const ckpt = new xa.callbacks.ModelCheckpoint({ dir, saveBestOnly: true, monitor: 'val_loss', mode: 'min' });
    const xv = data.x.slice(500);
    const yv = data.y.slice(500);
    const h = await nn.fit(data.x.slice(0, 500), data.y.slice(0, 500), { epochs: 6, batchSize: 32, verbose: 0, validationData: [xv, yv], callbacks: [ckpt] });
    const best = Math.min(...h.history.val_loss);
    expect(ckpt.best).toBe(best);
    // Saved once per improvement.
    let runningBest = Infinity;
    const improvements = h.history.val_loss.filter((v) => (v < runningBest ? ((runningBest = v), true) : false)).length;
    expect(ckpt.saved).toHaveLength(improvements);
    const m = await xa.loadModel(dir);
    const [loss] = (await m.evaluate(xv, yv, { verbose: 0 })) as number[];
    expect(loss).toBeCloseTo(best, 5);
    m.dispose();
    nn.dispose();
  });

  it('with saveBestOnly and the monitored quantity missing, warns once and saves every epoch (as Keras 3)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const nn = denseNet();
    const ckpt = xa.callbacks.ModelCheckpoint({ dir: path.join(root, 'missing-{epoch}'), saveBestOnly: true });
    await nn.fit(data.x, data.y, { epochs: 2, batchSize: 128, verbose: 0, callbacks: [ckpt] });
    expect(ckpt.saved.map((d) => path.basename(d))).toEqual(['missing-1', 'missing-2']);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/conditioned on 'val_loss', which is not in the logs .*; it saves every epoch/);
    nn.dispose();
  });

  it('validates its options', () => {
    expect(() => xa.callbacks.ModelCheckpoint({} as never)).toThrow(/dir must be a non-empty path/);
    // The direction is asked for only when it matters (saveBestOnly).
    expect(() => xa.callbacks.ModelCheckpoint({ dir: 'x', monitor: 'val_f1' })).not.toThrow();
    expect(() => xa.callbacks.ModelCheckpoint({ dir: 'x', monitor: 'val_f1', saveBestOnly: true })).toThrow(/cannot tell whether 'val_f1'/);
    expect(() => xa.callbacks.ModelCheckpoint({ dir: 'x', mode: 'biggest' as never })).toThrow(/mode must be/);
    expect(() => xa.callbacks.ModelCheckpoint({ dir: 'x', savebestonly: true } as never)).toThrow(/unknown option 'savebestonly'/);
  });
});
