// An interrupted save never destroys the previous checkpoint: crashes and
// failures are injected at every stage of model.save (in process, and by
// SIGKILLing a child process mid-save), then the folder is loaded.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as xa from '../../lib/index.js';
import { __setSaveFaultHook, SimulatedCrash, recoverCheckpoint, type SaveStage } from '../../lib/io/save.js';
import { tempDir } from './tfjs-files.js';
import { checkpointModel } from './fixtures/checkpoint-model.js';

const STAGES: SaveStage[] = ['weights-written', 'tmp-complete', 'old-moved', 'renamed'];

let root: string;
beforeAll(() => (root = tempDir('crash')));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
afterEach(() => __setSaveFaultHook(undefined));

const weightsOf = (m: xa.Sequential) => m.getWeights().flatMap((w) => Array.from(w.data));

async function loadedWeights(dir: string): Promise<number[]> {
  const m = await xa.loadModel(dir);
  const w = weightsOf(m);
  m.dispose();
  return w;
}

const leftovers = (dir: string) => [`${dir}.tmp`, `${dir}.old`].filter((p) => fs.existsSync(p));

describe('model.save is crash-safe', () => {
  const a = checkpointModel(1);
  const b = checkpointModel(2);
  const c = checkpointModel(3);
  const [wa, wb, wc] = [weightsOf(a), weightsOf(b), weightsOf(c)];
  afterAll(() => [a, b, c].forEach((m) => m.dispose()));

  it('the three test models differ', () => {
    expect(wa).not.toEqual(wb);
    expect(wb).not.toEqual(wc);
  });

  for (const stage of STAGES) {
    it(`a crash at '${stage}' keeps the previous checkpoint loadable, and the next save recovers`, async () => {
      const dir = path.join(root, `crash-${stage}`);
      await a.save(dir);
      __setSaveFaultHook((s) => {
        if (s === stage) throw new SimulatedCrash(s);
      });
      await expect(b.save(dir)).rejects.toThrow(SimulatedCrash);
      __setSaveFaultHook(undefined);
      // The save commits when dir.tmp becomes dir ('renamed'); before that A is the checkpoint.
      expect(await loadedWeights(dir)).toEqual(stage === 'renamed' ? wb : wa);
      // The next save cleans up after the interrupted one.
      await c.save(dir);
      expect(await loadedWeights(dir)).toEqual(wc);
      expect(leftovers(dir)).toEqual([]);
    });

    it(`a failure at '${stage}' rejects the save and puts the previous checkpoint back`, async () => {
      const dir = path.join(root, `fail-${stage}`);
      await a.save(dir);
      __setSaveFaultHook((s) => {
        if (s === stage) throw new Error(`disk full at ${s}`);
      });
      await expect(b.save(dir)).rejects.toThrow(`disk full at ${stage}`);
      expect(await loadedWeights(dir)).toEqual(stage === 'renamed' ? wb : wa);
      expect(fs.existsSync(`${dir}.tmp`)).toBe(false);
    });
  }

  it('recoverCheckpoint rolls back a swap interrupted between the two renames', async () => {
    const dir = path.join(root, 'between-renames');
    await a.save(dir);
    __setSaveFaultHook((s) => {
      if (s === 'old-moved') throw new SimulatedCrash(s);
    });
    await expect(b.save(dir)).rejects.toThrow(SimulatedCrash);
    expect(fs.existsSync(dir)).toBe(false); // only dir.old and dir.tmp exist now
    expect(await loadedWeights(dir)).toEqual(wa); // loadModel reads dir.old without changing anything
    expect(fs.existsSync(`${dir}.old`)).toBe(true);
    expect(await recoverCheckpoint(dir)).toBe('restored-old');
    expect(leftovers(dir)).toEqual([]);
    expect(await loadedWeights(dir)).toEqual(wa);
    expect(await recoverCheckpoint(dir)).toBe('none');
  });

  for (const stage of ['tmp-complete', 'old-moved'] as const) {
    it(`survives a process killed (SIGKILL) at '${stage}'`, async () => {
      const dir = path.join(root, `killed-${stage}`);
      await a.save(dir);
      const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'save-then-die.ts'), dir, stage, '2'], {
        encoding: 'utf8',
        timeout: 60_000,
        env: process.env,
      });
      expect(child.signal, child.stderr).toBe('SIGKILL');
      expect(await loadedWeights(dir)).toEqual(wa);
      await c.save(dir);
      expect(await loadedWeights(dir)).toEqual(wc);
      expect(leftovers(dir)).toEqual([]);
    });
  }

  it('serialises concurrent saves to one folder (the last one wins)', async () => {
    const dir = path.join(root, 'concurrent');
    await Promise.all([a.save(dir), b.save(dir), c.save(dir)]);
    expect(await loadedWeights(dir)).toEqual(wc);
    expect(leftovers(dir)).toEqual([]);
  });

  it('refuses to replace a folder that is not a checkpoint', async () => {
    const dir = path.join(root, 'user-folder');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'precious');
    await expect(a.save(dir)).rejects.toThrow(/does not look like a model checkpoint \(it holds notes\.txt\)/);
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('precious');
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, 'x');
    await expect(a.save(file)).rejects.toThrow(/exists and is not a folder/);
    await expect(a.save('' as never)).rejects.toThrow(/expected a folder path/);
    await expect(a.save('s3://bucket/model')).rejects.toThrow(/only folders and file:\/\/ URLs/);
    const twins = new xa.Sequential({ layers: [new xa.layers.Dense(2, { inputShape: [2], name: 'twin' }), new xa.layers.Dense(2, { name: 'twin' })] });
    await expect(twins.save(path.join(root, 'twins'))).rejects.toThrow("save: two layers are named 'twin'");
    expect(fs.existsSync(path.join(root, 'twins'))).toBe(false);
    twins.dispose();
  });
});
