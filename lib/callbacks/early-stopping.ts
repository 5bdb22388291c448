// Keras' EarlyStopping: stop when a monitored quantity has stopped improving.
// The rule is Keras 3's (and recent tf.keras'): an improvement is
// `current - minDelta > best` ('max') or `current + minDelta < best` ('min');
// the wait restarts only on an improvement that also beats `baseline` (when
// given); on an epoch without improvement (after the first), once `patience`
// epochs have passed since the last restart, stopTraining is set and fit ends
// after this epoch. With restoreBestWeights the weights of the best epoch are
// put back when training ends, stopped early or not.
import { Callback, type Logs } from './callback.js';
import { checkArgs, checkMonitor, missingMonitor, resolveMode, type MonitorMode } from './monitor.js';

export interface EarlyStoppingArgs {
  /** Quantity to watch (default 'val_loss'). */
  monitor?: string;
  /** Smallest change that counts as an improvement (default 0; its absolute value is used). */
  minDelta?: number;
  /** Epochs without improvement before stopping (default 0). */
  patience?: number;
  /** 'auto' (default), 'min' or 'max'. */
  mode?: MonitorMode;
  /** Training stops unless the quantity beats this value (default none). */
  baseline?: number;
  /** Put back the weights of the best epoch when training ends (default false). */
  restoreBestWeights?: boolean;
  /** Epochs to wait before watching at all (default 0). */
  startFromEpoch?: number;
  /** 1 prints a line when stopping or restoring (default 0). */
  verbose?: 0 | 1;
}

const OPTIONS = ['monitor', 'minDelta', 'patience', 'mode', 'baseline', 'restoreBestWeights', 'startFromEpoch', 'verbose'] as const;

export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly mode: 'min' | 'max';
  readonly baseline?: number;
  readonly restoreBestWeights: boolean;
  readonly startFromEpoch: number;
  readonly verbose: 0 | 1;
  /** Epoch (0-based) at which training was stopped, or 0 when it was not. */
  stoppedEpoch = 0;
  /** Epoch (0-based) of the best value seen, or -1. */
  bestEpoch = -1;
  best = Infinity;
  wait = 0;
  private bestWeights?: unknown[];
  private warned = false;

  constructor(args: EarlyStoppingArgs = {}) {
    super();
    const a = checkArgs(args, OPTIONS, 'EarlyStopping');
    this.monitor = checkMonitor(a.monitor ?? 'val_loss', 'EarlyStopping');
    const minDelta = a.minDelta ?? 0;
    if (typeof minDelta !== 'number' || !Number.isFinite(minDelta)) throw new TypeError(`EarlyStopping: minDelta must be a finite number, received ${JSON.stringify(a.minDelta)}`);
    this.minDelta = Math.abs(minDelta);
    const patience = a.patience ?? 0;
    if (typeof patience !== 'number' || !Number.isInteger(patience) || patience < 0) {
      throw new RangeError(`EarlyStopping: patience must be an integer >= 0, received ${JSON.stringify(a.patience)}`);
    }
    this.patience = patience;
    this.mode = resolveMode(a.mode, this.monitor, 'EarlyStopping');
    if (a.baseline !== undefined && a.baseline !== null && (typeof a.baseline !== 'number' || !Number.isFinite(a.baseline))) {
      throw new TypeError(`EarlyStopping: baseline must be a finite number, received ${JSON.stringify(a.baseline)}`);
    }
    this.baseline = (a.baseline as number | null | undefined) ?? undefined;
    if (a.restoreBestWeights !== undefined && typeof a.restoreBestWeights !== 'boolean') {
      throw new TypeError(`EarlyStopping: restoreBestWeights must be a boolean, received ${JSON.stringify(a.restoreBestWeights)}`);
    }
    this.restoreBestWeights = (a.restoreBestWeights as boolean | undefined) ?? false;
    const start = a.startFromEpoch ?? 0;
    if (typeof start !== 'number' || !Number.isInteger(start) || start < 0) {
      throw new RangeError(`EarlyStopping: startFromEpoch must be an integer >= 0, received ${JSON.stringify(a.startFromEpoch)}`);
    }
    this.startFromEpoch = start;
    if (a.verbose !== undefined && a.verbose !== 0 && a.verbose !== 1) throw new RangeError(`EarlyStopping: verbose must be 0 or 1, received ${JSON.stringify(a.verbose)}`);
    this.verbose = (a.verbose as 0 | 1 | undefined) ?? 0;
  }

  private improves(value: number, reference: number): boolean {
    return this.mode === 'min' ? value + this.minDelta < reference : value - this.minDelta > reference;
  }

  onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.bestEpoch = -1;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.bestWeights = undefined;
    this.warned = false;
  }

  onEpochEnd(epoch: number, logs?: Logs): void {
    const current = logs?.[this.monitor];
    if (current === undefined) {
      if (!this.warned) console.warn(missingMonitor('EarlyStopping', this.monitor, logs));
      this.warned = true;
      return;
    }
    if (epoch < this.startFromEpoch) return;
    if (this.restoreBestWeights && this.bestWeights === undefined) {
      this.bestWeights = this.model?.getWeights();
      this.bestEpoch = epoch;
    }
    this.wait += 1;
    if (this.improves(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = this.model?.getWeights();
      // Only restart the wait when both the best value and the baseline are beaten.
      if (this.baseline === undefined || this.improves(current, this.baseline)) this.wait = 0;
      return;
    }
    // Only checked on epochs without an improvement, and after the first epoch.
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      if (this.model) this.model.stopTraining = true;
    }
  }

  onTrainEnd(): void {
    if (this.stoppedEpoch > 0 && this.verbose > 0) console.log(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
    if (this.restoreBestWeights && this.bestWeights !== undefined && this.model) {
      if (this.verbose > 0) console.log(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
      this.model.setWeights(this.bestWeights);
    }
  }
}
