// The samples a model got wrong, to look at them (e.g. in an image gallery).

import { type LabelsInput, pairOfLabels } from './labels.js';

export interface Misclassification {
  /** Position of the sample in the inputs. */
  index: number;
  predicted: number;
  real: number;
}

/** Every sample whose predicted class differs from the real one, in index order. */
export function misclassified(yTrue: LabelsInput, yPred: LabelsInput): Misclassification[] {
  const { real, predicted } = pairOfLabels(yTrue, yPred, 'misclassified');
  const errors: Misclassification[] = [];
  for (let i = 0; i < real.values.length; i++) {
    if (real.values[i] !== predicted.values[i]) errors.push({ index: i, predicted: predicted.values[i], real: real.values[i] });
  }
  return errors;
}
