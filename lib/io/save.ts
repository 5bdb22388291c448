// model.save(dir): the TensorFlow.js Layers format (model.json + weights.bin,
// the layout tfjs-node's file:// handler writes), written crash-safely.
//
// Crash safety: the new checkpoint is written completely into `<dir>.tmp`
// (weights.bin, then model.json via a rename, each fsynced), then swapped in:
//   rename dir -> dir.old;  rename dir.tmp -> dir (the commit);  remove dir.old.
// At every instant `dir` or, between the two renames, `dir.old` holds the last
// committed checkpoint: a crash never loses it. The next save (or
// recoverCheckpoint) rolls an interrupted save back; loadModel reads the
// committed checkpoint (falling back to `dir.old`) without changing anything.
// Saves to the same folder from one process are serialised; two processes
// must not save to the same folder at once.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Sequential } from '../models/sequential.js';
import { Dense } from '../layers/dense.js';
import { Conv2D } from '../layers/conv2d.js';
import type { Layer } from '../layers/layer.js';
import {
  MODEL_JSON,
  WEIGHTS_BIN,
  encodeFloat32,
  filePath,
  flattenWeightData,
  sizeOfShape,
  xarxaVersion,
  type ModelArtifacts,
  type ModelJSON,
  type SaveResult,
  type TrainingConfig,
  type WeightSpec,
} from './format.js';

export type { SaveResult };

/** A folder path, a 'file://' URL, or a tfjs-style IOHandler (an object with save(artifacts)). */
export type SaveTarget = string | { save(artifacts: ModelArtifacts): Promise<unknown> | unknown };

// ---- artifacts ------------------------------------------------------------------

/** Names of a layer's weights in Keras order (must match the native model's). */
function weightNames(layer: Layer): string[] {
  if (layer instanceof Dense || layer instanceof Conv2D) return layer.useBias ? ['kernel', 'bias'] : ['kernel'];
  return [];
}

/**
 * The model as tfjs model artifacts: Keras topology (what tfjs writes for a
 * Sequential model), float32 weight specs and data, and the training config
 * when compiled. The weights are read now (synchronously).
 */
export function modelArtifacts(model: Sequential): ModelArtifacts {
  const names = new Set<string>();
  for (const layer of model.layers) {
    if (names.has(layer.name)) throw new Error(`save: two layers are named '${layer.name}'; the Layers format (and tfjs) need unique layer names`);
    names.add(layer.name);
  }
  const weights = model.getWeights(); // builds the model if needed; throws while a native job runs
  const inputShape = model.inputShape!;
  const specs: WeightSpec[] = [];
  let k = 0;
  for (const layer of model.layers) {
    for (const name of weightNames(layer)) {
      const w = weights[k++];
      if (!w) break;
      specs.push({ name: `${layer.name}/${name}`, shape: [...w.shape], dtype: 'float32' });
    }
  }
  if (k !== weights.length || specs.length !== weights.length) {
    throw new Error(`save: the model has ${weights.length} weight tensors but its layers name ${specs.length}; cannot describe them`);
  }
  const layers = model.layers.map((layer, i) => {
    const config: Record<string, unknown> = { ...layer.getConfig() };
    if (i === 0) config.batch_input_shape = [null, ...inputShape];
    return { class_name: layer.className, config };
  });
  const artifacts: ModelArtifacts = {
    modelTopology: {
      class_name: 'Sequential',
      config: { name: model.name, layers },
      keras_version: xarxaVersion(),
      backend: 'tensor_flow.js',
    },
    format: 'layers-model',
    generatedBy: xarxaVersion(),
    convertedBy: null,
    weightSpecs: specs,
    weightData: encodeFloat32(weights.map((w) => w.data as Float32Array)).buffer as ArrayBuffer,
  };
  const compiled = model.compileConfig;
  if (compiled) {
    const training: TrainingConfig = {
      loss: compiled.loss,
      metrics: compiled.metrics,
      optimizer_config: { class_name: 'SGD', config: compiled.optimizer.getConfig() },
    };
    artifacts.trainingConfig = training;
  }
  return artifacts;
}

/** model.json for artifacts whose weights live in `weightsFile`, as tfjs-node writes it. */
export function modelJSON(artifacts: ModelArtifacts, weightsFile = WEIGHTS_BIN): ModelJSON {
  const json: ModelJSON = {
    modelTopology: artifacts.modelTopology as Record<string, unknown>,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.trainingConfig) json.trainingConfig = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata) json.userDefinedMetadata = artifacts.userDefinedMetadata;
  return json;
}

function artifactsInfo(artifacts: ModelArtifacts, weightBytes: number): SaveResult['modelArtifactsInfo'] {
  return {
    dateSaved: new Date(),
    modelTopologyType: 'JSON',
    modelTopologyBytes: Buffer.byteLength(JSON.stringify(artifacts.modelTopology ?? {})),
    weightSpecsBytes: Buffer.byteLength(JSON.stringify(artifacts.weightSpecs ?? [])),
    weightDataBytes: weightBytes,
  };
}

// ---- fault injection (tests) --------------------------------------------------------

/** Points of a save where a test may simulate a crash or a failure. */
export type SaveStage = 'weights-written' | 'tmp-complete' | 'old-moved' | 'renamed';
type FaultHook = (stage: SaveStage, dir: string) => void | Promise<void>;
let faultHook: FaultHook | undefined;

/**
 * Thrown by a fault hook to simulate a crash: save stops right there and does
 * no clean-up, leaving the folders as a killed process would. Any other error
 * is treated as a real failure (the previous checkpoint is put back).
 */
export class SimulatedCrash extends Error {
  constructor(stage: SaveStage) {
    super(`simulated crash at save stage '${stage}'`);
    this.name = 'SimulatedCrash';
  }
}

/** Testing only: called at each SaveStage of every save (undefined removes it). */
export function __setSaveFaultHook(hook: FaultHook | undefined): void {
  faultHook = hook;
}

// ---- the folder swap --------------------------------------------------------------------

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

async function writeFileSynced(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a folder so renames inside it are durable (not possible on every platform). */
async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows cannot open folders; the renames are still atomic there.
  } finally {
    await handle?.close().catch(() => {});
  }
}

export function siblings(dir: string): { tmp: string; old: string } {
  return { tmp: `${dir}.tmp`, old: `${dir}.old` };
}

/**
 * Rolls back a save that was interrupted (a crash), so that `dir` holds the
 * last committed checkpoint and no `.tmp`/`.old` sibling is left. A save
 * commits when `dir.tmp` is renamed to `dir`; before that, `dir` (or, between
 * the two renames, `dir.old`) is the checkpoint and a `.tmp` folder is
 * discarded. Returns what it did.
 */
export async function recoverCheckpoint(target: string): Promise<'none' | 'restored-old' | 'cleaned'> {
  const dir = path.resolve(filePath(target));
  const { tmp, old } = siblings(dir);
  const [hasDir, hasTmp, hasOld] = await Promise.all([exists(dir), exists(tmp), exists(old)]);
  if (!hasTmp && !hasOld) return 'none';
  let action: 'restored-old' | 'cleaned' = 'cleaned';
  if (!hasDir && hasOld) {
    await fs.rename(old, dir);
    action = 'restored-old';
  }
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.rm(old, { recursive: true, force: true });
  await syncDir(path.dirname(dir));
  return action;
}

/** Refuses to replace a folder that is not a model checkpoint (it would be deleted). */
async function checkReplaceable(dir: string): Promise<void> {
  let stat;
  try {
    stat = await fs.lstat(dir);
  } catch {
    return; // nothing there yet
  }
  if (!stat.isDirectory()) throw new Error(`save: ${dir} exists and is not a folder`);
  const entries = await fs.readdir(dir);
  const foreign = entries.filter((e) => e !== MODEL_JSON && !e.endsWith('.bin'));
  if (foreign.length > 0 || (entries.length > 0 && !entries.includes(MODEL_JSON))) {
    throw new Error(
      `save: ${dir} is not empty and does not look like a model checkpoint (it holds ${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''}); ` +
        'save replaces the whole folder, so give it a folder of its own',
    );
  }
}

const locks = new Map<string, Promise<unknown>>();

/** Runs saves to the same folder one after another. */
async function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  try {
    return await run;
  } finally {
    if (locks.get(key) === tail) locks.delete(key);
  }
}

/** Writes files into `dir`, replacing its previous content atomically (see the top of this file). */
export async function writeCheckpoint(target: string, files: { name: string; data: Uint8Array | string }[]): Promise<string> {
  const dir = path.resolve(filePath(target));
  return serialized(dir, async () => {
    await fs.mkdir(path.dirname(dir), { recursive: true });
    await recoverCheckpoint(dir);
    await checkReplaceable(dir);
    const { tmp, old } = siblings(dir);
    let stage = 'start' as SaveStage | 'start';
    const reach = async (s: SaveStage) => {
      stage = s;
      await faultHook?.(s, dir);
    };
    try {
      await fs.mkdir(tmp);
      // model.json goes last, through a rename: a complete tmp folder is one with model.json in it.
      const last = files.find((f) => f.name === MODEL_JSON);
      for (const f of files) if (f !== last) await writeFileSynced(path.join(tmp, f.name), f.data);
      await reach('weights-written');
      if (last) {
        await writeFileSynced(path.join(tmp, `${MODEL_JSON}.partial`), last.data);
        await fs.rename(path.join(tmp, `${MODEL_JSON}.partial`), path.join(tmp, MODEL_JSON));
      }
      await syncDir(tmp);
      await reach('tmp-complete');
      if (await exists(dir)) {
        await fs.rename(dir, old);
        await reach('old-moved');
      }
      await fs.rename(tmp, dir);
      await syncDir(path.dirname(dir));
      await reach('renamed');
      await fs.rm(old, { recursive: true, force: true });
      return dir;
    } catch (e) {
      if (e instanceof SimulatedCrash) throw e; // leave everything as a crash would
      // A real failure: put the previous checkpoint back and drop the partial one.
      try {
        if (stage === 'old-moved' && !(await exists(dir)) && (await exists(old))) await fs.rename(old, dir);
        if (stage !== 'renamed') await fs.rm(tmp, { recursive: true, force: true });
      } catch {
        // recoverCheckpoint on the next save finishes the job.
      }
      throw e;
    }
  });
}

// ---- model.save -----------------------------------------------------------------------

export async function saveModel(model: Sequential, target: SaveTarget): Promise<SaveResult> {
  if (typeof target === 'object' && target !== null && typeof (target as { save?: unknown }).save === 'function') {
    const artifacts = modelArtifacts(model);
    const result = (await (target as { save(a: ModelArtifacts): unknown }).save(artifacts)) as Partial<SaveResult> | undefined;
    return { modelArtifactsInfo: result?.modelArtifactsInfo ?? artifactsInfo(artifacts, flattenWeightData(artifacts.weightData).byteLength) };
  }
  if (typeof target !== 'string' || filePath(target).trim() === '') {
    throw new TypeError(`save: expected a folder path (or a tfjs IOHandler), received ${target === null ? 'null' : typeof target}`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) && !target.startsWith('file://')) {
    throw new Error(`save: only folders and file:// URLs are supported, received '${target}'`);
  }
  const artifacts = modelArtifacts(model); // weights are read before any await
  const weights = flattenWeightData(artifacts.weightData);
  const expected = (artifacts.weightSpecs ?? []).reduce((n, s) => n + 4 * sizeOfShape(s.shape), 0);
  if (weights.byteLength !== expected) throw new Error(`save: ${weights.byteLength} bytes of weights for specs describing ${expected}`);
  const json = JSON.stringify(modelJSON(artifacts, WEIGHTS_BIN));
  const dir = await writeCheckpoint(target, [
    { name: WEIGHTS_BIN, data: weights },
    { name: MODEL_JSON, data: json },
  ]);
  return { modelArtifactsInfo: artifactsInfo(artifacts, weights.byteLength), path: dir };
}
