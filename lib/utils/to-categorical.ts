import { Tensor, tensor } from '../tensor.js';

/** Keras to_categorical: integer class labels (any shape, e.g. [N] or [N, 1]) to one-hot float32 [N, numClasses]. */
export function toCategorical(y: Tensor | ArrayLike<number>, numClasses?: number): Tensor {
  const values: ArrayLike<number> = y instanceof Tensor ? y.data : y;
  if (y instanceof Tensor && y.rank === 2 && y.shape[1] !== 1) {
    throw new Error(`toCategorical: expected class indices of shape [N] or [N, 1], received [${y.shape.join(', ')}]`);
  }
  const n = values.length;
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
  return tensor(out, [n, classes]);
}
