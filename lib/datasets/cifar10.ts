// CIFAR-10, as keras.datasets.cifar10.load_data(): x uint8 [50000, 32, 32, 3]
// (channels last), y uint8 [50000, 1]; test 10000. Reads the python batches
// (cifar-10-batches-py/ or its .tar.gz, what Keras downloads) or the binary
// version (cifar-10-batches-bin/ or cifar-10-binary.tar.gz). An archive read
// from the Keras cache is extracted there once, as Keras does.

import fs from 'node:fs/promises';
import path from 'node:path';
import { Tensor } from '../tensor.js';
import { DatasetFileError, concatBytes, maybeGunzip } from './bytes.js';
import { datasetCacheDir, kindOf, tempSibling } from './cache.js';
import { CHANNELS, ROW, SIDE, planarToChannelsLast, readBinaryBatch, readPythonBatch, type Batch } from './cifar-format.js';
import { IncompleteDatasetError, loadDataset, type DatasetSpec, type DatasetSplits, type LoadDataOptions, type Reader } from './loader.js';
import { readTar } from './tar.js';

const PY_DIR = 'cifar-10-batches-py';
const BIN_DIR = 'cifar-10-batches-bin';
const PY_ARCHIVES = ['cifar-10-batches-py.tar.gz', 'cifar-10-python.tar.gz'];
const BIN_ARCHIVE = 'cifar-10-binary.tar.gz';

type Version = 'python' | 'binary';

/** Batch file names of each version: five training batches, then the test batch. */
const BATCHES: Record<Version, string[]> = {
  python: ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'],
  binary: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'],
};

/** Reads the six batches (given their bytes and a name for messages) into Keras' arrays. */
function assemble(version: Version, batches: { bytes: Uint8Array; file: string }[]): DatasetSplits {
  const parsed: Batch[] = batches.map(({ bytes, file }) => (version === 'python' ? readPythonBatch(bytes, file) : readBinaryBatch(bytes, file)));
  const toTensors = (group: Batch[]): [Tensor, Tensor] => {
    const labels = concatBytes(group.map((b) => b.labels));
    const x = new Uint8Array(labels.length * ROW);
    let offset = 0;
    for (const b of group) {
      planarToChannelsLast(b.data, x, offset);
      offset += b.data.length;
    }
    return [new Tensor(x, [labels.length, SIDE, SIDE, CHANNELS]), new Tensor(labels, [labels.length, 1])];
  };
  return [toTensors(parsed.slice(0, 5)), toTensors(parsed.slice(5))];
}

/** The version whose batch files are in `dir`; IncompleteDatasetError when only some are. */
async function versionIn(dir: string): Promise<Version | undefined> {
  for (const version of ['python', 'binary'] as const) {
    const present: string[] = [];
    const missing: string[] = [];
    for (const name of BATCHES[version]) ((await kindOf(path.join(dir, name))) === 'file' ? present : missing).push(name);
    if (present.length && missing.length) throw new IncompleteDatasetError(dir, missing);
    if (present.length) return version;
  }
  return undefined;
}

async function readFolder(dir: string, version: Version): Promise<DatasetSplits> {
  const files = BATCHES[version].map((name) => path.join(dir, name));
  const contents = await Promise.all(files.map((file) => fs.readFile(file)));
  return assemble(version, contents.map((bytes, i) => ({ bytes, file: files[i] })));
}

/**
 * Writes the batches of an archive that was just read as `dir` (the folder
 * Keras' get_file(untar=True) makes), so later loads skip the gunzip (the
 * whole set: 1.8 s from the .tar.gz, 0.4 s from the folder). Through a
 * temporary name and one rename, and only when `dir` does not exist: nothing
 * there is ever overwritten. Best effort: a read-only or full disk just means
 * the next load reads the archive again.
 */
async function extractOnce(dir: string, batches: { name: string; data: Uint8Array }[]): Promise<void> {
  if (await kindOf(dir)) return;
  const temp = tempSibling(dir);
  try {
    await fs.mkdir(temp);
    for (const b of batches) await fs.writeFile(path.join(temp, b.name), b.data);
    await fs.rename(temp, dir); // fails if another process made `dir` first: fine
  } catch {
    // see above
  } finally {
    await fs.rm(temp, { recursive: true, force: true });
  }
}

/**
 * A .tar.gz (or .tar) holding either version; batches are found by base name.
 * With `extractTo`, the batches are also written out as extractTo/cifar-10-batches-{py,bin}.
 */
async function readArchive(file: string, extractTo?: string): Promise<DatasetSplits> {
  const tar = await maybeGunzip(await fs.readFile(file), file);
  const byName = new Map(readTar(tar, file).map((entry) => [path.posix.basename(entry.name), entry]));
  for (const version of ['python', 'binary'] as const) {
    const entries = BATCHES[version].map((name) => byName.get(name));
    if (entries.every((e) => e !== undefined)) {
      const splits = assemble(version, entries.map((e) => ({ bytes: e!.data, file: `${file} (${e!.name})` })));
      if (extractTo) {
        const names = [...BATCHES[version], ...(version === 'python' ? ['batches.meta'] : ['batches.meta.txt'])];
        const batches = names.filter((n) => byName.has(n)).map((n) => ({ name: n, data: byName.get(n)!.data }));
        await extractOnce(path.join(extractTo, version === 'python' ? PY_DIR : BIN_DIR), batches);
      }
      return splits;
    }
  }
  throw new DatasetFileError(file, `the archive lacks CIFAR-10 batches: expected ${BATCHES.python.join(', ')} (or the .bin ones)`);
}

async function locate(p: string): Promise<Reader | undefined> {
  const kind = await kindOf(p);
  if (kind === 'file') {
    // A batch file stands for its folder; any other file should be an archive.
    if (BATCHES.python.includes(path.basename(p)) || BATCHES.binary.includes(path.basename(p))) return locate(path.dirname(p));
    return () => readArchive(p);
  }
  if (kind !== 'dir') return undefined;
  const version = await versionIn(p);
  if (version) return () => readFolder(p, version);
  // Extracted folders are read before archives: no gunzip needed.
  for (const sub of [PY_DIR, BIN_DIR]) {
    const dir = path.join(p, sub);
    if ((await kindOf(dir)) !== 'dir') continue;
    const inner = await versionIn(dir);
    if (inner) return () => readFolder(dir, inner);
  }
  // Archives in the Keras cache are extracted beside themselves on first read;
  // anywhere else (folders the user named) nothing is written.
  const inCache = path.resolve(p) === path.resolve(datasetCacheDir());
  for (const name of [...PY_ARCHIVES, BIN_ARCHIVE]) {
    const archive = path.join(p, name);
    if ((await kindOf(archive)) === 'file') return () => readArchive(archive, inCache ? p : undefined);
  }
  return undefined;
}

const spec: DatasetSpec = {
  title: 'CIFAR-10',
  subdirs: ['cifar10', 'cifar-10', 'cifar-10-batches-py-target'],
  locate,
  downloadSubdir: '',
  remoteFiles: [
    {
      name: PY_ARCHIVES[0],
      url: 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz',
      checksum: { algorithm: 'md5', hex: 'c58f30108f718f92721af3b95e74349a' },
    },
  ],
  expectedFiles: `${PY_ARCHIVES.join(' or ')} (the python version), its extracted folder ${PY_DIR}/, or the binary version (${BIN_ARCHIVE} or ${BIN_DIR}/)`,
};

export const cifar10 = {
  labelNames: Object.freeze(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']) as readonly string[],
  /** [[xTrain, yTrain], [xTest, yTest]]: uint8 [n, 32, 32, 3] images (channels last) and uint8 [n, 1] labels. */
  loadData(options?: LoadDataOptions): Promise<DatasetSplits> {
    return loadDataset(spec, options);
  },
};
