import { describe, expect, it } from 'vitest';
import { confusionMatrix } from '../../lib/metrics/index.js';
import { tensor } from '../../lib/tensor.js';

describe('metrics.confusionMatrix', () => {
  it("matches scikit-learn's documented example (rows = real, columns = predicted)", () => {
    const cm = confusionMatrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2]);
    expect(cm.dtype).toBe('int32');
    expect(cm.shape).toEqual([3, 3]);
    expect(cm.toArray()).toEqual([
      [2, 0, 0],
      [0, 0, 1],
      [1, 0, 2],
    ]);
  });

  it('accepts int tensors and one-hot / probability rows', () => {
    const real = tensor([1, 0, 1], undefined, 'int32');
    const probabilities = tensor([
      [0.1, 0.9],
      [0.8, 0.2],
      [0.7, 0.3],
    ]);
    expect(confusionMatrix(real, probabilities).toArray()).toEqual([
      [1, 0],
      [1, 1],
    ]);
    const oneHot = [
      [0, 1, 0],
      [1, 0, 0],
    ];
    // The one-hot width fixes 3 classes even though class 2 never occurs.
    expect(confusionMatrix(oneHot, [1, 0]).toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 0],
    ]);
  });

  it('accepts a [N, 1] column of indices and float tensors holding integers', () => {
    expect(confusionMatrix(tensor([[0], [1]]), tensor([0, 0])).toArray()).toEqual([
      [1, 0],
      [1, 0],
    ]);
  });

  it('uses numClasses when given', () => {
    const cm = confusionMatrix([0, 1], [1, 1], 4);
    expect(cm.shape).toEqual([4, 4]);
    expect(Array.from(cm.data).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('rejects mismatched lengths, bad indices and out-of-range classes with clear errors', () => {
    expect(() => confusionMatrix([0, 1, 2], [0, 1])).toThrow('yTrue has 3 labels but yPred has 2');
    expect(() => confusionMatrix([0, 1.5], [0, 1])).toThrow('yTrue[1] = 1.5 is not a class index');
    expect(() => confusionMatrix([0, -1], [0, 1])).toThrow('yTrue[1] = -1 is not a class index');
    expect(() => confusionMatrix([0, 3], [0, 1], 3)).toThrow('yTrue[1] = 3 is out of range for 3 classes');
    expect(() => confusionMatrix([0], [1], 0)).toThrow('numClasses must be a positive integer');
    expect(() => confusionMatrix([], [])).toThrow('no labels');
    expect(() => confusionMatrix(tensor([[[0]]]), [0])).toThrow('expected class indices [N] or rows [N, C]');
    expect(() => confusionMatrix([[1, 0]], [[1, 0, 0]])).toThrow('yTrue rows have 2 columns but yPred rows have 3');
  });
});
