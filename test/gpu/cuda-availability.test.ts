// One install for CPU and GPU machines: on a machine without a usable GPU,
// asking for CUDA gives a clear error naming what is missing, and training
// on the CPU still works. On a GPU machine, CUDA is the default.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import * as xa from '../../lib/index.js';
import { addon, packageRoot } from '../../lib/native.js';
import { blobs, denseNet } from '../helpers.js';

const status = xa.backend.cudaStatus();

describe('CUDA availability', () => {
  it('reports its status without throwing', () => {
    expect(typeof status.available).toBe('boolean');
    if (!status.available) expect(status.error.length).toBeGreaterThan(10);
    console.info(`[cuda] available=${status.available} devices=${status.deviceCount} ${status.error}`);
  });

  it.skipIf(status.available)('explains why CUDA is not usable when asked for explicitly', () => {
    expect(() => xa.setBackend('cuda')).toThrow(/CUDA is not usable: .+/);
    expect(() => addon().deviceInfo('cuda:0')).toThrow(/CUDA was requested but is not usable/);
    expect(() => new (addon().NativeModel)({ device: 'cuda', seed: 1, inputShape: [2], layers: [{ type: 'Dense', units: 2 }] })).toThrow(
      /CUDA was requested but is not usable/,
    );
    xa.setBackend('cpu');
    expect(xa.getBackend()).toBe('cpu');
  });

  it.skipIf(status.available)('names the missing driver when the CUDA library is built but no driver is present', () => {
    const lib = status.library;
    if (!fs.existsSync(lib)) {
      console.warn(`[cuda] ${path.relative(packageRoot(), lib)} not built (CPU-only build): skipping the driver message check`);
      return;
    }
    // Without a driver every CUDA runtime call fails with 35 (insufficient driver); with one but no GPU, 100 (no device).
    expect(status.error).toMatch(/no CUDA (driver|device)|cudaErrorInsufficientDriver|cudaErrorNoDevice|35|100/);
  });

  it('trains on the CPU when CUDA is not chosen', async () => {
    xa.setBackend('cpu');
    const { x, y } = blobs(300, 784);
    const nn = denseNet();
    expect(nn.deviceInfo().backend).toBe('cpu');
    const h = await nn.fit(x, y, { epochs: 2, verbose: 0 });
    expect(h.history.loss[1]).toBeLessThan(h.history.loss[0]);
    nn.dispose();
  });

  it('rejects unknown device names', () => {
    expect(() => xa.setBackend('tpu')).toThrow(/unknown device 'tpu'/);
  });

  it.skipIf(!status.available)('reports the GPU, its memory and library versions', () => {
    const info = xa.backend.info('cuda:0');
    console.info(`[cuda] ${JSON.stringify(info)}`);
    expect(info.backend).toBe('cuda');
    expect(info.totalMemory).toBeGreaterThan(1e9);
    expect(info.cublasVersion).toBeGreaterThan(0);
    expect(info.cudnnVersion).toBeGreaterThan(0);
  });
});
