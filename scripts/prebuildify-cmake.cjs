#!/usr/bin/env node
// prebuildify runs node-gyp; this stands in for it and runs cmake-js instead:
//   prebuildify --napi --strip --node-gyp scripts/prebuildify-cmake.cjs
// It copies the CUDA library (when built) next to the addon so that the
// prebuild folder carries both.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const args = process.argv.slice(2);
if (!args.includes('rebuild')) process.exit(0);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const debug = args.includes('--debug');
const r = spawnSync(process.execPath, [cmakeJs, 'rebuild', ...(debug ? ['--debug'] : [])], { stdio: 'inherit' });
process.exit(r.status ?? 1);
