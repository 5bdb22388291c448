// The benchmark harness (bench/): argument parsing, the loss check and the
// table, and two short real runs (xarxa only on MNIST-shaped data, and the GPU
// suite's "no GPU" rows on a machine without one).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../bench/lib/args.js';
import { cpuTargets, finishEngine, toMarkdown, type BenchResult, type EngineResult, type Target } from '../../bench/lib/report.js';

const run = promisify(execFile);
const repo = path.resolve(__dirname, '../..');

function engine(id: string, losses: number[], seconds: number[], samples = 1280): EngineResult {
  return {
    engine: id,
    label: id,
    status: 'ok',
    samples,
    steps: Math.ceil(samples / 128),
    batchSize: 128,
    epochs: losses.map((loss, i) => ({ epoch: i, warmup: i === 0, seconds: seconds[i], loss, loadAvg1: 0.5 })),
  };
}

/** A run of one model (MNIST dense, real data) with these engine rows, ratios and targets. */
function mnistResult(suite: 'cpu' | 'gpu', engines: EngineResult[], ratios: Record<string, number>, targets: Target[]): BenchResult {
  return {
    suite,
    date: 'today',
    quick: false,
    command: `npm run bench -- --suite ${suite}`,
    host: { cpu: 'cpu', cores: 2, memoryBytes: 2 ** 30, os: 'linux', node: 'v20' },
    loadAverage: { start: [0, 0, 0] },
    protocol: 'protocol',
    models: [
      {
        model: 'mnist-dense',
        title: 'MNIST dense',
        data: { model: 'mnist-dense', source: 'real', name: 'MNIST', description: 'MNIST', n: 1280, shape: [784] },
        engines,
        ratios,
        targets,
      },
    ],
  };
}

describe('bench arguments', () => {
  it('has the documented defaults and --quick implies one timed epoch', () => {
    const a = parseArgs([]);
    expect(a).toMatchObject({ suite: 'cpu', models: ['mnist-dense', 'cifar-cnn'], epochs: 3, quick: false });
    const q = parseArgs(['--quick', '--out', '/tmp/x.json', '--model', 'cifar-cnn', '--suite=gpu']);
    expect(q).toMatchObject({ quick: true, epochs: 1, out: '/tmp/x.json', models: ['cifar-cnn'], suite: 'gpu' });
    expect(parseArgs(['--quick', '--epochs', '2']).epochs).toBe(2);
    expect(parseArgs(['--model', 'all', '--samples', '1000']).samples).toBe(1000);
  });

  it('rejects what it does not know', () => {
    expect(() => parseArgs(['--suite', 'tpu'])).toThrow(/cpu or gpu/);
    expect(() => parseArgs(['--model', 'resnet'])).toThrow(/mnist-dense, cifar-cnn or all/);
    expect(() => parseArgs(['--epochs', '0'])).toThrow(/positive integer/);
    expect(() => parseArgs(['--frobnicate'])).toThrow(/unknown option/);
  });
});

describe('bench results', () => {
  it('derives samples/s from the median timed epoch, excluding the warm-up', () => {
    const e = engine('xarxa', [2.3, 2.1, 2.0, 1.9], [9, 1, 2, 4]);
    finishEngine(e, true);
    expect(e.status).toBe('ok');
    expect(e.epochSeconds).toEqual([1, 2, 4]);
    expect(e.samplesPerSec).toBeCloseTo(640, 6);
    expect(e.msPerStep).toBeCloseTo(200, 6);
    expect(e.lossSanity).toMatch(/ok/);
  });

  it('reports a fast number with a broken loss as a FAILURE, not a result', () => {
    const rising = engine('xarxa', [2.3, 2.31, 2.4], [1, 0.01, 0.01]);
    finishEngine(rising, true);
    expect(rising.status).toBe('FAILURE');
    const nan = engine('xarxa', [2.3, Number.NaN], [1, 0.01]);
    finishEngine(nan, false);
    expect(nan.status).toBe('FAILURE');
    // Random data: the loss need not fall; the number stands.
    const random = engine('xarxa', [2.3, 2.31], [1, 1]);
    finishEngine(random, false);
    expect(random.status).toBe('ok');
    expect(random.lossSanity).toMatch(/random data/);

    const peer = engine('tfjs-wasm', [2.3, 2.2], [1, 1]);
    finishEngine(peer, true);
    const md = toMarkdown(mnistResult('cpu', [rising, peer], {}, cpuTargets('mnist-dense', [rising, peer], {})));
    expect(md).toMatch(/\*\*FAILURE\*\*.*not a result/);
    expect(md).toMatch(/xarxa did not produce a valid result/);
  });
});

describe('bench data folder and GPU table', () => {
  it('finds the data from --data, XARXA_BENCH_DATA, then the first XARXA_DATASETS_DIR folder with mnist/', async () => {
    const { sharedDataDir, setDataDir } = await import('../../bench/lib/data.js');
    const saved = { bench: process.env.XARXA_BENCH_DATA, datasets: process.env.XARXA_DATASETS_DIR };
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xarxa-bench-data-'));
    try {
      fs.mkdirSync(path.join(root, 'b', 'mnist'), { recursive: true });
      delete process.env.XARXA_BENCH_DATA;
      process.env.XARXA_DATASETS_DIR = [path.join(root, 'a'), path.join(root, 'b')].join(path.delimiter);
      expect(sharedDataDir()).toBe(path.join(root, 'b'));
      process.env.XARXA_BENCH_DATA = path.join(root, 'c');
      expect(sharedDataDir()).toBe(path.join(root, 'c'));
      setDataDir(path.join(root, 'd'));
      expect(sharedDataDir()).toBe(path.join(root, 'd'));
    } finally {
      setDataDir(undefined);
      for (const [k, v] of [['XARXA_BENCH_DATA', saved.bench], ['XARXA_DATASETS_DIR', saved.datasets]] as const)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("in the GPU table the headline row reads 1 and the other xarxa rows their ratio to it; rows without numbers read nothing", () => {
    const cuda = engine('xarxa-cuda', [2.3, 2.0], [1, 1]);
    const nograph = engine('xarxa-cuda-nograph', [2.3, 2.0], [2, 2]);
    const torch = { ...engine('torch-eager', [2.3, 2.0], [4, 4]), status: 'unavailable' as const, reason: 'no torch' };
    for (const e of [cuda, nograph]) finishEngine(e, true);
    const result = mnistResult('gpu', [cuda, nograph, torch], { 'xarxa-cuda-nograph': 2 }, []);
    const rows = toMarkdown(result).split('\n').filter((l) => l.startsWith('| xarxa') || l.startsWith('| torch'));
    expect(rows.map((l) => l.split('|')[7].trim())).toEqual(['1', '2.00x', '']);
  });
});

describe('npm run bench (short real runs)', () => {
  it('runs xarxa on MNIST-shaped data and writes JSON and Markdown', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xarxa-bench-'));
    const out = path.join(dir, 'r.json');
    await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--engines', 'xarxa', '--model', 'mnist-dense', '--samples', '256', '--out', out], {
      cwd: repo,
      env: { ...process.env, XARXA_BENCH_CACHE: path.join(dir, 'cache') },
    });
    const r = JSON.parse(fs.readFileSync(out, 'utf8')) as BenchResult;
    expect(r.exitCode).toBe(0);
    const x = r.models[0].engines[0];
    expect(x.engine).toBe('xarxa');
    expect(x.status).toBe('ok');
    expect(x.epochs.map((e) => e.warmup)).toEqual([true, false]);
    expect(x.samplesPerSec).toBeGreaterThan(0);
    expect(x.peakRssBytes).toBeGreaterThan(1e6);
    expect(x.versions).toHaveProperty('xarxa');
    expect(fs.readFileSync(out.replace(/\.json$/, '.md'), 'utf8')).toMatch(/\| xarxa \(CPU\) \| [\d,]+ \|/);
  });

  it('the GPU suite says why each engine cannot run when there is no GPU', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xarxa-bench-'));
    const out = path.join(dir, 'g.json');
    await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--suite', 'gpu', '--quick', '--model', 'mnist-dense', '--samples', '256', '--random-data', '--out', out], {
      cwd: repo,
      env: { ...process.env, XARXA_BENCH_CACHE: path.join(dir, 'cache') },
    });
    const r = JSON.parse(fs.readFileSync(out, 'utf8')) as BenchResult;
    const rows = r.models[0].engines;
    expect(rows.map((e) => e.engine)).toEqual(['xarxa-cuda', 'xarxa-cuda-nograph', 'torch-eager', 'torch-compile']);
    for (const e of rows) {
      // On a GPU machine these run; elsewhere each row says why not.
      if (e.status !== 'ok') {
        expect(e.status).toBe('unavailable');
        expect(e.reason).toMatch(/no GPU/);
      }
    }
  });
});
