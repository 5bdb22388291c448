// Training curves like Keras notebooks draw them: one panel per metric
// (accuracy, then loss, then any other), train and validation in each.

import type { TopLevelSpec } from 'vega-lite';
import { figureFormat, saveFigure, vegaLiteToSvg } from './render.js';

/** A Keras-like History: per-epoch values by name ('loss', 'val_loss', 'accuracy', ...). */
export interface HistoryLike {
  history: Record<string, ArrayLike<number>>;
  /** Epoch numbers as Keras records them (0-based); plotted from 1. */
  epoch?: ArrayLike<number>;
}

export interface HistoryPlotOptions {
  /** Where to write the figure, .png or .svg. */
  file?: string;
  title?: string;
  /** PNG pixels per SVG unit (default 2, for legible text). */
  pixelRatio?: number;
}

const VALIDATION = 'val_';
const ACCURACY_NAMES = ['accuracy', 'acc'];
const SPLITS = ['train', 'validation'];

// Accuracy first and loss second, as the two panels of the classic notebook figure.
function panelOrder(name: string): number {
  if (ACCURACY_NAMES.includes(name)) return 0;
  return name === 'loss' ? 1 : 2;
}

/** Metric names with at least one series, each listed once, e.g. ['accuracy', 'loss']. */
function metricNames(history: Record<string, ArrayLike<number>>): string[] {
  const names = new Set<string>();
  for (const key of Object.keys(history)) names.add(key.startsWith(VALIDATION) ? key.slice(VALIDATION.length) : key);
  // fit records accuracy under both Keras names ('acc' and 'accuracy'): draw it once.
  if (names.has('accuracy')) names.delete('acc');
  return [...names].sort((a, b) => panelOrder(a) - panelOrder(b));
}

interface Point {
  epoch: number;
  value: number | null;
  split: string;
}

function points(h: HistoryLike, metric: string): Point[] {
  const rows: Point[] = [];
  const series: [string, ArrayLike<number> | undefined][] = [
    ['train', h.history[metric]],
    ['validation', h.history[VALIDATION + metric]],
  ];
  for (const [split, values] of series) {
    if (!values) continue;
    for (let i = 0; i < values.length; i++) {
      const epoch = h.epoch && i < h.epoch.length ? h.epoch[i] + 1 : i + 1;
      // NaN/Infinity (a diverged loss) become gaps rather than breaking the scale.
      rows.push({ epoch, value: Number.isFinite(values[i]) ? values[i] : null, split });
    }
  }
  return rows;
}

function panel(h: HistoryLike, metric: string, maxEpoch: number, splits: string[]) {
  return {
    title: metric,
    width: 320,
    height: 220,
    data: { values: points(h, metric) },
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: {
        field: 'epoch',
        type: 'quantitative' as const,
        title: 'epoch',
        scale: { domain: [1, Math.max(2, maxEpoch)], nice: false },
        axis: { format: 'd', tickMinStep: 1 },
      },
      y: { field: 'value', type: 'quantitative' as const, title: metric, scale: { zero: false } },
      color: {
        field: 'split',
        type: 'nominal' as const,
        title: null,
        // Only the splits that exist, so a run without validation has no dangling legend entry.
        scale: { domain: splits },
        legend: { orient: 'bottom' as const },
      },
    },
  };
}

/** The vega-lite spec of the history figure (exported for reuse and tests). */
export function historySpec(h: HistoryLike, title?: string): TopLevelSpec {
  if (!h || typeof h !== 'object' || !h.history || typeof h.history !== 'object') {
    throw new TypeError('plot.history: expected a History ({ history: { loss: [...], ... } })');
  }
  const metrics = metricNames(h.history);
  if (metrics.length === 0) throw new Error('plot.history: the history has no series to plot');
  let maxEpoch = 1;
  const present = new Set<string>();
  for (const m of metrics) {
    for (const p of points(h, m)) {
      maxEpoch = Math.max(maxEpoch, p.epoch);
      present.add(p.split);
    }
  }
  const splits = SPLITS.filter((s) => present.has(s));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(title ? { title } : {}),
    background: 'white',
    padding: 10,
    hconcat: metrics.map((m) => panel(h, m, maxEpoch, splits)),
    resolve: { scale: { color: 'shared' } },
  };
}

/** Accuracy and loss curves (train and validation) per epoch; returns the SVG, writes `file` if given. */
export async function history(h: HistoryLike, options: HistoryPlotOptions = {}): Promise<string> {
  if (options.file) figureFormat(options.file);
  const svg = await vegaLiteToSvg(historySpec(h, options.title));
  if (options.file) await saveFigure(svg, options.file, options.pixelRatio ?? 2);
  return svg;
}
