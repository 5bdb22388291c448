import { parseDataFormat, type DataFormat } from '../backend.js';
import { Layer, type LayerArgs, checkOptions, checkPadding, intPair, isOptions, trailingOptions } from './layer.js';

export interface Pooling2DArgs extends LayerArgs {
  poolSize?: number | [number, number];
  strides?: number | [number, number] | null;
  padding?: 'valid' | 'same';
  dataFormat?: DataFormat | 'channels_last' | 'channels_first';
}

const OPTIONS = ['poolSize', 'strides', 'padding', 'dataFormat', 'inputShape', 'batchInputShape', 'name'];

/**
 * Shared by MaxPooling2D and AveragePooling2D: strides default to poolSize, as in Keras.
 * Accepts new MaxPooling2D({ poolSize, ... }) and new MaxPooling2D(poolSize, opts).
 */
abstract class Pooling2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  readonly dataFormat: DataFormat;

  protected constructor(className: string, poolSize: number | [number, number] | Pooling2DArgs | undefined, rest: Pooling2DArgs | undefined) {
    // Keras' MaxPooling2D((2, 2)) or MaxPooling2D(2, strides=...): the pool size may come first.
    const first = poolSize !== undefined && isOptions(poolSize, className);
    const extra = trailingOptions<Pooling2DArgs>(rest, first, className);
    const args: Pooling2DArgs = first
      ? { ...(poolSize as Pooling2DArgs) }
      : { ...extra, ...(poolSize !== undefined ? { poolSize: poolSize as number | [number, number] } : {}) };
    checkOptions(args, OPTIONS, className);
    super(className, args);
    this.poolSize = intPair(args.poolSize ?? 2, `${className}: poolSize`);
    this.strides = args.strides === undefined || args.strides === null ? this.poolSize : intPair(args.strides, `${className}: strides`);
    this.padding = checkPadding(args.padding, className);
    this.dataFormat = parseDataFormat(args.dataFormat, className);
  }

  nativeSpec(): Record<string, unknown> {
    return { type: this.className, poolSize: this.poolSize, strides: this.strides, padding: this.padding, dataFormat: this.dataFormat };
  }

  getConfig(): Record<string, unknown> {
    return {
      name: this.name,
      trainable: true,
      pool_size: this.poolSize,
      strides: this.strides,
      padding: this.padding,
      data_format: this.dataFormat === 'channelsLast' ? 'channels_last' : 'channels_first',
      dtype: 'float32',
    };
  }
}

/** Keras MaxPooling2D: padded cells never win; ties go to the first maximum. */
export class MaxPooling2D extends Pooling2D {
  constructor(poolSize?: number | [number, number] | Pooling2DArgs, args?: Pooling2DArgs) {
    super('MaxPooling2D', poolSize, args);
  }
  get className(): string {
    return 'MaxPooling2D';
  }
}

/** Keras AveragePooling2D: averages over the real (unpadded) cells of each window. */
export class AveragePooling2D extends Pooling2D {
  constructor(poolSize?: number | [number, number] | Pooling2DArgs, args?: Pooling2DArgs) {
    super('AveragePooling2D', poolSize, args);
  }
  get className(): string {
    return 'AveragePooling2D';
  }
}
