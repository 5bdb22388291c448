// The GPU benchmark suite end to end, as scripts/gpu-check.sh runs it, with the
// CUDA emulator as the GPU: the three xarxa CUDA engines (cuDNN in NHWC, the
// default, in NCHW, and without CUDA graphs) train the CNN and report, each
// saying whether its steps ran as CUDA graphs; the PyTorch rows run where
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
  it('xarxa CUDA trains the CNN in both cuDNN layouts and without CUDA graphs, with the same losses', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xarxa-bench-gpu-'));
    const out = path.join(dir, 'g.json');
    await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--suite', 'gpu', '--quick', '--model', 'cifar-cnn', '--samples', '256', '--random-data', '--out', out],
      { cwd: repo, env: { ...process.env, XARXA_BENCH_CACHE: path.join(dir, 'cache') }, timeout: 240_000 },
    );
    const r = JSON.parse(fs.readFileSync(out, 'utf8')) as BenchResult;
    const rows = r.models[0].engines;
    expect(rows.map((e) => e.engine)).toEqual(['xarxa-cuda', 'xarxa-cuda-nchw', 'xarxa-cuda-nograph', 'torch-eager', 'torch-compile']);
    const [nhwc, nchw, nograph] = rows;
    for (const e of [nhwc, nchw, nograph]) {
      expect(e.status, e.reason).toBe('ok');
      expect(e.device).toMatch(/CUDA emulator/);
      expect(e.samplesPerSec).toBeGreaterThan(0);
    }
    expect(nhwc.stepGraphs).toBe('on');
    expect(nograph.stepGraphs).toBe('off: XARXA_CUDA_GRAPHS=0');
    // Same data, same seed: the layout changes only cuDNN's memory order; graphs change nothing.
    nhwc.epochs.forEach((ep, i) => expect(nchw.epochs[i].loss).toBeCloseTo(ep.loss, 5));
    nhwc.epochs.forEach((ep, i) => expect(nograph.epochs[i].loss).toBe(ep.loss));
    expect(r.models[0].ratios['xarxa-cuda-nchw']).toBeGreaterThan(0);
    expect(r.models[0].ratios['xarxa-cuda-nograph']).toBeGreaterThan(0);
    expect(fs.readFileSync(out.replace(/\.json$/, '.md'), 'utf8')).toMatch(/steps as CUDA graphs: on/);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 300_000);
});
