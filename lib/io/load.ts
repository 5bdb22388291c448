// xa.loadModel(dir | 'dir/model.json' | IOHandler): reads a Sequential model
// in the TensorFlow.js Layers format, whether saved by xarxa or by TensorFlow.js
// (tfjs-node's file:// layout, tf.io.withSaveHandler artifacts, or Keras models
// converted by tensorflowjs_converter), for the layers xarxa supports.
//
// Layer configs are accepted in snake_case (what tfjs and Keras write) and
// camelCase; tfjs and Keras class-name aliases are understood (MaxPool2D,
// AvgPool2D, Convolution2D, ...). What changes the forward pass and xarxa
// cannot do (dilation, groups, causal padding, noise shapes, other
// activations, other layers) is refused with an error naming the layer;
// regularizers, constraints and initializers do not affect inference and are
// dropped. With a trainingConfig the model is compiled (SGD / tfjs
// MomentumOptimizer; categorical cross-entropy or MSE) unless { compile: false }.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Sequential } from '../models/sequential.js';
import { Tensor } from '../tensor.js';
import { SGD } from '../optimizers/sgd.js';
import { Dense } from '../layers/dense.js';
import { Conv2D } from '../layers/conv2d.js';
import { MaxPooling2D, AveragePooling2D } from '../layers/pooling2d.js';
import { Flatten, Dropout, Activation } from '../layers/simple.js';
import type { Layer } from '../layers/layer.js';
import {
  MODEL_JSON,
  decodeGroup,
  filePath,
  flattenWeightData,
  type ModelArtifacts,
  type ModelJSON,
  type TrainingConfig,
  type WeightSpec,
  type WeightsManifestGroup,
} from './format.js';
import { siblings } from './save.js';

export interface LoadOptions {
  /** Compile from the saved trainingConfig when there is one (default true). */
  compile?: boolean;
}

/** An object with load(), like tfjs' IOHandlers (tf.io.fromMemory(...)). */
export interface LoadHandler {
  load(): Promise<ModelArtifacts> | ModelArtifacts;
}

// ---- reading files ------------------------------------------------------------------

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** model.json's path for a folder or file argument, following an interrupted save (see save.ts). */
async function locate(source: string): Promise<{ file: string; text: string }> {
  const p = path.resolve(filePath(source));
  if (p.endsWith('.json')) {
    const text = await readIfExists(p);
    if (text === undefined) throw new Error(`loadModel: ${p} does not exist`);
    return { file: p, text };
  }
  const direct = await readIfExists(path.join(p, MODEL_JSON));
  if (direct !== undefined) return { file: path.join(p, MODEL_JSON), text: direct };
  const dirExists = await fs.stat(p).then(
    () => true,
    () => false,
  );
  if (!dirExists) {
    // A save interrupted between its two renames (see save.ts): the last
    // committed checkpoint is in dir.old.
    const { old } = siblings(p);
    const text = await readIfExists(path.join(old, MODEL_JSON));
    if (text !== undefined) return { file: path.join(old, MODEL_JSON), text };
    throw new Error(`loadModel: ${p} does not exist`);
  }
  throw new Error(`loadModel: ${p} has no ${MODEL_JSON}`);
}

/** Reads model.json and its weight files into model artifacts (as tfjs-node's file:// loader does). */
export async function readArtifacts(source: string): Promise<ModelArtifacts> {
  const { file, text } = await locate(source);
  let json: ModelJSON;
  try {
    json = JSON.parse(text) as ModelJSON;
  } catch (e) {
    throw new Error(`loadModel: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`loadModel: ${file} does not hold a JSON object`);
  if (json.modelTopology === undefined) throw new Error(`loadModel: ${file} has no modelTopology`);
  const base = path.dirname(file);
  const manifest = json.weightsManifest ?? [];
  if (!Array.isArray(manifest)) throw new Error(`loadModel: ${file}: weightsManifest must be an array`);
  const specs: WeightSpec[] = [];
  const chunks: Uint8Array[] = [];
  for (const group of manifest as WeightsManifestGroup[]) {
    if (typeof group !== 'object' || group === null || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new Error(`loadModel: ${file}: each weightsManifest entry needs paths and weights arrays`);
    }
    for (const rel of group.paths) {
      if (typeof rel !== 'string' || rel === '' || path.isAbsolute(rel)) throw new Error(`loadModel: ${file}: weight path ${JSON.stringify(rel)} must be relative`);
      const full = path.resolve(base, rel);
      if (path.relative(base, full).startsWith('..')) throw new Error(`loadModel: ${file}: weight path '${rel}' leaves the model's folder`);
      try {
        chunks.push(new Uint8Array(await fs.readFile(full)));
      } catch (e) {
        throw new Error(`loadModel: cannot read the weights file ${full} named in ${file} (${(e as Error).message})`);
      }
    }
    specs.push(...group.weights);
  }
  const weightData = flattenWeightData(chunks.map((c) => c.buffer.slice(c.byteOffset, c.byteOffset + c.byteLength) as ArrayBuffer));
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    trainingConfig: json.trainingConfig,
    userDefinedMetadata: json.userDefinedMetadata,
    weightSpecs: specs,
    weightData: weightData.buffer as ArrayBuffer,
  };
}

// ---- layer configs ------------------------------------------------------------------

type Config = Record<string, unknown>;

const camel = (key: string) => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A config value under its snake_case key or its camelCase twin. */
function get(config: Config, key: string): unknown {
  if (config[key] !== undefined) return config[key];
  return config[camel(key)];
}

const SUPPORTED = ['Dense', 'Conv2D', 'MaxPooling2D', 'AveragePooling2D', 'Flatten', 'Dropout', 'Activation', 'InputLayer'];
const ALIASES: Record<string, string> = {
  Dense: 'Dense',
  Conv2D: 'Conv2D',
  Convolution2D: 'Conv2D',
  MaxPooling2D: 'MaxPooling2D',
  MaxPool2D: 'MaxPooling2D',
  AveragePooling2D: 'AveragePooling2D',
  AvgPool2D: 'AveragePooling2D',
  AvgPooling2D: 'AveragePooling2D',
  Flatten: 'Flatten',
  Dropout: 'Dropout',
  Activation: 'Activation',
  InputLayer: 'InputLayer',
};

class LayerError extends Error {}

function pair(value: unknown, what: string): number | [number, number] {
  if (typeof value === 'number') return value;
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) return [value[0], value[1]];
  throw new LayerError(`${what} must be a number or a pair of numbers, received ${JSON.stringify(value)}`);
}

function activationOf(config: Config): string | undefined {
  const a = get(config, 'activation');
  if (a === undefined || a === null) return undefined;
  if (typeof a === 'string') return a;
  if (typeof a === 'object' && typeof (a as Config).class_name === 'string') return String((a as Config).class_name).toLowerCase();
  throw new LayerError(`activation ${JSON.stringify(a)} is not a name`);
}

/** A config without data_format means channels_last (tfjs' and Keras' default), whatever xarxa's global default is. */
function dataFormatOf(config: Config): 'channels_last' | 'channels_first' {
  const f = get(config, 'data_format');
  if (f === undefined || f === null) return 'channels_last';
  if (f === 'channels_last' || f === 'channelsLast') return 'channels_last';
  if (f === 'channels_first' || f === 'channelsFirst') return 'channels_first';
  throw new LayerError(`data_format '${String(f)}' is not channels_last or channels_first`);
}

function requireOnes(value: unknown, what: string): void {
  if (value === undefined || value === null) return;
  const values = Array.isArray(value) ? value : [value];
  if (!values.every((v) => v === 1)) throw new LayerError(`${what} ${JSON.stringify(value)} is not supported (only 1)`);
}

function paddingOf(config: Config): 'valid' | 'same' | undefined {
  const p = get(config, 'padding');
  if (p === undefined || p === null) return undefined;
  if (p === 'valid' || p === 'same') return p;
  throw new LayerError(`padding '${String(p)}' is not supported (valid or same)`);
}

/** The per-sample input shape a config declares (batch_input_shape, batch_shape, input_shape, input_dim). */
function declaredInputShape(config: Config): number[] | undefined {
  const batch = get(config, 'batch_input_shape') ?? get(config, 'batch_shape');
  if (Array.isArray(batch)) return batch.slice(1) as number[];
  const input = get(config, 'input_shape');
  if (Array.isArray(input)) return input as number[];
  const dim = get(config, 'input_dim');
  if (typeof dim === 'number') return [dim];
  return undefined;
}

function checkShape(shape: number[], where: string): number[] {
  if (shape.length === 0 || shape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d <= 0)) {
    throw new Error(`${where}: the input shape ${JSON.stringify(shape)} must list positive integers (no unknown dimensions)`);
  }
  return shape;
}

function dtypeOk(config: Config): void {
  const d = get(config, 'dtype');
  if (d === undefined || d === null || d === 'float32') return;
  if (typeof d === 'object' && ((d as Config).config as Config | undefined)?.name === 'float32') return;
  throw new LayerError(`dtype ${JSON.stringify(d)} is not supported (float32 only)`);
}

/** An xarxa layer from a Keras/tfjs layer config. */
function layerFromConfig(kind: string, config: Config, name: string, inputShape: number[] | undefined): Layer {
  const common = { name, ...(inputShape ? { inputShape } : {}) };
  dtypeOk(config);
  const useBias = get(config, 'use_bias');
  switch (kind) {
    case 'Dense':
      return new Dense({ units: get(config, 'units') as number, activation: activationOf(config) as never, useBias: useBias === undefined ? true : Boolean(useBias), ...common });
    case 'Conv2D': {
      requireOnes(get(config, 'dilation_rate'), 'dilation_rate');
      requireOnes(get(config, 'groups'), 'groups');
      return new Conv2D({
        filters: get(config, 'filters') as number,
        kernelSize: pair(get(config, 'kernel_size'), 'kernel_size'),
        strides: get(config, 'strides') === undefined ? 1 : pair(get(config, 'strides'), 'strides'),
        padding: paddingOf(config),
        activation: activationOf(config) as never,
        dataFormat: dataFormatOf(config),
        useBias: useBias === undefined ? true : Boolean(useBias),
        ...common,
      });
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const strides = get(config, 'strides');
      const args = {
        poolSize: get(config, 'pool_size') === undefined ? 2 : pair(get(config, 'pool_size'), 'pool_size'),
        strides: strides === undefined || strides === null ? undefined : pair(strides, 'strides'),
        padding: paddingOf(config),
        dataFormat: dataFormatOf(config),
        ...common,
      };
      return kind === 'MaxPooling2D' ? new MaxPooling2D(args) : new AveragePooling2D(args);
    }
    case 'Flatten':
      return new Flatten({ dataFormat: dataFormatOf(config), ...common });
    case 'Dropout': {
      const noise = get(config, 'noise_shape');
      if (noise !== undefined && noise !== null) throw new LayerError(`noise_shape ${JSON.stringify(noise)} is not supported`);
      const seed = get(config, 'seed');
      return new Dropout({ rate: get(config, 'rate') as number, ...(typeof seed === 'number' ? { seed } : {}), ...common });
    }
    case 'Activation':
      return new Activation({ activation: activationOf(config) as never, ...common });
    default:
      throw new LayerError(`unsupported layer ${kind}`);
  }
}

/** The Sequential config's layers, whichever of the known JSON shapes the topology has. */
function sequentialLayers(artifacts: ModelArtifacts): { name?: string; layers: { class_name: string; config: Config }[] } {
  if (artifacts.format !== undefined && artifacts.format !== 'layers-model') {
    throw new Error(`loadModel: the model's format is '${artifacts.format}'; xarxa reads TensorFlow.js layers models ('layers-model') only`);
  }
  let topology = artifacts.modelTopology as Config | undefined;
  if (topology === undefined || topology === null || topology instanceof ArrayBuffer || typeof topology !== 'object') {
    throw new Error('loadModel: the model has no JSON modelTopology (a graph model?); xarxa reads TensorFlow.js layers models');
  }
  if (topology.model_config !== undefined) topology = topology.model_config as Config; // Keras' saved JSON
  const className = topology.class_name ?? topology.className;
  if (className !== 'Sequential') {
    throw new Error(`loadModel: the model is a ${String(className)}; xarxa loads Sequential models only`);
  }
  const config = topology.config as Config | Config[] | undefined;
  const list = Array.isArray(config) ? config : (config?.layers as Config[] | undefined);
  if (!Array.isArray(list)) throw new Error('loadModel: the Sequential config has no layers list');
  return {
    name: Array.isArray(config) ? undefined : (config?.name as string | undefined),
    layers: list.map((l, i) => {
      if (typeof l !== 'object' || l === null) throw new Error(`loadModel: layer ${i} of the config is not an object`);
      const cls = l.class_name ?? l.className;
      if (typeof cls !== 'string') throw new Error(`loadModel: layer ${i} of the config has no class_name`);
      const cfg = (l.config ?? {}) as Config;
      if (typeof cfg !== 'object') throw new Error(`loadModel: layer ${i} (${cls}) has no config object`);
      return { class_name: cls, config: cfg };
    }),
  };
}

// ---- training config --------------------------------------------------------------------

function optimizerOf(training: TrainingConfig): SGD {
  const o = training.optimizer_config as { class_name?: string; className?: string; config?: Config } | undefined;
  const cls = o?.class_name ?? o?.className;
  const config = o?.config ?? {};
  const lr = get(config, 'learning_rate') ?? config.lr;
  const learningRate = typeof lr === 'number' ? lr : undefined;
  if (cls === 'SGD' || cls === 'sgd') {
    const momentum = get(config, 'momentum');
    const nesterov = get(config, 'nesterov');
    return new SGD({ learningRate, momentum: typeof momentum === 'number' ? momentum : 0, nesterov: nesterov === true });
  }
  if (cls === 'MomentumOptimizer' || cls === 'Momentum') {
    const momentum = get(config, 'momentum');
    const nesterov = get(config, 'use_nesterov') ?? get(config, 'nesterov');
    return new SGD({ learningRate, momentum: typeof momentum === 'number' ? momentum : 0, nesterov: nesterov === true });
  }
  throw new Error(
    `loadModel: the model was compiled with the optimizer ${JSON.stringify(cls)}, which xarxa does not have (it has SGD with momentum); ` +
      'load it with loadModel(path, { compile: false }) and compile it yourself',
  );
}

function compileFrom(model: Sequential, training: TrainingConfig): void {
  let loss = training.loss as unknown;
  if (Array.isArray(loss) && loss.length === 1) loss = loss[0];
  if (typeof loss === 'object' && loss !== null && !Array.isArray(loss) && Object.keys(loss).length === 1) loss = Object.values(loss)[0];
  if (typeof loss !== 'string') throw new Error(`loadModel: the saved loss ${JSON.stringify(training.loss)} is not a single loss name; load with { compile: false }`);
  const rawMetrics = training.metrics;
  const names = Array.isArray(rawMetrics) ? rawMetrics : rawMetrics && typeof rawMetrics === 'object' ? Object.values(rawMetrics) : [];
  const accuracy = names.filter((m): m is string => typeof m === 'string' && ['accuracy', 'acc', 'categorical_accuracy', 'categoricalaccuracy'].includes(m.toLowerCase()));
  const dropped = names.filter((m) => !accuracy.includes(m as string));
  if (dropped.length > 0) console.warn(`loadModel: xarxa computes only accuracy; the saved metrics ${JSON.stringify(dropped)} are dropped`);
  try {
    model.compile({ optimizer: optimizerOf(training), loss, metrics: accuracy.length ? ['accuracy'] : [] });
  } catch (e) {
    throw new Error(`loadModel: cannot compile from the saved training config (${(e as Error).message}); load with { compile: false } to skip it`);
  }
}

// ---- the model ---------------------------------------------------------------------------

/** A model from tfjs-style artifacts (what readArtifacts returns or a tfjs IOHandler loads). */
export function modelFromArtifacts(artifacts: ModelArtifacts, options: LoadOptions = {}): Sequential {
  const { name, layers: configs } = sequentialLayers(artifacts);
  // Every unsupported layer is named at once.
  const unsupported = configs
    .map((l, i) => ({ i, cls: l.class_name, name: typeof l.config.name === 'string' ? l.config.name : `#${i}` }))
    .filter((l) => !(l.cls in ALIASES));
  if (unsupported.length > 0) {
    throw new Error(
      `loadModel: the model uses layers xarxa does not support: ${unsupported.map((l) => `'${l.name}' (${l.cls})`).join(', ')}; ` +
        `supported: ${SUPPORTED.join(', ')}`,
    );
  }
  let pendingShape: number[] | undefined;
  const layers: Layer[] = [];
  const seen = new Set<string>();
  configs.forEach((l, i) => {
    const kind = ALIASES[l.class_name];
    const layerName = typeof l.config.name === 'string' && l.config.name !== '' ? l.config.name : undefined;
    const where = `loadModel: layer ${i} '${layerName ?? '?'}' (${l.class_name})`;
    if (layerName !== undefined) {
      if (seen.has(layerName)) throw new Error(`${where}: the name '${layerName}' is used twice`);
      seen.add(layerName);
    }
    const declared = declaredInputShape(l.config);
    if (kind === 'InputLayer') {
      if (!declared) throw new Error(`${where}: no batch_input_shape`);
      pendingShape = checkShape(declared, where);
      return;
    }
    let inputShape: number[] | undefined;
    if (layers.length === 0) {
      inputShape = declared ? checkShape(declared, where) : pendingShape;
      if (!inputShape) throw new Error(`${where}: the first layer declares no input shape (batch_input_shape)`);
    }
    try {
      layers.push(layerFromConfig(kind, l.config, layerName ?? `${kind.toLowerCase()}_${i}`, inputShape));
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
  });
  if (layers.length === 0) throw new Error('loadModel: the model has no layers');

  const model = new Sequential({ name: typeof name === 'string' && name !== '' ? name : undefined, layers });
  try {
    if (artifacts.trainingConfig && options.compile !== false) compileFrom(model, artifacts.trainingConfig);
    model.build();
    model.setWeights(weightsFor(model, artifacts));
  } catch (e) {
    if (model.built) model.dispose();
    throw e;
  }
  return model;
}

/** The model's weights, in order, from the artifacts: by name ('<layer>/kernel'), else by position. */
function weightsFor(model: Sequential, artifacts: ModelArtifacts): Tensor[] {
  const wanted = model.getWeights(); // shapes, in Keras order
  const names: string[] = [];
  for (const layer of model.layers) {
    const n = layer instanceof Dense || layer instanceof Conv2D ? (layer.useBias ? ['kernel', 'bias'] : ['kernel']) : [];
    for (const w of n) names.push(`${layer.name}/${w}`);
  }
  const specs = artifacts.weightSpecs ?? [];
  const decoded = decodeGroup(flattenWeightData(artifacts.weightData), specs, 'loadModel');
  const modelSpecs = specs.filter((s) => s.group !== 'optimizer');
  const byName = new Map<string, WeightSpec>();
  for (const s of modelSpecs) byName.set(s.name.replace(/:0$/, ''), s);
  let chosen: WeightSpec[];
  if (names.every((n) => byName.has(n))) {
    chosen = names.map((n) => byName.get(n)!);
  } else if (modelSpecs.length === names.length) {
    chosen = modelSpecs; // converted models may name weights differently; the order is Keras' order
  } else {
    const missing = names.filter((n) => !byName.has(n));
    throw new Error(`loadModel: the weights manifest lacks ${missing.map((n) => `'${n}'`).join(', ')} (it holds ${modelSpecs.map((s) => s.name).join(', ') || 'nothing'})`);
  }
  return chosen.map((spec, i) => {
    const shape = wanted[i].shape;
    if (spec.shape.length !== shape.length || spec.shape.some((d, k) => d !== shape[k])) {
      throw new Error(`loadModel: weight '${spec.name}' has shape [${spec.shape.join(', ')}], but ${names[i]} needs [${shape.join(', ')}]`);
    }
    const values = decoded.get(spec);
    if (!values) throw new Error(`loadModel: weight '${spec.name}' has dtype ${spec.dtype}, not a number type`);
    return new Tensor(values, [...shape]);
  });
}

/**
 * Loads a model saved by model.save (or by TensorFlow.js): a folder holding
 * model.json, the path of a model.json, a 'file://' URL, or a tfjs-style
 * IOHandler (anything with load(), e.g. tf.io.fromMemory(artifacts)).
 */
export async function loadModel(source: string | LoadHandler, options: LoadOptions = {}): Promise<Sequential> {
  if (typeof options !== 'object' || options === null) throw new TypeError('loadModel: options must be an object');
  for (const key of Object.keys(options)) if (key !== 'compile') throw new Error(`loadModel: unknown option '${key}' (known: compile)`);
  let artifacts: ModelArtifacts;
  if (typeof source === 'object' && source !== null && typeof (source as LoadHandler).load === 'function') {
    artifacts = await (source as LoadHandler).load();
  } else if (typeof source === 'string' && source.trim() !== '') {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !source.startsWith('file://')) {
      throw new Error(`loadModel: only folders, model.json paths and file:// URLs are supported, received '${source}'`);
    }
    artifacts = await readArtifacts(source);
  } else {
    throw new TypeError(`loadModel: expected a folder, a model.json path or an IOHandler, received ${source === null ? 'null' : typeof source}`);
  }
  if (typeof artifacts !== 'object' || artifacts === null) throw new Error('loadModel: the handler returned no model artifacts');
  return modelFromArtifacts(artifacts, options);
}
