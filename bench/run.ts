// xarxa's benchmark harness: trains the notebook's reference models with xarxa
// and with each peer of a suite, in the same run, each engine in its own child
// process, one warm-up epoch each, then timed epochs alternating between
// engines. Writes JSON and a Markdown table (bench/NOTES.md explains).
//   npm run bench -- [--suite cpu|gpu] [--model mnist-dense|cifar-cnn|all] [--out FILE]
//                    [--epochs N] [--samples N] [--quick]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, USAGE, type BenchArgs, type ModelName } from './lib/args.js';
import { prepareData, REPO, setDataDir, type Dataset } from './lib/data.js';
import { Child, ENGINES, type EngineSpec, type Message } from './lib/engines.js';
import {
  TITLES,
  computeRatios,
  cpuTargets,
  gpuTargets,
  finishEngine,
  toMarkdown,
  type BenchResult,
  type EngineResult,
  type ModelResult,
  type Target,
} from './lib/report.js';

const QUICK_SAMPLES: Record<ModelName, number> = { 'mnist-dense': 512, 'cifar-cnn': 256 };
const BATCH = 128;
const LR = 0.01;

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

interface Live {
  spec: EngineSpec;
  child: Child;
  row: EngineResult;
}

function timeouts(args: BenchArgs) {
  return { readyMs: args.quick ? 60_000 : 300_000, epochMs: args.quick ? 60_000 : 1_800_000, doneMs: 30_000 };
}

async function runModel(model: ModelName, data: Dataset, specs: EngineSpec[], args: BenchArgs): Promise<EngineResult[]> {
  const rows: EngineResult[] = [];
  const live: Live[] = [];
  const t = timeouts(args);
  for (const spec of specs) {
    if (spec.models && !spec.models.includes(model)) continue;
    const row: EngineResult = { engine: spec.id, label: spec.label, status: 'ok', epochs: [] };
    rows.push(row);
    const how = spec.command(args.quick);
    if ('unavailable' in how) {
      row.status = how.status ?? 'unavailable';
      row.reason = how.unavailable;
      continue;
    }
    let n = data.n;
    const cap = spec.cap?.[model];
    if (cap) {
      const limit = args.quick ? cap.quickSamples : cap.samples;
      if (limit === 0) {
        row.status = 'skipped';
        row.reason = `skipped in --quick: ${cap.why.replace(/, so .*/, '')}`;
        continue;
      }
      if (limit < n) {
        n = limit;
        row.subsetNote = `subset: ${cap.why}`;
      }
    }
    row.samples = n;
    row.batchSize = BATCH;
    row.steps = Math.ceil(n / BATCH);
    const config = { engine: spec.id, model, x: data.xFile, y: data.yFile, n, shape: data.shape, batchSize: BATCH, lr: LR, seed: args.seed };
    live.push({ spec, child: new Child(how.cmd, how.args, config, spec.env), row });
  }

  const drop = (l: Live, m: Message) => {
    l.row.status = m.type === 'unavailable' ? 'unavailable' : 'error';
    l.row.reason = String(m.message ?? m.type);
    l.child.kill();
    log(`${l.spec.id}: ${l.row.status}: ${l.row.reason}`);
  };

  // Start-up (data loading, imports, compilation of the model) is not timed.
  await Promise.all(
    live.map(async (l) => {
      const m = await l.child.next(t.readyMs);
      if (m.type !== 'ready') return drop(l, m);
      Object.assign(l.row, { versions: m.versions, device: m.device, threads: m.threads, params: m.params });
    }),
  );
  let running = live.filter((l) => l.row.status === 'ok');

  const epoch = async (l: Live, index: number, warmup: boolean) => {
    const loadAvg1 = os.loadavg()[0];
    l.child.send('epoch');
    const m = await l.child.next(t.epochMs);
    if (m.type !== 'epoch') return drop(l, m);
    l.row.epochs.push({ epoch: index, warmup, seconds: Number(m.seconds), loss: Number(m.loss), acc: m.acc === undefined ? undefined : Number(m.acc), loadAvg1 });
    log(`${model} ${l.spec.id} epoch ${index}${warmup ? ' (warm-up)' : ''}: ${Number(m.seconds).toFixed(3)} s, loss ${Number(m.loss).toFixed(4)}`);
  };

  // One warm-up epoch each, then timed epochs round-robin; the starting engine
  // rotates every round so no engine always runs right after the same other one.
  for (const l of running) await epoch(l, 0, true);
  running = running.filter((l) => l.row.status === 'ok');
  for (let r = 0; r < args.epochs; r++) {
    const k = running.length;
    for (let i = 0; i < k; i++) {
      const l = running[(i + r) % k];
      if (l.row.status === 'ok') await epoch(l, r + 1, false);
    }
  }
  for (const l of running) {
    if (l.row.status !== 'ok') continue;
    l.child.send('finish');
    const m = await l.child.next(t.doneMs);
    if (m.type === 'done') {
      l.row.peakRssBytes = Number(m.peakRssBytes);
      if (m.peakGpuBytes !== undefined) l.row.peakGpuBytes = Number(m.peakGpuBytes);
      if (m.stepGraphs !== undefined) l.row.stepGraphs = String(m.stepGraphs);
    }
    l.child.kill();
  }
  for (const row of rows) finishEngine(row, data.source === 'real');
  return rows;
}

function defaultOut(suite: string): string {
  const d = new Date();
  const stamp = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  return path.join(REPO, 'bench', 'results', `${suite}-${stamp}.json`);
}

/**
 * A --quick smoke run (a few hundred samples, millisecond epochs) judges no target: neither met nor
 * missed. On random data of the real shapes speed is still speed, and the note says so.
 */
function judged(targets: Target[], quick: boolean, randomData: boolean): Target[] {
  const note = (t: Target, text: string) => (t.note ? `${text}; ${t.note}` : text);
  if (quick) return targets.map((t) => ({ ...t, met: null, note: note(t, 'not a result: a --quick smoke run') }));
  if (randomData) return targets.map((t) => ({ ...t, note: note(t, 'on random data of the real shapes: speed only') }));
  return targets;
}

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (args.data !== undefined && !fs.existsSync(args.data)) {
    process.stderr.write(`--data: ${args.data} does not exist\n`);
    return 2;
  }
  setDataDir(args.data);
  const known = ENGINES.map((e) => e.id);
  for (const id of args.engines ?? []) if (!known.includes(id)) {
    process.stderr.write(`unknown engine '${id}' (known: ${known.join(', ')})\n`);
    return 2;
  }
  const specs = ENGINES.filter(
    (e) => e.suite === args.suite && (!args.engines || args.engines.includes(e.id)) && !(args.noKeras && e.id === 'keras'),
  );
  const out = path.resolve(args.out ?? defaultOut(args.suite));
  const mdOut = out.replace(/\.json$/i, '') + '.md';
  const cpus = os.cpus();
  const result: BenchResult = {
    suite: args.suite,
    date: new Date().toISOString(),
    quick: args.quick,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    host: { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, memoryBytes: os.totalmem(), os: `${os.type()} ${os.release()}`, node: process.version },
    loadAverage: { start: os.loadavg() },
    protocol:
      `Protocol: batch ${BATCH}, SGD ${LR}, categorical cross-entropy, accuracy, shuffle on; same data for every engine. ` +
      `Each engine runs in its own child process; one warm-up epoch each, then ${args.epochs} timed epoch(s) per engine, alternating engines. ` +
      `samples/s = training samples / median timed epoch time, measured inside fit (epoch begin to end); ms/step = that time / steps; ` +
      `ratios = xarxa's samples/s / the engine's (above 1: xarxa is faster). ` +
      `Peak RSS is the child's own maximum resident set. Loss check: on real data, the last epoch's training loss must be below the warm-up epoch's, ` +
      `else the row is a FAILURE, not a result.`,
    models: [],
  };
  const xarxaId = args.suite === 'gpu' ? 'xarxa-cuda' : 'xarxa';
  const write = (): string => {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    const md = toMarkdown(result);
    fs.writeFileSync(mdOut, md);
    return md;
  };
  for (const model of args.models) {
    log(`${model}: preparing data`);
    const data = await prepareData(model, {
      samples: args.samples ?? (args.quick ? QUICK_SAMPLES[model] : undefined),
      random: args.randomData,
      buildCifar: !args.quick,
      seed: args.seed,
      log,
    });
    log(`${model}: ${data.description}`);
    const engines = await runModel(model, data, specs, args);
    if (model === 'mnist-dense') for (const e of engines) if (e.status === 'ok' && e.medianEpochSeconds) e.tenEpochSeconds = 10 * e.medianEpochSeconds;
    const ratios = computeRatios(engines, xarxaId);
    const { xFile: _x, yFile: _y, ...dataInfo } = data;
    const mr: ModelResult = {
      model,
      title: TITLES[model],
      data: dataInfo,
      engines,
      ratios,
      targets: judged(
        !specs.some((s) => s.id === xarxaId) ? [] : args.suite === 'cpu' ? cpuTargets(model, engines, ratios) : gpuTargets(model, engines, ratios),
        args.quick,
        data.source === 'random',
      ),
    };
    result.models.push(mr);
    write(); // after each model, so a run cut off by a time limit keeps what it measured
  }
  result.loadAverage.end = os.loadavg();
  // Exit status: 1 when xarxa itself failed (error or broken loss); peers never fail the run.
  const xarxaRows = result.models.flatMap((m) => m.engines.filter((e) => e.engine === xarxaId));
  result.exitCode = xarxaRows.some((e) => e.status === 'FAILURE' || e.status === 'error') ? 1 : 0;
  const md = write();
  process.stdout.write(md + '\n');
  log(`wrote ${out} and ${mdOut}`);
  return result.exitCode;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
