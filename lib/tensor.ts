// A small host-side tensor: a typed array plus a shape. It exists for the
// notebook's preprocessing (reshape, astype, divide by 255, argMax, slices),
// not as a general array library. The math of training lives in native code.

export type DType = 'float32' | 'int32' | 'uint8';
export type TypedArray = Float32Array | Int32Array | Uint8Array;
export type Shape = number[];

type NestedNumbers = number | NestedNumbers[];

const CONSTRUCTORS = {
  float32: Float32Array,
  int32: Int32Array,
  uint8: Uint8Array,
} as const;

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function dtypeOf(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  throw new TypeError('xa.tensor: data must be a Float32Array, Int32Array, Uint8Array or nested numbers');
}

function checkShape(shape: unknown, where: string): Shape {
  if (!Array.isArray(shape)) throw new TypeError(`${where}: shape must be an array of non-negative integers, received ${String(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new TypeError(`${where}: shape must be an array of non-negative integers, received [${shape.join(', ')}]`);
    }
  }
  return [...shape];
}

function flatten(nested: NestedNumbers, out: number[], shape: number[], depth: number): void {
  if (Array.isArray(nested)) {
    if (shape.length <= depth) shape.push(nested.length);
    else if (shape[depth] !== nested.length) throw new Error('xa.tensor: nested arrays are ragged (rows of different lengths)');
    for (const item of nested) flatten(item, out, shape, depth + 1);
  } else {
    if (typeof nested !== 'number') throw new TypeError(`xa.tensor: expected numbers, received ${typeof nested}`);
    if (shape.length !== depth) throw new Error('xa.tensor: nested arrays are ragged (mixed depths)');
    out.push(nested);
  }
}

export class Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly data: TypedArray;

  constructor(data: TypedArray, shape: Shape) {
    this.dtype = dtypeOf(data);
    this.shape = checkShape(shape, 'Tensor');
    if (sizeOf(this.shape) !== data.length) {
      throw new Error(`Tensor: shape [${this.shape.join(', ')}] needs ${sizeOf(this.shape)} values, data has ${data.length}`);
    }
    this.data = data;
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.data.length;
  }

  /** Same data, new shape; one dimension may be -1 (inferred). */
  reshape(shape: Shape): Tensor {
    if (!Array.isArray(shape)) throw new TypeError(`reshape: shape must be an array, received ${String(shape)}`);
    const dims = [...shape];
    const unknown = dims.indexOf(-1);
    if (unknown >= 0) {
      if (dims.indexOf(-1, unknown + 1) >= 0) throw new Error('reshape: only one dimension may be -1');
      const known = sizeOf(dims.filter((_, i) => i !== unknown));
      if (known === 0 || this.size % known !== 0) {
        throw new Error(`reshape: cannot reshape [${this.shape.join(', ')}] (${this.size} values) into [${shape.join(', ')}]`);
      }
      dims[unknown] = this.size / known;
    }
    checkShape(dims, 'reshape');
    if (sizeOf(dims) !== this.size) {
      throw new Error(`reshape: cannot reshape [${this.shape.join(', ')}] (${this.size} values) into [${shape.join(', ')}] (${sizeOf(dims)} values)`);
    }
    return new Tensor(this.data, dims);
  }

  /** A copy converted to another dtype (float to int truncates toward zero, as numpy does). */
  astype(dtype: DType): Tensor {
    const Ctor = CONSTRUCTORS[dtype];
    if (!Ctor) throw new Error(`astype: unknown dtype '${String(dtype)}' (expected float32, int32 or uint8)`);
    const out = new Ctor(this.size);
    if (dtype === 'float32' || this.dtype !== 'float32') out.set(this.data);
    else for (let i = 0; i < this.size; i++) out[i] = Math.trunc(this.data[i]);
    return new Tensor(out, this.shape);
  }

  private scalarOp(name: string, value: number, op: (a: number) => number): Tensor {
    if (typeof value !== 'number') throw new TypeError(`${name}: expected a number, received ${typeof value}`);
    // Arithmetic on integer tensors promotes to float32, like dividing uint8 pixels by 255 in numpy.
    const out = new Float32Array(this.size);
    const src = this.data;
    for (let i = 0; i < out.length; i++) out[i] = op(src[i]);
    return new Tensor(out, this.shape);
  }

  div(value: number): Tensor {
    return this.scalarOp('div', value, (a) => a / value);
  }

  mul(value: number): Tensor {
    return this.scalarOp('mul', value, (a) => a * value);
  }

  add(value: number): Tensor {
    return this.scalarOp('add', value, (a) => a + value);
  }

  sub(value: number): Tensor {
    return this.scalarOp('sub', value, (a) => a - value);
  }

  /** Index of the largest value along `axis` (first one on ties), as int32. */
  argMax(axis = -1): Tensor {
    const rank = this.rank;
    if (rank === 0) throw new Error('argMax: tensor has rank 0');
    const ax = axis < 0 ? axis + rank : axis;
    if (!Number.isInteger(ax) || ax < 0 || ax >= rank) throw new Error(`argMax: axis ${axis} is out of range for rank ${rank}`);
    const outer = sizeOf(this.shape.slice(0, ax));
    const n = this.shape[ax];
    const inner = sizeOf(this.shape.slice(ax + 1));
    const out = new Int32Array(outer * inner);
    const d = this.data;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let best = 0;
        let bestValue = d[o * n * inner + i];
        for (let k = 1; k < n; k++) {
          const v = d[(o * n + k) * inner + i];
          if (v > bestValue || (Number.isNaN(v) && !Number.isNaN(bestValue))) {
            best = k;
            bestValue = v;
          }
        }
        out[o * inner + i] = best;
      }
    }
    return new Tensor(out, [...this.shape.slice(0, ax), ...this.shape.slice(ax + 1)]);
  }

  /** Rows [begin, end) along axis 0, or the rows listed in `indices`. Shares no memory with this tensor. */
  slice(begin: number, end?: number): Tensor {
    if (this.rank === 0) throw new Error('slice: tensor has rank 0');
    const rows = this.shape[0];
    const stop = end === undefined ? rows : end;
    if (!Number.isInteger(begin) || !Number.isInteger(stop) || begin < 0 || stop > rows || begin > stop) {
      throw new Error(`slice: range [${begin}, ${stop}) is out of bounds for ${rows} rows`);
    }
    const row = this.size / (rows || 1);
    const data = this.data.slice(begin * row, stop * row) as TypedArray;
    return new Tensor(data, [stop - begin, ...this.shape.slice(1)]);
  }

  /** Rows at the given indices along axis 0. */
  gather(indices: ArrayLike<number>): Tensor {
    if (this.rank === 0) throw new Error('gather: tensor has rank 0');
    const rows = this.shape[0];
    const row = rows === 0 ? 0 : this.size / rows;
    const Ctor = CONSTRUCTORS[this.dtype];
    const out = new Ctor(indices.length * row);
    for (let i = 0; i < indices.length; i++) {
      const r = indices[i];
      if (!Number.isInteger(r) || r < 0 || r >= rows) throw new Error(`gather: index ${r} is out of bounds for ${rows} rows`);
      out.set(this.data.subarray(r * row, (r + 1) * row), i * row);
    }
    return new Tensor(out, [indices.length, ...this.shape.slice(1)]);
  }

  /** Nested plain arrays (a number for rank 0). */
  toArray(): NestedNumbers {
    const build = (offset: number, depth: number): NestedNumbers => {
      if (depth === this.rank) return this.data[offset];
      const stride = sizeOf(this.shape.slice(depth + 1));
      const out: NestedNumbers[] = [];
      for (let i = 0; i < this.shape[depth]; i++) out.push(build(offset + i * stride, depth + 1));
      return out;
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype})`;
  }
}

/** Make a host tensor from a typed array (with a shape) or nested numbers (shape inferred). */
export function tensor(data: TypedArray | NestedNumbers | number[], shape?: Shape, dtype?: DType): Tensor {
  if (ArrayBuffer.isView(data)) {
    const typed = data as TypedArray;
    dtypeOf(typed);
    const s = shape ?? [typed.length];
    const t = new Tensor(typed, s);
    return dtype && dtype !== t.dtype ? t.astype(dtype) : t;
  }
  const values: number[] = [];
  const inferred: number[] = [];
  flatten(data as NestedNumbers, values, inferred, 0);
  const s = shape ?? inferred;
  const Ctor = CONSTRUCTORS[dtype ?? 'float32'];
  if (!Ctor) throw new Error(`xa.tensor: unknown dtype '${String(dtype)}' (expected float32, int32 or uint8)`);
  return new Tensor(Ctor.from(values), s);
}
