// Turns the many shapes a label vector comes in (class indices, one-hot rows,
// probability rows; Tensors or plain arrays) into one Int32Array of class indices.

import { Tensor } from '../tensor.js';

/** Class indices [N] (or [N, 1]), or one-hot / probability rows [N, C] whose argmax is taken. */
export type LabelsInput = Tensor | ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;

export interface ClassIndices {
  values: Int32Array;
  /** Number of columns when the input was one-hot / probability rows; it fixes the class count. */
  width?: number;
}

function argMaxRow(row: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
  return best;
}

function checkIndex(value: number, where: string, i: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${where}[${i}] = ${value} is not a class index (expected a non-negative integer)`);
  }
  return value;
}

function fromTensor(y: Tensor, where: string): ClassIndices {
  if (y.rank === 2 && y.shape[1] > 1) {
    return { values: y.argMax(1).data as Int32Array, width: y.shape[1] };
  }
  if (y.rank !== 1 && !(y.rank === 2 && y.shape[1] === 1)) {
    throw new Error(`${where}: expected class indices [N] or rows [N, C], received shape [${y.shape.join(', ')}]`);
  }
  const values = new Int32Array(y.size);
  for (let i = 0; i < y.size; i++) values[i] = checkIndex(y.data[i], where, i);
  return { values };
}

function fromArray(y: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>, where: string): ClassIndices {
  const n = y.length;
  const values = new Int32Array(n);
  const first = n > 0 ? (y as ArrayLike<unknown>)[0] : undefined;
  if (first !== null && typeof first === 'object') {
    // Nested rows: one-hot or probabilities, like Keras' model.predict output.
    const rows = y as ReadonlyArray<ArrayLike<number>>;
    const width = rows[0].length;
    for (let i = 0; i < n; i++) {
      if (rows[i].length !== width) throw new Error(`${where}: row ${i} has ${rows[i].length} values, row 0 has ${width}`);
      // A single column holds the class index itself ([N, 1]), not a score.
      values[i] = width === 1 ? checkIndex(rows[i][0], where, i) : argMaxRow(rows[i]);
    }
    return width === 1 ? { values } : { values, width };
  }
  const flat = y as ArrayLike<number>;
  for (let i = 0; i < n; i++) {
    if (typeof flat[i] !== 'number') throw new TypeError(`${where}[${i}] is a ${typeof flat[i]}, expected a number`);
    values[i] = checkIndex(flat[i], where, i);
  }
  return { values };
}

/** Class indices of `y`; `where` names the argument in error messages (e.g. 'confusionMatrix: yTrue'). */
export function toClassIndices(y: LabelsInput, where: string): ClassIndices {
  if (y instanceof Tensor) return fromTensor(y, where);
  if (y === null || typeof y !== 'object' || typeof (y as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`${where}: expected a Tensor or an array of class indices, received ${String(y)}`);
  }
  return fromArray(y, where);
}

/** Both label vectors as class indices, checked to have the same length. */
export function pairOfLabels(yTrue: LabelsInput, yPred: LabelsInput, fn: string): { real: ClassIndices; predicted: ClassIndices } {
  const real = toClassIndices(yTrue, `${fn}: yTrue`);
  const predicted = toClassIndices(yPred, `${fn}: yPred`);
  if (real.values.length !== predicted.values.length) {
    throw new Error(`${fn}: yTrue has ${real.values.length} labels but yPred has ${predicted.values.length}`);
  }
  return { real, predicted };
}

/**
 * The class count: `numClasses` when given (every label must be below it), else the
 * one-hot width, else the largest label + 1.
 */
export function resolveNumClasses(real: ClassIndices, predicted: ClassIndices, fn: string, numClasses?: number): number {
  if (real.width !== undefined && predicted.width !== undefined && real.width !== predicted.width) {
    throw new Error(`${fn}: yTrue rows have ${real.width} columns but yPred rows have ${predicted.width}`);
  }
  let n: number;
  if (numClasses !== undefined) {
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw new Error(`${fn}: numClasses must be a positive integer, received ${numClasses}`);
    }
    n = numClasses;
  } else {
    n = real.width ?? predicted.width ?? 0;
    for (const v of real.values) n = Math.max(n, v + 1);
    for (const v of predicted.values) n = Math.max(n, v + 1);
    if (n === 0) throw new Error(`${fn}: no labels given (pass numClasses for an empty input)`);
  }
  for (const [name, labels] of [['yTrue', real], ['yPred', predicted]] as const) {
    if (labels.width !== undefined && labels.width > n) {
      throw new Error(`${fn}: ${name} rows have ${labels.width} columns but numClasses is ${n}`);
    }
    labels.values.forEach((v, i) => {
      if (v >= n) throw new Error(`${fn}: ${name}[${i}] = ${v} is out of range for ${n} classes`);
    });
  }
  return n;
}
