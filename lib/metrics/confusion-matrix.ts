// Confusion matrix with scikit-learn's layout: rows are the real classes,
// columns the predicted ones, so cm[i][j] counts samples of class i predicted as j.

import { Tensor } from '../tensor.js';
import { type LabelsInput, pairOfLabels, resolveNumClasses } from './labels.js';

/**
 * Counts as an int32 Tensor [C, C] (rows = real, columns = predicted).
 * C is `numClasses`, else the one-hot width, else the largest label + 1.
 */
export function confusionMatrix(yTrue: LabelsInput, yPred: LabelsInput, numClasses?: number): Tensor {
  const { real, predicted } = pairOfLabels(yTrue, yPred, 'confusionMatrix');
  const n = resolveNumClasses(real, predicted, 'confusionMatrix', numClasses);
  const counts = new Int32Array(n * n);
  for (let i = 0; i < real.values.length; i++) counts[real.values[i] * n + predicted.values[i]]++;
  return new Tensor(counts, [n, n]);
}
