// GPU memory: after warm-up (the CUDA runtime, cuBLAS and cuDNN load their
// kernels into device memory once per process, for good), repeated
// build/fit/predict/evaluate/dispose cycles of CUDA models give the device
// memory back: the device's free memory returns to its level before them.
// Skips with a visible message where no GPU is present.
import { describe, expect, it } from 'vitest';
import * as xa from '../../lib/index.js';
import { MODELS } from '../../lib/run/models.js';
import { blobs, randomFloats } from '../helpers.js';

const status = xa.backend.cudaStatus();
if (!status.available) console.warn(`[gpu] GPU memory test skipped: ${status.error}`);

const MiB = 1024 * 1024;

async function cycle(): Promise<void> {
  xa.setBackend('cuda:0');
  const n = 512;
  const b = blobs(n, 10);
  const x = xa.tensor(randomFloats(n * 32 * 32 * 3, 5), [n, 32, 32, 3]);
  const nn = MODELS['cifar10-cnn'].build();
  nn.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy', metrics: ['accuracy'] });
  await nn.fit(x, b.y, { batchSize: 128, epochs: 2, validationSplit: 0.2, verbose: 0 });
  await nn.predict(x);
  await nn.evaluate(x, b.y, { verbose: 0 });
  nn.dispose();
}

describe.skipIf(!status.available)('GPU memory', () => {
  it('returns to its level after 20 CUDA fit/predict/evaluate/dispose cycles', { timeout: 300_000 }, async () => {
    for (let i = 0; i < 2; i++) await cycle(); // warm-up: kernels and library state loaded once
    const before = xa.backend.info('cuda:0').freeMemory;
    for (let i = 0; i < 20; i++) await cycle();
    const after = xa.backend.info('cuda:0').freeMemory;
    console.log(`[gpu] device free memory ${(before / MiB).toFixed(1)} -> ${(after / MiB).toFixed(1)} MiB over 20 cycles`);
    expect(before - after).toBeLessThan(16 * MiB);
  });
});
