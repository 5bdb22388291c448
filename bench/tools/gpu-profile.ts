// Where a training step's GPU time goes, op by op, for one of the notebook's
// models on the CUDA backend (XARXA_CUDA_PROFILE, native/cuda/op_profiler.h).
// Trains a warm-up fit, then a measured one, on random data (the time of an
// op does not depend on the values), and reports the measured fit's ops per
// step: calls, microseconds of GPU time, share. Profiling makes the host wait
// for the GPU every 512 ops, so the wall time per step here is not the
// benchmark's; the GPU time per step is the floor a training step cannot beat
// (the GPU is busy that long), and the table says which ops make it.
//
//   node --import tsx bench/tools/gpu-profile.ts [--model mnist-dense|cifar10-cnn] [--steps 200] [--out FILE]
// XARXA_CUDNN_LAYOUT and the device (XARXA_DEVICE, default cuda) apply as usual.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
const modelName = arg('model', 'mnist-dense');
const steps = Number(arg('steps', '200'));
const out = arg('out', '');
if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${arg('steps', '')}`);

// Set before the CUDA backend exists: it reads the variable when it is created.
const profileFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xarxa-profile-')), 'ops.json');
process.env.XARXA_CUDA_PROFILE = profileFile;
const xa = await import('../../lib/index.js');
const { MODELS } = await import('../../lib/run/models.js');
const model = MODELS[modelName];
if (!model) throw new Error(`--model must be one of ${Object.keys(MODELS).join(', ')}, got ${modelName}`);
xa.setBackend((process.env.XARXA_DEVICE || 'cuda') as 'cuda');
const info = xa.backend.info();
if (info.backend !== 'cuda') throw new Error('gpu-profile needs the CUDA backend');

interface Op {
  op: string;
  calls: number;
  totalMs: number;
}
const readOps = (): Map<string, Op> => {
  const j = JSON.parse(fs.readFileSync(profileFile, 'utf8')) as { ops: Op[] };
  return new Map(j.ops.map((o) => [o.op, o]));
};

xa.setSeed(1);
const nn = model.build();
nn.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy', metrics: ['accuracy'] });
const batch = model.batchSize;
const n = steps * batch;
const shape = nn.inputShape!; // per sample
const features = shape.reduce((a: number, b: number) => a * b, 1);
let s = 12345;
const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const x = xa.tensor(Float32Array.from({ length: n * features }, rnd), [n, ...shape]);
const y = xa.utils.toCategorical(Int32Array.from({ length: n }, (_, i) => i % 10), 10);

await nn.fit(x, y, { batchSize: batch, epochs: 1, verbose: 0 }); // warm-up: algorithm choice, allocations
const before = readOps();
const t0 = performance.now();
await nn.fit(x, y, { batchSize: batch, epochs: 1, verbose: 0 });
const wallMs = performance.now() - t0;
const after = readOps();

const ops = [...after.values()]
  .map((o) => ({ op: o.op, calls: o.calls - (before.get(o.op)?.calls ?? 0), ms: o.totalMs - (before.get(o.op)?.totalMs ?? 0) }))
  .filter((o) => o.calls > 0);
const gpuMs = ops.reduce((a, o) => a + o.ms, 0);
const perStep = ops
  .map((o) => ({
    op: o.op,
    callsPerStep: +(o.calls / steps).toFixed(3),
    usPerStep: +((o.ms * 1000) / steps).toFixed(2),
    meanUs: +((o.ms * 1000) / o.calls).toFixed(2),
    share: +(o.ms / gpuMs).toFixed(4),
  }))
  .sort((a, b) => b.usPerStep - a.usPerStep);
const report = {
  model: modelName,
  device: info.name,
  cudnnLayout: process.env.XARXA_CUDNN_LAYOUT || 'auto',
  steps,
  batchSize: batch,
  opsPerStep: +perStep.reduce((a, o) => a + o.callsPerStep, 0).toFixed(2),
  gpuUsPerStep: +((gpuMs * 1000) / steps).toFixed(2),
  wallUsPerStepProfiled: +((wallMs * 1000) / steps).toFixed(2),
  ops: perStep,
};
if (out) fs.writeFileSync(out, JSON.stringify(report, null, 1) + '\n');
console.log(
  `${modelName} on ${info.name} (cuDNN layout ${report.cudnnLayout}): ${report.opsPerStep} ops and ` +
    `${report.gpuUsPerStep} us of GPU time per step (wall ${report.wallUsPerStepProfiled} us/step while profiled)`,
);
for (const o of perStep) console.log(`  ${o.usPerStep.toFixed(1).padStart(9)} us  ${o.callsPerStep.toString().padStart(5)}x  ${(100 * o.share).toFixed(1).padStart(5)}%  ${o.op}`);
fs.rmSync(path.dirname(profileFile), { recursive: true, force: true });
