// A small Python pickle reader for CIFAR-10's python batches: protocol 2 as
// written by Python 2's cPickle (the original files) or by Python 3, holding a
// dict of byte-string keys, lists of ints and one numpy uint8 array.
//
// It is a stack machine over the opcodes those files use. Values map to JS as:
// bytes -> Uint8Array (a view), str -> string, int -> number, list/tuple ->
// array, dict -> Map (bytes keys decoded as latin1, so b'labels' is 'labels'),
// numpy arrays -> NdArray. Only numpy's own reconstructors may be called:
// anything else is refused, as it would be code execution in Python.

import { sizeOf } from '../tensor.js';
import { DatasetFileError } from './bytes.js';

export class NdArray {
  shape: number[] = [];
  dtype = '';
  data: Uint8Array = new Uint8Array(0);
}

class NumpyDtype {
  constructor(public name: string) {}
}

/** A global named by the GLOBAL opcode (module + name), callable only if known. */
class PickleGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

const MARK = Symbol('mark');

// The modules numpy's pickles name; numpy 2 writes numpy._core, numpy 1 numpy.core.
const RECONSTRUCT = new Set(['numpy.core.multiarray._reconstruct', 'numpy._core.multiarray._reconstruct']);

export function parsePickle(buf: Uint8Array, file: string): unknown {
  const fail = (problem: string): never => {
    throw new DatasetFileError(file, `${problem} (not a CIFAR-10 python batch, or the file is corrupt)`);
  };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;

  const need = (n: number): number => {
    if (pos + n > buf.length) fail(`unexpected end of data at byte ${pos} (truncated)`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = (): number => buf[need(1)];
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  const i32 = (): number => view.getInt32(need(4), true);
  const bytes = (n: number): Uint8Array => {
    const at = need(n);
    return buf.subarray(at, at + n);
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated GLOBAL name');
    const s = Buffer.from(buf.buffer, buf.byteOffset + pos, end - pos).toString('latin1');
    pos = end + 1;
    return s;
  };
  const utf8 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  const pop = (): unknown => (stack.length ? stack.pop() : fail('stack underflow'));
  const top = (): unknown => (stack.length ? stack[stack.length - 1] : fail('stack underflow'));
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail('MARK missing');
    const items = stack.splice(at);
    items.shift();
    return items;
  };
  // Python 2 str / bytes as text (keys, dtype names).
  const latin1 = (k: unknown): unknown => (k instanceof Uint8Array ? Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1') : k);
  const setItems = (dict: unknown, items: unknown[]): void => {
    if (!(dict instanceof Map)) fail('SETITEM(S) on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) (dict as Map<unknown, unknown>).set(latin1(items[i]), items[i + 1]);
  };
  const append = (list: unknown, items: unknown[]): void => {
    if (!Array.isArray(list)) fail('APPEND(S) on something that is not a list');
    for (const item of items) (list as unknown[]).push(item);
  };

  const call = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof PickleGlobal) || !Array.isArray(args)) return fail('REDUCE without a callable and a tuple');
    if (RECONSTRUCT.has(fn.qualified)) return new NdArray(); // filled in by BUILD
    if (fn.qualified === 'numpy.dtype') return new NumpyDtype(String(latin1(args[0])));
    // Python 3 protocol-2 pickles store bytes as _codecs.encode(str, 'latin1').
    if (fn.qualified === '_codecs.encode' && typeof args[0] === 'string') return new Uint8Array(Buffer.from(args[0], 'latin1'));
    return fail(`refusing to call ${fn.qualified}`);
  };

  const build = (obj: unknown, state: unknown): void => {
    if (obj instanceof NumpyDtype) return; // (version, byte order, ...): irrelevant for one-byte types
    if (!(obj instanceof NdArray) || !Array.isArray(state)) return void fail('BUILD on an unexpected object');
    // ndarray.__setstate__((version, shape, dtype, is_fortran, raw bytes))
    const [, shape, dtype, fortran, raw] = state as [unknown, unknown, unknown, unknown, unknown];
    if (!Array.isArray(shape) || !(dtype instanceof NumpyDtype) || !(raw instanceof Uint8Array)) return void fail('unexpected ndarray state');
    obj.shape = shape as number[];
    obj.dtype = dtype.name;
    obj.data = raw;
    if (fortran === true && obj.shape.filter((d) => d > 1).length > 1) fail('Fortran-order arrays are not supported');
    if (obj.dtype === 'u1' && raw.length !== sizeOf(obj.shape)) {
      fail(`array of shape (${obj.shape.join(', ')}) holds ${raw.length} bytes instead of ${sizeOf(obj.shape)}`);
    }
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('unsupported pickle protocol');
        break;
      case 0x95: // FRAME (protocol 4): just a length prefix
        need(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail('unbalanced stack at STOP');
        return stack[0];
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement of n bytes
        const b = bytes(u8());
        let value = 0n;
        for (let i = b.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(b[i]);
        if (b.length && b[b.length - 1] & 0x80) value -= 1n << BigInt(8 * b.length);
        if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) fail('integer too large');
        stack.push(Number(value));
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x55: // SHORT_BINSTRING (a Python 2 str: bytes with encoding='bytes')
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()));
        break;
      case 0x54: // BINSTRING
      case 0x42: // BINBYTES
        stack.push(bytes(u32()));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8(bytes(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(bytes(u8())));
        break;
      case 0x61: {
        // APPEND
        const item = pop();
        append(top(), [item]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const k = pop();
        setItems(top(), [k, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(new PickleGlobal(module, line()));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        build(top(), state);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE (protocol 4)
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const index = op === 0x68 ? u8() : u32();
        if (!memo.has(index)) fail(`memo entry ${index} missing`);
        stack.push(memo.get(index));
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)} at byte ${pos - 1}`);
    }
  }
}
