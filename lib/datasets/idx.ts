// The IDX format of the original MNIST files (also used by Fashion-MNIST):
// a big-endian header 0x00 0x00 <type> <ndim>, then ndim uint32 sizes, then the data.
// Images are 0x00000803 (uint8, 3 dims), labels 0x00000801 (uint8, 1 dim).

import { sizeOf } from '../tensor.js';
import { DatasetFileError, copyBytes } from './bytes.js';

const UBYTE = 0x08;

export interface IdxArray {
  shape: number[];
  data: Uint8Array; // a plain copy
}

/** Parses an uncompressed IDX file; `ndim` is the number of dimensions the caller expects. */
export function parseIdx(buf: Uint8Array, file: string, ndim: number): IdxArray {
  const fail = (problem: string): never => {
    throw new DatasetFileError(file, problem);
  };
  const magic = (UBYTE << 8) | ndim;
  const hex = (n: number): string => '0x' + n.toString(16).padStart(8, '0');
  if (buf.length < 4) fail('too short to be an IDX file (truncated)');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const found = view.getUint32(0, false);
  if (found !== magic) fail(`wrong magic number ${hex(found)}, expected ${hex(magic)} (IDX uint8, ${ndim} dimension${ndim > 1 ? 's' : ''})`);

  const headerLength = 4 + 4 * ndim;
  if (buf.length < headerLength) fail('truncated IDX header');
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(view.getUint32(4 + 4 * i, false));

  const expected = sizeOf(shape);
  const available = buf.length - headerLength;
  if (available < expected) fail(`truncated: header says [${shape.join(', ')}] = ${expected} bytes of data, found ${available}`);
  if (available > expected) fail(`${available - expected} unexpected bytes after the data for [${shape.join(', ')}] (corrupt)`);
  return { shape, data: copyBytes(buf.subarray(headerLength)) };
}
