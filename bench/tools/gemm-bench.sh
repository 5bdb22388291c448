#!/usr/bin/env bash
# Builds and runs bench/tools/gemm_bench.cc against the CPU core library
# (build it first: npx cmake-js compile).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${TMPDIR:-/tmp}/xarxa-gemm-bench"
g++ -O2 -std=gnu++17 -Inative bench/tools/gemm_bench.cc build/libxarxa_core.a -lpthread -o "$out"
exec "$out" "$@"
