import { describe, expect, it } from 'vitest';
import { numpySum, pythonFixed } from '../../lib/metrics/python-format.js';

describe("Python's fixed-point formatting", () => {
  it('rounds exact ties to even like format(x, ".2f")', () => {
    // Values from Python: format(0.125, '.2f') == '0.12', format(0.375, '.2f') == '0.38'.
    expect(pythonFixed(0.125, 2)).toBe('0.12');
    expect(pythonFixed(0.375, 2)).toBe('0.38');
    expect(pythonFixed(0.5, 0)).toBe('0');
    expect(pythonFixed(1.5, 0)).toBe('2');
    expect(pythonFixed(2.5, 0)).toBe('2');
    expect(pythonFixed(0.995, 2)).toBe('0.99'); // 0.995 is stored a bit below .995
    expect(pythonFixed(9.995, 2)).toBe('9.99');
    expect(pythonFixed(0.875, 2)).toBe('0.88');
    expect(pythonFixed(2 / 3, 2)).toBe('0.67');
    expect(pythonFixed(1, 4)).toBe('1.0000');
  });

  it("sums like numpy's pairwise summation", () => {
    const values = Array.from({ length: 10 }, (_, i) => 0.1 * (i + 1));
    // numpy: np.sum([0.1 * (i + 1) for i in range(10)]) == 5.5; a plain left fold gives 5.500000000000001.
    expect(values.reduce((a, b) => a + b, 0)).toBe(5.500000000000001);
    expect(numpySum(values)).toBe(5.5);
    expect(numpySum([1, 2, 3])).toBe(6);
  });
});
