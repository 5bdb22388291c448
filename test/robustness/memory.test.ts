// Memory: model.memoryInUse() reports the native bytes a model holds,
// dispose() frees them (and garbage collection frees models never disposed),
// and hundreds of build/fit/predict/dispose cycles keep the process's RSS
// within a fixed bound after warm-up.
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import * as xa from '../../lib/index.js';
import { blobs } from '../helpers.js';

const { Dense, Conv2D, MaxPooling2D, Flatten, Dropout } = xa.layers;

// global.gc without --expose-gc: the flag can be turned on at run time.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const MiB = 1024 * 1024;
// Under AddressSanitizer (scripts/sanitize.sh) freed memory sits in ASan's
// quarantine instead of going back to the OS: RSS says nothing there.
const underAsan = (process.env.LD_PRELOAD ?? '').includes('libasan');
const rss = () => process.memoryUsage().rss;
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

function smallModel(): xa.Sequential {
  const m = new xa.Sequential();
  m.add(new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [10, 10, 1] }));
  m.add(new MaxPooling2D({ poolSize: 2 }));
  m.add(new Flatten());
  m.add(new Dropout(0.2));
  m.add(new Dense(10, { activation: 'softmax' }));
  m.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.05, momentum: 0.9 }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
  return m;
}

describe('native memory', () => {
  it('memoryInUse counts weights, gradients, momentum slots and batch buffers; dispose returns it to zero', async () => {
    const m = new xa.Sequential({ layers: [new Dense(100, { inputShape: [50] }), new Dense(10, { activation: 'softmax' })] });
    expect(m.memoryInUse()).toBe(0); // not built yet
    m.compile({ optimizer: new xa.optimizers.SGD({ momentum: 0.9 }), loss: 'categorical_crossentropy' });
    const params = m.countParams();
    const built = m.memoryInUse();
    expect(built).toBeGreaterThanOrEqual(3 * 4 * params); // value, gradient, velocity
    const { x, y } = blobs(256, 50);
    await m.fit(x, y, { batchSize: 64, epochs: 1, verbose: 0 });
    const trained = m.memoryInUse();
    expect(trained).toBeGreaterThan(built); // activation buffers for batches of 64 are kept
    expect(trained - built).toBeLessThan(64 * (50 + 4 * 110 + 10) * 4 + 64 * 1024); // ... and nothing else (datasets are freed)
    await m.fit(x, y, { batchSize: 64, epochs: 2, verbose: 0 });
    expect(m.memoryInUse()).toBe(trained);
    m.dispose();
    expect(m.memoryInUse()).toBe(0);
    expect(() => m.getWeights()).toThrow('getWeights: the model was disposed');
  });

  it.skipIf(underAsan)('dispose and garbage collection give large models back to the OS', async () => {
    await settle();
    const base = rss();
    const big = () => new xa.Sequential({ layers: [new Dense(4096, { inputShape: [4096] })] }); // 16.8M weights: 128 MiB with gradients
    const a = big();
    a.build();
    expect(a.memoryInUse()).toBeGreaterThan(128 * MiB);
    expect(rss() - base).toBeGreaterThan(100 * MiB);
    a.dispose();
    await settle();
    expect(rss() - base).toBeLessThan(40 * MiB);

    // Never disposed: the finalizer frees the native model when the JS object is collected.
    for (let i = 0; i < 3; i++) big().build();
    await settle();
    await new Promise((r) => setTimeout(r, 50));
    await settle();
    expect(rss() - base).toBeLessThan(40 * MiB);
  });

  it('hundreds of build/fit/predict/evaluate/dispose cycles stay within +64 MiB RSS after warm-up', async () => {
    const { x, y } = blobs(96, 100);
    const images = x.reshape([96, 10, 10, 1]);
    const cycle = async () => {
      const m = smallModel();
      await m.fit(images, y, { batchSize: 32, epochs: 1, verbose: 0, validationSplit: 0.25 });
      await m.predict(images);
      await m.evaluate(images, y, { verbose: 0 });
      m.dispose();
    };
    for (let i = 0; i < 30; i++) await cycle();
    await settle();
    const before = rss();
    const external = process.memoryUsage().arrayBuffers;
    const cycles = 300;
    for (let i = 0; i < cycles; i++) await cycle();
    await settle();
    const grown = rss() - before;
    console.log(`memory: ${cycles} cycles grew RSS by ${(grown / MiB).toFixed(1)} MiB, ArrayBuffers by ${((process.memoryUsage().arrayBuffers - external) / MiB).toFixed(1)} MiB`);
    if (!underAsan) expect(grown).toBeLessThan(64 * MiB);
    expect(process.memoryUsage().arrayBuffers - external).toBeLessThan(16 * MiB);
  });
});
