// Loads the native addon through node-gyp-build: prebuilds/<platform>-<arch>/
// made by prebuildify first, then a local build (build/Release). The types
// below describe the raw addon; lib/ validates arguments before calling it.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

export interface DeviceInfo {
  backend: 'cpu' | 'cuda';
  name: string;
  deviceIndex: number;
  computeCapability: string;
  totalMemory: number;
  freeMemory: number;
  threads: number;
  gemm: string;
  cudaRuntimeVersion: number;
  cudaDriverVersion: number;
  cublasVersion: number;
  cudnnVersion: number;
  /** CUDA only: whether training steps run as CUDA graphs ("on"), or "off: <why>" (XARXA_CUDA_GRAPHS=0, a failed recording). */
  stepGraphs?: string;
}

export interface RunStats {
  lossSum: number;
  correct: number;
  samples: number;
  batches: number;
  stopped: boolean;
  /** Index of the batch after which the summed loss became NaN or infinite (exact on every device); -1 while finite. */
  firstNonFiniteBatch: number;
}

export interface NativeLayerInfo {
  kind: string;
  inputShape: number[];
  outputShape: number[];
  weights: { name: string; shape: number[] }[];
}

export interface NativeDataset {
  dispose(): void;
  size(): number;
}

export interface NativeModel {
  compile(config: { loss: string; learningRate: number; momentum: number; nesterov: boolean }): void;
  setLearningRate(lr: number): void;
  layers(): NativeLayerInfo[];
  getWeights(): Float32Array[];
  setWeight(index: number, values: Float32Array): void;
  createDataset(x: Float32Array, y: Float32Array | null, n: number): Promise<NativeDataset>;
  train(
    data: NativeDataset,
    order: Int32Array,
    batchSize: number,
    firstBatch: number,
    lastBatch: number,
    progressEvery: number,
    onProgress?: (batch: number, stats: RunStats) => void,
  ): Promise<RunStats>;
  evaluate(data: NativeDataset, batchSize: number): Promise<RunStats>;
  predict(data: NativeDataset, batchSize: number): Promise<Float32Array>;
  requestStop(): void;
  info(): DeviceInfo;
  memoryInUse(): number;
  dispose(): void;
}

export interface NativeModelSpec {
  device: string;
  seed: number;
  inputShape: number[];
  layers: Record<string, unknown>[];
}

export interface Addon {
  NativeModel: new (spec: NativeModelSpec) => NativeModel;
  NativeDataset: new () => NativeDataset;
  cudaStatus(): { available: boolean; deviceCount: number; error: string; library: string };
  deviceInfo(device: string): DeviceInfo;
  /** Checks that the layers fit together (shapes only: no device, no weights); returns the output shape. */
  checkModel(spec: Pick<NativeModelSpec, 'inputShape' | 'layers'>): number[];
  abiVersion: number;
}

/** The package root: the folder holding package.json (lib/ in source, dist/lib when built). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'CMakeLists.txt'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('xarxa: cannot find the package root (package.json next to CMakeLists.txt)');
}

let cached: Addon | undefined;

export function addon(): Addon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const root = packageRoot();
  // XARXA_ADDON=/path/to/xarxa.node loads that build instead (e.g. the
  // ASan/UBSan build of scripts/sanitize.sh).
  const override = process.env.XARXA_ADDON;
  if (override) {
    try {
      cached = require(path.resolve(override)) as Addon;
    } catch (e) {
      throw new Error(`xarxa: the native addon named by XARXA_ADDON (${override}) could not be loaded: ${(e as Error).message}`);
    }
    return cached;
  }
  try {
    cached = require('node-gyp-build')(root) as Addon;
  } catch (e) {
    throw new Error(
      `xarxa: the native addon could not be loaded from ${root} (${(e as Error).message}). ` +
        'Run `npm install` (which builds it with cmake-js) or `npm run build:native`.',
    );
  }
  return cached;
}
