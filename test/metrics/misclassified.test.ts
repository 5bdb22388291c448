import { describe, expect, it } from 'vitest';
import { misclassified } from '../../lib/metrics/index.js';
import { tensor } from '../../lib/tensor.js';

describe('metrics.misclassified', () => {
  it('lists the errors in index order', () => {
    expect(misclassified([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2])).toEqual([
      { index: 0, predicted: 0, real: 2 },
      { index: 5, predicted: 2, real: 1 },
    ]);
  });

  it('takes probabilities for the predictions', () => {
    const predictions = tensor([
      [0.2, 0.8],
      [0.6, 0.4],
    ]);
    expect(misclassified(tensor([1, 1], undefined, 'int32'), predictions)).toEqual([{ index: 1, predicted: 0, real: 1 }]);
  });

  it('returns an empty list when everything is right, and checks lengths', () => {
    expect(misclassified([1, 2], [1, 2])).toEqual([]);
    expect(() => misclassified([1], [1, 2])).toThrow('yTrue has 1 labels but yPred has 2');
  });
});
