// Keras' Sequential model over the native core. This file checks every
// argument, prepares typed arrays, and drives the native training loop
// (one native call per epoch, or per batch when callbacks need batch hooks).
import { Tensor, sizeOf } from '../tensor.js';
import { addon, type NativeModel, type NativeDataset, type DeviceInfo, type RunStats } from '../native.js';
import { getBackend } from '../backend.js';
import { nextSeed, Random } from '../random.js';
import { Layer, type WeightOwner } from '../layers/layer.js';
import { SGD, getOptimizer } from '../optimizers/sgd.js';
import { History } from './history.js';
import { ProgressBar, type ProgressStream } from './progress.js';
import { formatSummary } from './summary.js';
import { type CallbackHooks, Callback, wantsBatchHooks, type Logs } from '../callbacks/callback.js';
import { TerminateOnNaN } from '../callbacks/terminate-on-nan.js';
import { saveModel, type SaveTarget, type SaveResult } from '../io/save.js';

export type LossName = 'categorical_crossentropy' | 'categoricalCrossentropy' | 'mean_squared_error' | 'meanSquaredError' | 'mse';

export interface CompileArgs {
  optimizer: 'sgd' | SGD | string;
  loss: LossName | string;
  metrics?: string[];
}

export interface FitArgs {
  batchSize?: number;
  epochs?: number;
  verbose?: 0 | 1 | 2;
  validationSplit?: number;
  validationData?: [Tensor, Tensor];
  shuffle?: boolean;
  callbacks?: CallbackHooks | CallbackHooks[];
  initialEpoch?: number;
  /** Reject inputs holding NaN or Infinity before training (off by default: it costs a pass over the data). */
  checkFinite?: boolean;
  /** Where progress is printed (default process.stdout). */
  stream?: ProgressStream;
}

export interface EvaluateArgs {
  batchSize?: number;
  verbose?: 0 | 1 | 2;
  stream?: ProgressStream;
}

export interface PredictArgs {
  batchSize?: number;
}

const LOSSES: Record<string, string> = {
  categorical_crossentropy: 'categorical_crossentropy',
  categoricalcrossentropy: 'categorical_crossentropy',
  mean_squared_error: 'mean_squared_error',
  meansquarederror: 'mean_squared_error',
  mse: 'mean_squared_error',
};

const ACCURACY_NAMES = ['accuracy', 'acc', 'categorical_accuracy', 'categoricalaccuracy'];

/**
 * A training run stopped by a NaN or infinite loss: says where it happened
 * (epoch and batch, 0-based; the message counts from 1) and carries the
 * history of the epochs completed before it. Without a TerminateOnNaN
 * callback fit throws this; with one, fit stops after that batch and returns
 * the history (the last epoch's loss is NaN), as Keras does. The batch is
 * exact on every device: the native side records it as the loss is summed
 * (on CUDA the loss is read only about every 10 batches, without stalling the
 * GPU, so training may run on a few batches past it before it stops).
 */
export class NonFiniteLossError extends Error {
  constructor(
    readonly epoch: number,
    readonly batch: number,
    readonly history: History,
  ) {
    super(`fit: the loss became NaN or infinite at epoch ${epoch + 1}, batch ${batch + 1}; training stopped (lower the learning rate or check the inputs)`);
    this.name = 'NonFiniteLossError';
  }
}

let sequentialCount = 0;

export class Sequential implements WeightOwner {
  readonly name: string;
  readonly layers: Layer[] = [];
  /** Set to true (e.g. from a callback) to stop fit after the current batch. */
  private stopRequested = false;
  private native?: NativeModel;
  private nativeInput?: number[];
  private compiled?: { optimizer: SGD; loss: string; metrics: string[] };
  private nativeCompiled = false; // this.native has been given this.compiled
  private busy = false;
  private disposed = false;
  private device?: string;
  private nativeSeed = 0;

  constructor(args: { layers?: Layer[]; name?: string } = {}) {
    this.name = args.name ?? (sequentialCount++ === 0 ? 'sequential' : `sequential_${sequentialCount - 1}`);
    for (const layer of args.layers ?? []) this.add(layer);
  }

  get stopTraining(): boolean {
    return this.stopRequested;
  }

  set stopTraining(value: boolean) {
    this.stopRequested = Boolean(value);
    if (this.stopRequested && this.native && this.busy) this.native.requestStop();
  }

  /** True while fit/evaluate/predict runs. */
  get isTraining(): boolean {
    return this.busy;
  }

  add(layer: Layer): void {
    this.checkUsable('add');
    if (this.busy) throw new Error('add: the model is busy (training, evaluating or predicting); add layers before or after');
    if (!(layer instanceof Layer)) throw new TypeError(`add: expected an xarxa layer (e.g. new xa.layers.Dense(10)), received ${describe(layer)}`);
    // A first layer without inputShape takes its shape from the data at fit time;
    // Keras ignores inputShape on later layers, and so do we.
    this.layers.push(layer);
    if (!this.native) {
      // Keras builds layers as they are added once the input shape is known, so a
      // layer that does not fit is refused here, not later at compile or fit.
      const shape = this.layers[0].inputShape;
      if (!shape) {
        layer.attachTo(this);
        return;
      }
      try {
        addon().checkModel({ inputShape: shape, layers: this.layers.map((l) => l.nativeSpec(() => 0)) });
      } catch (e) {
        this.layers.pop();
        throw nativeError(e, 'add', this.layers.concat(layer));
      }
      layer.attachTo(this);
      return;
    }
    // Rebuild with the new layer and carry the existing weights over. The old native
    // model is replaced only once the new one stands: a layer that does not fit is
    // refused and the model, its weights included, stays as it was.
    const input = this.nativeInput!;
    let fresh: NativeModel;
    try {
      fresh = this.createNative(input);
    } catch (e) {
      this.layers.pop();
      throw e;
    }
    try {
      const previous = this.native.getWeights();
      fresh.getWeights().forEach((_, i) => {
        if (i < previous.length) fresh.setWeight(i, previous[i]);
      });
      if (this.compiled) this.compileInto(fresh, this.compiled);
    } catch (e) {
      fresh.dispose();
      this.layers.pop();
      throw e;
    }
    this.releaseNative();
    this.native = fresh;
    this.nativeInput = [...input];
    this.nativeCompiled = this.compiled !== undefined;
    layer.attachTo(this);
  }

  /** Builds the native model for a per-sample input shape (done by compile or fit when needed). */
  build(inputShape?: number[]): void {
    this.checkUsable('build');
    if (this.native) return;
    if (this.layers.length === 0) throw new Error('build: the model has no layers; add some with model.add(...)');
    const shape = inputShape ?? this.layers[0].inputShape;
    if (!shape) {
      throw new Error(
        `build: the first layer (${this.layers[0].name}) has no inputShape; pass one, e.g. new Dense(32, { inputShape: [784] }), or call fit/predict to infer it from the data`,
      );
    }
    this.native = this.createNative(shape);
    this.nativeInput = [...shape];
    this.nativeCompiled = false;
  }

  /** A native model of the current layers for a per-sample input shape. */
  private createNative(shape: number[]): NativeModel {
    this.device = getBackend();
    this.nativeSeed = nextSeed();
    const spec = {
      device: this.device,
      seed: this.nativeSeed,
      inputShape: shape,
      layers: this.layers.map((l) => l.nativeSpec(nextSeed)),
    };
    try {
      return new (addon().NativeModel)(spec);
    } catch (e) {
      throw nativeError(e, 'build', this.layers);
    }
  }

  get built(): boolean {
    return this.native !== undefined;
  }

  /** Per-sample input shape, once known. */
  get inputShape(): number[] | undefined {
    return this.nativeInput ?? this.layers[0]?.inputShape;
  }

  /** Per-sample output shape of the last layer (builds the model). */
  get outputShape(): number[] {
    return this.ensureNative('outputShape').layers().at(-1)!.outputShape;
  }

  compile(args: CompileArgs): void {
    this.checkUsable('compile');
    if (typeof args !== 'object' || args === null) throw new TypeError('compile: expected { optimizer, loss, metrics }');
    for (const key of Object.keys(args)) {
      if (!['optimizer', 'loss', 'metrics'].includes(key)) throw new Error(`compile: unknown option '${key}' (known: optimizer, loss, metrics)`);
    }
    const optimizer = getOptimizer(args.optimizer);
    const lossKey = typeof args.loss === 'string' ? LOSSES[args.loss.toLowerCase()] : undefined;
    if (!lossKey) {
      throw new Error(`compile: unknown loss ${JSON.stringify(args.loss)} (expected 'categorical_crossentropy' or 'mean_squared_error')`);
    }
    const metrics = args.metrics ?? [];
    if (!Array.isArray(metrics)) throw new TypeError(`compile: metrics must be an array of names, received ${describe(metrics)}`);
    for (const m of metrics) {
      if (typeof m !== 'string' || !ACCURACY_NAMES.includes(m.toLowerCase())) {
        throw new Error(`compile: unknown metric ${JSON.stringify(m)} (xarxa supports 'accuracy')`);
      }
    }
    const compiled = { optimizer, loss: lossKey, metrics: metrics.length ? ['accuracy'] : [] };
    // The native model (built now when the input shape is known, else by the first
    // fit/evaluate from the data) takes the new settings first: if it refuses (busy),
    // the model keeps its previous ones.
    if (!this.native && this.layers[0]?.inputShape) this.build();
    if (this.native) {
      this.compileInto(this.native, compiled);
      this.nativeCompiled = true;
    }
    this.compiled = compiled;
  }

  private compileInto(native: NativeModel, c: NonNullable<Sequential['compiled']>): void {
    try {
      native.compile({ loss: c.loss, learningRate: c.optimizer.learningRate, momentum: c.optimizer.momentum, nesterov: c.optimizer.nesterov });
    } catch (e) {
      throw new Error(`compile: ${(e as Error).message}`);
    }
  }

  /** What compile was given (normalised loss and metric names), or undefined before compile. */
  get compileConfig(): { optimizer: SGD; loss: string; metrics: string[] } | undefined {
    return this.compiled ? { ...this.compiled, metrics: [...this.compiled.metrics] } : undefined;
  }

  /**
   * Saves the model in the TensorFlow.js Layers format: `dir/model.json`
   * (topology, weights manifest, training config) and `dir/weights.bin`
   * (little-endian float32, Keras layouts). The folder is replaced atomically:
   * an interrupted save leaves the previous checkpoint loadable. `target` may
   * also be a 'file://' URL or a tfjs IOHandler (an object with save()).
   */
  async save(target: SaveTarget): Promise<SaveResult> {
    this.checkUsable('save');
    return saveModel(this, target);
  }

  /** The optimizer given to compile (its learning rate may be changed with setLearningRate). */
  get optimizer(): SGD | undefined {
    return this.compiled?.optimizer;
  }

  setLearningRate(lr: number): void {
    if (!this.compiled) throw new Error('setLearningRate: compile the model first');
    const optimizer = new SGD({ ...this.compiled.optimizer, learningRate: lr });  // checks lr
    this.native?.setLearningRate(lr);  // first: a busy model refuses, and keeps its rate
    this.compiled = { ...this.compiled, optimizer };
  }

  async fit(x: Tensor, y: Tensor, args: FitArgs = {}): Promise<History> {
    this.checkUsable('fit');
    if (this.busy) throw new Error('fit: this model is already training (or evaluating/predicting); wait for it to finish');
    if (!this.compiled) throw new Error('fit: compile the model before fit (model.compile({ optimizer, loss, metrics }))');
    checkKeys(args, ['batchSize', 'epochs', 'verbose', 'validationSplit', 'validationData', 'shuffle', 'callbacks', 'initialEpoch', 'checkFinite', 'stream'], 'fit');
    const batchSize = optionalInt(args.batchSize, 32, 'fit: batchSize', 1, 2 ** 31 - 1);
    const epochs = optionalInt(args.epochs, 1, 'fit: epochs', 0);
    const initialEpoch = optionalInt(args.initialEpoch, 0, 'fit: initialEpoch', 0);
    const verbose = checkVerbose(args.verbose, 'fit');
    const shuffle = args.shuffle ?? true;
    if (typeof shuffle !== 'boolean') throw new TypeError(`fit: shuffle must be a boolean, received ${describe(shuffle)}`);
    const split = args.validationSplit ?? 0;
    if (typeof split !== 'number' || !(split >= 0 && split < 1)) {
      throw new RangeError(`fit: validationSplit must be a number in [0, 1), received ${describe(args.validationSplit)}`);
    }
    if (args.validationData !== undefined && split > 0) throw new Error('fit: give validationData or validationSplit, not both');

    this.busy = true; // claimed before any await: a second fit fails fast
    const datasets: NativeDataset[] = [];
    try {
      const [xs, ys] = this.checkXY(x, y, 'fit', args.checkFinite === true);
      const n = xs.shape[0];
      if (n === 0) throw new Error('fit: x has no samples');
      const splitAt = split > 0 ? Math.floor(n * (1 - split)) : n;
      if (split > 0 && (splitAt === 0 || splitAt === n)) {
        throw new Error(`fit: validationSplit ${split} of ${n} samples leaves ${splitAt === 0 ? 'no training' : 'no validation'} samples`);
      }
      const native = this.ensureCompiled(xs.shape.slice(1));
      const xRow = sizeOf(xs.shape.slice(1));
      const yRow = sizeOf(ys.shape.slice(1));
      const xData = xs.data as Float32Array;
      const yData = ys.data as Float32Array;
      const train = await native.createDataset(xData.subarray(0, splitAt * xRow), yData.subarray(0, splitAt * yRow), splitAt);
      datasets.push(train);
      let validation: NativeDataset | undefined;
      if (splitAt < n) {
        validation = await native.createDataset(xData.subarray(splitAt * xRow), yData.subarray(splitAt * yRow), n - splitAt);
        datasets.push(validation);
      } else if (args.validationData !== undefined) {
        if (!Array.isArray(args.validationData) || args.validationData.length !== 2) {
          throw new TypeError('fit: validationData must be [xVal, yVal]');
        }
        const [xv, yv] = this.checkXY(args.validationData[0], args.validationData[1], 'fit: validationData', args.checkFinite === true);
        if (xv.shape[0] === 0) throw new Error('fit: validationData has no samples (leave it out to train without validation)');
        validation = await native.createDataset(xv.data as Float32Array, yv.data as Float32Array, xv.shape[0]);
        datasets.push(validation);
      }
      return await this.trainLoop(native, train, validation, {
        n: splitAt,
        batchSize,
        epochs,
        initialEpoch,
        verbose,
        shuffle,
        callbacks: toCallbackList(args.callbacks, this),
        stream: args.stream ?? process.stdout,
      });
    } finally {
      for (const d of datasets) d.dispose();
      this.busy = false;
    }
  }

  private async trainLoop(
    native: NativeModel,
    train: NativeDataset,
    validation: NativeDataset | undefined,
    o: { n: number; batchSize: number; epochs: number; initialEpoch: number; verbose: number; shuffle: boolean; callbacks: CallbackHooks[]; stream: ProgressStream },
  ): Promise<History> {
    const history = new History();
    const steps = Math.ceil(o.n / o.batchSize);
    const metrics = this.compiled!.metrics;
    const epochSeconds: number[] = [];
    const epochSteps: number[] = []; // batches trained in each recorded epoch (fewer than steps: cut short)
    history.params = { verbose: o.verbose, epochs: o.epochs, steps, samples: o.n, batchSize: o.batchSize, device: this.device, epochSeconds, epochSteps };
    const random = new Random(nextSeed());
    const batchHooks = wantsBatchHooks(o.callbacks);
    // With TerminateOnNaN a non-finite loss stops training and fit returns the
    // history; without it fit throws NonFiniteLossError (see its doc).
    const nanStoppers = o.callbacks.filter((c): c is TerminateOnNaN => c instanceof TerminateOnNaN);
    const onNonFinite = async (epoch: number, batch: number): Promise<void> => {
      if (nanStoppers.length === 0) throw new NonFiniteLossError(epoch, batch, history);
      this.stopRequested = true;
      for (const c of nanStoppers) c.onNonFiniteLoss(epoch, batch, o.verbose ? o.stream : undefined);
    };
    const progressEvery = this.device === 'cpu' ? 1 : 10;
    this.stopRequested = false;
    for (const c of o.callbacks) await c.onTrainBegin?.({});

    const logsOf = (s: RunStats): Logs => {
      const logs: Logs = { loss: s.lossSum / Math.max(s.samples, 1) };
      if (metrics.length) logs.acc = logs.accuracy = s.correct / Math.max(s.samples, 1);
      return logs;
    };
    const display = (logs: Logs): Logs => {
      const shown: Logs = {};
      for (const [k, v] of Object.entries(logs)) if (k !== 'accuracy' && k !== 'val_accuracy') shown[k] = v;
      return shown;
    };

    // As in Keras, stopTraining is looked at after each batch and each epoch: an
    // epoch, once begun, trains at least one batch and is recorded, even when
    // stopTraining was set before it (in onTrainBegin or onEpochBegin).
    let lastLogs: Logs = {};
    for (let epoch = o.initialEpoch; epoch < o.epochs; epoch++) {
      if (o.verbose) o.stream.write(`Epoch ${epoch + 1}/${o.epochs}\n`);
      for (const c of o.callbacks) await c.onEpochBegin?.(epoch, {});
      const started = performance.now();
      const order = o.shuffle ? random.permutation(o.n) : identity(o.n);
      const bar = new ProgressBar(steps, o.verbose, o.stream);
      let totals: RunStats = { lossSum: 0, correct: 0, samples: 0, batches: 0, stopped: false, firstNonFiniteBatch: -1 };
      if (batchHooks) {
        for (let b = 0; b < steps && (b === 0 || !this.stopRequested); b++) {
          const rows = Math.min(o.batchSize, o.n - b * o.batchSize);
          for (const c of o.callbacks) await c.onBatchBegin?.(b, { batch: b, size: rows });
          const s = await native.train(train, order, o.batchSize, b, b + 1, 1);
          totals = { lossSum: totals.lossSum + s.lossSum, correct: totals.correct + s.correct, samples: totals.samples + s.samples, batches: totals.batches + 1, stopped: false, firstNonFiniteBatch: -1 };
          // As in Keras, a batch's logs hold the epoch's running averages so far.
          const batchLogs: Logs = { batch: b, size: rows, ...logsOf(totals) };
          if (!Number.isFinite(s.lossSum)) await onNonFinite(epoch, b);
          bar.update(b + 1, display(logsOf(totals)));
          for (const c of o.callbacks) await c.onBatchEnd?.(b, batchLogs);
        }
      } else {
        let stopAsked = false;
        totals = await native.train(train, order, o.batchSize, 0, this.stopRequested ? Math.min(1, steps) : steps, progressEvery, (b, s) => {
          if (!stopAsked && !Number.isFinite(s.lossSum)) {
            stopAsked = true; // the first report with a non-finite loss: stop right there
            native.requestStop();
          }
          bar.update(b + 1, display(logsOf(s)));
        });
        // The native side records the exact batch, however rarely the loss was read.
        if (!Number.isFinite(totals.lossSum)) await onNonFinite(epoch, totals.firstNonFiniteBatch >= 0 ? totals.firstNonFiniteBatch : totals.batches - 1);
      }
      const logs = logsOf(totals);
      // As in Keras, an epoch cut short by stopTraining is still validated and
      // recorded, so every history key has one value per recorded epoch.
      if (validation) {
        const v = await native.evaluate(validation, o.batchSize);
        const vl = logsOf(v);
        logs.val_loss = vl.loss;
        if (metrics.length) logs.val_acc = logs.val_accuracy = vl.acc;
      }
      epochSeconds.push((performance.now() - started) / 1000);
      epochSteps.push(totals.batches);
      bar.done(totals.batches, display(logs));
      // As in Keras, every callback gets the same logs and the history records
      // them last, so a quantity one callback adds (a custom metric) reaches
      // the others (EarlyStopping, ModelCheckpoint) and the history.
      for (const c of o.callbacks) await c.onEpochEnd?.(epoch, logs);
      history.record(epoch, logs);
      lastLogs = logs;
      if (this.stopRequested) break;
    }
    for (const c of o.callbacks) await c.onTrainEnd?.(lastLogs);
    return history;
  }

  /** Returns the loss, or [loss, accuracy] when compiled with metrics (as Keras does). */
  async evaluate(x: Tensor, y: Tensor, args: EvaluateArgs = {}): Promise<number | number[]> {
    this.checkUsable('evaluate');
    if (!this.compiled) throw new Error('evaluate: compile the model first');
    checkKeys(args, ['batchSize', 'verbose', 'stream'], 'evaluate');
    const batchSize = optionalInt(args.batchSize, 32, 'evaluate: batchSize', 1, 2 ** 31 - 1);
    const verbose = checkVerbose(args.verbose, 'evaluate');
    if (this.busy) throw new Error('evaluate: this model is busy training; wait for fit to finish');
    this.busy = true;
    let data: NativeDataset | undefined;
    try {
      const [xs, ys] = this.checkXY(x, y, 'evaluate', false);
      if (xs.shape[0] === 0) throw new Error('evaluate: x has no samples');
      const native = this.ensureCompiled(xs.shape.slice(1));
      const steps = Math.ceil(xs.shape[0] / batchSize);
      const bar = new ProgressBar(steps, verbose, args.stream ?? process.stdout); // started now: times the evaluation
      data = await native.createDataset(xs.data as Float32Array, ys.data as Float32Array, xs.shape[0]);
      const s = await native.evaluate(data, batchSize);
      const loss = s.lossSum / s.samples;
      const acc = s.correct / s.samples;
      bar.done(steps, this.compiled.metrics.length ? { loss, acc } : { loss });
      return this.compiled.metrics.length ? [loss, acc] : loss;
    } finally {
      data?.dispose();
      this.busy = false;
    }
  }

  /** Model outputs for x, as a float32 Tensor [N, ...outputShape]. */
  async predict(x: Tensor, args: PredictArgs = {}): Promise<Tensor> {
    this.checkUsable('predict');
    checkKeys(args, ['batchSize'], 'predict');
    const batchSize = optionalInt(args.batchSize, 32, 'predict: batchSize', 1, 2 ** 31 - 1);
    if (this.busy) throw new Error('predict: this model is busy training; wait for fit to finish');
    this.busy = true;
    let data: NativeDataset | undefined;
    try {
      const xs = this.checkX(x, 'predict', false);
      this.build(xs.shape.slice(1));
      const native = this.native!;
      data = await native.createDataset(xs.data as Float32Array, null, xs.shape[0]);
      const out = await native.predict(data, batchSize);
      return new Tensor(out, [xs.shape[0], ...this.outputShape]);
    } finally {
      data?.dispose();
      this.busy = false;
    }
  }

  /** Weights in Keras order and layouts: per layer, kernel then bias. */
  getWeights(): Tensor[] {
    const native = this.ensureNative('getWeights');
    const shapes = native.layers().flatMap((l) => l.weights.map((w) => w.shape));
    return native.getWeights().map((data, i) => new Tensor(data, shapes[i]));
  }

  setWeights(weights: Tensor[]): void {
    const native = this.ensureNative('setWeights');
    // Allowed between batches during fit (callbacks such as EarlyStopping
    // restore weights); the native model refuses while a native job runs.
    const specs = native.layers().flatMap((l) => l.weights.map((w) => ({ layer: l.kind, ...w })));
    if (!Array.isArray(weights) || weights.length !== specs.length) {
      throw new Error(`setWeights: expected ${specs.length} tensors, received ${Array.isArray(weights) ? weights.length : describe(weights)}`);
    }
    weights.forEach((w, i) => {
      if (!(w instanceof Tensor)) throw new TypeError(`setWeights: weight ${i} must be a Tensor, received ${describe(w)}`);
      checkData(w, `setWeights: weight ${i}`);
      const want = specs[i].shape;
      if (w.shape.length !== want.length || w.shape.some((d, k) => d !== want[k])) {
        throw new Error(`setWeights: weight ${i} (${specs[i].layer} ${specs[i].name}) must have shape [${want.join(', ')}], received [${w.shape.join(', ')}]`);
      }
      const data = w.dtype === 'float32' ? (w.data as Float32Array) : (w.astype('float32').data as Float32Array);
      if (!data.every(Number.isFinite)) throw new Error(`setWeights: weight ${i} (${specs[i].layer} ${specs[i].name}) holds NaN or Infinity`);
    });
    weights.forEach((w, i) => native.setWeight(i, w.dtype === 'float32' ? (w.data as Float32Array) : (w.astype('float32').data as Float32Array)));
  }

  /** layer.getWeights(): that layer's part of getWeights() ([] while the model cannot be built). */
  layerWeights(layer: Layer): Tensor[] {
    const range = this.weightRange(layer, 'getWeights');
    if (!range) return [];
    return this.getWeights().slice(range.start, range.end);
  }

  /** layer.setWeights(ws): setWeights with that layer's part replaced. */
  setLayerWeights(layer: Layer, weights: Tensor[]): void {
    const range = this.weightRange(layer, 'setWeights');
    const count = range ? range.end - range.start : 0;
    if (!Array.isArray(weights) || weights.length !== count) {
      throw new Error(`${layer.name}.setWeights: expected ${count} tensors, received ${Array.isArray(weights) ? weights.length : describe(weights)}`);
    }
    if (!range || count === 0) return;
    const all = this.getWeights();
    all.splice(range.start, count, ...weights);
    this.setWeights(all);
  }

  /** Where a layer's weights lie in getWeights(); undefined while the model has no input shape to build from. */
  private weightRange(layer: Layer, what: string): { start: number; end: number } | undefined {
    const index = this.layers.indexOf(layer);
    if (index < 0) throw new Error(`${layer.name}.${what}: the layer is no longer in model '${this.name}'`);
    if (!this.native && !this.layers[0].inputShape) return undefined;
    const counts = this.ensureNative(`${layer.name}.${what}`).layers().map((l) => l.weights.length);
    const start = counts.slice(0, index).reduce((a, b) => a + b, 0);
    return { start, end: start + counts[index] };
  }

  countParams(): number {
    return this.ensureNative('countParams')
      .layers()
      .reduce((sum, l) => sum + l.weights.reduce((s, w) => s + sizeOf(w.shape), 0), 0);
  }

  /** Prints (and returns) a Keras-style table of layers, output shapes and parameter counts. */
  summary(printFn: (line: string) => void = console.log): string {
    const native = this.ensureNative('summary');
    const text = formatSummary(this.name, this.layers, native.layers(), this.deviceInfo());
    for (const line of text.split('\n')) printFn(line);
    return text;
  }

  /** The device this model runs on. */
  deviceInfo(): DeviceInfo {
    return this.ensureNative('deviceInfo').info();
  }

  /** Bytes of native (CPU or GPU) memory this model holds now. */
  memoryInUse(): number {
    return this.native ? this.native.memoryInUse() : 0;
  }

  /** Frees the native model (weights, buffers). The model cannot be used afterwards. */
  dispose(): void {
    if (this.busy) throw new Error('dispose: the model is busy; wait for fit/evaluate/predict to finish');
    this.releaseNative();
    this.disposed = true;
  }

  // ---- internals ----------------------------------------------------------------

  private releaseNative(): void {
    this.native?.dispose();
    this.native = undefined;
    this.nativeInput = undefined;
    this.nativeCompiled = false;
  }

  private checkUsable(what: string): void {
    if (this.disposed) throw new Error(`${what}: the model was disposed`);
  }

  private ensureNative(what: string): NativeModel {
    this.checkUsable(what);
    if (!this.native) this.build();
    return this.native!;
  }

  private ensureCompiled(inputShape: number[]): NativeModel {
    if (!this.native) this.build(inputShape);
    if (!this.nativeCompiled) {
      this.compileInto(this.native!, this.compiled!);
      this.nativeCompiled = true;
    }
    return this.native!;
  }

  private checkX(x: Tensor, where: string, checkFinite: boolean): Tensor {
    if (!(x instanceof Tensor)) throw new TypeError(`${where}: x must be a Tensor (xa.tensor(...)), received ${describe(x)}`);
    checkData(x, `${where}: x`);
    if (x.rank < 2) throw new Error(`${where}: x must have a batch axis: shape [samples, ...features], received [${x.shape.join(', ')}]`);
    const expected = this.inputShape;
    const got = x.shape.slice(1);
    if (expected && (expected.length !== got.length || expected.some((d, i) => d !== got[i]))) {
      throw new Error(`${where}: x has per-sample shape [${got.join(', ')}] (x shape [${x.shape.join(', ')}]), but the model's input shape is [${expected.join(', ')}]`);
    }
    if (x.shape[0] > 0 && sizeOf(got) === 0) throw new Error(`${where}: x has empty samples (shape [${x.shape.join(', ')}])`);
    const xs = x.dtype === 'float32' ? x : x.astype('float32');
    if (checkFinite) {
      const i = (xs.data as Float32Array).findIndex((v) => !Number.isFinite(v));
      if (i >= 0) throw new Error(`${where}: x holds a non-finite value (${xs.data[i]}) at sample ${Math.floor(i / sizeOf(got))}`);
    }
    return xs;
  }

  private checkXY(x: Tensor, y: Tensor, where: string, checkFinite: boolean): [Tensor, Tensor] {
    const xs = this.checkX(x, where, checkFinite);
    if (!(y instanceof Tensor)) throw new TypeError(`${where}: y must be a Tensor, received ${describe(y)}`);
    checkData(y, `${where}: y`);
    if (y.rank < 1) throw new Error(`${where}: y must have a batch axis: shape [samples, ...], received a scalar`);
    if (y.shape[0] !== xs.shape[0]) {
      throw new Error(`${where}: x has ${xs.shape[0]} samples but y has ${y.shape[0]}; they must match`);
    }
    if (!this.native) this.build(xs.shape.slice(1));
    const out = this.outputShape;
    const got = y.shape.slice(1);
    if (got.length !== out.length || got.some((d, i) => d !== out[i])) {
      const hint =
        this.compiled?.loss === 'categorical_crossentropy' && (got.length === 0 || (got.length === 1 && got[0] === 1))
          ? ` It looks like integer class labels: one-hot encode them with xa.utils.toCategorical(y, ${out.at(-1)}).`
          : '';
      throw new Error(`${where}: y has per-sample shape [${got.join(', ')}] (width ${got.at(-1) ?? 1}), but the last layer outputs [${out.join(', ')}].${hint}`);
    }
    const ys = y.dtype === 'float32' ? y : y.astype('float32');
    const i = (ys.data as Float32Array).findIndex((v) => !Number.isFinite(v));
    if (i >= 0) throw new Error(`${where}: y holds a non-finite value (${ys.data[i]}) at sample ${Math.floor(i / sizeOf(got))}`);
    return [xs, ys];
  }
}

/** The tensor's data still matches its shape: not detached (transferred), shrunk or swapped for another array type. */
function checkData(t: Tensor, where: string): void {
  const data = t.data as unknown;
  if (!(data instanceof Float32Array || data instanceof Int32Array || data instanceof Uint8Array)) {
    throw new TypeError(`${where} holds ${describe(data)}, not a Float32Array, Int32Array or Uint8Array`);
  }
  if (data.length !== sizeOf(t.shape)) {
    const detached = data.buffer.byteLength === 0 && sizeOf(t.shape) > 0;
    throw new Error(
      `${where} has shape [${t.shape.join(', ')}] (${sizeOf(t.shape)} values) but its data holds ${data.length}` +
        (detached ? ': its ArrayBuffer was detached (transferred, e.g. by structuredClone or postMessage)' : ''),
    );
  }
}

function identity(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

function toCallbackList(value: unknown, model: Sequential): CallbackHooks[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  for (const c of list) {
    if (typeof c !== 'object' || c === null) throw new TypeError(`fit: callbacks must be objects with onEpochEnd/onBatchEnd/... hooks, received ${describe(c)}`);
    if (c instanceof Callback) c.setModel(model);
  }
  return list as CallbackHooks[];
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'Object'})`;
  if (typeof v === 'bigint' || typeof v === 'symbol' || typeof v === 'function') return `a ${typeof v} (${String(v).slice(0, 40)})`;
  if (typeof v === 'number') return `number ${String(v)}`; // NaN, Infinity: JSON would say null
  return `${typeof v} ${JSON.stringify(v)}`;
}

function optionalInt(value: unknown, fallback: number, where: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${where} must be an integer >= ${min}, received ${describe(value)}`);
  }
  if (value > max) throw new RangeError(`${where} must be at most ${max}, received ${describe(value)}`);
  return value;
}

function checkVerbose(value: unknown, where: string): 0 | 1 | 2 {
  if (value === undefined) return 1;
  if (value !== 0 && value !== 1 && value !== 2) throw new RangeError(`${where}: verbose must be 0, 1 or 2, received ${describe(value)}`);
  return value;
}

function checkKeys(args: object, allowed: string[], where: string): void {
  if (typeof args !== 'object' || args === null) throw new TypeError(`${where}: options must be an object`);
  for (const key of Object.keys(args)) {
    if (!allowed.includes(key)) throw new Error(`${where}: unknown option '${key}' (known: ${allowed.join(', ')})`);
  }
}

/** A native error for `verb`, naming the layer (layers[2] -> layer 2 'dense_1') and keeping the error's class. */
function nativeError(e: unknown, verb: string, layers: readonly Layer[]): Error {
  const message = String((e as Error).message).replace(/layers\[(\d+)\]/g, (m, i) => {
    const layer = layers[Number(i)];
    return layer ? `layer ${i} '${layer.name}'` : m;
  });
  const Ctor = e instanceof RangeError ? RangeError : e instanceof TypeError ? TypeError : Error;
  return new Ctor(`${verb}: ${message}`);
}
