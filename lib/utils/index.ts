export { toCategorical } from './to-categorical.js';
