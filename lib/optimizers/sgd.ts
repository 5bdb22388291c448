// Keras SGD: learning rate 0.01 by default; optional momentum and Nesterov.

export interface SGDArgs {
  learningRate?: number;
  momentum?: number;
  nesterov?: boolean;
}

export class SGD {
  readonly learningRate: number;
  readonly momentum: number;
  readonly nesterov: boolean;

  /** new SGD({ learningRate, momentum, nesterov }), or new SGD(learningRate) as Keras' SGD(0.1) and tfjs' sgd(0.1). */
  constructor(learningRate: number | SGDArgs = {}) {
    const args: SGDArgs = typeof learningRate === 'number' ? { learningRate } : learningRate;
    if (typeof args !== 'object' || args === null) throw new TypeError('SGD: expected a learning rate or an options object');
    for (const key of Object.keys(args)) {
      if (!['learningRate', 'momentum', 'nesterov'].includes(key)) throw new Error(`SGD: unknown option '${key}' (known: learningRate, momentum, nesterov)`);
    }
    const lr = args.learningRate ?? 0.01;
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      throw new RangeError(`SGD: learningRate must be a finite number >= 0, received ${String(lr)}`);
    }
    const momentum = args.momentum ?? 0;
    if (typeof momentum !== 'number' || !Number.isFinite(momentum) || momentum < 0 || momentum > 1) {
      throw new RangeError(`SGD: momentum must be a number in [0, 1], received ${String(momentum)}`);
    }
    if (args.nesterov !== undefined && typeof args.nesterov !== 'boolean') {
      throw new TypeError(`SGD: nesterov must be a boolean, received ${String(args.nesterov)}`);
    }
    this.learningRate = lr;
    this.momentum = momentum;
    this.nesterov = args.nesterov ?? false;
  }

  getConfig(): Record<string, unknown> {
    return { learning_rate: this.learningRate, momentum: this.momentum, nesterov: this.nesterov };
  }
}

/** 'sgd' (any case) or an SGD instance. */
export function getOptimizer(value: unknown): SGD {
  if (value instanceof SGD) return value;
  if (typeof value === 'string' && value.toLowerCase() === 'sgd') return new SGD();
  throw new Error(`compile: unknown optimizer ${JSON.stringify(value)} (xarxa supports 'sgd' or new xa.optimizers.SGD({...}))`);
}
