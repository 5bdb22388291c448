#!/usr/bin/env node
// prebuildify runs node-gyp; this stands in for it and runs cmake-js instead:
//   npm run prebuildify   (= prebuildify --napi --strip --node-gyp scripts/prebuildify-cmake.cjs)
// Called as `prebuildify-cmake.cjs copy-cuda` afterwards (postprebuildify), it
// copies the CUDA backend library, when it was built, next to the prebuilt addon:
// the addon opens libxarxa_cuda.so from its own folder.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const args = process.argv.slice(2);
const root = path.resolve(__dirname, '..');

if (args[0] === 'copy-cuda') {
  const lib = path.join(root, 'build', 'Release', 'libxarxa_cuda.so');
  const dest = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (fs.existsSync(lib) && fs.existsSync(dest)) {
    fs.copyFileSync(lib, path.join(dest, 'libxarxa_cuda.so'));
    console.log(`prebuildify: copied libxarxa_cuda.so into ${path.relative(root, dest)}`);
  } else {
    console.log('prebuildify: no CUDA backend built (CPU-only prebuild)');
  }
  process.exit(0);
}
if (!args.includes('rebuild')) process.exit(0);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const debug = args.includes('--debug');
const r = spawnSync(process.execPath, [cmakeJs, 'rebuild', ...(debug ? ['--debug'] : [])], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
