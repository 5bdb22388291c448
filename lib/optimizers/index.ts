export { SGD, getOptimizer } from './sgd.js';
export type { SGDArgs } from './sgd.js';
