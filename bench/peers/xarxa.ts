// xarxa as a benchmark engine (child process): engine 'xarxa' (CPU), or 'xarxa-cuda',
// 'xarxa-cuda-nchw' and 'xarxa-cuda-nograph' (the same on the GPU; their XARXA_CUDNN_LAYOUT
// and XARXA_CUDA_GRAPHS come from bench/lib/engines.ts).
// Same protocol as the other peers (bench/peers/protocol.ts).
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { fail, loadData, readConfig, send, serve, type ChildConfig } from './protocol.js';

const cfg: ChildConfig = readConfig();
const device = cfg.engine.startsWith('xarxa-cuda') ? 'cuda' : 'cpu';

let xa: typeof import('../../lib/index.js');
let models: typeof import('../../lib/run/models.js').MODELS;
try {
  xa = await import('../../lib/index.js');
  models = (await import('../../lib/run/models.js')).MODELS;
} catch (e) {
  fail('error', `cannot load xarxa (build it: npx cmake-js compile): ${(e as Error).message}`);
}

try {
  xa.setBackend(device);
} catch (e) {
  // setBackend('cuda') says why CUDA is unusable (no driver, no GPU, no library).
  fail('unavailable', `no GPU: ${(e as Error).message}`);
}

// The notebook's models, as `xarxa run` builds them (lib/run/models.ts).
const NOTEBOOK_NAME: Record<ChildConfig['model'], string> = { 'mnist-dense': 'mnist-dense', 'cifar-cnn': 'cifar10-cnn' };

try {
  xa.setSeed(cfg.seed);
  const data = loadData(cfg);
  const x = xa.tensor(data.x, [cfg.n, ...cfg.shape]);
  const y = xa.tensor(data.y, [cfg.n, 10]);
  const nn = models[NOTEBOOK_NAME[cfg.model]].build();
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
  }, () => (device === 'cuda' ? { stepGraphs: nn.deviceInfo().stepGraphs } : {}));  // after training: a failed recording shows
} catch (e) {
  fail('error', (e as Error).stack ?? String(e));
}
