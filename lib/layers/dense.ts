import { Layer, type LayerArgs, type ActivationName, checkActivation, checkOptions, positiveInt, isOptions, trailingOptions } from './layer.js';

export interface DenseArgs extends LayerArgs {
  units?: number;
  activation?: ActivationName;
  useBias?: boolean;
}

const OPTIONS = ['units', 'activation', 'useBias', 'inputShape', 'batchInputShape', 'name', 'inputDim'];

/** Keras Dense: activation(x @ kernel + bias); kernel [in, units], glorot-uniform; bias zeros. */
export class Dense extends Layer {
  readonly units: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;

  constructor(units: number | DenseArgs, args?: DenseArgs & { inputDim?: number }) {
    const first = isOptions(units, 'Dense');
    const rest = trailingOptions<DenseArgs & { inputDim?: number }>(args, first, 'Dense');
    const opts: DenseArgs & { inputDim?: number } = first ? { ...(units as DenseArgs) } : { ...rest, units: units as number };
    checkOptions(opts, OPTIONS, 'Dense');
    if (opts.inputDim !== undefined && opts.inputShape === undefined) opts.inputShape = [positiveInt(opts.inputDim, 'Dense: inputDim')];
    super('Dense', opts);
    this.units = positiveInt(opts.units, 'Dense: units');
    this.activation = checkActivation(opts.activation, 'Dense');
    this.useBias = opts.useBias ?? true;
  }

  get className(): string {
    return 'Dense';
  }

  nativeSpec(): Record<string, unknown> {
    return { type: 'Dense', units: this.units, activation: this.activation, useBias: this.useBias };
  }

  getConfig(): Record<string, unknown> {
    return {
      name: this.name,
      trainable: true,
      units: this.units,
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
