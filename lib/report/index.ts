// xa.report: the self-contained HTML page of a training run.

export { writeReport, renderReport, type RunReport } from './html.js';
export { escapeHtml } from './escape.js';
