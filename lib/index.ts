// xarxa: train neural networks from Node.js with a Keras-like API.
//   import * as xa from 'xarxa';
export { Tensor, tensor } from './tensor.js';
export type { DType, Shape, TypedArray } from './tensor.js';
export { Sequential, NonFiniteLossError } from './models/sequential.js';
export type { CompileArgs, FitArgs, EvaluateArgs, PredictArgs } from './models/sequential.js';
export { History } from './models/history.js';
export { setSeed } from './random.js';
export { setBackend, getBackend } from './backend.js';
export * as layers from './layers/index.js';
export * as optimizers from './optimizers/index.js';
export * as utils from './utils/index.js';
export * as callbacks from './callbacks/index.js';
export * as backend from './backend-api.js';
export * as metrics from './metrics/index.js';
export * as plot from './plot/index.js';
export * as report from './report/index.js';
export * as datasets from './datasets/index.js';
