#!/usr/bin/env bash
# Builds and runs bench/tools/conv_check.cc (naive-loop checks of the CPU
# backend's GEMM, convolution and pooling) against build/libxarxa_core.a.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${TMPDIR:-/tmp}/xarxa-conv-check"
g++ -O1 -g -std=gnu++17 -Inative bench/tools/conv_check.cc build/libxarxa_core.a -lpthread -ldl -o "$out"
exec "$out" "$@"
