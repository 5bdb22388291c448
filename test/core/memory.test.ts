// Training many epochs must not grow the process: buffers are allocated once
// per model and batch size, never per batch or per epoch.
import { describe, it, expect } from 'vitest';
import * as xa from '../../lib/index.js';
import { blobs, denseNet } from '../helpers.js';

const MiB = 2 ** 20;

describe('memory during long training', () => {
  it('50 epochs on a small set keep RSS within 32 MiB of the level after the first epochs', async () => {
    const { x, y } = blobs(2000, 784);
    const nn = denseNet();
    await nn.fit(x, y, { batchSize: 64, epochs: 5, verbose: 0 }); // warm-up: buffers, thread pool, JIT
    const nativeBefore = nn.memoryInUse();
    const rssBefore = process.memoryUsage().rss;
    await nn.fit(x, y, { batchSize: 64, epochs: 50, verbose: 0 });
    const rssAfter = process.memoryUsage().rss;
    console.info(`[memory] RSS ${(rssBefore / MiB).toFixed(1)} -> ${(rssAfter / MiB).toFixed(1)} MiB over 50 epochs; native bytes ${nativeBefore} -> ${nn.memoryInUse()}`);
    expect(rssAfter - rssBefore).toBeLessThan(32 * MiB);
    // Between fits the model holds only its weights and reusable batch buffers.
    expect(nn.memoryInUse()).toBe(nativeBefore);
    nn.dispose();
    expect(nn.memoryInUse()).toBe(0);
  });
});
