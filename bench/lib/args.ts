// Command line of `npm run bench -- ...`.

export type Suite = 'cpu' | 'gpu';
export type ModelName = 'mnist-dense' | 'cifar-cnn';
export const MODELS: ModelName[] = ['mnist-dense', 'cifar-cnn'];

export interface BenchArgs {
  suite: Suite;
  models: ModelName[];
  out?: string;
  /** Timed epochs per engine (after one warm-up epoch). */
  epochs: number;
  /** Training samples (default: all of the training set, or the quick count). */
  samples?: number;
  quick: boolean;
  /** Only these engines (default: the suite's). */
  engines?: string[];
  /** Skip Keras even when its environment is there. */
  noKeras: boolean;
  /** Random data even when real data is present. */
  randomData: boolean;
  /** The folder holding mnist/ and cifar10-jpeg/ (default: bench/lib/data.ts's search). */
  data?: string;
  seed: number;
  help: boolean;
}

export const USAGE = `npm run bench -- [options]
  --suite cpu|gpu          cpu: xarxa vs TensorFlow.js (cpu, wasm) and Keras/TensorFlow CPU (default)
                           gpu: xarxa CUDA vs PyTorch eager and torch.compile
  --model NAME             mnist-dense | cifar-cnn | all (default all)
  --out FILE               JSON result (a .md table is written beside it);
                           default bench/results/<suite>-<date>.json
  --epochs N               timed epochs per engine after one warm-up epoch (default 3; 1 with --quick)
  --samples N              training samples per engine (default: the whole training set)
  --quick                  a few hundred samples, 1 timed epoch, Keras only if its venv exists (CI smoke run)
  --engines a,b            only these engines (xarxa, tfjs-cpu, tfjs-wasm, keras, xarxa-cuda, xarxa-cuda-nchw, xarxa-cuda-nograph, torch-eager, torch-compile)
  --no-keras               skip the Keras peer
  --data DIR               the folder with mnist/ (IDX files or mnist.npz) and cifar10-jpeg/; default
                           $XARXA_BENCH_DATA, else the first $XARXA_DATASETS_DIR folder with mnist/,
                           else ../shared/data beside the checkout; random data where none is found
  --random-data            random data of the real shapes even when the real data is present
  --seed N                 seed for data subsets and weights (default 1)`;

export function parseArgs(argv: string[]): BenchArgs {
  const a: BenchArgs = { suite: 'cpu', models: [...MODELS], epochs: 3, quick: false, noKeras: false, randomData: false, seed: 1, help: false };
  let epochsGiven = false;
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
    return v;
  };
  const positiveInt = (s: string, flag: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, received '${s}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    // --flag=value
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      argv = [...argv.slice(0, i), arg.slice(0, eq), arg.slice(eq + 1), ...argv.slice(i + 1)];
      arg = argv[i];
    }
    switch (arg) {
      case '--suite': {
        const v = value(i++, arg);
        if (v !== 'cpu' && v !== 'gpu') throw new Error(`--suite must be cpu or gpu, received '${v}'`);
        a.suite = v;
        break;
      }
      case '--model': {
        const v = value(i++, arg);
        if (v === 'all') a.models = [...MODELS];
        else {
          const names = v.split(',');
          for (const m of names) if (!MODELS.includes(m as ModelName)) throw new Error(`--model must be mnist-dense, cifar-cnn or all, received '${m}'`);
          a.models = names as ModelName[];
        }
        break;
      }
      case '--out':
        a.out = value(i++, arg);
        break;
      case '--epochs':
        a.epochs = positiveInt(value(i++, arg), arg);
        epochsGiven = true;
        break;
      case '--samples':
        a.samples = positiveInt(value(i++, arg), arg);
        break;
      case '--quick':
        a.quick = true;
        break;
      case '--engines':
        a.engines = value(i++, arg).split(',').map((s) => s.trim()).filter(Boolean);
        break;
      case '--no-keras':
        a.noKeras = true;
        break;
      case '--random-data':
        a.randomData = true;
        break;
      case '--data':
        a.data = value(i++, arg);
        break;
      case '--seed':
        a.seed = positiveInt(value(i++, arg), arg);
        break;
      case '--help':
      case '-h':
        a.help = true;
        break;
      default:
        throw new Error(`unknown option '${arg}'\n${USAGE}`);
    }
  }
  if (a.quick && !epochsGiven) a.epochs = 1;
  return a;
}
