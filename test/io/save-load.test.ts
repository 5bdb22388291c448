// model.save / xa.loadModel in the TensorFlow.js Layers format, with
// @tensorflow/tfjs as the oracle in both directions.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as xa from '../../lib/index.js';
import { blobs, maxRelError } from '../helpers.js';
import { inputs, quietTf, tempDir, tfFileLoader, tfFileSaver } from './tfjs-files.js';

const { Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation } = xa.layers;

let root: string;
beforeAll(() => {
  quietTf();
  root = tempDir('io');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const dirFor = (name: string) => path.join(root, name);

function denseModel(): xa.Sequential {
  const m = new xa.Sequential();
  m.add(new Dense(32, { activation: 'relu', inputShape: [20] }));
  m.add(new Dense(16, { activation: 'tanh', useBias: false }));
  m.add(new Dense(5, { activation: 'softmax' }));
  m.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.05 }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
  return m;
}

function convModel(dataFormat: 'channelsLast' | 'channelsFirst' = 'channelsLast'): xa.Sequential {
  const shape = dataFormat === 'channelsLast' ? [9, 8, 3] : [3, 9, 8];
  const m = new xa.Sequential();
  m.add(new Conv2D({ filters: 4, kernelSize: [3, 2], strides: [1, 2], padding: 'same', activation: 'relu', inputShape: shape, dataFormat }));
  m.add(new MaxPooling2D({ poolSize: 2, padding: 'same', dataFormat }));
  m.add(new Conv2D({ filters: 6, kernelSize: 2, activation: 'sigmoid', dataFormat }));
  m.add(new AveragePooling2D({ poolSize: [2, 1], dataFormat }));
  m.add(new Flatten({ dataFormat }));
  m.add(new Dropout(0.25));
  m.add(new Dense(7));
  m.add(new Activation('softmax'));
  m.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.02, momentum: 0.9, nesterov: true }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
  return m;
}

async function predictBoth(model: xa.Sequential, tfModel: tf.LayersModel, n = 6): Promise<[Float32Array, Float32Array]> {
  const shape = [n, ...model.inputShape!];
  const x = inputs(shape.reduce((a, b) => a * b, 1), 7);
  const ours = (await model.predict(xa.tensor(x, shape))).data as Float32Array;
  const theirs = tf.tidy(() => (tfModel.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync() as Float32Array);
  return [ours, theirs];
}

describe('model.save writes the TensorFlow.js Layers format', () => {
  it('writes model.json and weights.bin as tfjs-node does', async () => {
    xa.setSeed(11);
    const m = denseModel();
    const dir = dirFor('dense');
    const result = await m.save(dir);
    expect(result.path).toBe(path.resolve(dir));
    expect(result.modelArtifactsInfo.weightDataBytes).toBe(4 * m.countParams());
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    expect(fs.existsSync(`${dir}.tmp`) || fs.existsSync(`${dir}.old`)).toBe(false);

    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.generatedBy).toMatch(/^xarxa \d+\.\d+\.\d+/);
    expect(json.convertedBy).toBeNull();
    const topology = json.modelTopology;
    expect(topology.class_name).toBe('Sequential');
    expect(topology.config.name).toBe(m.name);
    expect(topology.keras_version).toMatch(/^xarxa /);
    expect(topology.backend).toBe('tensor_flow.js');
    expect(topology.config.layers.map((l: { class_name: string }) => l.class_name)).toEqual(['Dense', 'Dense', 'Dense']);
    const [first, second] = topology.config.layers;
    expect(first.config.batch_input_shape).toEqual([null, 20]);
    expect(first.config).toMatchObject({ name: m.layers[0].name, units: 32, activation: 'relu', use_bias: true });
    expect(second.config.batch_input_shape).toBeUndefined();
    expect(second.config.use_bias).toBe(false);

    expect(json.weightsManifest).toEqual([
      {
        paths: ['weights.bin'],
        weights: [
          { name: `${m.layers[0].name}/kernel`, shape: [20, 32], dtype: 'float32' },
          { name: `${m.layers[0].name}/bias`, shape: [32], dtype: 'float32' },
          { name: `${m.layers[1].name}/kernel`, shape: [32, 16], dtype: 'float32' },
          { name: `${m.layers[2].name}/kernel`, shape: [16, 5], dtype: 'float32' },
          { name: `${m.layers[2].name}/bias`, shape: [5], dtype: 'float32' },
        ],
      },
    ]);
    expect(json.trainingConfig).toEqual({
      loss: 'categorical_crossentropy',
      metrics: ['accuracy'],
      optimizer_config: { class_name: 'SGD', config: { learning_rate: 0.05, momentum: 0, nesterov: false } },
    });

    // Little-endian float32, Keras layouts, in manifest order.
    const bin = fs.readFileSync(path.join(dir, 'weights.bin'));
    const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
    const all = m.getWeights().flatMap((w) => Array.from(w.data));
    expect(bin.byteLength).toBe(4 * all.length);
    for (let i = 0; i < all.length; i++) expect(view.getFloat32(4 * i, true)).toBe(all[i]);
    m.dispose();
  });

  it('saves an uncompiled model without trainingConfig, and accepts file:// URLs', async () => {
    const m = new xa.Sequential({ layers: [new Dense(3, { inputShape: [2] })] });
    const dir = dirFor('uncompiled');
    await m.save(`file://${dir}`);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.trainingConfig).toBeUndefined();
    const back = await xa.loadModel(`file://${dir}`);
    expect(back.compileConfig).toBeUndefined();
    expect(back.getWeights().map((w) => Array.from(w.data))).toEqual(m.getWeights().map((w) => Array.from(w.data)));
    m.dispose();
    back.dispose();
  });
});

describe('xarxa -> TensorFlow.js', () => {
  for (const [label, make] of [
    ['dense', () => denseModel()],
    ['conv channelsLast', () => convModel('channelsLast')],
    ['conv channelsFirst', () => convModel('channelsFirst')],
  ] as const) {
    it(`a ${label} model saved by xarxa loads in tfjs and predicts the same (1e-5)`, async () => {
      xa.setSeed(21);
      const m = make();
      // Train a little so the weights are not just the initialisation.
      const shape = [64, ...m.inputShape!];
      const x = xa.tensor(inputs(shape.reduce((a, b) => a * b, 1), 3), shape);
      const y = xa.utils.toCategorical(Array.from({ length: 64 }, (_, i) => i % m.outputShape[0]), m.outputShape[0]);
      await m.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0 });
      const dir = dirFor(`to-tfjs-${label.replace(' ', '-')}`);
      await m.save(dir);
      const tfModel = await tf.loadLayersModel(tfFileLoader(dir));
      expect(tfModel.layers.map((l) => l.getClassName())).toEqual(m.layers.map((l) => l.className));
      const [ours, theirs] = await predictBoth(m, tfModel);
      expect(maxRelError(ours, theirs)).toBeLessThan(1e-5);
      // tfjs compiled it from trainingConfig.
      expect(tfModel.loss).toBe('categoricalCrossentropy');
      expect((tfModel.optimizer.getConfig() as { learningRate: number }).learningRate).toBeCloseTo(m.optimizer!.learningRate, 7);
      tfModel.dispose();
      m.dispose();
    });
  }
});

describe('TensorFlow.js -> xarxa', () => {
  it('a dense model saved by tfjs (with optimizer weights) loads in xarxa, predicts the same and is compiled', async () => {
    const t = tf.sequential();
    t.add(tf.layers.dense({ units: 24, inputShape: [12], activation: 'relu' }));
    t.add(tf.layers.dense({ units: 8, activation: 'sigmoid', useBias: false }));
    t.add(tf.layers.dense({ units: 4, activation: 'softmax' }));
    t.compile({ optimizer: tf.train.sgd(0.07), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const dir = dirFor('from-tfjs-dense');
    await t.save(tfFileSaver(dir), { includeOptimizer: true });
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].weights.some((w: { group?: string }) => w.group === 'optimizer')).toBe(true);

    const m = await xa.loadModel(dir);
    expect(m.layers.map((l) => l.className)).toEqual(['Dense', 'Dense', 'Dense']);
    expect(m.layers.map((l) => l.name)).toEqual(t.layers.map((l) => l.name));
    expect(m.compileConfig).toMatchObject({ loss: 'categorical_crossentropy', metrics: ['accuracy'] });
    expect(m.optimizer!.learningRate).toBeCloseTo(0.07, 7);
    const [ours, theirs] = await predictBoth(m, t, 10);
    expect(maxRelError(ours, theirs)).toBeLessThan(1e-5);

    // It trains further.
    const { x, y } = blobs(40, 12, 4);
    const h = await m.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0 });
    expect(h.history.loss.every(Number.isFinite)).toBe(true);
    m.dispose();
    t.dispose();
  });

  it('a conv model saved by tfjs (Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation) predicts the same', async () => {
    const t = tf.sequential();
    t.add(tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [10, 9, 2] }));
    t.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same' }));
    t.add(tf.layers.conv2d({ filters: 3, kernelSize: [2, 3], strides: [2, 1], activation: 'tanh' }));
    t.add(tf.layers.averagePooling2d({ poolSize: 2, padding: 'same' }));
    t.add(tf.layers.flatten());
    t.add(tf.layers.dropout({ rate: 0.3 }));
    t.add(tf.layers.dense({ units: 6 }));
    t.add(tf.layers.activation({ activation: 'softmax' }));
    t.compile({ optimizer: tf.train.momentum(0.03, 0.8), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const dir = dirFor('from-tfjs-conv');
    await t.save(tfFileSaver(dir), { includeOptimizer: true });
    const m = await xa.loadModel(path.join(dir, 'model.json'));
    expect(m.layers.map((l) => l.className)).toEqual(['Conv2D', 'MaxPooling2D', 'Conv2D', 'AveragePooling2D', 'Flatten', 'Dropout', 'Dense', 'Activation']);
    expect(m.optimizer).toMatchObject({ momentum: 0.8 });
    expect(m.optimizer!.learningRate).toBeCloseTo(0.03, 7);
    const [ours, theirs] = await predictBoth(m, t, 5);
    expect(maxRelError(ours, theirs)).toBeLessThan(1e-5);
    m.dispose();
    t.dispose();
  });

  it('loads from a tfjs IOHandler (tf.io.fromMemory) too', async () => {
    const t = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], activation: 'softmax' })] });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await t.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const m = await xa.loadModel(tf.io.fromMemory(artifacts!) as never, { compile: false });
    const [ours, theirs] = await predictBoth(m, t, 3);
    expect(maxRelError(ours, theirs)).toBeLessThan(1e-5);
    m.dispose();
    t.dispose();
  });

  it('names every unsupported layer', async () => {
    const t = tf.sequential();
    t.add(tf.layers.dense({ units: 4, inputShape: [3], name: 'first' }));
    t.add(tf.layers.batchNormalization({ name: 'bn' }));
    t.add(tf.layers.leakyReLU({ name: 'leaky' }));
    t.add(tf.layers.dense({ units: 2, name: 'out' }));
    const dir = dirFor('unsupported');
    await t.save(tfFileSaver(dir));
    await expect(xa.loadModel(dir)).rejects.toThrow(/does not support: 'bn' \(BatchNormalization\), 'leaky' \(LeakyReLU\); supported: Dense, Conv2D/);
    t.dispose();
  });
});

describe('xa.loadModel', () => {
  it('round-trips a xarxa model exactly and compiles it from trainingConfig', async () => {
    xa.setSeed(5);
    const m = convModel();
    const dir = dirFor('roundtrip');
    await m.save(dir);
    const back = await xa.loadModel(dir);
    expect(back.name).toBe(m.name);
    expect(back.layers.map((l) => l.getConfig())).toEqual(m.layers.map((l) => l.getConfig()));
    expect(back.compileConfig).toEqual(m.compileConfig);
    const x = xa.tensor(inputs(4 * 9 * 8 * 3, 9), [4, 9, 8, 3]);
    expect(Array.from((await back.predict(x)).data)).toEqual(Array.from((await m.predict(x)).data));
    m.dispose();
    back.dispose();
  });

  it('reads camelCase configs, Keras aliases, model_config wrappers, InputLayer and weights named name:0', async () => {
    xa.setSeed(8);
    const m = convModel();
    const dir = dirFor('variants');
    await m.save(dir);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const toCamel = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(toCamel) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), toCamel(x)])) : v;
    const layers = json.modelTopology.config.layers.map((l: { class_name: string; config: Record<string, unknown> }) => ({
      className: l.class_name === 'MaxPooling2D' ? 'MaxPool2D' : l.class_name === 'AveragePooling2D' ? 'AvgPool2D' : l.class_name,
      config: toCamel(l.config),
    }));
    // Keras-style: an InputLayer first, the topology under model_config, weight names with :0.
    const { batchInputShape, ...firstConfig } = layers[0].config;
    layers[0].config = firstConfig;
    layers.unshift({ className: 'InputLayer', config: { batchInputShape, name: 'input_1', dtype: 'float32' } });
    json.modelTopology = { model_config: { class_name: 'Sequential', config: { name: 'keras_like', layers } }, keras_version: '2.15.0', backend: 'tensorflow' };
    for (const w of json.weightsManifest[0].weights) w.name = `${w.name}:0`;
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    const back = await xa.loadModel(dir);
    expect(back.name).toBe('keras_like');
    expect(back.layers.map((l) => l.className)).toEqual(m.layers.map((l) => l.className));
    const x = xa.tensor(inputs(3 * 9 * 8 * 3, 2), [3, 9, 8, 3]);
    expect(Array.from((await back.predict(x)).data)).toEqual(Array.from((await m.predict(x)).data));
    m.dispose();
    back.dispose();
  });

  it('reads quantized (uint8, float16) weights as tfjs writes them', async () => {
    const dir = dirFor('quantized');
    fs.mkdirSync(dir, { recursive: true });
    const topology = {
      class_name: 'Sequential',
      config: { name: 'q', layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, use_bias: true, activation: 'linear', batch_input_shape: [null, 2] } }] },
    };
    const kernel = Uint8Array.from([0, 1, 2, 255]); // * 0.5 - 1
    const bias = new Uint16Array([0x3c00, 0xc000]); // float16 1.0, -2.0
    fs.writeFileSync(path.join(dir, 'w1.bin'), kernel);
    fs.writeFileSync(path.join(dir, 'w2.bin'), new Uint8Array(bias.buffer));
    fs.writeFileSync(
      path.join(dir, 'model.json'),
      JSON.stringify({
        modelTopology: topology,
        format: 'layers-model',
        weightsManifest: [
          { paths: ['w1.bin'], weights: [{ name: 'd/kernel', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } }] },
          { paths: ['w2.bin'], weights: [{ name: 'd/bias', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } }] },
        ],
      }),
    );
    const m = await xa.loadModel(dir);
    const [k, b] = m.getWeights();
    expect(Array.from(k.data)).toEqual([-1, -0.5, 0, 126.5]);
    expect(Array.from(b.data)).toEqual([1, -2]);
    m.dispose();
  });

  it('refuses damaged or foreign models with errors that say what is wrong', async () => {
    xa.setSeed(3);
    const m = denseModel();
    const good = dirFor('good');
    await m.save(good);
    const variant = (name: string, edit: (json: Record<string, any>, dir: string) => void): string => {
      const dir = dirFor(name);
      fs.cpSync(good, dir, { recursive: true });
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      edit(json, dir);
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      return dir;
    };
    await expect(xa.loadModel(dirFor('nothing-here'))).rejects.toThrow(/does not exist/);
    await expect(xa.loadModel(path.join(good, 'weights.bin'))).rejects.toThrow(/has no model\.json|not a directory|does not exist|ENOTDIR/);

    const badJson = dirFor('bad-json');
    fs.cpSync(good, badJson, { recursive: true });
    fs.writeFileSync(path.join(badJson, 'model.json'), '{"modelTopology": ');
    await expect(xa.loadModel(badJson)).rejects.toThrow(/is not valid JSON/);

    const truncated = variant('truncated', (_, dir) => fs.truncateSync(path.join(dir, 'weights.bin'), 100));
    await expect(xa.loadModel(truncated)).rejects.toThrow(/weight data ends after 100 bytes.*truncated/);

    const missing = variant('missing-bin', (_, dir) => fs.rmSync(path.join(dir, 'weights.bin')));
    await expect(xa.loadModel(missing)).rejects.toThrow(/cannot read the weights file .*weights\.bin/);

    const escape = variant('escape', (json) => (json.weightsManifest[0].paths = ['../good/weights.bin']));
    await expect(xa.loadModel(escape)).rejects.toThrow(/leaves the model's folder/);

    const functional = variant('functional', (json) => (json.modelTopology.class_name = 'Functional'));
    await expect(xa.loadModel(functional)).rejects.toThrow(/is a Functional; xarxa loads Sequential models only/);

    const graph = variant('graph', (json) => (json.format = 'graph-model'));
    await expect(xa.loadModel(graph)).rejects.toThrow(/format is 'graph-model'/);

    const shape = variant('shape', (json) => (json.weightsManifest[0].weights[0].shape = [32, 20]));
    await expect(xa.loadModel(shape)).rejects.toThrow(/has shape \[32, 20\], but .*\/kernel needs \[20, 32\]/);

    const renamed = variant('renamed', (json) => json.weightsManifest[0].weights.pop());
    await expect(xa.loadModel(renamed)).rejects.toThrow(/weights manifest lacks '.*\/bias'/);

    const elu = variant('elu', (json) => (json.modelTopology.config.layers[0].config.activation = 'elu'));
    await expect(xa.loadModel(elu)).rejects.toThrow(/layer 0 '.*' \(Dense\): .*unknown activation 'elu'/);

    const dilated = variant('dilated', (json) => {
      json.modelTopology.config.layers[0] = { class_name: 'Conv2D', config: { name: 'c', filters: 2, kernel_size: [3, 3], dilation_rate: [2, 2], batch_input_shape: [null, 8, 8, 1] } };
    });
    await expect(xa.loadModel(dilated)).rejects.toThrow(/dilation_rate \[2,2\] is not supported/);

    const unknownShape = variant('unknown-shape', (json) => (json.modelTopology.config.layers[0].config.batch_input_shape = [null, null]));
    await expect(xa.loadModel(unknownShape)).rejects.toThrow(/input shape \[null\] must list positive integers/);

    const adam = variant('adam', (json) => (json.trainingConfig.optimizer_config = { class_name: 'Adam', config: { learning_rate: 0.001 } }));
    await expect(xa.loadModel(adam)).rejects.toThrow(/optimizer "Adam", which xarxa does not have.*compile: false/);
    const uncompiled = await xa.loadModel(adam, { compile: false });
    expect(uncompiled.compileConfig).toBeUndefined();
    uncompiled.dispose();

    await expect(xa.loadModel(good, { compil: false } as never)).rejects.toThrow(/unknown option 'compil'/);
    await expect(xa.loadModel(42 as never)).rejects.toThrow(/expected a folder/);
    await expect(xa.loadModel('https://example.com/model.json')).rejects.toThrow(/only folders, model\.json paths and file:\/\/ URLs/);
    m.dispose();
  });
});
