#!/usr/bin/env bash
# Runs the CUDA backend's own code on a machine without a GPU: builds
# libxarxa_cuda_emu.so (the backend's sources, kernels included, compiled as host
# C++ and linked with the CPU emulation of the CUDA runtime, cuBLAS and cuDNN in
# native/cuda/emulator) and runs
#   1. xarxa_cuda_selftest against it: every Backend op compared with the CPU backend;
#   2. the same with cuDNN refusing the preferred algorithm of each convolution direction,
#      in NCHW (XARXA_CUDNN_LAYOUT=nchw), and with NHWC unsupported or failing in some
#      directions (the backend moves those to NCHW), and through the op profiler;
#   3. the JS tests a GPU run leans on (XARXA_DEVICE=cuda, XARXA_CUDA_LIBRARY=the emulator):
#      the GPU tests (test/gpu) and the oracle, layer, training and concurrency tests,
#      at the GPU tolerance 1e-4 (scripts/gpu-check.sh runs the whole suite on a GPU).
# It checks our host logic (cuBLAS/cuDNN call arguments, layouts, padding, the
# caching allocator, stream order, asynchronous progress) and our kernels'
# arithmetic and indexing; not speed, not races, not NVIDIA's own libraries.
#
#   scripts/cuda-emulator-check.sh            (needs npm install done: the addon)
# Env: XARXA_CUDA_WHEELS_SKIP=1 uses CUDA headers already present (CUDA_HOME, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${XARXA_EMU_BUILD_DIR:-build-emu}
t0=$(date +%s)
say() { echo "cuda-emulator-check: $*"; }

if [ "${XARXA_CUDA_WHEELS_SKIP:-0}" != 1 ]; then bash scripts/install-cuda-wheels.sh >/dev/null; fi
mkdir -p "$OUT"
cmake -S . -B "$OUT" -DWITH_CUDA=OFF -DXARXA_CUDA_EMULATOR=ON -DCMAKE_BUILD_TYPE=Release >"$OUT/build.log" 2>&1 \
  || { cat "$OUT/build.log"; say "FAILED: configure"; exit 1; }
cmake --build "$OUT" --target xarxa_cuda_emu xarxa_cuda_selftest --parallel 2>&1 | tee -a "$OUT/build.log" | grep -E "warning:|error:" && {
  say "FAILED: the emulator build printed warnings or errors"; exit 1; }
lib=$PWD/$OUT/libxarxa_cuda_emu.so
[ -f "$lib" ] || { say "FAILED: no $lib"; exit 1; }
say "built $lib in $(( $(date +%s) - t0 ))s"

# selftest NAME WHAT [VAR=value ...]: the self-test on the emulator with those variables set; output in $OUT/NAME.txt.
selftest() {
  local name=$1 what=$2
  shift 2
  env "$@" "$OUT/xarxa_cuda_selftest" "$lib" > "$OUT/$name.txt" 2>&1 || { cat "$OUT/$name.txt"; say "FAILED: self-test $what"; exit 1; }
  say "self-test $what: $(tail -n 1 "$OUT/$name.txt") ($(( $(date +%s) - t0 ))s)"
}
selftest selftest "on the emulator"
# Again with cuDNN refusing the first candidate algorithm of every convolution direction.
selftest selftest-fallback "with the preferred cuDNN algorithms refused" XARXA_CUDA_EMULATOR_FAIL_ALGOS=fwd:1,bwd_data:1,bwd_filter:1
selftest selftest-nchw "with cuDNN in NCHW" XARXA_CUDNN_LAYOUT=nchw
# No NHWC forward algorithm at all; backward-data's all fail when run; backward-filter stays NHWC.
selftest selftest-layout-fallback "with NHWC refused (forward, backward-data)" \
  XARXA_CUDA_EMULATOR_NO_NHWC=fwd XARXA_CUDA_EMULATOR_FAIL_ALGOS=bwd_data:nhwc
# Every op through the per-op profiler (XARXA_CUDA_PROFILE): the same results, and a profile written.
selftest selftest-profiled "through the op profiler" XARXA_CUDA_PROFILE="$OUT/selftest-profile.json"
grep -q '"op": "gemm' "$OUT/selftest-profile.json" || { say "FAILED: the op profiler wrote no GEMM times"; exit 1; }

[ -f build/Release/xarxa.node ] || { say "FAILED: no build/Release/xarxa.node (run npm install first)"; exit 1; }
# The suites a GPU run exercises most (scripts/gpu-check.sh runs them all): the GPU tests (parity, memory,
# the emulated faults), the tfjs oracle tests, the core training tests, and models used concurrently.
XARXA_CUDA_LIBRARY=$lib XARXA_DEVICE=cuda XARXA_TEST_TOLERANCE=1e-4 npx vitest run test/gpu test/oracle test/core \
  test/robustness/concurrency.test.ts test/robustness/training-control.test.ts test/robustness/bad-input.test.ts
say "OK in $(( $(date +%s) - t0 ))s"
