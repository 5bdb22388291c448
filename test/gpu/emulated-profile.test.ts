// The per-op GPU time profile (XARXA_CUDA_PROFILE, native/cuda/op_profiler.h)
// and its report (bench/tools/gpu-profile.ts), as scripts/gpu-check.sh runs
// them, on the CUDA emulator: a step of the notebook's dense net is the 18 ops
// it is made of (8 GEMMs, 10 kernels), each counted once per step. The times mean nothing here
// (the emulator is a CPU); on a GPU they say where a step's time goes.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { onCudaEmulator, runChild } from '../helpers.js';

const emulated = onCudaEmulator('emulated GPU profile');
const repo = path.resolve(__dirname, '../..');

describe.skipIf(!emulated)('GPU op profile, on the emulator', () => {
  it('counts every op of a dense training step once per step, and times them', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xarxa-profile-test-')), 'p.json');
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/tools/gpu-profile.ts', '--model', 'mnist-dense', '--steps', '12', '--out', out], {
      cwd: repo,
      env: { ...process.env, XARXA_DEVICE: 'cuda' },
      timeout: 120_000,
    });
    const r = JSON.parse(fs.readFileSync(out, 'utf8')) as {
      steps: number;
      gpuUsPerStep: number;
      ops: { op: string; callsPerStep: number; usPerStep: number; share: number }[];
    };
    const perStep = Object.fromEntries(r.ops.map((o) => [o.op, o.callsPerStep]));
    // 784-32-16-10: three GEMMs forward, three weight gradients, two input gradients (none for the input layer).
    expect(r.ops.filter((o) => o.op.startsWith('gemm')).map((o) => o.op).sort()).toEqual([
      'gemm NN m128 n10 k16', 'gemm NN m128 n16 k32', 'gemm NN m128 n32 k784',
      'gemm NT m128 n16 k10', 'gemm NT m128 n32 k16',
      'gemm TN m16 n10 k128', 'gemm TN m32 n16 k128', 'gemm TN m784 n32 k128',
    ]);
    const kernels = [
      'gather_batch 128x784 + 128x10', 'bias_activation_forward relu 128x32', 'bias_activation_forward relu 128x16',
      'bias_activation_forward softmax 128x10', 'softmax_cross_entropy + count_correct', 'note_non_finite',
      'activation_bias_backward linear 128x10', 'activation_bias_backward relu 128x16', 'activation_bias_backward relu 128x32',
      'sgd_update_all',
    ];
    for (const op of kernels) expect(perStep[op], op).toBe(1);
    // Nothing else is timed per step: every op is a GEMM or one of those.
    expect(r.ops.filter((o) => !o.op.startsWith('gemm') && o.callsPerStep >= 1).map((o) => o.op).sort()).toEqual([...kernels].sort());
    expect(r.ops.reduce((a, o) => a + o.callsPerStep * (o.op.startsWith('gemm') ? 1 : 0), 0)).toBe(8);
    expect(r.gpuUsPerStep).toBeGreaterThan(0);
    expect(r.ops.reduce((a, o) => a + o.share, 0)).toBeCloseTo(1, 2);
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }, 180_000);

  it('a profile file that cannot be written: the error names the variable and the path', () => {
    const r = runChild(
      `import * as xa from './lib/index.ts';
       try {
         xa.setBackend('cuda');
         const nn = new xa.Sequential();
         nn.add(new xa.layers.Dense(2, { inputShape: [3] }));
         nn.compile({ optimizer: 'sgd', loss: 'mse' });
         await nn.fit(xa.tensor(new Float32Array(12), [4, 3]), xa.tensor(new Float32Array(8), [4, 2]), { verbose: 0 });
         console.log('ok');
       } catch (e) { console.log('error ' + e.message); }`,
      [],
      { env: { ...process.env, XARXA_DEVICE: '', XARXA_CUDA_PROFILE: '/nonexistent-dir/ops.json' }, timeout: 60_000 },
    );
    expect(r.stdout).toMatch(/error .*XARXA_CUDA_PROFILE: cannot write \/nonexistent-dir\/ops\.json: No such file or directory/);
  });
});
