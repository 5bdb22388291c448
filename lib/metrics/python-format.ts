// Number formatting and summation that match Python/numpy bit for bit, so the
// classification report prints the same digits as scikit-learn.

/**
 * Python's `format(x, '.{digits}f')`: correctly rounded, ties to even.
 * JS toFixed is also correctly rounded but sends exact ties (e.g. 0.125) up.
 */
export function pythonFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  // A double's decimal expansion is finite: with enough digits, an exact tie shows as "5000...".
  const extra = Math.min(100, digits + 40);
  const long = Math.abs(x).toFixed(extra);
  const rest = long.slice(long.length - (extra - digits));
  if (!/^50*$/.test(rest)) return x.toFixed(digits);
  // Exact tie: keep the truncated value if its last digit is even, else round away from zero.
  const kept = long.slice(0, long.length - (extra - digits)).replace(/\.$/, '');
  const lastDigit = Number(kept[kept.length - 1]);
  const magnitude = lastDigit % 2 === 0 ? kept : roundUpDecimal(kept);
  return (x < 0 || Object.is(x, -0) ? '-' : '') + magnitude;
}

// Adds one unit in the last place to a non-negative decimal string ("0.12" -> "0.13", "9.99" -> "10.00").
function roundUpDecimal(s: string): string {
  const chars = s.split('');
  for (let i = chars.length - 1; i >= 0; i--) {
    if (chars[i] === '.') continue;
    if (chars[i] !== '9') {
      chars[i] = String(Number(chars[i]) + 1);
      return chars.join('');
    }
    chars[i] = '0';
  }
  return '1' + chars.join('');
}

/** numpy's float64 sum (pairwise summation, 8 accumulators), which `np.mean`/`np.average` use. */
export function numpySum(values: ArrayLike<number>, start = 0, n = values.length): number {
  if (n < 8) {
    let sum = -0;
    for (let i = 0; i < n; i++) sum += values[start + i];
    return sum;
  }
  if (n <= 128) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => values[start + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    let sum = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) sum += values[start + i];
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return numpySum(values, start, half) + numpySum(values, start + half, n - half);
}
