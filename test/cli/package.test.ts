// The npm package holds what building it from source needs: a machine
// without a matching prebuild runs `cmake-js compile` on the packed files, so
// every file CMakeLists.txt includes and every native source must be in it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');

describe('the npm package', () => {
  it('holds the CMake files and native sources a source build needs', { timeout: 60_000 }, () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    const packed = new Set<string>(JSON.parse(out)[0].files.map((f: { path: string }) => f.path));
    const cmakeLists = fs.readFileSync(path.join(ROOT, 'CMakeLists.txt'), 'utf8');
    const included = [...cmakeLists.matchAll(/^\s*include\(([^)\s]+\.cmake)\)/gm)].map((m) => m[1]);
    expect(included).toEqual(expect.arrayContaining(['cmake/cuda.cmake']));
    for (const file of ['CMakeLists.txt', 'package.json', ...included]) expect(packed, file).toContain(file);
    const sources = (dir: string): string[] =>
      fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? sources(path.join(dir, e.name)) : /\.(cc|cu|h|cuh|map)$/.test(e.name) ? [path.join(dir, e.name)] : [],
      );
    const native = sources('native');
    expect(native.length).toBeGreaterThan(40);
    for (const file of native) expect(packed, file).toContain(file);
  });
});
