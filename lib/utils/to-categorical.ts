import { Tensor, tensor } from '../tensor.js';

/** Keras to_categorical: integer class labels to one-hot float32: [N] or [N, 1] give [N, numClasses], [N, T] gives [N, T, numClasses]. */
export function toCategorical(y: Tensor | ArrayLike<number>, numClasses?: number): Tensor {
  const values: ArrayLike<number> = y instanceof Tensor ? y.data : y;
  const n = values.length;
  // Keras' shape: the labels' shape, without a trailing axis of 1, plus the classes
  // ([N] and [N, 1] give [N, C]; [N, T] gives [N, T, C]).
  const shape = y instanceof Tensor ? [...y.shape] : [n];
  if (shape.length > 1 && shape.at(-1) === 1) shape.pop();
  let classes = numClasses;
  if (classes === undefined) {
    classes = 0;
    for (let i = 0; i < n; i++) classes = Math.max(classes, values[i] + 1);
  }
  if (!Number.isInteger(classes) || classes <= 0) throw new RangeError(`toCategorical: numClasses must be a positive integer, received ${String(numClasses)}`);
  const out = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    const c = values[i];
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      throw new RangeError(`toCategorical: label ${c} at index ${i} is out of range for ${classes} classes`);
    }
    out[i * classes + c] = 1;
  }
  return tensor(out, [...shape, classes]);
}
