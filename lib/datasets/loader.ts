// The loadData flow every dataset shares: an explicit { path }, else the
// first complete copy in the search folders, else a download into the cache
// (checksum-checked), else an error that says which files to put where.

import path from 'node:path';
import type { Tensor } from '../tensor.js';
import { datasetCacheDir, kindOf, searchDirs } from './cache.js';
import { downloadFile, type Checksum } from './download.js';

export interface LoadDataOptions {
  /**
   * An explicit file or folder to read; nothing else is tried. A relative path is taken from the
   * working directory, else (like Keras' `path='mnist.npz'`) from the cache folder.
   */
  path?: string;
  /** Download into the cache when no local copy is found (default true). */
  download?: boolean;
  /** Download progress on stderr (default: only when stderr is a terminal). */
  verbose?: boolean;
}

/** Keras' return value: [[xTrain, yTrain], [xTest, yTest]]. */
export type DatasetSplits = [[Tensor, Tensor], [Tensor, Tensor]];

export type Reader = () => Promise<DatasetSplits>;

/** Some files of a dataset are in a folder but not all: never used, and reported if nothing else is found. */
export class IncompleteDatasetError extends Error {
  constructor(dir: string, missing: string[]) {
    super(`${dir} holds only part of the dataset: missing ${missing.join(', ')}`);
    this.name = 'IncompleteDatasetError';
  }
}

export interface RemoteFile {
  name: string; // file name in downloadDir
  url: string;
  checksum: Checksum;
}

export interface DatasetSpec {
  title: string; // for messages: 'MNIST'
  /** Subfolders also searched under each search root, e.g. ['fashion-mnist']. */
  subdirs: readonly string[];
  /** A reader for the copy at `p` (a file or a folder), or undefined when there is none. */
  locate(p: string): Promise<Reader | undefined>;
  /** The folder downloads go to (under the Keras cache). */
  downloadSubdir: string;
  remoteFiles: readonly RemoteFile[];
  /** Which files work, for the "not found" message. */
  expectedFiles: string;
}

async function resolveExplicit(p: string): Promise<string> {
  const fromCwd = path.resolve(p);
  if (path.isAbsolute(p) || (await kindOf(fromCwd))) return fromCwd;
  const fromCache = path.join(datasetCacheDir(), p);
  return (await kindOf(fromCache)) ? fromCache : fromCwd;
}

export async function loadDataset(spec: DatasetSpec, options: LoadDataOptions = {}): Promise<DatasetSplits> {
  if (options.path !== undefined) {
    const target = await resolveExplicit(options.path);
    if (!(await kindOf(target))) throw new Error(`${spec.title}: ${target} does not exist. Expected ${spec.expectedFiles}.`);
    const reader = await spec.locate(target);
    if (!reader) throw new Error(`${spec.title}: no dataset files at ${target}. Expected ${spec.expectedFiles}.`);
    return reader();
  }

  const dirs = searchDirs(spec.subdirs);
  const incomplete: string[] = [];
  for (const dir of dirs) {
    let reader: Reader | undefined;
    try {
      reader = await spec.locate(dir);
    } catch (err) {
      if (!(err instanceof IncompleteDatasetError)) throw err;
      incomplete.push(err.message);
    }
    if (reader) return reader();
  }

  const downloadDir = path.join(datasetCacheDir(), spec.downloadSubdir);
  let reason = 'downloading is disabled (download: false)';
  if (options.download !== false) {
    try {
      for (const remote of spec.remoteFiles) {
        const dest = path.join(downloadDir, remote.name);
        if ((await kindOf(dest)) === 'file') continue; // kept from an earlier, partly finished download
        await downloadFile(remote.url, dest, remote.checksum, { verbose: options.verbose });
      }
      const reader = await spec.locate(downloadDir);
      if (reader) return reader();
      reason = `the downloaded files are not in ${downloadDir}`;
    } catch (err) {
      reason = `the download failed: ${(err as Error).message}`;
    }
  }
  const notes = incomplete.length ? ` Note: ${incomplete.join('; ')}.` : '';
  throw new Error(
    `${spec.title}: no local copy found and ${reason}. ` +
      `Put ${spec.expectedFiles} into ${downloadDir} (or a folder named by XARXA_DATASETS_DIR), ` +
      `or pass { path } naming the file or folder. Searched: ${dirs.join(', ')}.${notes}`,
  );
}
