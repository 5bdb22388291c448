// What the CUDA backend does when a GPU machine is in trouble — no driver, no
// GPU, a build without code for this GPU, device memory running out, a kernel
// faulting, cuDNN refusing an algorithm — played out on the CUDA emulator, whose switches
// (XARXA_CUDA_EMULATOR_*, native/cuda/emulator) cause each fault. Every case
// runs in a child process: the user gets a JS error that names the problem,
// never a crash, and the CPU still trains. Runs only when the CUDA library in
// use is the emulator (scripts/cuda-emulator-check.sh); skips otherwise.
import { describe, expect, it } from 'vitest';
import { lineAfter, onCudaEmulator, runChild } from '../helpers.js';

const emulated = onCudaEmulator('emulated fault tests');

// Prints one line: "ok <final loss>" or "error <message>"; then, whatever happened, trains on the CPU.
const CHILD = `
import * as xa from './lib/index.ts';
const [model, samples] = process.argv.slice(-2);
const cnn = model === 'cnn';
const n = Number(samples), shape = cnn ? [16, 16, 3] : [64];
const f = shape.reduce((a, b) => a * b, 1);
const x = xa.tensor(Float32Array.from({ length: n * f }, (_, i) => ((i * 7919) % 101) / 101), [n, ...shape]);
const y = xa.utils.toCategorical(Int32Array.from({ length: n }, (_, i) => i % 4), 4);
function build() {
  const nn = new xa.Sequential();
  if (cnn) {
    nn.add(new xa.layers.Conv2D({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: shape }));
    nn.add(new xa.layers.MaxPooling2D({ poolSize: 2 }));
    nn.add(new xa.layers.Flatten());
  } else {
    nn.add(new xa.layers.Dense(32, { activation: 'relu', inputShape: shape }));
  }
  nn.add(new xa.layers.Dense(4, { activation: 'softmax' }));
  nn.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy' });
  return nn;
}
try {
  xa.setBackend('cuda');
  xa.setSeed(7);
  const nn = build();
  const h = await nn.fit(x, y, { epochs: 3, batchSize: 32, verbose: 0 });
  console.log('ok ' + h.history.loss.join(' '));
  nn.dispose();
} catch (e) {
  console.log('error ' + e.message.replace(/\\n/g, ' '));
}
xa.setBackend('cpu');
const cpu = build();
const h = await cpu.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
console.log('cpu ' + h.history.loss[0]);
`;

function run(env: Record<string, string>, model: 'dense' | 'cnn' = 'dense', samples = 256) {
  const r = runChild(CHILD, [model, String(samples)], { env: { ...process.env, XARXA_DEVICE: '', ...env }, timeout: 60_000 });
  expect({ status: r.status, signal: r.signal }, r.stderr).toEqual({ status: 0, signal: null });
  const line = (prefix: string) => lineAfter(r.stdout, prefix);
  const cpuLoss = Number(line('cpu'));
  expect(Number.isFinite(cpuLoss), 'the CPU still trains afterwards').toBe(true);
  return { ok: line('ok'), error: line('error'), stderr: r.stderr };
}

describe.skipIf(!emulated)('CUDA faults, on the emulator', () => {
  it('no NVIDIA driver: names it', () => {
    const r = run({ XARXA_CUDA_EMULATOR_DEVICES: 'nodriver' });
    expect(r.error).toMatch(/CUDA is not usable: no CUDA driver: cudaGetDeviceCount failed with 35 cudaErrorInsufficientDriver/);
  });

  it('a driver but no GPU: names it', () => {
    const r = run({ XARXA_CUDA_EMULATOR_DEVICES: '0' });
    expect(r.error).toMatch(/no CUDA device \(cudaErrorNoDevice\)/);
  });

  it('a GPU this build has no code for: says how to build for it', () => {
    const r = run({ XARXA_CUDA_EMULATOR_NO_KERNEL_IMAGE: '1', XARXA_CUDA_EMULATOR_CC: '8.6' });
    expect(r.error).toMatch(/has no GPU code for xarxa CUDA emulator .* \(compute capability 8\.6\).*CUDAARCHS=86-real npx cmake-js rebuild/);
  });

  it('a batch too big for the GPU: says to use a smaller batchSize', () => {
    const r = run({ XARXA_CUDA_EMULATOR_MEMORY: '1' }, 'cnn', 64); // 1 MiB of device memory
    expect(r.error).toMatch(/train: a batch of 32 samples needs about 3 MiB of activations, more than the memory limit of 1 MiB; use a smaller batchSize/);
  });

  it('a training set too big for the GPU: an out-of-memory error, then the CPU trains', () => {
    const r = run({ XARXA_CUDA_EMULATOR_MEMORY: '4' }, 'cnn', 2048); // 6 MiB of images, 4 MiB of device memory
    expect(r.error).toMatch(/createDataset: cuda alloc: cudaMalloc of 6291456 bytes failed: 2 cudaErrorMemoryAllocation \(out of memory\).*device free \d+ of 4194304 bytes/);
  });

  it('cuDNN refuses the preferred algorithm in every direction: the next one trains the CNN', () => {
    const r = run({ XARXA_CUDA_EMULATOR_FAIL_ALGOS: 'fwd:1,bwd_data:1,bwd_filter:1' }, 'cnn', 64);
    expect(r.error).toBeUndefined();
    const losses = r.ok!.split(' ').map(Number);
    expect(losses).toHaveLength(3);
    expect(losses[2]).toBeLessThan(losses[0]);
  });

  // FP32 NHWC is cuDNN's less travelled path: where it has no algorithm for a
  // shape, or none that runs, the backend moves that direction to NCHW copies.
  let reference: number[] | undefined;
  const nhwcLosses = () => (reference ??= run({}, 'cnn', 64).ok!.split(' ').map(Number));
  const expectSameLosses = (ok: string | undefined, reference: number[]) => {
    const losses = ok!.split(' ').map(Number);
    expect(losses).toHaveLength(3);
    losses.forEach((l, i) => expect(l).toBeCloseTo(reference[i], 5));
  };

  it('cuDNN offers no NHWC algorithm in any direction: the CNN trains in NCHW, with the same losses', () => {
    const r = run({ XARXA_CUDA_EMULATOR_NO_NHWC: 'all' }, 'cnn', 64);
    expect(r.error).toBeUndefined();
    expectSameLosses(r.ok, nhwcLosses());
  });

  it('no NHWC algorithm runs forward or backward-data (filter stays NHWC): the same losses', () => {
    const r = run({ XARXA_CUDA_EMULATOR_FAIL_ALGOS: 'fwd:nhwc,bwd_data:nhwc' }, 'cnn', 64);
    expect(r.error).toBeUndefined();
    expectSameLosses(r.ok, nhwcLosses());
  });

  it('XARXA_CUDNN_LAYOUT=nchw: the same losses; =nhwc without NHWC support: the error says where it looked', () => {
    expectSameLosses(run({ XARXA_CUDNN_LAYOUT: 'nchw' }, 'cnn', 64).ok, nhwcLosses());
    const r = run({ XARXA_CUDNN_LAYOUT: 'nhwc', XARXA_CUDA_EMULATOR_NO_NHWC: 'fwd' }, 'cnn', 64);
    expect(r.error).toMatch(/conv2d_forward: cuDNN offers no FP32 forward algorithm for x \[32,16,16,3\] .* in NHWC$/);
  });

  it('a bad XARXA_CUDNN_LAYOUT: names the variable and its values', () => {
    const r = run({ XARXA_CUDNN_LAYOUT: 'chwn' }, 'cnn', 64);
    expect(r.error).toMatch(/XARXA_CUDNN_LAYOUT must be auto, nhwc or nchw, got 'chwn'/);
  });

  it('a kernel faults on the device (a bad address): the error says so, then the CPU trains', () => {
    // The 40th launch of the process: a kernel in the first epoch's training steps.
    const r = run({ XARXA_CUDA_EMULATOR_FAULT_AT: '40' }, 'cnn', 256);
    expect(r.error).toMatch(/^train: cuda .*700 cudaErrorIllegalAddress \(an illegal memory access was encountered\)/);
    expect(r.stderr).toMatch(/device fault: kernel \w+: the fault asked for by XARXA_CUDA_EMULATOR_FAULT_AT/);
  });

  it('cuDNN can run no forward algorithm: a second try gives the same error, not another', () => {
    const r = runChild(
      `import * as xa from './lib/index.ts';
       xa.setBackend('cuda');
       const nn = new xa.Sequential();
       nn.add(new xa.layers.Conv2D({ filters: 2, kernelSize: 3, inputShape: [6, 6, 1] }));
       nn.add(new xa.layers.Flatten());
       nn.compile({ optimizer: 'sgd', loss: 'mse' });
       const x = xa.tensor(new Float32Array(4 * 36), [4, 6, 6, 1]), y = xa.tensor(new Float32Array(4 * 32), [4, 32]);
       for (let i = 0; i < 2; i++) {
         try { await nn.fit(x, y, { verbose: 0 }); console.log('ok'); } catch (e) { console.log('error ' + e.message); }
       }`,
      [],
      { env: { ...process.env, XARXA_DEVICE: '', XARXA_CUDA_EMULATOR_FAIL_ALGOS: 'fwd:1,fwd:0' }, timeout: 60_000 },
    );
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('error '));
    expect(errors, r.stderr).toHaveLength(2);
    expect(errors[0]).toMatch(/no cuDNN forward algorithm could run .*: in NHWC: algorithm 1 .*; in NCHW: algorithm 1 /);
    expect(errors[1]).toBe(errors[0]);
  });

  // The emulator's non-deterministic cuDNN algorithms sum in another order on
  // each call, as atomics do on a GPU: a model trained twice from one seed
  // must still come out bitwise the same, so they are used only when nothing
  // deterministic runs in either layout.
  it.each([
    ['the deterministic algorithms have NHWC kernels', ''],
    ['they have none (NCHW has them): that direction runs in NCHW', 'bwd_data:1,bwd_filter:1'],
  ])('training is bitwise reproducible with setSeed when %s', (_, noNhwc) => {
    const r = runChild(
      `import * as xa from './lib/index.ts';
       xa.setBackend('cuda');
       const x = xa.tensor(Float32Array.from({ length: 32 * 64 }, (_, i) => ((i * 7919) % 101) / 101), [32, 8, 8, 1]);
       const y = xa.utils.toCategorical(Int32Array.from({ length: 32 }, (_, i) => i % 4), 4);
       const runs = [];
       for (let i = 0; i < 2; i++) {
         xa.setSeed(11);
         const nn = new xa.Sequential();
         nn.add(new xa.layers.Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }));
         nn.add(new xa.layers.Conv2D({ filters: 6, kernelSize: 3, activation: 'relu' }));  // a data gradient too
         nn.add(new xa.layers.Flatten());
         nn.add(new xa.layers.Dense(4, { activation: 'softmax' }));
         nn.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy' });
         await nn.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0 });
         runs.push(nn.getWeights().map((w) => Array.from(w.data).join(',')).join(';'));
       }
       console.log(runs[0] === runs[1] ? 'same' : 'differ');`,
      [],
      { env: { ...process.env, XARXA_DEVICE: '', XARXA_CUDA_EMULATOR_NO_NHWC: noNhwc }, timeout: 60_000 },
    );
    expect(r.stdout.trim(), r.stderr).toBe('same');
  });

  it('NCHW chosen for its deterministic algorithm but none runs there: NHWC\'s non-deterministic ones train, not an error', () => {
    const r = run({ XARXA_CUDA_EMULATOR_NO_NHWC: 'bwd_filter:1', XARXA_CUDA_EMULATOR_FAIL_ALGOS: 'bwd_filter:nchw' }, 'cnn', 64);
    expect(r.error).toBeUndefined();
    const losses = r.ok!.split(' ').map(Number);
    expect(losses).toHaveLength(3);
    losses.forEach((l, i) => expect(l).toBeCloseTo(nhwcLosses()[i], 5));
  });

  it('cuDNN can run no forward algorithm: the error lists what each said', () => {
    const r = run({ XARXA_CUDA_EMULATOR_FAIL_ALGOS: 'fwd:1,fwd:0' }, 'cnn', 64);
    expect(r.error).toMatch(
      /no cuDNN forward algorithm could run .*: in NHWC: algorithm 1 .*NOT_SUPPORTED.*algorithm 0 .*NOT_SUPPORTED.*; in NCHW: algorithm 1 .*algorithm 0 /,
    );
  });
});
