// A .npy reader for the one kind of array the datasets hold: uint8, C order.
// Format: "\x93NUMPY", version, header length, then a Python dict literal such as
// {'descr': '|u1', 'fortran_order': False, 'shape': (60000, 28, 28), } and the raw bytes.

import { sizeOf } from '../tensor.js';
import { DatasetFileError, copyBytes } from './bytes.js';

export interface NpyArray {
  shape: number[];
  data: Uint8Array; // a plain copy, C order
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function parseNpy(buf: Uint8Array, file: string): NpyArray {
  const fail = (problem: string): never => {
    throw new DatasetFileError(file, problem);
  };
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) fail('not a .npy array (bad magic)');
  const major = buf[6];
  if (major < 1 || major > 3) fail(`unsupported .npy version ${major}.${buf[7]}`);
  // Version 1 has a 2-byte header length, versions 2 and 3 a 4-byte one.
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const lengthSize = major === 1 ? 2 : 4;
  if (buf.length < 8 + lengthSize) fail('truncated .npy header');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthSize + headerLength;
  if (dataStart > buf.length) fail('truncated .npy header');
  const header = Buffer.from(buf.buffer, buf.byteOffset + 8 + lengthSize, headerLength).toString(major === 3 ? 'utf8' : 'latin1');

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail(`unreadable .npy header ${JSON.stringify(header.trim())}`);
  // '|u1' is what numpy writes for uint8; the byte-order character does not matter for one byte.
  if (!/^[|<>=]u1$/.test(descr!)) fail(`dtype '${descr}' is not supported (expected uint8, '|u1')`);

  const shape = shapeText!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`bad shape (${shapeText})`);
  if (fortran === 'True' && shape.filter((d) => d > 1).length > 1) fail('Fortran-order arrays are not supported');

  const expected = sizeOf(shape);
  const available = buf.length - dataStart;
  if (available < expected) fail(`truncated: shape (${shape.join(', ')}) needs ${expected} bytes of data, found ${available}`);
  if (available > expected) fail(`${available - expected} unexpected bytes after the array data (corrupt)`);
  return { shape, data: copyBytes(buf.subarray(dataStart)) };
}
