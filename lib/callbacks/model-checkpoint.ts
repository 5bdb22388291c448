// Keras' ModelCheckpoint: saves the model (model.save, the TensorFlow.js
// Layers format) at the end of every epoch, or only when the monitored
// quantity improved (saveBestOnly). Each save replaces the folder atomically,
// so a crash mid-save leaves the previous checkpoint loadable.
//
// `dir` may hold Keras-style placeholders filled from the epoch (1-based) and
// the logs: 'ckpt/epoch-{epoch:02d}-{val_loss:.3f}' -> 'ckpt/epoch-03-0.412'.
import { Callback, type Logs } from './callback.js';
import { checkArgs, checkMonitor, missingMonitor, resolveMode, type MonitorMode } from './monitor.js';

export interface ModelCheckpointArgs {
  /** Folder to save into (may hold {epoch} / {name:fmt} placeholders). */
  dir: string;
  /** Quantity to watch with saveBestOnly (default 'val_loss'). */
  monitor?: string;
  /** Save only when `monitor` improved on the best value so far (default false). */
  saveBestOnly?: boolean;
  /** 'auto' (default), 'min' or 'max'. */
  mode?: MonitorMode;
  /** Only values better than this are saved with saveBestOnly (default none). */
  initialValueThreshold?: number;
  /** 1 prints a line per save (default 0). */
  verbose?: 0 | 1;
}

const OPTIONS = ['dir', 'monitor', 'saveBestOnly', 'mode', 'initialValueThreshold', 'verbose'] as const;

export class ModelCheckpoint extends Callback {
  readonly dir: string;
  readonly monitor: string;
  readonly saveBestOnly: boolean;
  readonly mode: 'min' | 'max';
  readonly verbose: 0 | 1;
  /** Best monitored value so far (kept across fits, as in Keras). */
  best: number;
  /** Folders written, in order. */
  readonly saved: string[] = [];
  private warned = false;

  constructor(args: ModelCheckpointArgs) {
    super();
    const a = checkArgs(args, OPTIONS, 'ModelCheckpoint');
    if (typeof a.dir !== 'string' || a.dir.trim() === '') throw new TypeError(`ModelCheckpoint: dir must be a non-empty path, received ${JSON.stringify(a.dir)}`);
    this.dir = a.dir;
    this.monitor = checkMonitor(a.monitor ?? 'val_loss', 'ModelCheckpoint');
    if (a.saveBestOnly !== undefined && typeof a.saveBestOnly !== 'boolean') throw new TypeError(`ModelCheckpoint: saveBestOnly must be a boolean, received ${JSON.stringify(a.saveBestOnly)}`);
    this.saveBestOnly = (a.saveBestOnly as boolean | undefined) ?? false;
    // The direction matters only with saveBestOnly (only then does Keras decide it).
    const decide = this.saveBestOnly || (a.mode !== undefined && a.mode !== 'auto');
    this.mode = decide ? resolveMode(a.mode, this.monitor, 'ModelCheckpoint') : 'min';
    const threshold = a.initialValueThreshold;
    if (threshold !== undefined && (typeof threshold !== 'number' || Number.isNaN(threshold))) {
      throw new TypeError(`ModelCheckpoint: initialValueThreshold must be a number, received ${JSON.stringify(threshold)}`);
    }
    this.best = (threshold as number | undefined) ?? (this.mode === 'min' ? Infinity : -Infinity);
    if (a.verbose !== undefined && a.verbose !== 0 && a.verbose !== 1) throw new RangeError(`ModelCheckpoint: verbose must be 0 or 1, received ${JSON.stringify(a.verbose)}`);
    this.verbose = (a.verbose as 0 | 1 | undefined) ?? 0;
  }

  onTrainBegin(): void {
    this.warned = false;
  }

  async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    if (!this.model?.save) throw new Error('ModelCheckpoint: the model has no save() method');
    const dir = formatPath(this.dir, epoch + 1, logs ?? {});
    const current = this.saveBestOnly ? logs?.[this.monitor] : undefined;
    if (this.saveBestOnly && current === undefined) {
      // As Keras 3: without the quantity there is no best to keep, so every epoch is saved.
      if (!this.warned) console.warn(missingMonitor('ModelCheckpoint (saveBestOnly)', this.monitor, logs, 'saves every epoch'));
      this.warned = true;
    } else if (current !== undefined) {
      const better = this.mode === 'min' ? current < this.best : current > this.best;
      if (!better) {
        if (this.verbose) console.log(`Epoch ${epoch + 1}: ${this.monitor} did not improve from ${this.best.toFixed(5)}`);
        return;
      }
      if (this.verbose) console.log(`Epoch ${epoch + 1}: ${this.monitor} improved from ${this.best.toFixed(5)} to ${current.toFixed(5)}, saving model to ${dir}`);
      this.best = current;
    } else if (this.verbose) {
      console.log(`Epoch ${epoch + 1}: saving model to ${dir}`);
    }
    await this.model.save(dir);
    this.saved.push(dir);
  }
}

/** Fills {epoch}, {epoch:02d}, {val_loss:.4f}, {loss:e} ... like Python's str.format does in Keras. */
export function formatPath(template: string, epoch: number, logs: Logs): string {
  return template.replace(/\{(\w+)(?::([^}]*))?\}/g, (whole, key: string, spec: string | undefined) => {
    const value = key === 'epoch' ? epoch : logs[key];
    if (value === undefined) throw new Error(`ModelCheckpoint: dir '${template}' uses {${key}}, which is not in the logs (available: epoch, ${Object.keys(logs).join(', ')})`);
    if (!spec) return String(value);
    const m = /^(0?)(\d*)(?:\.(\d+))?([dfeg%]?)$/.exec(spec);
    if (!m) throw new Error(`ModelCheckpoint: unsupported format '{${key}:${spec}}' in dir (use d, .Nf, .Ne or 0Nd)`);
    const [, zero, width, precision, type] = m;
    let text: string;
    if (type === 'd') text = String(Math.trunc(value));
    else if (type === 'e') text = value.toExponential(precision ? Number(precision) : 6);
    else if (type === 'f' || precision) text = value.toFixed(precision ? Number(precision) : 6);
    else text = String(value);
    if (width) text = text.padStart(Number(width), zero ? '0' : ' ');
    return text;
  });
}
