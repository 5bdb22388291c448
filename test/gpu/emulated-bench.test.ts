// The GPU benchmark suite end to end, as scripts/gpu-check.sh runs it, with the
// CUDA emulator as the GPU: both xarxa CUDA engines (cuDNN in NHWC, the
// default, and in NCHW) train the CNN and report; the PyTorch rows run where
// torch has a GPU and say why not elsewhere. Speed figures from the emulator
// mean nothing; this checks the plumbing. Runs only on the emulator.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { BenchResult } from '../../bench/lib/report.js';
import { onCudaEmulator } from '../helpers.js';

const emulated = onCudaEmulator('emulated GPU benchmark');
const repo = path.resolve(__dirname, '../..');

describe.skipIf(!emulated)('GPU benchmark suite, on the emulator', () => {
  it('xarxa CUDA trains the CNN in both cuDNN layouts, with the same losses', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xarxa-bench-gpu-'));
    const out = path.join(dir, 'g.json');
    await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--suite', 'gpu', '--quick', '--model', 'cifar-cnn', '--samples', '256', '--random-data', '--out', out],
      { cwd: repo, env: { ...process.env, XARXA_BENCH_CACHE: path.join(dir, 'cache') }, timeout: 240_000 },
    );
    const r = JSON.parse(fs.readFileSync(out, 'utf8')) as BenchResult;
    const rows = r.models[0].engines;
    expect(rows.map((e) => e.engine)).toEqual(['xarxa-cuda', 'xarxa-cuda-nchw', 'torch-eager', 'torch-compile']);
    const [nhwc, nchw] = rows;
    for (const e of [nhwc, nchw]) {
      expect(e.status, e.reason).toBe('ok');
      expect(e.device).toMatch(/CUDA emulator/);
      expect(e.samplesPerSec).toBeGreaterThan(0);
    }
    // Same data, same seed: the layout changes only cuDNN's memory order.
    nhwc.epochs.forEach((ep, i) => expect(nchw.epochs[i].loss).toBeCloseTo(ep.loss, 5));
    expect(r.models[0].ratios['xarxa-cuda-nchw']).toBeGreaterThan(0);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 300_000);
});
