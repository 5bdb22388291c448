#!/usr/bin/env bash
# Builds and runs bench/tools/op_bench.cc (per-op times of one training step)
# against build/libxarxa_core.a (build it first: npx cmake-js compile).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${TMPDIR:-/tmp}/xarxa-op-bench"
g++ -O2 -std=gnu++17 -Inative bench/tools/op_bench.cc build/libxarxa_core.a -lpthread -ldl -o "$out"
exec "$out" "$@"
