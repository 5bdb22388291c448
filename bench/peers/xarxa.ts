// xarxa as a benchmark engine (child process): engine 'xarxa' (CPU) or 'xarxa-cuda'.
// Same protocol as the other peers (bench/peers/protocol.ts).
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { fail, loadData, readConfig, send, serve, type ChildConfig } from './protocol.js';

const cfg: ChildConfig = readConfig();
const device = cfg.engine === 'xarxa-cuda' ? 'cuda' : 'cpu';

let xa: typeof import('../../lib/index.js');
try {
  xa = await import('../../lib/index.js');
} catch (e) {
  fail('error', `cannot load xarxa (build it: npx cmake-js compile): ${(e as Error).message}`);
}

try {
  xa.setBackend(device);
} catch (e) {
  // setBackend('cuda') says why CUDA is unusable (no driver, no GPU, no library).
  fail('unavailable', `no GPU: ${(e as Error).message}`);
}

export function buildModel(lib: typeof import('../../lib/index.js'), model: ChildConfig['model']) {
  const { Dense, Conv2D, MaxPooling2D, Flatten } = lib.layers;
  const nn = new lib.Sequential();
  if (model === 'mnist-dense') {
    nn.add(new Dense(32, { activation: 'relu', inputShape: [784] }));
    nn.add(new Dense(16, { activation: 'relu' }));
    nn.add(new Dense(10, { activation: 'softmax' }));
  } else {
    nn.add(new Conv2D(32, [2, 2], { strides: 2, padding: 'same', activation: 'relu', inputShape: [32, 32, 3] }));
    nn.add(new MaxPooling2D({ poolSize: [2, 2], strides: 1, padding: 'same' }));
    nn.add(new Conv2D(16, [2, 2], { strides: 2, padding: 'same', activation: 'relu' }));
    nn.add(new MaxPooling2D({ poolSize: [2, 2], strides: 1, padding: 'same' }));
    nn.add(new Flatten());
    nn.add(new Dense(16, { activation: 'relu' }));
    nn.add(new Dense(10, { activation: 'softmax' }));
  }
  return nn;
}

try {
  xa.setSeed(cfg.seed);
  const data = loadData(cfg);
  const x = xa.tensor(data.x, [cfg.n, ...cfg.shape]);
  const y = xa.tensor(data.y, [cfg.n, 10]);
  const nn = buildModel(xa, cfg.model);
  nn.compile({ optimizer: new xa.optimizers.SGD({ learningRate: cfg.lr }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
  const info = xa.backend.info();
  const pkg = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
  send({
    type: 'ready',
    versions: { xarxa: pkg.version, node: process.version, gemm: info.gemm || undefined },
    device:
      info.backend === 'cpu'
        ? `CPU: ${info.name} (${info.threads} threads, ${info.gemm})`
        : `GPU: ${info.name} (compute ${info.computeCapability}, CUDA runtime ${info.cudaRuntimeVersion}, cuBLAS ${info.cublasVersion}, cuDNN ${info.cudnnVersion})`,
    threads: info.backend === 'cpu' ? info.threads : os.cpus().length,
    params: nn.countParams(),
  });

  let t0 = 0;
  let seconds = 0;
  const timer = {
    onEpochBegin: () => void (t0 = performance.now()),
    onEpochEnd: () => void (seconds = (performance.now() - t0) / 1000),
  };
  await serve(async () => {
    const h = await nn.fit(x, y, { batchSize: cfg.batchSize, epochs: 1, shuffle: true, verbose: 0, callbacks: [timer] });
    return { seconds, loss: h.history.loss[0], acc: h.history.acc?.[0], samples: cfg.n, steps: Math.ceil(cfg.n / cfg.batchSize) };
  });
} catch (e) {
  fail('error', (e as Error).stack ?? String(e));
}
