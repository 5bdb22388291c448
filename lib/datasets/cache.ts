// Where dataset files live. Like Keras: $KERAS_HOME/datasets, else
// ~/.keras/datasets. XARXA_DATASETS_DIR (one folder, or several joined with
// the platform's path delimiter) is searched before the cache, so a shared
// read-only copy of the data can be used without copying it.

import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** The folder datasets are downloaded into: `$KERAS_HOME/datasets` or `~/.keras/datasets`. */
export function datasetCacheDir(): string {
  const home = process.env.KERAS_HOME || path.join(os.homedir(), '.keras');
  return path.join(home, 'datasets');
}

/**
 * The folders to look in, in order: each XARXA_DATASETS_DIR folder, then the
 * cache; each root also with the dataset's usual subfolders (e.g. 'fashion-mnist').
 */
export function searchDirs(subdirs: readonly string[]): string[] {
  const extra = (process.env.XARXA_DATASETS_DIR ?? '').split(path.delimiter).filter((d) => d !== '');
  const dirs: string[] = [];
  for (const root of [...extra, datasetCacheDir()]) {
    for (const dir of [root, ...subdirs.map((s) => path.join(root, s))]) {
      const resolved = path.resolve(dir);
      if (!dirs.includes(resolved)) dirs.push(resolved);
    }
  }
  return dirs;
}

/**
 * A temporary name beside `target` (same folder, so a rename onto `target` is
 * atomic), unique to this process and call: writes go there first.
 */
export function tempSibling(target: string): string {
  return `${target}.part-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
}

/** 'file', 'dir', or undefined when nothing is there. */
export async function kindOf(p: string): Promise<'file' | 'dir' | undefined> {
  try {
    const stat = await fs.stat(p);
    return stat.isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/** The first of `names` that exists as a file in `dir`. */
export async function firstExisting(dir: string, names: readonly string[]): Promise<string | undefined> {
  for (const name of names) {
    const p = path.join(dir, name);
    if ((await kindOf(p)) === 'file') return p;
  }
  return undefined;
}
