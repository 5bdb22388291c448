// The benchmark's data: the same bytes for every engine. Real data when it is
// present (MNIST from ../shared/data/mnist, CIFAR-10 from the JPEG proxy built
// once into a cache folder), random data of the same shapes otherwise. Written
// as two flat files (uint8 images, uint8 labels) that every child reads and
// scales by 1/255 itself, as the notebook does.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import type { ModelName } from './args.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function cacheDir(): string {
  return process.env.XARXA_BENCH_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'xarxa', 'bench');
}

let dataDirOption: string | undefined;

/** --data DIR: the folder sharedDataDir() answers. */
export function setDataDir(dir: string | undefined): void {
  dataDirOption = dir ? path.resolve(dir) : undefined;
}

/**
 * Where the real data is looked for: --data, else $XARXA_BENCH_DATA, else the first
 * $XARXA_DATASETS_DIR folder (the library's dataset folders) holding mnist/, else
 * ../shared/data beside the checkout.
 */
export function sharedDataDir(): string {
  if (dataDirOption) return dataDirOption;
  if (process.env.XARXA_BENCH_DATA) return process.env.XARXA_BENCH_DATA;
  const datasets = (process.env.XARXA_DATASETS_DIR ?? '').split(path.delimiter).filter((d) => d !== '');
  const withMnist = datasets.find((d) => fs.existsSync(path.join(d, 'mnist')));
  return withMnist ? path.resolve(withMnist) : path.resolve(REPO, '../shared/data');
}

export interface Dataset {
  model: ModelName;
  /** What the data is, for the JSON and the table. */
  source: 'real' | 'random';
  name: string; // 'MNIST' | 'CIFAR-10 (JPEG proxy)' | 'random ...'
  description: string;
  loader?: string; // how it was read
  n: number;
  shape: number[];
  xFile: string;
  yFile: string;
}

interface Raw {
  x: Uint8Array; // n x row
  y: Uint8Array; // n
  n: number;
  loader: string;
}

// ---- MNIST --------------------------------------------------------------------

function readIdx(file: string, magic: number): { dims: number[]; data: Uint8Array } {
  let buf = fs.readFileSync(file);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  const m = buf.readUInt32BE(0);
  if (m !== magic) throw new Error(`${file}: IDX magic 0x${m.toString(16)}, expected 0x${magic.toString(16)}`);
  const rank = m & 0xff;
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const off = 4 + 4 * rank;
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + off, buf.length - off) };
}

async function loadMnist(dir: string): Promise<Raw | undefined> {
  if (!fs.existsSync(dir)) return undefined;
  // lib/datasets (another part of xarxa) when it is there and works; else a tiny IDX reader.
  try {
    const ds = await import('../../lib/datasets/index.js');
    const [[x, y]] = await ds.mnist.loadData({ path: dir, download: false });
    return { x: x.data as Uint8Array, y: y.data as Uint8Array, n: x.shape[0], loader: 'xarxa lib/datasets mnist.loadData' };
  } catch {
    // fall through
  }
  const images = path.join(dir, 'train-images-idx3-ubyte.gz');
  const labels = path.join(dir, 'train-labels-idx1-ubyte.gz');
  if (!fs.existsSync(images) || !fs.existsSync(labels)) return undefined;
  const xi = readIdx(images, 0x803);
  const yi = readIdx(labels, 0x801);
  return { x: xi.data, y: yi.data, n: xi.dims[0], loader: 'bench IDX reader' };
}

// ---- CIFAR-10 (JPEG proxy) ---------------------------------------------------------

function cifarProxyDir(): string {
  return path.join(cacheDir(), 'cifar10-proxy');
}

/** Builds Keras' CIFAR-10 files from the JPEG proxy once (~25 s); undefined + reason when it cannot. */
function ensureCifarProxy(build: boolean, log: (s: string) => void): { dir?: string; reason?: string } {
  const out = cifarProxyDir();
  const done = path.join(out, '.complete');
  if (fs.existsSync(done)) return { dir: out };
  const script = path.join(sharedDataDir(), 'cifar10-jpeg', 'make-keras-cifar10.py');
  if (!fs.existsSync(script)) return { reason: `the CIFAR-10 JPEG proxy is not present (${script})` };
  if (!build) return { reason: `the CIFAR-10 proxy cache is not built yet (${out}); a run without --quick builds it (~25 s)` };
  log(`building the CIFAR-10 (JPEG proxy) cache in ${out} (once, ~25 s)...`);
  fs.mkdirSync(out, { recursive: true });
  const r = spawnSync(process.env.PYTHON || 'python3', [script, '--out', out, '--binary', '--no-targz'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) return { reason: `make-keras-cifar10.py failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' ')}` };
  fs.writeFileSync(done, new Date().toISOString() + '\n');
  return { dir: out };
}

async function loadCifar(dir: string): Promise<Raw> {
  try {
    const ds = await import('../../lib/datasets/index.js');
    const [[x, y]] = await ds.cifar10.loadData({ path: path.join(dir, 'cifar-10-batches-py'), download: false });
    return { x: x.data as Uint8Array, y: y.data as Uint8Array, n: x.shape[0], loader: 'xarxa lib/datasets cifar10.loadData' };
  } catch {
    // fall through to the binary batches: 10,000 records of 1 label + 3,072 planar bytes
  }
  const n = 50000;
  const x = new Uint8Array(n * 3072);
  const y = new Uint8Array(n);
  for (let b = 0; b < 5; b++) {
    const buf = fs.readFileSync(path.join(dir, 'cifar-10-batches-bin', `data_batch_${b + 1}.bin`));
    for (let r = 0; r < 10000; r++) {
      const rec = r * 3073;
      const i = b * 10000 + r;
      y[i] = buf[rec];
      for (let p = 0; p < 1024; p++)
        for (let c = 0; c < 3; c++) x[i * 3072 + p * 3 + c] = buf[rec + 1 + c * 1024 + p]; // planar -> HWC
    }
  }
  return { x, y, n, loader: 'bench CIFAR binary reader' };
}

// ---- random -------------------------------------------------------------------------

function randomRaw(n: number, row: number, seed: number): Raw {
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s >>> 24);
  const x = new Uint8Array(n * row);
  for (let i = 0; i < x.length; i++) x[i] = next();
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) y[i] = next() % 10;
  return { x, y, n, loader: 'seeded random bytes' };
}

// ---- entry --------------------------------------------------------------------------

export const SHAPES: Record<ModelName, number[]> = { 'mnist-dense': [784], 'cifar-cnn': [32, 32, 3] };
const FULL: Record<ModelName, number> = { 'mnist-dense': 60000, 'cifar-cnn': 50000 };

export async function prepareData(
  model: ModelName,
  opts: { samples?: number; random: boolean; buildCifar: boolean; seed: number; log: (s: string) => void },
): Promise<Dataset> {
  const shape = SHAPES[model];
  const row = shape.reduce((a, b) => a * b, 1);
  let raw: Raw | undefined;
  let why = opts.random ? 'random data requested (--random-data)' : '';
  let name = '';
  if (!opts.random) {
    if (model === 'mnist-dense') {
      raw = await loadMnist(path.join(sharedDataDir(), 'mnist'));
      name = 'MNIST';
      if (!raw) why = `real MNIST not found in ${path.join(sharedDataDir(), 'mnist')} (point --data at a folder with mnist/)`;
    } else {
      const built = ensureCifarProxy(opts.buildCifar, opts.log);
      if (built.dir) {
        raw = await loadCifar(built.dir);
        name = 'CIFAR-10 (JPEG proxy)';
      } else why = built.reason ?? 'CIFAR-10 proxy unavailable';
    }
  }
  const n = Math.min(opts.samples ?? FULL[model], raw ? raw.n : opts.samples ?? FULL[model]);
  const source = raw ? 'real' : 'random';
  if (!raw) {
    raw = randomRaw(n, row, opts.seed);
    name = `random bytes shaped like ${model === 'mnist-dense' ? 'MNIST' : 'CIFAR-10'}`;
  }
  const dir = path.join(cacheDir(), 'data');
  fs.mkdirSync(dir, { recursive: true });
  const stem = path.join(dir, `${model}-${source}-${n}-s${opts.seed}`);
  const xFile = `${stem}.x.u8`;
  const yFile = `${stem}.y.u8`;
  // The first n training samples, in the original order (each engine shuffles per epoch).
  fs.writeFileSync(xFile, raw.x.subarray(0, n * row));
  fs.writeFileSync(yFile, raw.y.subarray(0, n));
  const description =
    source === 'real'
      ? `${name}: the first ${n.toLocaleString('en-US')} training images (read by ${raw.loader}), scaled by 1/255, one-hot labels`
      : `${name} (${n.toLocaleString('en-US')} samples): ${why}; loss sanity not checked`;
  return { model, source, name, description, loader: raw.loader, n, shape, xFile, yFile };
}
