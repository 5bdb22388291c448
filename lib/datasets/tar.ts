// A small tar reader (ustar, GNU long names, pax paths) for the CIFAR-10
// archives. It reads an uncompressed tar held in memory (gunzip it first) and
// returns its regular files; each 512-byte header's checksum is verified so a
// corrupt archive is reported instead of yielding garbage.

import { DatasetFileError } from './bytes.js';

const BLOCK = 512;

export interface TarFile {
  name: string;
  data: Uint8Array; // a view into the archive's bytes
}

function text(buf: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && buf[end] !== 0) end++;
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8');
}

/** Octal numeric field, or GNU base-256 when the high bit of the first byte is set. */
function number(buf: Uint8Array, start: number, length: number): number {
  if (buf[start] & 0x80) {
    let value = buf[start] & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + buf[start + i];
    return value;
  }
  const s = text(buf, start, length).trim();
  return s === '' ? 0 : /^[0-7]+$/.test(s) ? parseInt(s, 8) : NaN;
}

function checksumOk(buf: Uint8Array, at: number): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : buf[at + i]; // the field itself counts as spaces
  return sum === number(buf, at + 148, 8);
}

/** `path=` from a pax extended header ("<length> <key>=<value>\n" records). */
function paxPath(data: Uint8Array): string | undefined {
  const records = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  const match = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(records);
  return match?.[1];
}

export function readTar(buf: Uint8Array, file: string): TarFile[] {
  const files: TarFile[] = [];
  let longName: string | undefined;
  let at = 0;
  while (at + BLOCK <= buf.length) {
    if (buf.subarray(at, at + BLOCK).every((b) => b === 0)) break; // end-of-archive marker
    if (!checksumOk(buf, at)) throw new DatasetFileError(file, `bad tar header checksum at byte ${at} (the archive is corrupt)`);
    const size = number(buf, at + 124, 12);
    if (!Number.isSafeInteger(size)) throw new DatasetFileError(file, `bad size field in the tar header at byte ${at}`);
    const type = String.fromCharCode(buf[at + 156] || 0x30);
    const dataStart = at + BLOCK;
    if (dataStart + size > buf.length) {
      throw new DatasetFileError(file, `truncated: entry ${text(buf, at, 100)} needs ${size} bytes, the archive ends first`);
    }
    const data = buf.subarray(dataStart, dataStart + size);

    let name = text(buf, at, 100);
    if (text(buf, at + 257, 5) === 'ustar') {
      const prefix = text(buf, at + 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (type === 'L') {
      longName = text(data, 0, data.length); // GNU: the next entry's name
    } else if (type === 'x') {
      longName = paxPath(data) ?? longName;
    } else if (type === '0' || type === '7') {
      files.push({ name: longName ?? name, data });
      longName = undefined;
    } else if (type !== 'g') {
      longName = undefined; // directories, links and the like: nothing to read
    }
    at = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (at + BLOCK > buf.length && at < buf.length) {
    throw new DatasetFileError(file, 'truncated: the archive ends inside a tar header');
  }
  return files;
}
