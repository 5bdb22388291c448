// The base of xarxa's layers: a checked configuration that the native core
// builds. Layers hold no weights in JS; the Sequential model owns the native
// model, and a layer's getWeights/setWeights ask the model it was added to.
import type { Tensor } from '../tensor.js';

/** What a layer needs of the model that holds its weights. */
export interface WeightOwner {
  layerWeights(layer: Layer): Tensor[];
  setLayerWeights(layer: Layer, weights: Tensor[]): void;
}

export type ActivationName = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'softmax';
const ACTIVATIONS: readonly string[] = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'];

const counters = new Map<string, number>();

/** Keras-style unique names: dense, dense_1, dense_2, ... */
export function uniqueName(base: string): string {
  const n = counters.get(base) ?? 0;
  counters.set(base, n + 1);
  return n === 0 ? base : `${base}_${n}`;
}

export interface LayerArgs {
  inputShape?: number[];
  batchInputShape?: (number | null)[];
  name?: string;
}

export abstract class Layer {
  readonly name: string;
  /** Per-sample input shape given to the first layer (Keras inputShape). */
  readonly inputShape?: number[];

  protected constructor(className: string, args: LayerArgs = {}) {
    const base = className.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().replace('2_d', '2d');
    if (args.name !== undefined && (typeof args.name !== 'string' || args.name === '')) {
      throw new TypeError(`${className}: name must be a non-empty string`);
    }
    this.name = args.name ?? uniqueName(base);
    let shape = args.inputShape;
    if (shape === undefined && args.batchInputShape !== undefined) {
      if (!Array.isArray(args.batchInputShape)) throw new TypeError(`${className}: batchInputShape must be an array`);
      shape = args.batchInputShape.slice(1) as number[];
    }
    if (shape !== undefined) {
      if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
        throw new TypeError(`${className}: inputShape must be an array of positive integers, received ${JSON.stringify(shape)}`);
      }
      this.inputShape = [...shape];
    }
  }

  private owner?: WeightOwner;

  /** Called by Sequential.add: the model whose weights getWeights/setWeights read and write (the last one added to). */
  attachTo(owner: WeightOwner): void {
    this.owner = owner;
  }

  /** This layer's weights (kernel, then bias) as in Keras' layer.get_weights(); [] before its model is built. */
  getWeights(): Tensor[] {
    return this.owner ? this.owner.layerWeights(this) : [];
  }

  /** Sets this layer's weights (kernel, then bias), as Keras' layer.set_weights(). */
  setWeights(weights: Tensor[]): void {
    if (!this.owner) throw new Error(`${this.name}.setWeights: the layer is in no model yet; add it to a model first`);
    this.owner.setLayerWeights(this, weights);
  }

  /** The Keras class name ('Dense', 'Conv2D', ...). */
  abstract get className(): string;
  /** What the native core needs to build this layer. */
  abstract nativeSpec(seedFor: () => number): Record<string, unknown>;
  /** The Keras config of this layer (for model.json). */
  abstract getConfig(): Record<string, unknown>;
}

export function checkActivation(value: unknown, where: string): ActivationName {
  if (value === undefined || value === null) return 'linear';
  if (typeof value !== 'string' || !ACTIVATIONS.includes(value)) {
    throw new Error(`${where}: unknown activation '${String(value)}' (expected one of ${ACTIVATIONS.join(', ')})`);
  }
  return value as ActivationName;
}

export function positiveInt(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new TypeError(`${where} must be a positive integer, received ${JSON.stringify(value)}`);
  }
  return value;
}

/** A number or [h, w] pair of positive integers, as Keras accepts for kernel sizes and strides. */
export function intPair(value: unknown, where: string): [number, number] {
  if (typeof value === 'number') {
    positiveInt(value, where);
    return [value, value];
  }
  if (Array.isArray(value) && value.length === 2) {
    return [positiveInt(value[0], where + '[0]'), positiveInt(value[1], where + '[1]')];
  }
  throw new TypeError(`${where} must be a positive integer or a [height, width] pair, received ${JSON.stringify(value)}`);
}

export function checkPadding(value: unknown, where: string): 'valid' | 'same' {
  if (value === undefined) return 'valid';
  if (value !== 'valid' && value !== 'same') {
    throw new Error(`${where}: padding must be 'valid' or 'same', received '${String(value)}'`);
  }
  return value;
}

/**
 * The options object that follows a layer's leading values (new Dense(10, { activation })):
 * {} when there is none. A number, string, array or null there is an error (it would be
 * ignored), and so is a second options object after an options object (new X({...}, {...})).
 */
export function trailingOptions<T extends object>(rest: unknown, firstIsOptions: boolean, where: string): T {
  const empty = typeof rest === 'object' && rest !== null && !Array.isArray(rest) && Object.keys(rest).length === 0;
  if (rest === undefined || (firstIsOptions && empty)) return {} as T;
  if (firstIsOptions) throw new TypeError(`${where}: options were given twice (an options object, then ${JSON.stringify(rest)}); put them in one object`);
  if (typeof rest !== 'object' || rest === null || Array.isArray(rest)) {
    throw new TypeError(`${where}: expected an options object after the leading values, received ${JSON.stringify(rest)}`);
  }
  return rest as T;
}

/** Whether a layer's first argument is its options object (else a leading value such as units). */
export function isOptions(first: unknown, where: string): boolean {
  if (first === null) throw new TypeError(`${where}: expected a value or an options object, received null`);
  return typeof first === 'object' && !Array.isArray(first);
}

export function checkOptions(args: object, allowed: readonly string[], where: string): void {
  // A number or array where the options object belongs would otherwise pass with every option at its default.
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new TypeError(`${where}: expected an options object ({ ${allowed[0]}: ... }), received ${JSON.stringify(args)}`);
  }
  for (const key of Object.keys(args)) {
    if (!allowed.includes(key)) throw new Error(`${where}: unknown option '${key}' (known: ${allowed.join(', ')})`);
  }
}
