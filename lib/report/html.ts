// The run report: one self-contained HTML page (inline CSS and SVG figures,
// images as data URIs, no scripts, no network) that can be mailed or archived.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../tensor.js';
import * as plot from '../plot/index.js';
import type { HistoryLike, ImagesInput } from '../plot/index.js';
import { escapeHtml } from './escape.js';

export interface RunReport {
  /** Page heading (default 'Training report'). */
  title?: string;
  /** Run settings shown as a key/value table (epochs, batch size, optimizer, ...). */
  settings: Record<string, string | number | boolean>;
  /** Where the run happened, e.g. 'CUDA: NVIDIA H200' or 'CPU'. */
  device: string;
  /** Durations in seconds by name (e.g. { fit: 41.2, evaluate: 0.8 }). */
  timings: Record<string, number>;
  history: HistoryLike;
  /** Counts [C, C], rows = real, columns = predicted. */
  confusionMatrix: Tensor | ReadonlyArray<ArrayLike<number>>;
  labelNames: readonly string[];
  /** Text of metrics.classificationReport. */
  classificationReport: string;
  /** Some misclassified samples and a caption each ("Predicted: 3; Real: 5"). */
  misclassified: { images: ImagesInput; titles: readonly string[] };
  /** Text of model.summary(). */
  modelSummary: string;
  testLoss: number;
  testAccuracy: number;
  notes?: readonly string[];
}

const STYLE = `
body { font-family: system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0.2rem; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
table.kv { border-collapse: collapse; }
table.kv th, table.kv td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
table.kv th { background: #f5f5f5; font-weight: 600; }
pre { background: #f7f7f7; border: 1px solid #e2e2e2; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
figure { margin: 1rem 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
.scores { font-size: 1.1rem; }
.empty { color: #666; font-style: italic; }
`;

function keyValueTable(rows: [string, string][]): string {
  if (rows.length === 0) return '<p class="empty">None recorded.</p>';
  const body = rows
    .map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('\n');
  return `<table class="kv">\n${body}\n</table>`;
}

const seconds = (s: number): string => (Number.isFinite(s) ? `${s.toFixed(2)} s` : String(s));
const fixed = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

function section(title: string, body: string): string {
  return `<section>\n<h2>${escapeHtml(title)}</h2>\n${body}\n</section>`;
}

// An SVG from xa.plot, inlined; its texts were escaped when the SVG was made, and
// vega numbers its gradient ids process-wide, so charts on one page do not clash.
const figure = (svg: string, id: string, caption: string): string =>
  `<figure id="${id}" aria-label="${escapeHtml(caption)}">${svg}</figure>`;

function imageCount(images: ImagesInput): number {
  return Array.isArray(images) ? images.length : (images as Tensor).shape[0] ?? 0;
}

/** The report page as an HTML string. */
export async function renderReport(report: RunReport): Promise<string> {
  const title = report.title ?? 'Training report';
  const historySvg = await plot.history(report.history);
  const cmSvg = await plot.confusionMatrix(report.confusionMatrix, { labels: report.labelNames });
  const { images, titles } = report.misclassified;
  const gallery =
    imageCount(images) === 0
      ? '<p class="empty">No misclassified samples.</p>'
      : figure(await plot.images(images, { titles, cols: 6 }), 'fig-misclassified', 'misclassified samples');

  const notes = report.notes?.length
    ? section('Notes', `<ul>\n${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('\n')}\n</ul>`)
    : '';

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="scores">Test accuracy: <strong>${escapeHtml(fixed(report.testAccuracy * 100, 2))}%</strong>
 &middot; test loss: <strong>${escapeHtml(fixed(report.testLoss, 4))}</strong></p>
${section('Settings', keyValueTable(Object.entries(report.settings).map(([k, v]) => [k, String(v)])))}
${section('Device and timings', keyValueTable([['device', report.device], ...Object.entries(report.timings).map(([k, v]): [string, string] => [k, seconds(v)])]))}
${section('Training history', figure(historySvg, 'fig-history', 'training history'))}
${section('Confusion matrix', figure(cmSvg, 'fig-confusion-matrix', 'confusion matrix'))}
${section('Classification report', `<pre>${escapeHtml(report.classificationReport)}</pre>`)}
${section('Misclassified samples', gallery)}
${section('Model summary', `<pre>${escapeHtml(report.modelSummary)}</pre>`)}
${notes}
</body>
</html>
`;
}

/** Write `dir/report.html` (creating `dir`); returns the file's path. */
export async function writeReport(dir: string, report: RunReport): Promise<string> {
  const html = await renderReport(report);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'report.html');
  await writeFile(file, html, 'utf8');
  return file;
}
