// Keras' TerminateOnNaN: stops training at the first batch whose loss is NaN
// or infinite. fit() detects the bad batch itself (in native code, without
// per-batch round trips) and tells this callback, so adding it does not slow
// training down. With it, fit returns the history (the last epoch's loss is
// NaN); without it, fit throws NonFiniteLossError. See Sequential.fit.
import { Callback } from './callback.js';

export class TerminateOnNaN extends Callback {
  /** Where training was stopped (0-based epoch and batch), once it was. */
  stoppedAt?: { epoch: number; batch: number };

  onTrainBegin(): void {
    this.stoppedAt = undefined;
  }

  /** Called by fit at the first non-finite batch loss. */
  onNonFiniteLoss(epoch: number, batch: number, stream?: { write(s: string): unknown }): void {
    this.stoppedAt = { epoch, batch };
    if (this.model) this.model.stopTraining = true;
    stream?.write(`\nBatch ${batch}: Invalid loss, terminating training\n`);
  }

}
