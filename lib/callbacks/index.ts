export { Callback } from './callback.js';
export type { CallbackHooks, Logs } from './callback.js';
