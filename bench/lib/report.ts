// Result types, the loss sanity check, targets, and the Markdown table.
import type { ModelName, Suite } from './args.js';
import type { Dataset } from './data.js';

export type Status = 'ok' | 'FAILURE' | 'unavailable' | 'skipped' | 'error';

export interface EpochRecord {
  epoch: number;
  warmup: boolean;
  seconds: number;
  loss: number;
  acc?: number;
  loadAvg1: number;
}

export interface EngineResult {
  engine: string;
  label: string;
  status: Status;
  reason?: string;
  samples?: number;
  subsetNote?: string;
  batchSize?: number;
  steps?: number;
  epochs: EpochRecord[];
  epochSeconds?: number[]; // timed epochs only
  medianEpochSeconds?: number;
  samplesPerSec?: number;
  msPerStep?: number;
  peakRssBytes?: number;
  peakGpuBytes?: number;
  /** xarxa CUDA: whether its training steps ran as CUDA graphs ("on", or "off: why"), as the model said after training. */
  stepGraphs?: string;
  versions?: Record<string, unknown>;
  device?: string;
  threads?: number;
  params?: number;
  loadAverage?: { atTimedEpochs1m: number[]; mean1m: number };
  lossFirstEpoch?: number;
  lossLastEpoch?: number;
  lossSanity?: string;
  /** MNIST dense only: 10 x the median epoch (the notebook's 10 epochs at this many samples per epoch). */
  tenEpochSeconds?: number;
}

export interface Target {
  what: string;
  ratio?: number;
  need: number;
  met: boolean | null;
  note?: string;
}

export interface ModelResult {
  model: ModelName;
  title: string;
  data: Omit<Dataset, 'xFile' | 'yFile'>;
  engines: EngineResult[];
  ratios: Record<string, number>; // xarxa samples/s over each peer's
  targets: Target[];
}

export interface BenchResult {
  suite: Suite;
  date: string;
  quick: boolean;
  command: string;
  host: { cpu: string; cores: number; memoryBytes: number; os: string; node: string };
  loadAverage: { start: number[]; end?: number[] };
  protocol: string;
  models: ModelResult[];
  exitCode?: number;
}

export const TITLES: Record<ModelName, string> = {
  'mnist-dense': 'MNIST dense 784-32-16-10 (relu, relu, softmax)',
  'cifar-cnn': 'CIFAR CNN: Conv2D(32, 2x2, s2) - MaxPool(2x2, s1) - Conv2D(16, 2x2, s2) - MaxPool(2x2, s1) - Dense(16) - Dense(10)',
};

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Fills the derived numbers and applies the loss check (real data only). */
export function finishEngine(r: EngineResult, realData: boolean): void {
  if (r.status !== 'ok') return;
  const timed = r.epochs.filter((e) => !e.warmup);
  r.epochSeconds = timed.map((e) => e.seconds);
  r.medianEpochSeconds = median(r.epochSeconds);
  r.samplesPerSec = r.samples! / r.medianEpochSeconds;
  r.msPerStep = (r.medianEpochSeconds / r.steps!) * 1000;
  const loads = timed.map((e) => e.loadAvg1);
  r.loadAverage = { atTimedEpochs1m: loads, mean1m: loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length) };
  r.lossFirstEpoch = r.epochs[0]?.loss;
  r.lossLastEpoch = r.epochs[r.epochs.length - 1]?.loss;
  const finite = r.epochs.every((e) => Number.isFinite(e.loss));
  if (!finite) {
    r.status = 'FAILURE';
    r.lossSanity = 'FAILURE: the loss became NaN or infinite';
  } else if (!realData) {
    r.lossSanity = 'not checked (random data)';
  } else if (r.epochs.length < 2) {
    r.lossSanity = 'not checked (one epoch)';
  } else if (!(r.lossLastEpoch! < r.lossFirstEpoch!)) {
    r.status = 'FAILURE';
    r.lossSanity = `FAILURE: the loss did not fall (${r.lossFirstEpoch!.toFixed(4)} -> ${r.lossLastEpoch!.toFixed(4)})`;
  } else {
    r.lossSanity = 'ok (fell)';
  }
}

export function computeRatios(engines: EngineResult[], xarxaId: string): Record<string, number> {
  const x = engines.find((e) => e.engine === xarxaId);
  const out: Record<string, number> = {};
  if (!x || x.status !== 'ok') return out;
  for (const e of engines) if (e !== x && e.status === 'ok' && e.samplesPerSec) out[e.engine] = x.samplesPerSec! / e.samplesPerSec;
  return out;
}

/** The issue's CPU targets (same run, same machine). */
export function cpuTargets(model: ModelName, engines: EngineResult[], ratios: Record<string, number>): Target[] {
  const ok = (id: string) => engines.find((e) => e.engine === id && e.status === 'ok');
  const xarxa = ok('xarxa');
  const t: Target[] = [];
  const target = (what: string, peer: string | undefined, need: number, missing: string): Target =>
    !xarxa
      ? { what, need, met: false, note: 'xarxa did not produce a valid result' }
      : peer && ratios[peer] !== undefined
        ? { what, need, ratio: ratios[peer], met: ratios[peer] >= need }
        : { what, need, met: null, note: missing };
  if (model === 'mnist-dense') {
    t.push(target('xarxa >= 10x TensorFlow.js wasm', 'tfjs-wasm', 10, 'tfjs-wasm result missing'));
  } else {
    const tf = engines.filter((e) => e.engine.startsWith('tfjs') && e.status === 'ok').sort((a, b) => b.samplesPerSec! - a.samplesPerSec!)[0];
    t.push(target(`xarxa >= 20x the best tfjs backend that can train it${tf ? ` (${tf.engine})` : ''}`, tf?.engine, 20, 'no tfjs backend trained it'));
  }
  t.push(target('xarxa faster than Keras/TensorFlow CPU', 'keras', 1, 'Keras result missing'));
  return t;
}

/** The CUDA issue's targets against PyTorch eager on the same GPU (MNIST dense >= 5x, CIFAR CNN >= 2x). */
export function gpuTargets(model: ModelName, engines: EngineResult[], ratios: Record<string, number>): Target[] {
  const row = engines.find((e) => e.engine === 'xarxa-cuda');
  const need = model === 'mnist-dense' ? 5 : 2;
  const what = `xarxa CUDA >= ${need}x PyTorch eager`;
  if (!row || row.status === 'unavailable' || row.status === 'skipped') return [{ what, need, met: null, note: 'no GPU here' }];
  if (row.status !== 'ok') return [{ what, need, met: false, note: 'xarxa CUDA did not produce a valid result' }];
  const ratio = ratios['torch-eager'];
  const t: Target[] = [ratio === undefined ? { what, need, met: null, note: 'PyTorch eager result missing' } : { what, need, ratio, met: ratio >= need }];
  const compiled = ratios['torch-compile'];
  if (compiled !== undefined) t.push({ what: 'xarxa CUDA vs torch.compile (no target; for the record)', need: 0, ratio: compiled, met: null, note: 'no target' });
  return t;
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n) ? '' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mib = (b: number | undefined) => (b ? `${Math.round(b / 2 ** 20).toLocaleString('en-US')} MiB` : '');
const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function toMarkdown(r: BenchResult): string {
  const L: string[] = [];
  L.push(`# xarxa benchmark: ${r.suite.toUpperCase()} suite${r.quick ? ' (--quick smoke run)' : ''}`);
  L.push('');
  L.push(`${r.date}. \`${r.command}\``);
  L.push('');
  L.push(`Machine: ${r.host.cpu}, ${r.host.cores} cores, ${(r.host.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${r.host.os}, Node ${r.host.node}. ` +
    `Load average at start ${r.loadAverage.start.map((x) => x.toFixed(2)).join(' / ')}` +
    (r.loadAverage.end ? `, at end ${r.loadAverage.end.map((x) => x.toFixed(2)).join(' / ')}` : '') + ' (1/5/15 min).');
  L.push('');
  L.push(r.protocol);
  const headline = r.suite === 'gpu' ? 'xarxa-cuda' : 'xarxa';
  for (const m of r.models) {
    const proxy = m.model === 'cifar-cnn' && m.data.source === 'real';
    L.push('');
    L.push(`## ${m.title}${proxy ? ' on CIFAR-10 (JPEG proxy)' : ''}`);
    L.push('');
    L.push(`Data: ${m.data.description}.${proxy ? ' **Every figure in this section is on CIFAR-10 (JPEG proxy)**, not the original CIFAR-10.' : ''}`);
    L.push('');
    L.push('| engine | samples/s | ms/step | epoch s (median) | peak RSS | loss first → last epoch | xarxa / engine | load avg (1 min) | notes |');
    L.push('| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |');
    for (const e of m.engines) {
      const ratio = m.ratios[e.engine];
      let speed = fmt(e.samplesPerSec);
      let notes = e.subsetNote ?? '';
      if (e.status === 'FAILURE') {
        speed = `**FAILURE** (${fmt(e.samplesPerSec)} not a result)`;
        notes = [e.lossSanity, notes].filter(Boolean).join('; ');
      } else if (e.status !== 'ok') {
        speed = `**${e.status}**`;
        notes = [e.reason, notes].filter(Boolean).join('; ');
      }
      const loss = e.lossFirstEpoch !== undefined ? `${e.lossFirstEpoch.toFixed(4)} → ${e.lossLastEpoch!.toFixed(4)}` : '';
      // The headline engine's own row reads 1; other xarxa rows (no graphs, NCHW) their ratio like any peer.
      const own = e.engine === headline ? (e.status === 'ok' ? '1' : '') : undefined;
      L.push(
        `| ${esc(e.label)} | ${speed} | ${e.status === 'ok' ? fmt(e.msPerStep, 2) : ''} | ${e.status === 'ok' ? fmt(e.medianEpochSeconds, 3) : ''} | ${mib(e.peakRssBytes)} | ${loss} | ${
          own ?? (ratio !== undefined ? `${fmt(ratio, ratio < 10 ? 2 : 1)}x` : '')
        } | ${e.loadAverage ? e.loadAverage.mean1m.toFixed(2) : ''} | ${esc(notes)} |`,
      );
    }
    const tens = m.engines.filter((e) => e.tenEpochSeconds !== undefined);
    if (tens.length) {
      L.push('');
      L.push(`10 epochs (10 x the median epoch, ${fmt(tens[0].samples)} samples each): ${tens.map((e) => `${esc(e.label)} ${fmt(e.tenEpochSeconds, 2)} s`).join('; ')}.`);
    }
    if (m.targets.length) {
      L.push('');
      L.push(`Targets (same run, same machine; ratios are xarxa's samples/s over the peer's):`);
      for (const t of m.targets) {
        const mark = t.met === true ? 'met' : t.met === false ? '**NOT met**' : t.need === 0 ? 'for the record' : 'not measured';
        L.push(`- ${t.what}: ${t.ratio !== undefined ? `${fmt(t.ratio, 2)}x` : 'n/a'}: ${mark}${t.note ? ` (${t.note})` : ''}`);
      }
    }
    const versions = m.engines.filter((e) => e.versions || e.device);
    if (versions.length) {
      L.push('');
      L.push('Engines:');
      for (const e of versions) {
        const v = Object.entries(e.versions ?? {})
          .filter(([, x]) => x !== undefined && x !== null)
          .map(([k, x]) => `${k} ${x}`)
          .join(', ');
        L.push(
          `- ${e.label}: ${e.device ?? ''}${v ? `; ${v}` : ''}${e.stepGraphs ? `; steps as CUDA graphs: ${e.stepGraphs}` : ''}` +
            `${e.samples ? `; ${fmt(e.samples)} samples, ${e.steps} steps/epoch` : ''}`,
        );
      }
    }
  }
  L.push('');
  return L.join('\n');
}
