import { parseDataFormat, type DataFormat } from '../backend.js';
import { Layer, type LayerArgs, type ActivationName, checkActivation, checkOptions, checkPadding, intPair, positiveInt, isOptions, trailingOptions } from './layer.js';

export interface Conv2DArgs extends LayerArgs {
  filters?: number;
  kernelSize?: number | [number, number];
  strides?: number | [number, number];
  padding?: 'valid' | 'same';
  activation?: ActivationName;
  dataFormat?: DataFormat | 'channels_last' | 'channels_first';
  useBias?: boolean;
}

const OPTIONS = ['filters', 'kernelSize', 'strides', 'padding', 'activation', 'dataFormat', 'useBias', 'inputShape', 'batchInputShape', 'name'];

/**
 * Keras Conv2D: kernel [kh, kw, in, filters] (glorot-uniform over receptive-field
 * fans), zero bias, TF 'same'/'valid' padding, channelsLast (default) or channelsFirst.
 * Accepts new Conv2D({ filters, kernelSize, ... }) and new Conv2D(filters, kernelSize, opts).
 */
export class Conv2D extends Layer {
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  readonly activation: ActivationName;
  readonly dataFormat: DataFormat;
  readonly useBias: boolean;

  constructor(filters: number | Conv2DArgs, kernelSize?: number | [number, number], args?: Conv2DArgs) {
    const first = isOptions(filters, 'Conv2D');
    // new Conv2D({ ... }) takes nothing after its options object.
    const rest = trailingOptions<Conv2DArgs>(first ? (kernelSize ?? args) : args, first, 'Conv2D');
    const opts: Conv2DArgs = first ? { ...(filters as Conv2DArgs) } : { ...rest, filters: filters as number, kernelSize };
    checkOptions(opts, OPTIONS, 'Conv2D');
    super('Conv2D', opts);
    this.filters = positiveInt(opts.filters, 'Conv2D: filters');
    if (opts.kernelSize === undefined) throw new TypeError('Conv2D: kernelSize is required');
    this.kernelSize = intPair(opts.kernelSize, 'Conv2D: kernelSize');
    this.strides = intPair(opts.strides ?? 1, 'Conv2D: strides');
    this.padding = checkPadding(opts.padding, 'Conv2D');
    this.activation = checkActivation(opts.activation, 'Conv2D');
    this.dataFormat = parseDataFormat(opts.dataFormat, 'Conv2D');
    this.useBias = opts.useBias ?? true;
  }

  get className(): string {
    return 'Conv2D';
  }

  nativeSpec(): Record<string, unknown> {
    return {
      type: 'Conv2D',
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dataFormat: this.dataFormat,
      activation: this.activation,
      useBias: this.useBias,
    };
  }

  getConfig(): Record<string, unknown> {
    return {
      name: this.name,
      trainable: true,
      filters: this.filters,
      kernel_size: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      data_format: this.dataFormat === 'channelsLast' ? 'channels_last' : 'channels_first',
      dilation_rate: [1, 1],
      activation: this.activation,
      use_bias: this.useBias,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
      dtype: 'float32',
    };
  }
}
