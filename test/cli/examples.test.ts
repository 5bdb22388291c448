// The notebook ports in examples/ run start to finish (on small generated
// data in Keras' formats) and write their figures, so they cannot rot
// unnoticed. They import 'xarxa' as a user would (the package's own dist/,
// built by `npm install`); without dist/ this test is skipped with a message.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cifarLike, mnistLike, pythonBatchFiles, tempDir, writeFiles, writeIdxFiles } from '../datasets/fixtures.js';

const ROOT = path.resolve(__dirname, '../..');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const hasDist = fs.existsSync(path.join(ROOT, 'dist', 'lib', 'index.js'));
if (!hasDist) console.warn('[examples] skipped: dist/ is not built (npm run build:ts)');

const tmp = tempDir('xarxa-examples-');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const data = path.join(tmp, 'data');
writeIdxFiles(path.join(data, 'mnist'), mnistLike(600, 200, 5));
writeFiles(path.join(data, 'cifar10', 'cifar-10-batches-py'), pythonBatchFiles(cifarLike(40, 9)));

function runExample(name: string) {
  const cwd = path.join(tmp, name);
  fs.mkdirSync(cwd, { recursive: true });
  const r = spawnSync(process.execPath, ['--import', TSX, path.join(ROOT, 'examples', `${name}.ts`)], {
    cwd,
    env: { ...process.env, XARXA_DATASETS_DIR: data, KERAS_HOME: path.join(tmp, 'keras'), XARXA_OFFLINE: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { ...r, out: path.join(cwd, 'out', name) };
}

describe.skipIf(!hasDist)('examples/ (the notebook, ported)', () => {
  for (const name of ['mnist-dense', 'cifar10-dense', 'cifar10-cnn']) {
    it(`${name}.ts runs to the end and writes its figures`, { timeout: 150_000 }, () => {
      const r = runExample(name);
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
      expect(r.stdout).toMatch(/Test (loss|accuracy)/i);
      const figures = fs.readdirSync(r.out).filter((f) => f.endsWith('.png'));
      expect(figures).toEqual(expect.arrayContaining(['sample.png', 'history.png', 'confusion-matrix.png']));
      for (const f of figures) expect(fs.statSync(path.join(r.out, f)).size, f).toBeGreaterThan(1000);
    });
  }
});
