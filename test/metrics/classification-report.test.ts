// Expected texts were printed by scikit-learn 1.9.1's classification_report
// (zero_division=0) and pasted here, so the tests need no Python.

import { describe, expect, it } from 'vitest';
import { classificationReport } from '../../lib/metrics/index.js';
import { tensor } from '../../lib/tensor.js';

const lines = (...rows: string[]): string => rows.join('\n') + '\n';

describe('metrics.classificationReport', () => {
  it("prints scikit-learn's documented example exactly", () => {
    const text = classificationReport([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], { labelNames: ['class 0', 'class 1', 'class 2'] });
    expect(text).toBe(
      lines(
        '              precision    recall  f1-score   support',
        '',
        '     class 0       0.50      1.00      0.67         1',
        '     class 1       0.00      0.00      0.00         1',
        '     class 2       1.00      0.67      0.80         3',
        '',
        '    accuracy                           0.60         5',
        '   macro avg       0.50      0.56      0.49         5',
        'weighted avg       0.70      0.60      0.61         5',
      ),
    );
  });

  it('gives the same numbers as a structured object (output_dict)', () => {
    const dict = classificationReport([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], {
      labelNames: ['class 0', 'class 1', 'class 2'],
      outputDict: true,
    });
    expect(dict).toEqual({
      'class 0': { precision: 0.5, recall: 1.0, 'f1-score': 0.6666666666666666, support: 1 },
      'class 1': { precision: 0.0, recall: 0.0, 'f1-score': 0.0, support: 1 },
      'class 2': { precision: 1.0, recall: 0.6666666666666666, 'f1-score': 0.8, support: 3 },
      accuracy: 0.6,
      'macro avg': { precision: 0.5, recall: 0.5555555555555555, 'f1-score': 0.48888888888888893, support: 5 },
      'weighted avg': { precision: 0.7, recall: 0.6, 'f1-score': 0.6133333333333334, support: 5 },
    });
    expect(Object.keys(dict)).toEqual(['class 0', 'class 1', 'class 2', 'accuracy', 'macro avg', 'weighted avg']);
  });

  it('matches hand-computed scores', () => {
    // Class 0: tp 2, predicted 3, real 2 -> P 2/3, R 1, F1 4/5. Class 1: tp 1, predicted 1, real 2 -> P 1, R 1/2, F1 2/3.
    const dict = classificationReport([0, 0, 1, 1], [0, 0, 0, 1], { outputDict: true });
    expect(dict['0']).toEqual({ precision: 2 / 3, recall: 1, 'f1-score': 0.8, support: 2 });
    expect(dict['1']).toEqual({ precision: 1, recall: 0.5, 'f1-score': 2 / 3, support: 2 });
    expect(dict.accuracy).toBe(0.75);
  });

  it('uses numeric names and the digits option', () => {
    const text = classificationReport([0, 1, 2, 0, 1, 2, 0, 1, 2, 3], [0, 2, 1, 0, 0, 1, 0, 1, 2, 3], { digits: 3 });
    expect(text).toBe(
      lines(
        '              precision    recall  f1-score   support',
        '',
        '           0      0.750     1.000     0.857         3',
        '           1      0.333     0.333     0.333         3',
        '           2      0.500     0.333     0.400         3',
        '           3      1.000     1.000     1.000         1',
        '',
        '    accuracy                          0.600        10',
        '   macro avg      0.646     0.667     0.648        10',
        'weighted avg      0.575     0.600     0.577        10',
      ),
    );
  });

  it('lists only the labels present when no class count is given, like scikit-learn', () => {
    expect(classificationReport([1, 3, 3, 5], [1, 3, 5, 5])).toBe(
      lines(
        '              precision    recall  f1-score   support',
        '',
        '           1       1.00      1.00      1.00         1',
        '           3       1.00      0.50      0.67         2',
        '           5       0.50      1.00      0.67         1',
        '',
        '    accuracy                           0.75         4',
        '   macro avg       0.83      0.83      0.78         4',
        'weighted avg       0.88      0.75      0.75         4',
      ),
    );
  });

  it('widens the name column for long names', () => {
    const text = classificationReport([0, 1, 1, 0, 1], [0, 1, 0, 0, 1], { labelNames: ['a rather long class name', 'b'] });
    expect(text).toBe(
      lines(
        '                          precision    recall  f1-score   support',
        '',
        'a rather long class name       0.67      1.00      0.80         2',
        '                       b       1.00      0.67      0.80         3',
        '',
        '                accuracy                           0.80         5',
        '               macro avg       0.83      0.83      0.80         5',
        '            weighted avg       0.87      0.80      0.80         5',
      ),
    );
  });

  it("prints supports as floats when nothing is right, as scikit-learn does", () => {
    expect(classificationReport([0, 1, 1], [1, 0, 0])).toBe(
      lines(
        '              precision    recall  f1-score   support',
        '',
        '           0       0.00      0.00      0.00       1.0',
        '           1       0.00      0.00      0.00       2.0',
        '',
        '    accuracy                           0.00       3.0',
        '   macro avg       0.00      0.00      0.00       3.0',
        'weighted avg       0.00      0.00      0.00       3.0',
      ),
    );
  });

  it('matches scikit-learn on ten classes with four digits, from tensors and probabilities', () => {
    const real = [5, 2, 6, 0, 1, 8, 1, 5, 9, 0, 8, 3, 0, 1, 6, 6, 1, 3, 1, 8, 6, 0, 9, 1, 3, 9, 0, 9, 9, 6, 0, 3, 0, 8, 2, 4, 6, 2, 8, 1, 9, 4, 8, 2, 1, 9, 9, 3, 5, 1, 8, 1, 9, 0, 9, 3, 7, 8, 6, 5];
    const predicted = [5, 5, 6, 3, 1, 8, 1, 5, 9, 0, 8, 3, 0, 1, 6, 6, 1, 9, 5, 8, 6, 0, 1, 4, 3, 9, 0, 9, 7, 6, 0, 3, 0, 8, 2, 4, 6, 2, 6, 1, 1, 4, 8, 2, 1, 9, 9, 5, 5, 1, 8, 1, 9, 0, 9, 2, 7, 8, 6, 5];
    // Model-style inputs: int32 labels and softmax-like rows.
    const probabilities = tensor(predicted.map((p) => Array.from({ length: 10 }, (_, k) => (k === p ? 0.91 : 0.01))));
    const text = classificationReport(tensor(real, undefined, 'int32'), probabilities, { digits: 4 });
    expect(text).toBe(
      lines(
        '              precision    recall  f1-score   support',
        '',
        '           0     1.0000    0.8750    0.9333         8',
        '           1     0.8000    0.8000    0.8000        10',
        '           2     0.7500    0.7500    0.7500         4',
        '           3     0.7500    0.5000    0.6000         6',
        '           4     0.6667    1.0000    0.8000         2',
        '           5     0.5714    1.0000    0.7273         4',
        '           6     0.8750    1.0000    0.9333         7',
        '           7     0.5000    1.0000    0.6667         1',
        '           8     1.0000    0.8750    0.9333         8',
        '           9     0.8750    0.7000    0.7778        10',
        '',
        '    accuracy                         0.8167        60',
        '   macro avg     0.7788    0.8500    0.7922        60',
        'weighted avg     0.8416    0.8167    0.8170        60',
      ),
    );
  });

  it('reports every named class, with zeros for classes never seen', () => {
    const dict = classificationReport([0, 0], [0, 0], { labelNames: ['a', 'b'], outputDict: true });
    expect(dict.b).toEqual({ precision: 0, recall: 0, 'f1-score': 0, support: 0 });
    expect(dict['macro avg']).toEqual({ precision: 0.5, recall: 0.5, 'f1-score': 0.5, support: 2 });
  });

  it('rejects bad inputs with clear errors', () => {
    expect(() => classificationReport([0, 1], [0])).toThrow('yTrue has 2 labels but yPred has 1');
    expect(() => classificationReport([0, 2], [0, 1], { labelNames: ['a', 'b'] })).toThrow('yTrue[1] = 2 is out of range for 2 classes');
    expect(() => classificationReport([], [])).toThrow('no labels');
    expect(() => classificationReport([0], [0], { digits: -1 })).toThrow('digits must be');
    expect(() => classificationReport([0, 1], [0, 1], { labelNames: ['a', 'a'] })).toThrow('unique');
  });
});
