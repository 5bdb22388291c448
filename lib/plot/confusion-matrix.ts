// Confusion-matrix heatmap in scikit-learn's layout: real classes down the
// y axis, predicted ones along the x axis, the count written in each cell.

import type { TopLevelSpec } from 'vega-lite';
import { Tensor } from '../tensor.js';
import { figureFormat, saveFigure, vegaLiteToSvg } from './render.js';

export interface ConfusionMatrixPlotOptions {
  /** Tick names of classes 0..C-1 (default '0', '1', ...). */
  labels?: readonly string[];
  file?: string;
  title?: string;
  /** Show fractions: of each real class ('true' or true), each predicted class ('pred'), or of all. */
  normalize?: boolean | 'true' | 'pred' | 'all';
  /** PNG pixels per SVG unit (default 2). */
  pixelRatio?: number;
}

/** Rows of a square matrix given as a [C, C] Tensor or nested arrays. */
function matrixRows(cm: Tensor | ReadonlyArray<ArrayLike<number>>): number[][] {
  let rows: number[][];
  if (cm instanceof Tensor) {
    if (cm.rank !== 2) throw new Error(`plot.confusionMatrix: expected a [C, C] matrix, received shape [${cm.shape.join(', ')}]`);
    const [r, c] = cm.shape;
    rows = Array.from({ length: r }, (_, i) => Array.from(cm.data.subarray(i * c, (i + 1) * c)));
  } else if (Array.isArray(cm)) {
    rows = cm.map((row) => Array.from(row));
  } else {
    throw new TypeError('plot.confusionMatrix: expected a Tensor or an array of rows');
  }
  const n = rows.length;
  if (n === 0 || rows.some((row) => row.length !== n)) {
    throw new Error(`plot.confusionMatrix: the matrix must be square and non-empty, received ${n} rows of lengths [${rows.map((r) => r.length).join(', ')}]`);
  }
  return rows;
}

function normalized(rows: number[][], how: 'true' | 'pred' | 'all'): number[][] {
  const n = rows.length;
  const rowSum = rows.map((r) => r.reduce((a, b) => a + b, 0));
  const colSum = rows[0].map((_, j) => rows.reduce((a, r) => a + r[j], 0));
  const total = rowSum.reduce((a, b) => a + b, 0);
  const divisor = (i: number, j: number): number => (how === 'true' ? rowSum[i] : how === 'pred' ? colSum[j] : total);
  // An empty row/column stays 0 rather than NaN.
  return Array.from({ length: n }, (_, i) => rows[i].map((v, j) => (divisor(i, j) === 0 ? 0 : v / divisor(i, j))));
}

/** The vega-lite spec of the heatmap (exported for reuse and tests). */
export function confusionMatrixSpec(
  cm: Tensor | ReadonlyArray<ArrayLike<number>>,
  options: Omit<ConfusionMatrixPlotOptions, 'file' | 'pixelRatio'> = {},
): TopLevelSpec {
  const counts = matrixRows(cm);
  const n = counts.length;
  const labels = options.labels ? options.labels.map(String) : counts.map((_, i) => String(i));
  if (labels.length !== n) throw new Error(`plot.confusionMatrix: ${labels.length} labels for a ${n}x${n} matrix`);
  if (new Set(labels).size !== n) throw new Error('plot.confusionMatrix: labels must be unique');

  const how = options.normalize === true ? 'true' : options.normalize || undefined;
  const values = how ? normalized(counts, how) : counts;
  const flat = values.flat();
  const min = Math.min(...flat);
  const max = Math.max(...flat);
  // Same rule as scikit-learn's display: light text on the darker half of the colour scale.
  const threshold = (min + max) / 2;

  const cells = values.flatMap((row, i) =>
    row.map((value, j) => ({
      real: labels[i],
      predicted: labels[j],
      value,
      text: how ? value.toFixed(2) : String(value),
      dark: max > min && value > threshold,
    })),
  );
  const step = n > 12 ? 30 : 44;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: options.title } : {}),
    background: 'white',
    padding: 10,
    data: { values: cells },
    width: { step },
    height: { step },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: labels, title: 'predicted', axis: { labelAngle: 0, orient: 'bottom' } },
      y: { field: 'real', type: 'nominal', sort: labels, title: 'real' },
    },
    layer: [
      {
        mark: { type: 'rect' },
        encoding: {
          color: {
            field: 'value',
            type: 'quantitative',
            title: how ? 'fraction' : 'count',
            scale: { scheme: 'blues', domain: [Math.min(0, min), Math.max(max, how ? 0 : 1)] },
          },
        },
      },
      {
        mark: { type: 'text', fontSize: n > 12 ? 9 : 12 },
        encoding: {
          text: { field: 'text', type: 'nominal' },
          color: { condition: { test: 'datum.dark', value: 'white' }, value: 'black' },
        },
      },
    ],
  };
}

/** Heatmap of a confusion matrix (rows = real, columns = predicted); returns the SVG, writes `file` if given. */
export async function confusionMatrix(
  cm: Tensor | ReadonlyArray<ArrayLike<number>>,
  options: ConfusionMatrixPlotOptions = {},
): Promise<string> {
  if (options.file) figureFormat(options.file);
  const svg = await vegaLiteToSvg(confusionMatrixSpec(cm, options));
  if (options.file) await saveFigure(svg, options.file, options.pixelRatio ?? 2);
  return svg;
}
