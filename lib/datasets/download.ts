// Downloads one file into the cache. The bytes go to a temporary name next to
// the target and are hashed on the way; the file gets its real name only once
// the checksum matches, so an interrupted or corrupted download never looks
// like a cached dataset.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { tempSibling } from './cache.js';
import { ProgressBar } from './progress.js';

export interface Checksum {
  algorithm: 'sha256' | 'md5';
  hex: string;
}

export interface DownloadOptions {
  /** Progress bar on stderr: true always, false never, default only when stderr is a terminal. */
  verbose?: boolean;
  /** Gives up when the server sends nothing for this long (default 15 s, or XARXA_DOWNLOAD_TIMEOUT_MS). */
  timeoutMs?: number;
}

const MAX_REDIRECTS = 5;

function defaultTimeout(): number {
  const fromEnv = Number(process.env.XARXA_DOWNLOAD_TIMEOUT_MS);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 15000;
}

/** Opens a GET response, following redirects; rejects on an HTTP error status. */
function get(url: string, timeoutMs: number, redirects = 0): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('http:') ? http : https;
    const request = client.get(url, (response) => {
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (status >= 300 && status < 400 && location) {
        response.resume();
        if (redirects >= MAX_REDIRECTS) return reject(new Error(`too many redirects from ${url}`));
        return resolve(get(new URL(location, url).toString(), timeoutMs, redirects + 1));
      }
      if (status !== 200) {
        response.resume();
        return reject(new Error(`HTTP ${status} from ${url}`));
      }
      resolve(response);
    });
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer from ${url} in ${timeoutMs / 1000} s`)));
    request.on('error', reject);
  });
}

/** Removes the folders a failed download created (`dir` up to `created`), as long as they are empty. */
async function removeCreatedFolders(dir: string, created: string | undefined): Promise<void> {
  if (!created) return;
  for (let d = dir; d.length >= created.length; d = path.dirname(d)) {
    try {
      await fs.promises.rmdir(d); // only succeeds on an empty folder
    } catch {
      return;
    }
    if (d === created) return;
  }
}

/**
 * Downloads `url` to `dest` (creating its folder), checking `checksum` before
 * the final rename. A failed download leaves nothing behind: no partial file,
 * and no folder that it created and left empty.
 */
export async function downloadFile(url: string, dest: string, checksum: Checksum | undefined, options: DownloadOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? defaultTimeout();
  const folder = path.resolve(path.dirname(dest));
  const created = await fs.promises.mkdir(folder, { recursive: true });
  const temp = tempSibling(dest);
  try {
    const response = await get(url, timeoutMs);
    const length = Number(response.headers['content-length']);
    const total = Number.isFinite(length) && length > 0 ? length : undefined;
    const showProgress = options.verbose ?? Boolean(process.stderr.isTTY);
    const bar = showProgress ? new ProgressBar(`Downloading ${path.basename(dest)}`, total) : undefined;
    const hash = crypto.createHash(checksum?.algorithm ?? 'sha256');
    let received = 0;

    await new Promise<void>((resolve, reject) => {
      const out = fs.createWriteStream(temp);
      // A stalled body is caught by the socket timeout too.
      response.socket.setTimeout(timeoutMs, () => response.destroy(new Error(`download of ${url} stalled for ${timeoutMs / 1000} s`)));
      response.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
        bar?.update(received);
      });
      response.on('error', reject);
      response.on('aborted', () => reject(new Error(`connection closed during the download of ${url}`)));
      out.on('error', reject);
      out.on('finish', resolve);
      response.pipe(out);
    });
    bar?.finish(received);

    if (total !== undefined && received !== total) throw new Error(`download of ${url} is incomplete: ${received} of ${total} bytes`);
    if (checksum) {
      const actual = hash.digest('hex');
      if (actual !== checksum.hex.toLowerCase()) {
        throw new Error(`${checksum.algorithm} of the download from ${url} is ${actual}, expected ${checksum.hex}: the file is corrupt or not the expected one`);
      }
    }
    await fs.promises.rename(temp, dest);
  } catch (err) {
    await fs.promises.rm(temp, { force: true });
    await removeCreatedFolders(folder, created);
    throw err;
  }
}
