import { parseDataFormat, type DataFormat } from '../backend.js';
import { Layer, type LayerArgs, type ActivationName, checkActivation, checkOptions, isOptions, trailingOptions } from './layer.js';

export interface FlattenArgs extends LayerArgs {
  dataFormat?: DataFormat | 'channels_last' | 'channels_first';
}

/** Keras Flatten: channels-last element order, so weights copied from Keras/tfjs match. */
export class Flatten extends Layer {
  readonly dataFormat: DataFormat;
  constructor(args: FlattenArgs = {}) {
    checkOptions(args, ['dataFormat', 'inputShape', 'batchInputShape', 'name'], 'Flatten');
    super('Flatten', args);
    this.dataFormat = parseDataFormat(args.dataFormat, 'Flatten');
  }
  get className(): string {
    return 'Flatten';
  }
  nativeSpec(): Record<string, unknown> {
    return { type: 'Flatten', dataFormat: this.dataFormat };
  }
  getConfig(): Record<string, unknown> {
    return { name: this.name, trainable: true, data_format: this.dataFormat === 'channelsLast' ? 'channels_last' : 'channels_first', dtype: 'float32' };
  }
}

export interface DropoutArgs extends LayerArgs {
  rate?: number;
  seed?: number;
}

/** Inverted dropout: active only in fit(); the identity in evaluate() and predict(). */
export class Dropout extends Layer {
  readonly rate: number;
  readonly seed?: number;
  constructor(rate: number | DropoutArgs, args?: DropoutArgs) {
    const first = isOptions(rate, 'Dropout');
    const rest = trailingOptions<DropoutArgs>(args, first, 'Dropout');
    const opts: DropoutArgs = first ? { ...(rate as DropoutArgs) } : { ...rest, rate: rate as number };
    checkOptions(opts, ['rate', 'seed', 'inputShape', 'batchInputShape', 'name'], 'Dropout');
    super('Dropout', opts);
    if (typeof opts.rate !== 'number' || !(opts.rate >= 0 && opts.rate < 1)) {
      throw new RangeError(`Dropout: rate must be a number in [0, 1), received ${JSON.stringify(opts.rate)}`);
    }
    if (opts.seed !== undefined && (!Number.isInteger(opts.seed) || opts.seed < 0)) {
      throw new TypeError(`Dropout: seed must be a non-negative integer, received ${JSON.stringify(opts.seed)}`);
    }
    this.rate = opts.rate;
    this.seed = opts.seed;
  }
  get className(): string {
    return 'Dropout';
  }
  nativeSpec(seedFor: () => number): Record<string, unknown> {
    return { type: 'Dropout', rate: this.rate, seed: this.seed ?? seedFor() };
  }
  getConfig(): Record<string, unknown> {
    return { name: this.name, trainable: true, rate: this.rate, noise_shape: null, seed: this.seed ?? null, dtype: 'float32' };
  }
}

export interface ActivationArgs extends LayerArgs {
  activation?: ActivationName;
}

/** A standalone activation, like keras.layers.Activation('relu'). */
export class Activation extends Layer {
  readonly activation: ActivationName;
  constructor(activation: ActivationName | ActivationArgs, args?: ActivationArgs) {
    const first = isOptions(activation, 'Activation');
    const rest = trailingOptions<ActivationArgs>(args, first, 'Activation');
    const opts: ActivationArgs = first ? { ...(activation as ActivationArgs) } : { ...rest, activation: activation as ActivationName };
    checkOptions(opts, ['activation', 'inputShape', 'batchInputShape', 'name'], 'Activation');
    super('Activation', opts);
    if (opts.activation === undefined) throw new TypeError('Activation: activation is required');
    this.activation = checkActivation(opts.activation, 'Activation');
  }
  get className(): string {
    return 'Activation';
  }
  nativeSpec(): Record<string, unknown> {
    return { type: 'Activation', activation: this.activation };
  }
  getConfig(): Record<string, unknown> {
    return { name: this.name, trainable: true, activation: this.activation, dtype: 'float32' };
  }
}
