// A small but complete RunReport, as a training script would assemble it.

import { classificationReport, confusionMatrix, misclassified } from '../../lib/metrics/index.js';
import type { RunReport } from '../../lib/report/index.js';
import { tensor } from '../../lib/tensor.js';

const LABELS = ['zero', 'one', 'two'];

// 12 grey 12x12 "digits": a bar whose position depends on the index.
function digits(n: number) {
  const data = new Uint8Array(n * 144);
  for (let i = 0; i < n; i++) for (let y = 2; y < 10; y++) data[i * 144 + y * 12 + (i % 10) + 1] = 255;
  return tensor(data, [n, 12, 12]);
}

export function sampleReport(): RunReport {
  const real = [0, 1, 2, 2, 1, 0, 2, 1, 0, 2, 1, 0];
  const predicted = [0, 2, 2, 1, 1, 0, 2, 0, 0, 2, 1, 1];
  const errors = misclassified(real, predicted);
  return {
    title: 'MNIST <demo> & report',
    settings: { epochs: 3, batchSize: 128, optimizer: 'rmsprop', shuffle: true, 'loss <fn>': 'categorical_crossentropy' },
    device: 'CPU (test) <none>',
    timings: { load: 0.42, fit: 12.3456, evaluate: 0.5 },
    history: {
      history: {
        loss: [0.9, 0.5, 0.35],
        accuracy: [0.7, 0.85, 0.9],
        val_loss: [0.6, 0.45, 0.4],
        val_accuracy: [0.8, 0.86, 0.88],
      },
      epoch: [0, 1, 2],
    },
    confusionMatrix: confusionMatrix(real, predicted, 3),
    labelNames: LABELS,
    classificationReport: classificationReport(real, predicted, { labelNames: LABELS }),
    misclassified: {
      images: digits(12).gather(errors.map((e) => e.index)),
      titles: errors.map((e) => `Predicted: ${LABELS[e.predicted]}; Real: ${LABELS[e.real]}`),
    },
    modelSummary: 'Model: "sequential"\nLayer (type)      Output Shape   Param #\ndense (Dense)     (None, 512)    401920\n<script>alert(1)</script>',
    testLoss: 0.29876,
    testAccuracy: 0.6667,
    notes: ['Loss is categorical cross-entropy & accuracy is top-1.'],
  };
}
