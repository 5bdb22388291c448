#!/usr/bin/env bash
# Rehearses the GPU run on a machine without a GPU, so that a lent GPU's few
# minutes are not spent finding out that a step of scripts/gpu-check.sh breaks.
# As the device tool would, it
#   1. packs .device with scripts/pack-device.sh (which fails if what travels is over 64 MiB);
#   2. copies the working tree (tracked and untracked-not-ignored files) and .device into a
#      scratch folder, without node_modules or build outputs;
#   3. there: source .device/remote-env.sh, then scripts/gpu-check.sh with XARXA_CUDA_LIBRARY =
#      the CUDA emulator (built here first) standing in for the GPU. Where ~/.cache/xarxa/torch-venv
#      (a CUDA build of PyTorch with NVIDIA's cuBLAS/cuDNN wheels, like the GPU machines'
#      /opt/torch/.venv) exists, remote-env.sh takes cuBLAS and cuDNN from it, as it does there,
#      and the PyTorch peers run on the CPU (XARXA_TORCH_ALLOW_CPU=1); else from the CUDA wheels;
#   4. checks the report: every step exited 0, the test summaries are there, the benchmark
#      rows for xarxa CUDA trained (with steps as CUDA graphs), the MNIST rows on the real MNIST
#      that travelled in .device/data, at most 8 files came back.
# The figures mean nothing (the emulator is a CPU); the plumbing is what is checked.
# About 10 minutes on 2 cores.
#   scripts/gpu-check-rehearsal.sh [OUT_DIR]     (default ./gpu-check-rehearsal)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT_DIR=$(realpath -m "${1:-$ROOT/gpu-check-rehearsal}")
say() { echo "gpu-check-rehearsal: $*"; }
fail() { echo "gpu-check-rehearsal: FAILED: $*" >&2; exit 1; }
t0=$(date +%s)

XZ_LEVEL=${XZ_LEVEL:--6} bash scripts/pack-device.sh | tail -2 || fail "pack-device.sh"

# The emulator, as scripts/cuda-emulator-check.sh builds it.
bash scripts/install-cuda-wheels.sh >/dev/null
cmake -S . -B build-emu -DWITH_CUDA=OFF -DXARXA_CUDA_EMULATOR=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-emu --target xarxa_cuda_emu --parallel >/dev/null
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xarxa-gpu-rehearsal.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/repo" "$WORK/emu"
cp build-emu/libxarxa_cuda_emu.so "$WORK/emu/"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -C "$WORK/repo" -xf -
cp -r .device "$WORK/repo/"
rm -rf "$OUT_DIR" && mkdir -p "$OUT_DIR"
say "tree copied to $WORK/repo ($(du -sh "$WORK/repo" | cut -f1)); running gpu-check there"

WHEELS=${XARXA_CUDA_WHEELS:-$HOME/.cache/xarxa/cuda-wheels}
TORCH_VENV=$HOME/.cache/xarxa/torch-venv
(
  cd "$WORK/repo"
  # nvcc from the CUDA 13.0 wheels (the GPU machines have /usr/local/cuda 13.0); cuBLAS and cuDNN
  # from the torch venv's NVIDIA packages as there, else from the wheels.
  export CUDACXX="$WHEELS/cuda/bin/nvcc" NODE_DIR="$WORK/node-bin" DEVICE_LIBS="$WORK/device-libs"
  unset CUDA_HOME CUBLAS_ROOT CUDNN_ROOT CUBLAS_INCLUDE_DIR CUDNN_INCLUDE_DIR CUBLAS_LIBRARY_DIR CUDNN_LIBRARY_DIR
  if [ -x "$TORCH_VENV/bin/python3" ]; then
    export DEVICE_VENV=$TORCH_VENV PYTHON=$TORCH_VENV/bin/python3 XARXA_TORCH_ALLOW_CPU=1
  else
    export PYTHONPATH="$WHEELS/site"
  fi
  source .device/remote-env.sh
  [ "$(command -v node)" = "$WORK/node-bin/node" ] || { echo "node is $(command -v node), not the packed one" >&2; exit 1; }
  export XARXA_CUDA_LIBRARY="$WORK/emu/libxarxa_cuda_emu.so"
  # The bench on the emulator: a few hundred samples, not whole datasets.
  export XARXA_GPU_CHECK_BENCH_ARGS="--quick --samples 512" XARXA_GPU_CHECK_PROFILE_STEPS=4
  bash scripts/gpu-check.sh "$OUT_DIR"
) > "$OUT_DIR.log" 2>&1 || say "gpu-check exited non-zero (checked below)"
say "gpu-check ran in $(( $(date +%s) - t0 ))s; log: $OUT_DIR.log"

node - "$OUT_DIR" <<'JS'
const fs = require('fs');
const dir = process.argv[2];
const files = fs.readdirSync(dir);
const r = JSON.parse(fs.readFileSync(dir + '/gpu-check.json', 'utf8'));
const problems = [];
if (files.length > 8) problems.push(`${files.length} files under OUT (a lent machine sends back 8)`);
for (const [step, rc] of Object.entries(r.status)) if (rc !== 0) problems.push(`step ${step} exited ${rc}`);
for (const step of ['build', 'selftest', 'selftest-nchw', 'info', 'tests-cuda', 'tests-cpu', 'tests-nograph', 'profile', 'bench-gpu'])
  if (!(step in r.status)) problems.push(`step ${step} did not run`);
if (!r.device?.info?.name?.includes('CUDA emulator')) problems.push('the info step did not see the emulator');
if (!r.testsCuda?.length || !r.testsCpu?.length || !r.testsNograph?.length) problems.push('test summaries missing');
if (r.stepGraphs !== 'on') problems.push(`the self-test says steps as CUDA graphs: ${r.stepGraphs}`);
if (r.profile?.length !== 3 || r.profile.some((p) => !(p?.ops?.length > 5))) problems.push('the op profiles are missing or empty');
const rows = (r.bench?.models ?? []).flatMap((m) => m.engines.map((e) => [m.model, e]));
for (const id of ['xarxa-cuda', 'xarxa-cuda-nchw', 'xarxa-cuda-nograph']) {
  const mine = rows.filter(([, e]) => e.engine === id);
  if (!mine.length) problems.push(`no ${id} row in the bench`);
  for (const [m, e] of mine) if (e.status !== 'ok') problems.push(`${id} on ${m}: ${e.status} ${e.reason ?? ''}`);
}
if (!(r.e2e ?? []).some((l) => /^\[e2e\] MNIST: test accuracy/.test(l))) problems.push('no MNIST accuracy from the end-to-end test (.device/data)');
const mnist = (r.bench?.models ?? []).find((m) => m.model === 'mnist-dense');
if (mnist?.data?.source !== 'real') problems.push(`the MNIST bench ran on ${mnist?.data?.source} data, not the MNIST packed in .device/data`);
for (const [m, e] of rows.filter(([, e]) => e.engine === 'xarxa-cuda'))
  if (e.stepGraphs !== 'on') problems.push(`xarxa-cuda on ${m}: steps as CUDA graphs ${e.stepGraphs}`);
console.log(JSON.stringify({ files, seconds: r.seconds, totalSeconds: r.totalSeconds, testsCuda: r.testsCuda, testsCpu: r.testsCpu,
  bench: rows.map(([m, e]) => `${m} ${e.engine}: ${e.status}${e.samplesPerSec ? ' ' + Math.round(e.samplesPerSec) + '/s' : ''}`) }, null, 1));
if (problems.length) { console.error('gpu-check-rehearsal: FAILED:\n  ' + problems.join('\n  ')); process.exit(1); }
console.log('gpu-check-rehearsal: OK');
JS
