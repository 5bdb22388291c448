// Writers for small files in each dataset format, so the loaders can be
// tested anywhere without the real data. Each follows the producer it stands
// for (numpy's savez, Python 2's cPickle, GNU tar, the CIFAR binary records).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { crc32 } from '../../lib/datasets/bytes.js';

export function tempDir(prefix = 'xarxa-datasets-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Deterministic pseudo-random bytes (values below `limit`). */
export function bytes(n: number, seed: number, limit = 256): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) % limit;
  }
  return out;
}

// ---------- zip / npz ----------

export interface ZipInput {
  name: string;
  data: Uint8Array;
  method?: 0 | 8;
  /** Like numpy's savez (force_zip64): 0xffffffff sizes in the local header plus a zip64 extra field. */
  zip64?: boolean;
}

export function writeZip(entries: ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const method = e.method ?? 8;
    const body = method === 8 ? zlib.deflateRawSync(e.data) : Buffer.from(e.data);
    const name = Buffer.from(e.name);
    const crc = crc32(e.data);
    const extra = Buffer.alloc(e.zip64 ? 20 : 0);
    if (e.zip64) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(16, 2);
      extra.writeBigUInt64LE(BigInt(e.data.length), 4);
      extra.writeBigUInt64LE(BigInt(body.length), 12);
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(e.zip64 ? 45 : 20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.zip64 ? 0xffffffff : body.length, 18);
    local.writeUInt32LE(e.zip64 ? 0xffffffff : e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    locals.push(local, name, extra, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(45, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + extra.length + body.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

/** A version-1 .npy of uint8 data, header padded to 64 bytes like numpy does. */
export function writeNpy(shape: number[], data: Uint8Array, descr = '|u1'): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(prefix);
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]);
}

export interface MnistLike {
  xTrain: Uint8Array; // n * 784
  yTrain: Uint8Array;
  xTest: Uint8Array;
  yTest: Uint8Array;
}

export function mnistLike(nTrain: number, nTest: number, seed = 1): MnistLike {
  return {
    xTrain: bytes(nTrain * 784, seed),
    yTrain: bytes(nTrain, seed + 1, 10),
    xTest: bytes(nTest * 784, seed + 2),
    yTest: bytes(nTest, seed + 3, 10),
  };
}

/** Keras' mnist.npz layout (np.savez_compressed: deflate, zip64 entries). */
export function writeMnistNpz(d: MnistLike): Buffer {
  const n = d.yTrain.length;
  const m = d.yTest.length;
  return writeZip([
    { name: 'x_test.npy', data: writeNpy([m, 28, 28], d.xTest), zip64: true },
    { name: 'x_train.npy', data: writeNpy([n, 28, 28], d.xTrain), zip64: true },
    { name: 'y_train.npy', data: writeNpy([n], d.yTrain), zip64: true },
    { name: 'y_test.npy', data: writeNpy([m], d.yTest), method: 0 },
  ]);
}

// ---------- IDX ----------

export function writeIdx(shape: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header.writeUInt32BE((0x08 << 8) | shape.length, 0);
  shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

/** The four gzip'ed IDX files into `dir`. */
export function writeIdxFiles(dir: string, d: MnistLike, gzip = true): void {
  fs.mkdirSync(dir, { recursive: true });
  const put = (name: string, buf: Buffer) => fs.writeFileSync(path.join(dir, gzip ? `${name}.gz` : name), gzip ? zlib.gzipSync(buf) : buf);
  put('train-images-idx3-ubyte', writeIdx([d.yTrain.length, 28, 28], d.xTrain));
  put('train-labels-idx1-ubyte', writeIdx([d.yTrain.length], d.yTrain));
  put('t10k-images-idx3-ubyte', writeIdx([d.yTest.length, 28, 28], d.xTest));
  put('t10k-labels-idx1-ubyte', writeIdx([d.yTest.length], d.yTest));
}

// ---------- pickle (protocol 2, written opcode by opcode) ----------

/** Writes pickles in the style of Python 2's cPickle (CIFAR's originals) or Python 3 (style 'py3'). */
export class PickleWriter {
  private parts: Buffer[] = [];
  private memo = 0;

  constructor(private readonly style: 'py2' | 'py3' = 'py2') {}

  private w(...b: (number[] | Buffer | Uint8Array)[]): void {
    for (const x of b) this.parts.push(Buffer.from(x as Uint8Array));
  }

  private put(): void {
    if (this.memo < 256) this.w([0x71, this.memo]); // BINPUT
    else {
      const b = Buffer.alloc(5);
      b[0] = 0x72; // LONG_BINPUT
      b.writeUInt32LE(this.memo, 1);
      this.w(b);
    }
    this.memo++;
  }

  /** A byte string: SHORT_BINSTRING/BINSTRING (py2) or SHORT_BINBYTES/BINBYTES (py3). */
  bytes(s: Uint8Array | string): void {
    const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s);
    const [short, long] = this.style === 'py2' ? [0x55, 0x54] : [0x43, 0x42];
    if (b.length < 256) this.w([short, b.length], b);
    else {
      const h = Buffer.alloc(5);
      h[0] = long;
      h.writeUInt32LE(b.length, 1);
      this.w(h, b);
    }
    this.put();
  }

  unicode(s: string): void {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(5);
    h[0] = 0x58; // BINUNICODE
    h.writeUInt32LE(b.length, 1);
    this.w(h, b);
    this.put();
  }

  /** A native str: bytes in Python 2, unicode in Python 3. */
  text(s: string): void {
    if (this.style === 'py2') this.bytes(s);
    else this.unicode(s);
  }

  int(v: number): void {
    if (v >= 0 && v < 256) this.w([0x4b, v]);
    else if (v >= 0 && v < 65536) this.w([0x4d, v & 0xff, v >> 8]);
    else {
      const b = Buffer.alloc(5);
      b[0] = 0x4a;
      b.writeInt32LE(v, 1);
      this.w(b);
    }
  }

  global(module: string, name: string): void {
    this.w(Buffer.from(`c${module}\n${name}\n`, 'latin1'));
    this.put();
  }

  list(items: number[], batch = 1000): void {
    this.w([0x5d]); // EMPTY_LIST
    this.put();
    for (let i = 0; i < items.length; i += batch) {
      const chunk = items.slice(i, i + batch);
      if (chunk.length === 1) {
        this.int(chunk[0]);
        this.w([0x61]); // APPEND
      } else {
        this.w([0x28]); // MARK
        chunk.forEach((v) => this.int(v));
        this.w([0x65]); // APPENDS
      }
    }
  }

  /** A uint8 numpy array, as numpy's __reduce__ pickles it. */
  ndarray(shape: number[], data: Uint8Array): void {
    this.global(this.style === 'py2' ? 'numpy.core.multiarray' : 'numpy._core.multiarray', '_reconstruct');
    this.global('numpy', 'ndarray');
    this.w([0x4b, 0, 0x85]); // (0,)
    this.put();
    this.latin1Bytes(Buffer.from('b'));
    this.w([0x87, 0x52]); // TUPLE3, REDUCE
    this.put();
    this.w([0x28, 0x4b, 1]); // MARK, version 1
    shape.forEach((d) => this.int(d));
    this.w([[0, 0x85, 0x86, 0x87][shape.length]]);
    this.put();
    this.global('numpy', 'dtype');
    this.text('u1');
    this.w([0x4b, 0, 0x4b, 1, 0x87, 0x52]); // dtype('u1', 0, 1)
    this.put();
    this.w([0x28, 0x4b, 3]); // dtype state (3, '|', None, None, None, -1, -1, 0)
    this.text('|');
    this.w([0x4e, 0x4e, 0x4e, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4b, 0, 0x74]);
    this.put();
    this.w([0x62, 0x89]); // BUILD, NEWFALSE (not Fortran order)
    this.latin1Bytes(data);
    this.w([0x74]); // TUPLE
    this.put();
    this.w([0x62]); // BUILD
  }

  /** Raw bytes as each Python writes them in protocol 2: a str (py2) or _codecs.encode(unicode, 'latin1') (py3). */
  private latin1Bytes(data: Uint8Array): void {
    if (this.style === 'py2') return this.bytes(data);
    this.global('_codecs', 'encode');
    this.unicode(Buffer.from(data).toString('latin1'));
    this.unicode('latin1');
    this.w([0x86, 0x52]); // TUPLE2, REDUCE
    this.put();
  }

  /** A CIFAR-10 batch dict: batch_label, labels, data, filenames (the originals' key order). */
  cifarBatch(labels: number[], data: Uint8Array, rows = labels.length): Buffer {
    this.w([0x80, 2, 0x7d]); // PROTO 2, EMPTY_DICT
    this.put();
    this.w([0x28]); // MARK
    this.bytes('batch_label');
    this.bytes('training batch 1 of 5');
    this.bytes('labels');
    this.list(labels);
    this.bytes('data');
    this.ndarray([rows, 3072], data);
    this.bytes('filenames');
    this.w([0x5d]);
    this.put();
    this.w([0x28]);
    labels.forEach((_, i) => this.bytes(`img_${i}.png`));
    this.w([0x65, 0x75, 0x2e]); // APPENDS, SETITEMS, STOP
    return Buffer.concat(this.parts);
  }
}

// ---------- tar ----------

function tarHeader(name: string, size: number, type: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

function pad(data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(data), Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** An uncompressed tar of regular files (folders implied); names over 100 bytes use a GNU 'L' record. */
export function writeTar(files: { name: string; data: Uint8Array }[]): Buffer {
  const parts: Buffer[] = [];
  const dirs = new Set<string>();
  for (const f of files) {
    const dir = path.posix.dirname(f.name);
    if (dir !== '.' && !dirs.has(dir)) {
      dirs.add(dir);
      parts.push(tarHeader(`${dir}/`, 0, '5'));
    }
    if (f.name.length > 100) {
      const long = Buffer.from(f.name + '\0');
      parts.push(tarHeader('././@LongLink', long.length, 'L'), pad(long));
    }
    parts.push(tarHeader(f.name, f.data.length, '0'), pad(f.data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

// ---------- CIFAR-10 ----------

export interface CifarLike {
  labels: number[][]; // six batches: data_batch_1..5, test_batch
  data: Uint8Array[]; // planar rows, n * 3072 each
}

export function cifarLike(perBatch: number, seed = 7): CifarLike {
  const labels: number[][] = [];
  const data: Uint8Array[] = [];
  for (let b = 0; b < 6; b++) {
    labels.push(Array.from(bytes(perBatch, seed + b, 10)));
    data.push(bytes(perBatch * 3072, seed + 10 + b));
  }
  return { labels, data };
}

export const PY_BATCHES = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'];

export function pythonBatchFiles(c: CifarLike, style: 'py2' | 'py3' = 'py2'): { name: string; data: Buffer }[] {
  return PY_BATCHES.map((name, b) => ({ name, data: new PickleWriter(style).cifarBatch(c.labels[b], c.data[b]) }));
}

export function binaryBatchFiles(c: CifarLike): { name: string; data: Buffer }[] {
  return PY_BATCHES.map((name, b) => {
    const n = c.labels[b].length;
    const out = Buffer.alloc(n * 3073);
    for (let i = 0; i < n; i++) {
      out[i * 3073] = c.labels[b][i];
      out.set(c.data[b].subarray(i * 3072, (i + 1) * 3072), i * 3073 + 1);
    }
    return { name: `${name}.bin`, data: out };
  });
}

export function writeFiles(dir: string, files: { name: string; data: Uint8Array }[]): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of files) fs.writeFileSync(path.join(dir, f.name), f.data);
}
