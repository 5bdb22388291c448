// The TensorFlow.js Layers format, as tfjs writes it (model.save) and reads it
// (tf.loadLayersModel): the types of its model artifacts and model.json, and
// the binary encoding of weights. Only what xarxa needs; field names and
// meanings follow @tensorflow/tfjs-core's io types.
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../native.js';

export type WeightDType = 'float32' | 'int32' | 'bool' | 'string' | 'complex64';

export interface Quantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
  original_dtype?: string;
}

/** One tensor of a weights manifest: where it is comes from its order in the group. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: WeightDType;
  /** 'model' or 'optimizer' (optimizer slots are skipped by xarxa). */
  group?: string;
  quantization?: Quantization;
}

export interface WeightsManifestGroup {
  paths: string[];
  weights: WeightSpec[];
}

export interface TrainingConfig {
  loss: string | string[] | Record<string, string>;
  metrics?: string[] | Record<string, string>;
  optimizer_config: { class_name: string; config: Record<string, unknown> };
  [key: string]: unknown;
}

/** What tfjs hands to an IOHandler's save() and expects from its load(). */
export interface ModelArtifacts {
  modelTopology?: Record<string, unknown> | ArrayBuffer;
  weightSpecs?: WeightSpec[];
  weightData?: ArrayBuffer | ArrayBuffer[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  trainingConfig?: TrainingConfig;
  userDefinedMetadata?: Record<string, unknown>;
}

/** model.json: the artifacts with the weights replaced by a manifest of files. */
export interface ModelJSON {
  modelTopology: Record<string, unknown>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: WeightsManifestGroup[];
  trainingConfig?: TrainingConfig;
  userDefinedMetadata?: Record<string, unknown>;
}

/** What save() reports, like tfjs' SaveResult. */
export interface SaveResult {
  modelArtifactsInfo: {
    dateSaved: Date;
    modelTopologyType: 'JSON';
    modelTopologyBytes: number;
    weightSpecsBytes: number;
    weightDataBytes: number;
  };
  /** The folder written (file targets only). */
  path?: string;
}

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

let version: string | undefined;
/** 'xarxa 0.1.0' for generatedBy / keras_version. */
export function xarxaVersion(): string {
  if (version === undefined) {
    try {
      version = String(JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version);
    } catch {
      version = 'unknown';
    }
  }
  return `xarxa ${version}`;
}

/** 'file:///a/b' and 'file://a/b' -> a path; anything else unchanged. */
export function filePath(target: string): string {
  return target.startsWith('file://') ? target.slice('file://'.length) : target;
}

export function flattenWeightData(data: ArrayBuffer | ArrayBuffer[] | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  if (!Array.isArray(data)) return new Uint8Array(data);
  const total = data.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return out;
}

/** Little-endian float32 bytes of the arrays, one after another. */
export function encodeFloat32(arrays: Float32Array[]): Uint8Array {
  const total = arrays.reduce((n, a) => n + a.length, 0);
  const out = new Uint8Array(total * 4);
  const view = new DataView(out.buffer);
  let offset = 0;
  const littleEndianHost = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;
  for (const a of arrays) {
    if (littleEndianHost) {
      out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
      offset += a.byteLength;
    } else {
      for (let i = 0; i < a.length; i++, offset += 4) view.setFloat32(offset, a[i], true);
    }
  }
  return out;
}

function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

export function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Decodes the weights of one manifest group from its bytes (its files,
 * concatenated), as tfjs' decodeWeights does: float32, int32, bool,
 * complex64 and string tensors, and uint8/uint16/float16 quantization.
 * Numeric tensors come back as Float32Array; strings are skipped (null).
 */
export function decodeGroup(bytes: Uint8Array, specs: WeightSpec[], where: string): Map<WeightSpec, Float32Array | null> {
  const out = new Map<WeightSpec, Float32Array | null>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  const need = (n: number, spec: WeightSpec) => {
    if (offset + n > bytes.byteLength) {
      throw new Error(`${where}: the weight data ends after ${bytes.byteLength} bytes, but '${spec.name}' needs bytes ${offset} to ${offset + n} (truncated weights file?)`);
    }
  };
  for (const spec of specs) {
    if (typeof spec !== 'object' || spec === null || typeof spec.name !== 'string') throw new Error(`${where}: a weight spec has no name`);
    if (!Array.isArray(spec.shape) || spec.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`${where}: weight '${spec.name}' has an invalid shape ${JSON.stringify(spec.shape)}`);
    }
    const n = sizeOfShape(spec.shape);
    if (n > 2 ** 31 - 1) throw new Error(`${where}: weight '${spec.name}' claims ${n} values, more than xarxa can hold in one tensor`);
    const q = spec.quantization;
    if (q) {
      const width = q.dtype === 'uint8' ? 1 : q.dtype === 'uint16' || q.dtype === 'float16' ? 2 : 0;
      if (!width) throw new Error(`${where}: weight '${spec.name}' uses unknown quantization dtype '${String(q.dtype)}'`);
      need(n * width, spec);
      const values = new Float32Array(n);
      if (q.dtype === 'float16') {
        for (let i = 0; i < n; i++) values[i] = float16ToFloat32(view.getUint16(offset + 2 * i, true));
      } else {
        const scale = Number(q.scale ?? 1);
        const min = Number(q.min ?? 0);
        for (let i = 0; i < n; i++) values[i] = (width === 1 ? view.getUint8(offset + i) : view.getUint16(offset + 2 * i, true)) * scale + min;
      }
      offset += n * width;
      out.set(spec, values);
      continue;
    }
    switch (spec.dtype) {
      case 'float32':
      case 'int32': {
        need(n * 4, spec);
        const values = new Float32Array(n);
        if (spec.dtype === 'float32') for (let i = 0; i < n; i++) values[i] = view.getFloat32(offset + 4 * i, true);
        else for (let i = 0; i < n; i++) values[i] = view.getInt32(offset + 4 * i, true);
        offset += n * 4;
        out.set(spec, values);
        break;
      }
      case 'bool': {
        need(n, spec);
        out.set(spec, Float32Array.from(bytes.subarray(offset, offset + n)));
        offset += n;
        break;
      }
      case 'complex64': {
        need(n * 8, spec);
        offset += n * 8;
        out.set(spec, null);
        break;
      }
      case 'string': {
        for (let i = 0; i < n; i++) {
          need(4, spec);
          const length = view.getUint32(offset, true);
          offset += 4;
          need(length, spec);
          offset += length;
        }
        out.set(spec, null);
        break;
      }
      default:
        throw new Error(`${where}: weight '${spec.name}' has unknown dtype '${String(spec.dtype)}'`);
    }
  }
  return out;
}
