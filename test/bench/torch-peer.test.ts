// The PyTorch peer of the GPU benchmark (bench/peers/torch_bench.py), checked
// where no GPU is: with XARXA_TORCH_ALLOW_CPU=1 it runs the same code on the
// CPU, so a broken script is found here rather than in the few minutes a GPU
// is lent. Needs a python with torch: XARXA_TORCH_PYTHON, or the venv at
// ~/.cache/xarxa/torch-venv (python3 -m venv ...; pip install numpy torch).
// Without one the test is skipped with a message. Timings are not looked at.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Child, type Message } from '../../bench/lib/engines.js';
import { REPO } from '../../bench/lib/data.js';

const python = process.env.XARXA_TORCH_PYTHON || path.join(os.homedir(), '.cache', 'xarxa', 'torch-venv', 'bin', 'python');
const hasTorch = fs.existsSync(python) && spawnSync(python, ['-c', 'import torch, numpy'], { timeout: 60_000 }).status === 0;
if (!hasTorch) console.warn(`[bench] PyTorch peer check skipped: no python with torch and numpy at ${python} (set XARXA_TORCH_PYTHON)`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xarxa-torch-peer-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A learnable 10-class set: class c brightens a band of pixels. Written as the harness writes its data files. */
function writeData(n: number, row: number): { x: string; y: string } {
  const x = new Uint8Array(n * row);
  const y = new Uint8Array(n);
  let s = 7;
  for (let i = 0; i < n; i++) {
    const c = (i * 7 + (i >> 2)) % 10;
    y[i] = c;
    for (let j = 0; j < row; j++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const band = Math.floor((j * 10) / row) === c;
      x[i * row + j] = (s >>> 26) + (band ? 160 : 0);
    }
  }
  const files = { x: path.join(tmp, `x-${row}.u8`), y: path.join(tmp, `y-${row}.u8`) };
  fs.writeFileSync(files.x, x);
  fs.writeFileSync(files.y, y);
  return files;
}

async function runPeer(engine: string, model: 'mnist-dense' | 'cifar-cnn', shape: number[], epochs: number) {
  const n = 512;
  const files = writeData(n, shape.reduce((a, b) => a * b, 1));
  const config = { engine, model, ...files, n, shape, batchSize: 128, lr: model === 'mnist-dense' ? 0.1 : 0.05, seed: 1 };
  process.env.XARXA_TORCH_ALLOW_CPU = '1';
  const child = new Child(python, [path.join(REPO, 'bench', 'peers', 'torch_bench.py')], config);
  delete process.env.XARXA_TORCH_ALLOW_CPU;
  try {
    const ready = await child.next(240_000);
    expect(ready.type, JSON.stringify(ready)).toBe('ready');
    const results: Message[] = [];
    for (let e = 0; e < epochs; e++) {
      child.send('epoch');
      const m = await child.next(240_000);
      expect(m.type, JSON.stringify(m)).toBe('epoch');
      results.push(m);
    }
    child.send('finish');
    const done = await child.next(60_000);
    expect(done.type, JSON.stringify(done)).toBe('done');
    return { ready, results };
  } finally {
    child.kill();
  }
}

describe.skipIf(!hasTorch)('PyTorch benchmark peer (on the CPU, a script check)', () => {
  it('eager: the dense net has the notebook\'s 25,818 parameters and its loss falls', { timeout: 300_000 }, async () => {
    const { ready, results } = await runPeer('torch-eager', 'mnist-dense', [784], 4);
    expect(ready.params).toBe(25818);
    expect(String(ready.device)).toMatch(/CPU \(script check only/);
    for (const r of results) {
      expect(r.samples).toBe(512);
      expect(r.steps).toBe(4);
      expect(Number(r.acc)).toBeGreaterThanOrEqual(0);
      expect(Number(r.acc)).toBeLessThanOrEqual(1);
    }
    expect(Number(results[3].loss)).toBeLessThan(Number(results[0].loss));
    expect(Number(results[0].loss)).toBeGreaterThan(1.5); // ~ln 10 at the start: softmax cross-entropy, mean over samples
  });

  it('eager: the CIFAR CNN has the notebook\'s 19,050 parameters and its loss falls', { timeout: 300_000 }, async () => {
    const { ready, results } = await runPeer('torch-eager', 'cifar-cnn', [32, 32, 3], 4);
    expect(ready.params).toBe(19050);
    expect(Number(results[3].loss)).toBeLessThan(Number(results[0].loss));
  });

  it('torch.compile: the compiled step trains the dense net', { timeout: 300_000 }, async () => {
    const { results } = await runPeer('torch-compile', 'mnist-dense', [784], 3);
    expect(Number(results[2].loss)).toBeLessThan(Number(results[0].loss));
  });
});
