// Downloads against a local HTTP server on 127.0.0.1: checksum before rename,
// redirects, HTTP errors, timeouts, and the loadData flow that downloads into
// the cache when no local copy exists.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { datasetCacheDir } from '../../lib/datasets/cache.js';
import { downloadFile } from '../../lib/datasets/download.js';
import { loadDataset, type DatasetSpec } from '../../lib/datasets/loader.js';
import { readMnistNpz } from '../../lib/datasets/mnist-format.js';
import { ProgressBar } from '../../lib/datasets/progress.js';
import { bytes, mnistLike, tempDir, writeMnistNpz } from './fixtures.js';

const payload = Buffer.from(bytes(100_000, 3));
const npz = writeMnistNpz(mnistLike(4, 2));
const sha256 = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');
const requests: string[] = [];
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/payload' || req.url === '/mnist.npz') {
      const body = req.url === '/payload' ? payload : npz;
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    } else if (req.url === '/moved') {
      res.writeHead(302, { location: '/payload' });
      res.end();
    } else if (req.url === '/silent') {
      // never answers: the client's timeout has to end it
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const savedHome = process.env.KERAS_HOME;
let tmp: string;
beforeEach(() => {
  tmp = tempDir();
  process.env.KERAS_HOME = path.join(tmp, 'keras');
  requests.length = 0;
});
afterEach(() => {
  if (savedHome === undefined) delete process.env.KERAS_HOME;
  else process.env.KERAS_HOME = savedHome;
  fs.rmSync(tmp, { recursive: true, force: true });
});

const leftovers = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

describe('downloadFile', () => {
  it('saves the file once the checksum matches, following redirects', async () => {
    const dest = path.join(tmp, 'sub', 'file.bin');
    await downloadFile(`${base}/moved`, dest, { algorithm: 'sha256', hex: sha256(payload) }, { verbose: false });
    expect(fs.readFileSync(dest).equals(payload)).toBe(true);
    expect(leftovers(path.dirname(dest))).toEqual(['file.bin']);
    const md5 = crypto.createHash('md5').update(payload).digest('hex');
    await downloadFile(`${base}/payload`, path.join(tmp, 'md5.bin'), { algorithm: 'md5', hex: md5 }, { verbose: false });
  });

  it('keeps nothing when the checksum differs', async () => {
    const dest = path.join(tmp, 'file.bin');
    await expect(downloadFile(`${base}/payload`, dest, { algorithm: 'sha256', hex: '0'.repeat(64) }, { verbose: false })).rejects.toThrow(
      /sha256 of the download from .* is [0-9a-f]{64}, expected 0{64}/,
    );
    expect(leftovers(tmp)).toEqual([]);
  });

  it('fails fast on HTTP errors, silence and refused connections', async () => {
    const dest = path.join(tmp, 'file.bin');
    await expect(downloadFile(`${base}/missing`, dest, undefined, { verbose: false })).rejects.toThrow(/HTTP 404/);
    await expect(downloadFile(`${base}/silent`, dest, undefined, { verbose: false, timeoutMs: 200 })).rejects.toThrow(/no answer .* in 0\.2 s/);
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(downloadFile(`http://127.0.0.1:${port}/x`, dest, undefined, { verbose: false })).rejects.toThrow(/ECONNREFUSED/);
    expect(leftovers(tmp)).toEqual([]);
  });

  it('removes the folders a failed download created, and only those', async () => {
    fs.mkdirSync(path.join(tmp, 'mine'));
    fs.writeFileSync(path.join(tmp, 'mine', 'keep.txt'), 'the user owns this');
    const dest = path.join(tmp, 'mine', 'keras', 'datasets', 'fashion-mnist', 'file.bin');
    await expect(downloadFile(`${base}/missing`, dest, undefined, { verbose: false })).rejects.toThrow(/HTTP 404/);
    expect(leftovers(tmp)).toEqual(['mine']);
    expect(leftovers(path.join(tmp, 'mine'))).toEqual(['keep.txt']);
    // A folder that existed before stays, even when empty.
    fs.mkdirSync(path.join(tmp, 'empty'));
    await expect(downloadFile(`${base}/missing`, path.join(tmp, 'empty', 'file.bin'), undefined, { verbose: false })).rejects.toThrow(/HTTP 404/);
    expect(leftovers(tmp).sort()).toEqual(['empty', 'mine']);
  });
});

describe('ProgressBar', () => {
  it('prints a line every 10% when stderr is not a terminal', () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const bar = new ProgressBar('Downloading x', 1_000_000, stream);
    for (let done = 0; done <= 1_000_000; done += 50_000) bar.update(done);
    bar.finish(1_000_000);
    expect(lines.length).toBe(11);
    expect(lines[lines.length - 1]).toBe(`Downloading x  [${'='.repeat(30)}] 100%  1.0/1.0 MB\n`);
  });
});

describe('loadDataset with downloads', () => {
  const spec = (url: string): DatasetSpec => ({
    title: 'Test',
    subdirs: [],
    locate: async (p) => (fs.existsSync(path.join(p, 'mnist.npz')) ? () => readMnistNpz(path.join(p, 'mnist.npz')) : undefined),
    downloadSubdir: 'test',
    remoteFiles: [{ name: 'mnist.npz', url, checksum: { algorithm: 'sha256', hex: sha256(npz) } }],
    expectedFiles: 'mnist.npz',
  });

  it('downloads into the cache once, then reads the cached copy', async () => {
    const [[x]] = await loadDataset(spec(`${base}/mnist.npz`), { verbose: false });
    expect(x.shape).toEqual([4, 28, 28]);
    expect(fs.existsSync(path.join(datasetCacheDir(), 'test', 'mnist.npz'))).toBe(true);
    await loadDataset(spec(`${base}/mnist.npz`), { verbose: false });
    expect(requests).toEqual(['/mnist.npz']);
  });

  it('explains what to do when the download fails', async () => {
    await expect(loadDataset(spec(`${base}/gone`), { verbose: false })).rejects.toThrow(
      /Test: no local copy found and the download failed: HTTP 404 from .*\/gone\. Put mnist\.npz into .*test/,
    );
    expect(leftovers(path.join(datasetCacheDir(), 'test'))).toEqual([]);
  });
});
