// The child side of the benchmark protocol (bench/run.ts is the parent).
// A child gets its config as JSON in argv[2], loads the data, builds the
// model and prints `@@BENCH {"type":"ready",...}`; then, for each command
// line on stdin ({"cmd":"epoch"} / {"cmd":"finish"}), it trains one epoch
// and answers `@@BENCH {"type":"epoch","seconds":..,"loss":..,"acc":..}`, or
// answers `@@BENCH {"type":"done","peakRssBytes":..}` and exits. Anything
// else a library prints is ignored by the parent. Python peers speak the same.
import fs from 'node:fs';
import readline from 'node:readline';

export interface ChildConfig {
  engine: string;
  model: 'mnist-dense' | 'cifar-cnn';
  /** uint8 images, n x prod(shape), and uint8 labels 0..9 (files written by the parent). */
  x: string;
  y: string;
  n: number;
  shape: number[];
  batchSize: number;
  lr: number;
  seed: number;
}

export const PREFIX = '@@BENCH ';

export function send(msg: Record<string, unknown>): void {
  process.stdout.write(PREFIX + JSON.stringify(msg) + '\n');
}

export function readConfig(): ChildConfig {
  const raw = process.argv[2];
  if (!raw) throw new Error('missing config (JSON in argv[2])');
  return JSON.parse(raw) as ChildConfig;
}

/** Images scaled to [0, 1] as the notebook does (x / 255), and one-hot labels. */
export function loadData(cfg: ChildConfig): { x: Float32Array; y: Float32Array; labels: Uint8Array } {
  const row = cfg.shape.reduce((a, b) => a * b, 1);
  const xb = fs.readFileSync(cfg.x);
  const yb = fs.readFileSync(cfg.y);
  if (xb.length < cfg.n * row || yb.length < cfg.n) throw new Error(`data files hold fewer than ${cfg.n} samples`);
  const x = new Float32Array(cfg.n * row);
  for (let i = 0; i < x.length; i++) x[i] = xb[i] / 255;
  const labels = new Uint8Array(yb.buffer, yb.byteOffset, cfg.n);
  const y = new Float32Array(cfg.n * 10);
  for (let i = 0; i < cfg.n; i++) y[i * 10 + labels[i]] = 1;
  return { x, y, labels };
}

export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Runs the command loop: `epoch()` trains one epoch and returns its numbers. */
export async function serve(
  epoch: () => Promise<Record<string, unknown>>,
  finish?: () => Record<string, unknown> | void,
): Promise<void> {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const { cmd } = JSON.parse(line) as { cmd: string };
    if (cmd === 'epoch') {
      try {
        send({ type: 'epoch', ...(await epoch()) });
      } catch (e) {
        send({ type: 'error', message: (e as Error).message ?? String(e) });
        process.exit(1);
      }
    } else if (cmd === 'finish') {
      const extra = finish?.() ?? {};
      send({ type: 'done', peakRssBytes: peakRssBytes(), ...extra });
      rl.close();
      process.exit(0);
    }
  }
}

/** Reports a failure to start (the row then says why) and exits. */
export function fail(type: 'error' | 'unavailable', message: string): never {
  send({ type, message });
  process.exit(type === 'error' ? 1 : 0);
}
