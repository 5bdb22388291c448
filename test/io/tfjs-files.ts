// TensorFlow.js (pure JS) as the oracle for the Layers format. tfjs without
// tfjs-node has no file:// handler, so these IOHandlers write and read the
// layout tfjs-node's file system handler uses: model.json (the model JSON with
// a weightsManifest naming weights.bin) next to weights.bin.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** Silences tfjs' "install tfjs-node" banner (printed once, on first use). */
export function quietTf(): void {
  const warn = console.warn;
  console.warn = () => {};
  try {
    tf.tidy(() => tf.zeros([1]));
  } finally {
    console.warn = warn;
  }
}

function concat(data: ArrayBuffer | ArrayBuffer[]): ArrayBuffer {
  if (!Array.isArray(data)) return data;
  const total = data.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return out.buffer;
}

/** model.save(tfFileSaver(dir)) writes what tfjs-node's model.save('file://dir') would. */
export function tfFileSaver(dir: string): tf.io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(concat(artifacts.weightData as ArrayBuffer | ArrayBuffer[])));
    const json: Record<string, unknown> = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
    };
    if (artifacts.trainingConfig) json.trainingConfig = artifacts.trainingConfig;
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  });
}

/** tf.loadLayersModel(tfFileLoader(dir)) reads dir/model.json and its weight files, as tfjs-node does. */
export function tfFileLoader(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs = manifest.flatMap((g) => g.weights);
        const buffers = manifest.flatMap((g) => g.paths.map((p) => new Uint8Array(fs.readFileSync(path.join(dir, p)))));
        return [specs, concat(buffers.map((b) => b.slice().buffer))];
      });
    },
  };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `xarxa-${prefix}-`));
}

/** Deterministic inputs in [-1, 1). */
export function inputs(n: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}
