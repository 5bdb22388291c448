import { describe, it, expect } from 'vitest';
import * as xa from '../../lib/index.js';

describe('Tensor', () => {
  it('reshapes, casts and scales like the notebook preprocessing', () => {
    const t = xa.tensor(new Uint8Array([0, 255, 51, 102, 0, 255]), [1, 2, 3]);
    const x = t.reshape([1, 6]).astype('float32').div(255);
    expect(x.shape).toEqual([1, 6]);
    expect(x.dtype).toBe('float32');
    expect(Array.from(x.data)).toEqual([0, 1, 0.2, 0.4, 0, 1].map((v) => Math.fround(v)));
    expect(t.reshape([-1, 3]).shape).toEqual([2, 3]);
    expect(() => t.reshape([4, 2])).toThrow(/cannot reshape \[1, 2, 3\]/);
  });

  it('argMax picks the first maximum along an axis', () => {
    const t = xa.tensor([[1, 3, 3], [5, 0, 2]]);
    expect(Array.from(t.argMax(1).data)).toEqual([1, 0]);
    expect(Array.from(t.argMax(0).data)).toEqual([1, 0, 0]);
    expect(t.argMax(1).dtype).toBe('int32');
  });

  it('slices and gathers rows, converts to arrays', () => {
    const t = xa.tensor([[1, 2], [3, 4], [5, 6]]);
    expect(t.slice(1).toArray()).toEqual([[3, 4], [5, 6]]);
    expect(t.gather([2, 0]).toArray()).toEqual([[5, 6], [1, 2]]);
    expect(() => t.slice(2, 5)).toThrow(/out of bounds/);
  });

  it('rejects bad data', () => {
    expect(() => xa.tensor(new Float32Array(5), [2, 2])).toThrow(/needs 4 values, data has 5/);
    expect(() => xa.tensor([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => xa.tensor([1, 2]).astype('float64' as never)).toThrow(/unknown dtype/);
  });

  it('toCategorical one-hot encodes [N] and [N, 1] labels', () => {
    const y = xa.utils.toCategorical(xa.tensor(new Uint8Array([2, 0, 1]), [3, 1]), 3);
    expect(y.shape).toEqual([3, 3]);
    expect(y.toArray()).toEqual([[0, 0, 1], [1, 0, 0], [0, 1, 0]]);
    expect(() => xa.utils.toCategorical([3], 3)).toThrow(/out of range/);
    // Keras' shapes for labels of higher rank: a trailing axis of 1 is dropped, others kept.
    expect(xa.utils.toCategorical(xa.tensor([[[1], [0]], [[2], [1]]]), 3).shape).toEqual([2, 2, 3]);
    const seq = xa.utils.toCategorical(xa.tensor([[1, 2], [0, 1]]), 3);
    expect(seq.shape).toEqual([2, 2, 3]);
    expect(seq.toArray()).toEqual([[[0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 1, 0]]]);
  });
});
