// Keras-style callbacks. A callback may be an instance of Callback or a plain
// object with any of the hooks (as tfjs accepts). Setting
// `model.stopTraining = true` in any hook stops fit after the current batch.

export type Logs = Record<string, number>;

export interface CallbackHooks {
  onTrainBegin?(logs?: Logs): void | Promise<void>;
  onTrainEnd?(logs?: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs?: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs?: Logs): void | Promise<void>;
  onBatchBegin?(batch: number, logs?: Logs): void | Promise<void>;
  onBatchEnd?(batch: number, logs?: Logs): void | Promise<void>;
}

/** What a callback sees of the model it is attached to. */
export interface CallbackModel {
  stopTraining: boolean;
  getWeights(): unknown[];
  setWeights(weights: unknown[]): void;
  save?(dir: string): Promise<unknown>;
}

export class Callback {
  model?: CallbackModel;
  setModel(model: CallbackModel): void {
    this.model = model;
  }
}

/** Whether any callback wants per-batch hooks (then fit runs batch by batch). */
export function wantsBatchHooks(callbacks: CallbackHooks[]): boolean {
  return callbacks.some((c) => typeof c.onBatchBegin === 'function' || typeof c.onBatchEnd === 'function');
}
