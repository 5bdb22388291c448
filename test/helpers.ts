// Shared test data: small, seeded, learnable problems that run anywhere; and
// the child-process and CUDA-emulator plumbing several test files share.
import { execFile, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as xa from '../lib/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

// Node's arguments for running `code` (TypeScript, an ES module) followed by `args`.
const childArgv = (code: string, args: string[]) => ['--import', TSX, '--input-type=module', '-e', code, ...args];

/**
 * Runs `code`, an ES module in TypeScript, in a child Node process from the package root (so
 * './lib/index.ts' resolves), with `args` after it on the command line; waits for it.
 */
export function runChild(code: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeout: number }): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, childArgv(code, args), {
    cwd: ROOT,
    env: options.env ?? process.env,
    encoding: 'utf8',
    timeout: options.timeout,
  });
}

/**
 * runChild without blocking the test worker while the child runs (a worker
 * blocked for long misses vitest's RPC deadlines): for slow children, or
 * several at once. Resolves with the exit status or signal and the output.
 */
export function runChildAsync(
  code: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeout: number },
): Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      childArgv(code, args),
      { cwd: ROOT, env: options.env ?? process.env, encoding: 'utf8', timeout: options.timeout, maxBuffer: 64 << 20 },
      (_error, stdout, stderr) => resolve({ status: child.exitCode, signal: child.signalCode, stdout, stderr }),
    );
  });
}

/** The rest of the first line of `stdout` that starts with `prefix` and a space (a child's "ok ..." or "error ..."). */
export function lineAfter(stdout: string, prefix: string): string | undefined {
  return stdout.split('\n').find((l) => l.startsWith(prefix + ' '))?.slice(prefix.length + 1);
}

/** Whether the CUDA library in use is the CUDA emulator (scripts/cuda-emulator-check.sh); says so when not. */
export function onCudaEmulator(tests: string): boolean {
  const status = xa.backend.cudaStatus();
  const emulated = status.available && xa.backend.info('cuda:0').name.includes('CUDA emulator');
  if (!emulated) console.warn(`[gpu] ${tests} skipped: the CUDA library in use is not the emulator`);
  return emulated;
}

/** Deterministic uniform floats in [0, 1). */
export function randomFloats(n: number, seed: number): Float32Array {
  const r = new (class {
    s = seed >>> 0;
    next() {
      this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0;
      return this.s / 2 ** 32;
    }
  })();
  return Float32Array.from({ length: n }, () => r.next());
}

/** A 10-class problem where class c lights up features [c*k, c*k+k) on top of noise. */
export function blobs(n: number, features: number, classes = 10, seed = 1): { x: xa.Tensor; y: xa.Tensor; labels: Int32Array } {
  const x = randomFloats(n * features, seed);
  const labels = new Int32Array(n);
  const k = Math.max(1, Math.floor(features / classes));
  for (let i = 0; i < n; i++) {
    const c = (i * 7 + (i >> 3)) % classes;
    labels[i] = c;
    for (let j = 0; j < k; j++) x[i * features + c * k + j] += 1;
  }
  return { x: xa.tensor(x, [n, features]), y: xa.utils.toCategorical(labels, classes), labels };
}

export function denseNet(inputs = 784): xa.Sequential {
  const { Dense } = xa.layers;
  const nn = new xa.Sequential();
  nn.add(new Dense(32, { activation: 'relu', inputShape: [inputs] }));
  nn.add(new Dense(16, { activation: 'relu' }));
  nn.add(new Dense(10, { activation: 'softmax' }));
  nn.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy', metrics: ['accuracy'] });
  return nn;
}

/** Largest |a-b| / max(|b|, floor) over two arrays. */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  return worst;
}

export const silent = { write: () => true, isTTY: false };
