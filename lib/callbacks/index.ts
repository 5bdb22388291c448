// xa.callbacks: Keras' callbacks. Each may be made with or without `new`
// (xa.callbacks.EarlyStopping({...}) as in Keras, new xa.callbacks.EarlyStopping({...})),
// or with the tfjs-style lowercase factories (xa.callbacks.earlyStopping({...})).
import { EarlyStopping as EarlyStoppingClass, type EarlyStoppingArgs } from './early-stopping.js';
import { TerminateOnNaN as TerminateOnNaNClass } from './terminate-on-nan.js';
import { ModelCheckpoint as ModelCheckpointClass, type ModelCheckpointArgs } from './model-checkpoint.js';

export { Callback } from './callback.js';
export type { CallbackHooks, CallbackModel, Logs } from './callback.js';
export type { EarlyStoppingArgs } from './early-stopping.js';
export type { ModelCheckpointArgs } from './model-checkpoint.js';
export type { MonitorMode } from './monitor.js';

/** A class that can also be called without `new` (the instance is still of that class). */
function callable<A extends unknown[], T, C extends new (...args: A) => T>(cls: C): C & ((...args: A) => T) {
  return new Proxy(cls, { apply: (target, _this, args) => new target(...(args as A)) }) as C & ((...args: A) => T);
}

export type EarlyStopping = EarlyStoppingClass;
export const EarlyStopping = callable<[EarlyStoppingArgs?], EarlyStoppingClass, typeof EarlyStoppingClass>(EarlyStoppingClass);
export type TerminateOnNaN = TerminateOnNaNClass;
export const TerminateOnNaN = callable<[], TerminateOnNaNClass, typeof TerminateOnNaNClass>(TerminateOnNaNClass);
export type ModelCheckpoint = ModelCheckpointClass;
export const ModelCheckpoint = callable<[ModelCheckpointArgs], ModelCheckpointClass, typeof ModelCheckpointClass>(ModelCheckpointClass);

export const earlyStopping = (args?: EarlyStoppingArgs): EarlyStoppingClass => new EarlyStoppingClass(args);
export const terminateOnNaN = (): TerminateOnNaNClass => new TerminateOnNaNClass();
export const modelCheckpoint = (args: ModelCheckpointArgs): ModelCheckpointClass => new ModelCheckpointClass(args);
