// The engines of each suite and how to start one as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { ModelName, Suite } from './args.js';
import { REPO } from './data.js';

export interface EngineSpec {
  id: string;
  label: string;
  suite: Suite;
  /** The models it runs (default: all). */
  models?: ModelName[];
  /** Environment for its child process, on top of the bench's own. */
  env?: Record<string, string>;
  /** Most samples this engine trains on per model (slow engines), with the reason. */
  cap?: Partial<Record<ModelName, { samples: number; quickSamples: number | 0; why: string }>>;
  /** Command to start it, or the reason it cannot run here. */
  command(quick: boolean): { cmd: string; args: string[] } | { unavailable: string; status?: 'skipped' | 'unavailable' };
}

export function kerasVenv(): string {
  return process.env.XARXA_KERAS_VENV || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'xarxa', 'keras-venv');
}

const node = (file: string) => ({ cmd: process.execPath, args: ['--import', 'tsx', path.join(REPO, 'bench', 'peers', file)] });

export const ENGINES: EngineSpec[] = [
  { id: 'xarxa', label: 'xarxa (CPU)', suite: 'cpu', command: () => node('xarxa.ts') },
  {
    id: 'tfjs-cpu',
    label: 'TensorFlow.js 4.22 cpu',
    suite: 'cpu',
    cap: {
      'cifar-cnn': {
        samples: 256,
        quickSamples: 0,
        why: 'the pure-JS backend trains this CNN at only tens of samples/s, so it gets the first 256 samples (2 steps) per epoch',
      },
    },
    command: () => node('tfjs.ts'),
  },
  { id: 'tfjs-wasm', label: 'TensorFlow.js 4.22 wasm', suite: 'cpu', command: () => node('tfjs.ts') },
  {
    id: 'keras',
    label: 'Keras 3 / TensorFlow CPU',
    suite: 'cpu',
    command: (quick) => {
      const py = path.join(kerasVenv(), 'bin', 'python');
      if (!fs.existsSync(py)) {
        return quick
          ? { unavailable: `skipped in --quick: no Keras environment at ${kerasVenv()} (bash bench/setup-keras.sh makes it)`, status: 'skipped' }
          : { unavailable: `no Keras environment at ${kerasVenv()}: run bash bench/setup-keras.sh (pip install tensorflow-cpu)` };
      }
      return { cmd: py, args: [path.join(REPO, 'bench', 'peers', 'keras_bench.py')] };
    },
  },
  { id: 'xarxa-cuda', label: 'xarxa (CUDA)', suite: 'gpu', command: () => node('xarxa.ts') },
  {
    // cuDNN on NCHW copies (XARXA_CUDNN_LAYOUT, native/cuda/conv.cc): tells whether NHWC, the default, is the faster layout.
    id: 'xarxa-cuda-nchw',
    label: 'xarxa (CUDA, cuDNN in NCHW)',
    suite: 'gpu',
    models: ['cifar-cnn'],
    env: { XARXA_CUDNN_LAYOUT: 'nchw' },
    command: () => node('xarxa.ts'),
  },
  {
    // Every step op by op (XARXA_CUDA_GRAPHS=0, native/cuda/graph.cc): what recording steps as CUDA graphs gains.
    id: 'xarxa-cuda-nograph',
    label: 'xarxa (CUDA, no CUDA graphs)',
    suite: 'gpu',
    env: { XARXA_CUDA_GRAPHS: '0' },
    command: () => node('xarxa.ts'),
  },
  {
    id: 'torch-eager',
    label: 'PyTorch eager (CUDA)',
    suite: 'gpu',
    command: () => ({ cmd: process.env.PYTHON || 'python3', args: [path.join(REPO, 'bench', 'peers', 'torch_bench.py')] }),
  },
  {
    id: 'torch-compile',
    label: 'PyTorch torch.compile (CUDA)',
    suite: 'gpu',
    command: () => ({ cmd: process.env.PYTHON || 'python3', args: [path.join(REPO, 'bench', 'peers', 'torch_bench.py')] }),
  },
];

export interface Message {
  type: string;
  [key: string]: unknown;
}

/** A running engine: send commands, await its @@BENCH answers. */
export class Child {
  private proc: ChildProcess;
  private queue: Message[] = [];
  private waiters: ((m: Message) => void)[] = [];
  private stderrTail: string[] = [];
  private exited = false;
  exitCode: number | null = null;

  constructor(cmd: string, args: string[], config: Record<string, unknown>, env: Record<string, string> = {}) {
    this.proc = spawn(cmd, [...args, JSON.stringify(config)], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2', PYTHONUNBUFFERED: '1', ...env },
    });
    readline.createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      if (!line.startsWith('@@BENCH ')) return; // library chatter
      try {
        this.push(JSON.parse(line.slice(8)) as Message);
      } catch {
        // not ours
      }
    });
    readline.createInterface({ input: this.proc.stderr! }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
    });
    this.proc.on('error', (e) => this.push({ type: 'error', message: `could not start ${cmd}: ${e.message}` }));
    this.proc.on('exit', (code, signal) => {
      this.exited = true;
      this.exitCode = code;
      const tail = this.stderrTail.filter((l) => l.trim()).slice(-6).join(' | ');
      this.push({ type: 'exit', message: `exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}` });
    });
  }

  private push(m: Message): void {
    const w = this.waiters.shift();
    if (w) w(m);
    else this.queue.push(m);
  }

  /** The next message, or a timeout error message. */
  next(timeoutMs: number): Promise<Message> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve({ type: 'error', message: `no answer within ${Math.round(timeoutMs / 1000)} s` });
      }, timeoutMs);
      const done = (m: Message) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push(done);
    });
  }

  send(cmd: string): void {
    if (!this.exited) this.proc.stdin!.write(JSON.stringify({ cmd }) + '\n');
  }

  kill(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }
}
