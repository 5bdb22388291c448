// A small zip reader, enough for NumPy's .npz files: it walks the central
// directory (zip64 included: np.savez writes every entry with force_zip64),
// inflates stored and deflate entries, and checks each entry's CRC-32.

import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { DatasetFileError, crc32 } from './bytes.js';

const inflateRawAsync = promisify(zlib.inflateRaw);

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const MAX32 = 0xffffffff;

export interface ZipEntry {
  name: string;
  method: number; // 0 stored, 8 deflate
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** Lists the entries named in the central directory. */
export function listZip(buf: Uint8Array, file: string): ZipEntry[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const fail = (problem: string): never => {
    throw new DatasetFileError(file, `${problem} (the zip file is truncated or corrupt)`);
  };
  const u16 = (at: number): number => (at + 2 <= buf.length ? view.getUint16(at, true) : fail('unexpected end of data'));
  const u32 = (at: number): number => (at + 4 <= buf.length ? view.getUint32(at, true) : fail('unexpected end of data'));
  const u64 = (at: number): number => {
    const value = u32(at) + u32(at + 4) * 2 ** 32;
    return Number.isSafeInteger(value) ? value : fail('a zip64 field is too large');
  };

  // The end-of-central-directory record sits at the end, before an optional comment of up to 64 KiB.
  let eocd = -1;
  for (let at = buf.length - 22; at >= 0 && at >= buf.length - 22 - 0xffff; at--) {
    if (view.getUint32(at, true) === EOCD_SIG) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) fail('no end-of-central-directory record found; this is not a zip file or its end is missing');

  let count = u16(eocd + 10);
  let dirSize = u32(eocd + 12);
  let dirOffset = u32(eocd + 16);
  if (count === 0xffff || dirSize === MAX32 || dirOffset === MAX32) {
    const locator = eocd - 20;
    if (locator < 0 || u32(locator) !== ZIP64_LOCATOR_SIG) fail('zip64 locator missing');
    const zip64 = u64(locator + 8);
    if (u32(zip64) !== ZIP64_EOCD_SIG) fail('zip64 end-of-central-directory record missing');
    count = u64(zip64 + 32);
    dirSize = u64(zip64 + 40);
    dirOffset = u64(zip64 + 48);
  }
  if (dirOffset + dirSize > buf.length) fail('central directory lies past the end of the file');

  const entries: ZipEntry[] = [];
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    if (u32(at) !== CENTRAL_SIG) fail(`bad central directory entry #${i}`);
    const flags = u16(at + 8);
    if (flags & 1) fail('encrypted entries are not supported');
    const method = u16(at + 10);
    const crc = u32(at + 16);
    let compressedSize = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let localHeaderOffset = u32(at + 42);
    if (at + 46 + nameLength > buf.length) fail('unexpected end of data');
    const name = Buffer.from(buf.buffer, buf.byteOffset + at + 46, nameLength).toString('utf8');

    // Zip64 extra field: the 64-bit values, present only for the fields saturated at 0xffffffff.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = u16(extra);
      const length = u16(extra + 2);
      if (id === 0x0001) {
        let field = extra + 4;
        if (size === MAX32) {
          size = u64(field);
          field += 8;
        }
        if (compressedSize === MAX32) {
          compressedSize = u64(field);
          field += 8;
        }
        if (localHeaderOffset === MAX32) localHeaderOffset = u64(field);
      }
      extra += 4 + length;
    }
    entries.push({ name, method, crc32: crc, compressedSize, size, localHeaderOffset });
    at = extraEnd + commentLength;
  }
  return entries;
}

/** The uncompressed bytes of one entry, CRC-checked. */
export async function readZipEntry(buf: Uint8Array, entry: ZipEntry, file: string): Promise<Uint8Array> {
  const where = `${file} (entry ${entry.name})`;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const local = entry.localHeaderOffset;
  if (local + 30 > buf.length || view.getUint32(local, true) !== LOCAL_SIG) {
    throw new DatasetFileError(where, 'bad local header (the zip file is truncated or corrupt)');
  }
  // Sizes come from the central directory: with zip64 the local header holds 0xffffffff placeholders.
  const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
  const end = start + entry.compressedSize;
  if (end > buf.length) throw new DatasetFileError(where, 'data runs past the end of the file (truncated)');
  const raw = buf.subarray(start, end);

  let data: Uint8Array;
  if (entry.method === 0) {
    data = raw;
  } else if (entry.method === 8) {
    try {
      data = await inflateRawAsync(raw);
    } catch (err) {
      throw new DatasetFileError(where, `cannot inflate (${(err as Error).message}); the file is corrupt`);
    }
  } else {
    throw new DatasetFileError(where, `compression method ${entry.method} is not supported (only stored and deflate)`);
  }
  if (data.length !== entry.size) {
    throw new DatasetFileError(where, `expected ${entry.size} bytes after decompression, got ${data.length} (corrupt)`);
  }
  if (crc32(data) !== entry.crc32) throw new DatasetFileError(where, 'CRC-32 mismatch: the file is corrupt');
  return data;
}

/** Every entry of a zip archive, by name. Entries are inflated in parallel (zlib's thread pool). */
export async function readZip(buf: Uint8Array, file: string): Promise<Map<string, Uint8Array>> {
  const entries = listZip(buf, file);
  const contents = await Promise.all(entries.map((e) => readZipEntry(buf, e, file)));
  return new Map(entries.map((e, i) => [e.name, contents[i]]));
}
