// Small byte helpers shared by the format readers: gzip, CRC-32, copies,
// and one error type that always names the file it is about.

import zlib from 'node:zlib';
import { promisify } from 'node:util';

const gunzipAsync = promisify(zlib.gunzip);

/** An error about one dataset file: the message starts with the file's name. */
export class DatasetFileError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'DatasetFileError';
  }
}

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Gunzips (off the main thread); zlib checks the gzip CRC and length, so corruption throws here. */
export async function gunzip(buf: Uint8Array, file: string): Promise<Buffer> {
  try {
    return await gunzipAsync(buf);
  } catch (err) {
    throw new DatasetFileError(file, `not a valid gzip file (${(err as Error).message}); it is probably truncated or corrupt`);
  }
}

/** Gunzips when the bytes start with the gzip magic, else returns them unchanged. */
export async function maybeGunzip(buf: Uint8Array, file: string): Promise<Uint8Array> {
  return isGzip(buf) ? gunzip(buf, file) : buf;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (zip/gzip polynomial). zlib.crc32 is native from Node 20.15; the table is the fallback. */
export function crc32(buf: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (native) return native(buf) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < buf.length; i++) crc = crcTable[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * A plain Uint8Array copy. Tensors must not hold a Node Buffer: Buffer#slice
 * returns a view, which would break Tensor#slice's "shares no memory".
 */
export function copyBytes(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length);
  out.set(src);
  return out;
}

/** Concatenates byte arrays into one plain Uint8Array. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
