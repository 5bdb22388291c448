// xa.metrics: evaluation helpers in scikit-learn's conventions.

export { confusionMatrix } from './confusion-matrix.js';
export {
  classificationReport,
  type ClassScores,
  type ClassificationReportDict,
  type ClassificationReportOptions,
} from './classification-report.js';
export { misclassified, type Misclassification } from './misclassified.js';
export { type LabelsInput, toClassIndices } from './labels.js';
