// Quick xarxa-only timing (no peers, no child processes): for profiling runs.
//   node --import tsx bench/tools/xarxa-speed.ts [mnist|cifar] [samples] [epochs]
import * as xa from '../../lib/index.js';
import { MODELS } from '../../lib/run/models.js';

const which = process.argv[2] ?? 'mnist';
const n = Number(process.argv[3] ?? (which === 'mnist' ? 60000 : 10000));
const epochs = Number(process.argv[4] ?? 2);
const shape = which === 'mnist' ? [784] : [32, 32, 3];
const row = shape.reduce((a, b) => a * b, 1);
const x = new Float32Array(n * row);
for (let i = 0; i < x.length; i++) x[i] = Math.random();
const labels = new Int32Array(n).map(() => Math.floor(Math.random() * 10));
const nn = MODELS[which === 'mnist' ? 'mnist-dense' : 'cifar10-cnn'].build(); // the notebook's models
nn.compile({ optimizer: new xa.optimizers.SGD({ learningRate: 0.01 }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
const xt = xa.tensor(x, [n, ...shape]);
const yt = xa.utils.toCategorical(labels, 10);
// One fit call (the dataset is uploaded once); epoch times from history.params.epochSeconds.
const h = await nn.fit(xt, yt, { batchSize: 128, epochs, verbose: 0, shuffle: true });
const secs = (h.params as { epochSeconds: number[] }).epochSeconds;
secs.forEach((s, e) => console.log(`${which} epoch ${e}: ${s.toFixed(3)} s, ${(n / s).toFixed(0)} samples/s, loss ${h.history.loss[e].toFixed(4)}`));
