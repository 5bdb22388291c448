// Precision, recall, F1 and support per class, printed like scikit-learn's
// classification_report (same columns, widths and rounding).

import { type LabelsInput, pairOfLabels, resolveNumClasses } from './labels.js';
import { numpySum, pythonFixed } from './python-format.js';

export interface ClassScores {
  precision: number;
  recall: number;
  'f1-score': number;
  support: number;
}

/**
 * scikit-learn's `output_dict=True` shape: one entry per class name, then
 * 'accuracy' (a number), 'macro avg' and 'weighted avg' (ClassScores).
 */
export type ClassificationReportDict = Record<string, ClassScores | number>;

export interface ClassificationReportOptions {
  /** Names of classes 0..n-1; they also fix the class list (like passing labels=range(n) to sklearn). */
  labelNames?: readonly string[];
  /** Decimals of the text columns (default 2). */
  digits?: number;
  /** Return the structured object instead of the text. */
  outputDict?: boolean;
  /** Classes 0..numClasses-1 when no labelNames are given. */
  numClasses?: number;
}

// Zero division gives 0, scikit-learn's default result (without its warning).
const divide = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/**
 * The classes reported: 0..n-1 when labelNames, numClasses or one-hot rows fix n,
 * else (like scikit-learn) only the labels present in yTrue or yPred, sorted.
 */
function reportedClasses(real: Int32Array, predicted: Int32Array, fixedCount: number | undefined): number[] {
  if (fixedCount !== undefined) return Array.from({ length: fixedCount }, (_, i) => i);
  return [...new Set([...real, ...predicted])].sort((a, b) => a - b);
}

function averages(perClass: ClassScores[], weights: number[] | null): ClassScores {
  const total = perClass.reduce((s, c) => s + c.support, 0);
  const useWeights = weights !== null && numpySum(weights) !== 0; // all-zero weights: plain mean, like sklearn
  const avg = (key: 'precision' | 'recall' | 'f1-score'): number => {
    const values = perClass.map((c) => c[key]);
    if (!useWeights) return numpySum(values) / values.length;
    return numpySum(values.map((v, i) => v * weights[i])) / numpySum(weights);
  };
  return { precision: avg('precision'), recall: avg('recall'), 'f1-score': avg('f1-score'), support: total };
}

function scoreClasses(yTrue: LabelsInput, yPred: LabelsInput, options: ClassificationReportOptions) {
  const { real, predicted } = pairOfLabels(yTrue, yPred, 'classificationReport');
  if (real.values.length === 0) throw new Error('classificationReport: no labels given');
  const fixed = options.labelNames?.length ?? options.numClasses ?? real.width ?? predicted.width;
  const n = resolveNumClasses(real, predicted, 'classificationReport', fixed);
  if (options.labelNames && options.numClasses !== undefined && options.numClasses !== options.labelNames.length) {
    throw new Error(`classificationReport: ${options.labelNames.length} labelNames but numClasses is ${options.numClasses}`);
  }
  const classes = reportedClasses(real.values, predicted.values, fixed === undefined ? undefined : n);
  const names = classes.map((c) => (options.labelNames ? String(options.labelNames[c]) : String(c)));
  if (new Set(names).size !== names.length) throw new Error('classificationReport: labelNames must be unique');

  const tp = new Map<number, number>(classes.map((c) => [c, 0]));
  const realCount = new Map(tp);
  const predCount = new Map(tp);
  let correct = 0;
  for (let i = 0; i < real.values.length; i++) {
    const r = real.values[i];
    const p = predicted.values[i];
    realCount.set(r, (realCount.get(r) ?? 0) + 1);
    predCount.set(p, (predCount.get(p) ?? 0) + 1);
    if (r === p) {
      tp.set(r, (tp.get(r) ?? 0) + 1);
      correct++;
    }
  }
  const perClass: ClassScores[] = classes.map((c) => {
    const t = tp.get(c) ?? 0;
    const support = realCount.get(c) ?? 0;
    const predictedAs = predCount.get(c) ?? 0;
    return {
      precision: divide(t, predictedAs),
      recall: divide(t, support),
      // sklearn's form, 2·tp / (support + predicted), not 2PR / (P + R): same digits as sklearn.
      'f1-score': divide(2 * t, support + predictedAs),
      support,
    };
  });
  return {
    names,
    perClass,
    accuracy: correct / real.values.length,
    macro: averages(perClass, null),
    weighted: averages(perClass, perClass.map((c) => c.support)),
  };
}

// Python's str.rjust, counting code points as Python's len() does.
const rjust = (s: string, width: number): string => ' '.repeat(Math.max(0, width - [...s].length)) + s;

/**
 * scikit-learn's classification_report: the text table by default, the
 * `output_dict` object with `{ outputDict: true }`.
 */
export function classificationReport(
  yTrue: LabelsInput,
  yPred: LabelsInput,
  options: ClassificationReportOptions & { outputDict: true },
): ClassificationReportDict;
export function classificationReport(
  yTrue: LabelsInput,
  yPred: LabelsInput,
  options?: ClassificationReportOptions & { outputDict?: false },
): string;
export function classificationReport(
  yTrue: LabelsInput,
  yPred: LabelsInput,
  options?: ClassificationReportOptions,
): string | ClassificationReportDict;
export function classificationReport(
  yTrue: LabelsInput,
  yPred: LabelsInput,
  options: ClassificationReportOptions = {},
): string | ClassificationReportDict {
  const digits = options.digits ?? 2;
  if (!Number.isInteger(digits) || digits < 0 || digits > 20) {
    throw new Error(`classificationReport: digits must be an integer from 0 to 20, received ${digits}`);
  }
  const { names, perClass, accuracy, macro, weighted } = scoreClasses(yTrue, yPred, options);

  if (options.outputDict) {
    const dict: ClassificationReportDict = {};
    names.forEach((name, i) => (dict[name] = { ...perClass[i] }));
    dict.accuracy = accuracy;
    dict['macro avg'] = macro;
    dict['weighted avg'] = weighted;
    return dict;
  }

  // Layout of sklearn: a name column as wide as the longest name (at least
  // 'weighted avg'), then four right-aligned 9-character columns, one space apart.
  const width = Math.max(...names.map((n) => [...n].length), 'weighted avg'.length, digits);
  const cell = (s: string): string => ' ' + rjust(s, 9);
  // scikit-learn's counts turn into floats when no prediction is right, so it
  // prints supports as '3.0' then; copied so the text stays identical.
  const count = (n: number): string => (accuracy === 0 ? `${n}.0` : String(n));
  const row = (name: string, s: ClassScores): string =>
    rjust(name, width) + ' ' +
    [s.precision, s.recall, s['f1-score']].map((v) => cell(pythonFixed(v, digits))).join('') +
    cell(count(s.support)) + '\n';

  let text = rjust('', width) + ' ' + ['precision', 'recall', 'f1-score', 'support'].map(cell).join('') + '\n\n';
  names.forEach((name, i) => (text += row(name, perClass[i])));
  text += '\n';
  text += rjust('accuracy', width) + ' ' + cell('') + cell('') + cell(pythonFixed(accuracy, digits)) + cell(count(macro.support)) + '\n';
  text += row('macro avg', macro);
  text += row('weighted avg', weighted);
  return text;
}
