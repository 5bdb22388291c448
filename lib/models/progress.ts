// Keras-style progress output for fit/evaluate:
//   Epoch 1/10
//   469/469 [==============================] - 1s 2ms/step - loss: 0.3012 - acc: 0.9134
// verbose 1 redraws the bar in place on a TTY (one final line otherwise);
// verbose 2 prints one line per epoch; verbose 0 prints nothing.

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

function formatStep(secondsPerStep: number): string {
  if (secondsPerStep >= 1) return `${secondsPerStep.toFixed(0)}s/step`;
  if (secondsPerStep >= 1e-3) return `${(secondsPerStep * 1e3).toFixed(0)}ms/step`;
  return `${(secondsPerStep * 1e6).toFixed(0)}us/step`;
}

export function formatLogs(logs: Record<string, number>): string {
  return Object.entries(logs)
    .map(([k, v]) => ` - ${k}: ${Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(4)}`)
    .join('');
}

export function bar(current: number, target: number, width = 30): string {
  const digits = String(target).length;
  let filled = Math.floor((width * current) / Math.max(target, 1));
  let s = `${String(current).padStart(digits)}/${target} [`;
  if (filled > 0) {
    s += '='.repeat(filled - 1);
    s += current < target ? '>' : '=';
  }
  filled = Math.max(filled, 0);
  s += '.'.repeat(width - filled) + ']';
  return s;
}

export class ProgressBar {
  private start = Date.now();
  private lastDraw = 0;
  private lastLength = 0;

  constructor(
    private readonly target: number,
    private readonly verbose: number,
    private readonly out: ProgressStream = process.stdout,
  ) {}

  /** Redraws the bar after `current` steps (TTY and verbose 1 only, at most ~20 times a second). */
  update(current: number, logs: Record<string, number>): void {
    if (this.verbose !== 1 || !this.out.isTTY) return;
    const now = Date.now();
    if (now - this.lastDraw < 50 && current < this.target) return;
    this.lastDraw = now;
    const elapsed = (now - this.start) / 1000;
    const eta = current > 0 ? (elapsed / current) * (this.target - current) : 0;
    const line = `${bar(current, this.target)} - ETA: ${eta.toFixed(0)}s${formatLogs(logs)}`;
    this.out.write('\r' + line + ' '.repeat(Math.max(0, this.lastLength - line.length)));
    this.lastLength = line.length;
  }

  /** The final line of the epoch, with total time and time per step. */
  done(steps: number, logs: Record<string, number>): void {
    if (this.verbose === 0) return;
    const elapsed = (Date.now() - this.start) / 1000;
    const timing = ` - ${elapsed.toFixed(0)}s ${formatStep(elapsed / Math.max(steps, 1))}`;
    const line = (this.verbose === 1 ? bar(steps, this.target) : `${steps}/${this.target}`) + timing + formatLogs(logs);
    const pad = ' '.repeat(Math.max(0, this.lastLength - line.length));
    this.out.write((this.verbose === 1 && this.out.isTTY ? '\r' : '') + line + pad + '\n');
  }
}
