#!/usr/bin/env bash
# One command for a lent GPU machine (see ../shared/device/README.md):
#   REQUIRE_CUDA=1 source .device/remote-env.sh && bash scripts/gpu-check.sh [OUT_DIR]
# Builds the addon with the CUDA backend, runs the whole test suite on the
# GPU (XARXA_DEVICE=cuda) and on the CPU, the CPU<->CUDA parity tests, a
# per-op GPU time profile of a training step (in gpu-check.json), and the GPU
# benchmarks against PyTorch, and writes a JSON report (gpu-check.json) under OUT_DIR (default $OUT, else ./gpu-check-out); it gets five files
# (a lent machine sends back at most 8): gpu-check.json, gpu-check-logs.txt
# (every step's log), bench-gpu.json, bench-gpu.md, nvidia-smi.txt.
# Budget: under 8 minutes on an H100 so it can run twice in a 15-minute lease.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${1:-${OUT:-$PWD/gpu-check-out}}"
mkdir -p "$OUT_DIR"
LOG_DIR=$(mktemp -d)
export CUDAARCHS="${CUDAARCHS:-90}"
# The PyTorch peers (bench/peers/torch_bench.py) run with $PYTHON; on the GPU machines that is the venv's.
if [ -z "${PYTHON:-}" ] && [ -x /opt/torch/.venv/bin/python3 ]; then export PYTHON=/opt/torch/.venv/bin/python3; fi
START=$(date +%s)
declare -A STATUS SECONDS_TAKEN

STEPS=()
step() {  # step NAME COMMAND...: runs, logs to LOG_DIR/NAME.log, records status and time
  local name=$1; shift
  local t0=$(date +%s)
  STEPS+=("$name")
  echo "== $name: $*"
  "$@" > "$LOG_DIR/$name.log" 2>&1
  local rc=$?
  STATUS[$name]=$rc
  SECONDS_TAKEN[$name]=$(( $(date +%s) - t0 ))
  tail -n 25 "$LOG_DIR/$name.log"
  echo "== $name: exit $rc in ${SECONDS_TAKEN[$name]}s"
  # All logs in one file, rewritten after every step, so a run cut off by its time limit keeps them.
  for s in "${STEPS[@]}"; do echo "==================== $s (exit ${STATUS[$s]}, ${SECONDS_TAKEN[$s]}s)"; cat "$LOG_DIR/$s.log"; done > "$OUT_DIR/gpu-check-logs.txt"
}

# Real MNIST travels in .device/data (scripts/pack-device.sh) where ../shared/data is not beside the tree:
# the end-to-end accuracy test (test/core/end-to-end.test.ts) and the MNIST benchmark use it.
if [ ! -d ../shared/data/mnist ] && [ -d .device/data/mnist ]; then
  export XARXA_SHARED_DATA=${XARXA_SHARED_DATA:-$PWD/.device/data} XARXA_BENCH_DATA=${XARXA_BENCH_DATA:-$PWD/.device/data}
fi

nvidia-smi > "$OUT_DIR/nvidia-smi.txt" 2>&1 || true
step build npx cmake-js compile --CDWITH_CUDA=ON
# Every op on CUDA against the CPU backend, op by op (native/cuda/selftest).
# The library under test: the one just built, unless XARXA_CUDA_LIBRARY names another (scripts/gpu-check-rehearsal.sh
# points it at the CUDA emulator to rehearse this script without a GPU).
LIB=${XARXA_CUDA_LIBRARY:-build/Release/libxarxa_cuda.so}
step selftest bash -c "cmake --build build --target xarxa_cuda_selftest && build/Release/xarxa_cuda_selftest $LIB"
# Again with cuDNN on NCHW copies (the fallback where cuDNN has no NHWC algorithm; the bench compares both).
step selftest-nchw env XARXA_CUDNN_LAYOUT=nchw build/Release/xarxa_cuda_selftest "$LIB"
step info node --import tsx --input-type=module -e "import * as xa from './lib/index.ts'; console.log(JSON.stringify({status: xa.backend.cudaStatus(), info: xa.backend.cudaStatus().available ? xa.backend.info('cuda:0') : null}, null, 1))"
# No usable GPU (no driver, no device, a library that would not load): the remaining steps could only fail,
# slowly, on lease time. Say why and write the report of what ran.
if [ "${STATUS[info]}" != 0 ]; then
  echo "== gpu-check: the device check itself failed (the addon? see info in gpu-check-logs.txt): the GPU steps are skipped"
  GPU_OK=0
elif ! grep -q '"available": true' "$LOG_DIR/info.log"; then
  echo "== gpu-check: no usable GPU, the GPU steps are skipped: $(grep -o '"error": "[^"]*"' "$LOG_DIR/info.log" | head -1)"
  GPU_OK=0
else
  GPU_OK=1
fi
if [ "$GPU_OK" = 1 ]; then
step tests-cuda env XARXA_DEVICE=cuda XARXA_TEST_TOLERANCE=1e-4 npx vitest run --reporter=verbose
step tests-cpu env XARXA_DEVICE=cpu npx vitest run test/core test/oracle test/gpu
# tests-cuda trains with steps recorded as CUDA graphs (the default); the parity tests again op by op
# (XARXA_CUDA_GRAPHS=0), so that a parity failure says whether graphs are the cause.
step tests-nograph env XARXA_DEVICE=cuda XARXA_CUDA_GRAPHS=0 XARXA_TEST_TOLERANCE=1e-4 npx vitest run test/gpu/parity.test.ts test/core/fit.test.ts
# GPU time per op of a training step (bench/tools/gpu-profile.ts): which ops a faster step must shrink.
PSTEPS=${XARXA_GPU_CHECK_PROFILE_STEPS:-200}
step profile bash -c "node --import tsx bench/tools/gpu-profile.ts --model mnist-dense --steps $PSTEPS --out $LOG_DIR/profile-mnist-dense.json \
  && node --import tsx bench/tools/gpu-profile.ts --model cifar10-cnn --steps $PSTEPS --out $LOG_DIR/profile-cifar10-cnn.json \
  && XARXA_CUDNN_LAYOUT=nchw node --import tsx bench/tools/gpu-profile.ts --model cifar10-cnn --steps $PSTEPS --out $LOG_DIR/profile-cifar10-cnn-nchw.json"
# XARXA_GPU_CHECK_BENCH_ARGS: extra arguments (the rehearsal passes --quick --samples 512).
step bench-gpu timeout 240 npm run bench -- --suite gpu --model all --out "$OUT_DIR/bench-gpu.json" ${XARXA_GPU_CHECK_BENCH_ARGS:-}
fi

# NVIDIA's compute-sanitizer on the op-by-op self-test: out-of-bounds accesses (memcheck) and shared-memory
# races between GPU threads (racecheck), which no test of results and no emulator can show. Last, and only
# while the time budget allows (XARXA_GPU_CHECK_BUDGET seconds, default 450): a rerun needs the rest of the lease.
SANITIZER=""
for f in "${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer" /usr/local/cuda/bin/compute-sanitizer "$(command -v compute-sanitizer 2>/dev/null)"; do
  [ -n "$f" ] && [ -x "$f" ] && { SANITIZER=$f; break; }
done
for tool in memcheck racecheck; do
  [ "$GPU_OK" = 1 ] || break
  left=$(( ${XARXA_GPU_CHECK_BUDGET:-450} - ($(date +%s) - START) ))
  if [ -z "$SANITIZER" ]; then echo "== sanitize-$tool: skipped (no compute-sanitizer)"
  elif [ "$left" -lt 60 ]; then echo "== sanitize-$tool: skipped (${left}s of the time budget left)"
  else step "sanitize-$tool" timeout $(( left < 150 ? left : 150 )) "$SANITIZER" --tool "$tool" --error-exitcode 9 \
    build/Release/xarxa_cuda_selftest "$LIB"
  fi
done

node -e '
const fs = require("fs");
const out = process.argv[1];
const logs = process.argv[5];
const read = (f) => { try { return fs.readFileSync((f.endsWith(".log") || f.startsWith("profile-") ? logs : out) + "/" + f, "utf8"); } catch { return null; } };
const summary = (log) => { const m = (log || "").match(/Tests\s+(.*)/g); return m ? m.map((s) => s.trim()) : null; };
let bench = null; try { bench = JSON.parse(read("bench-gpu.json")); } catch {}
let info = null; try { info = JSON.parse((read("info.log") || "").slice((read("info.log") || "").indexOf("{"))); } catch {}
const report = {
  date: new Date().toISOString(),
  status: JSON.parse(process.argv[2]),
  gpu: process.argv[6] === "1" ? "usable" : "the GPU steps were skipped: no usable GPU (device.status.error) or the device check failed (status.info)",
  seconds: JSON.parse(process.argv[3]),
  totalSeconds: Number(process.argv[4]),
  device: info,
  testsCuda: summary(read("tests-cuda.log")),
  testsCpu: summary(read("tests-cpu.log")),
  testsNograph: summary(read("tests-nograph.log")),
  e2e: (read("tests-cuda.log") || "").split("\n").filter((l) => l.startsWith("[e2e]")),
  stepGraphs: ((read("selftest.log") || "").match(/steps as CUDA graphs: (.*)/) || [])[1] || null,
  selftestTail: (read("selftest.log") || "").split("\n").slice(-15),
  selftestNchwTail: (read("selftest-nchw.log") || "").split("\n").slice(-3),
  sanitizer: Object.fromEntries(["memcheck", "racecheck"].map((t) => [t, (read("sanitize-" + t + ".log") || "not run").split("\n").filter((l) => /ERROR SUMMARY|RACECHECK SUMMARY|passed, \d+ failed|not run/.test(l))])),
  profile: ["mnist-dense", "cifar10-cnn", "cifar10-cnn-nchw"].map((m) => { try { return JSON.parse(read("profile-" + m + ".json")); } catch { return null; } }),
  bench,
};
fs.writeFileSync(out + "/gpu-check.json", JSON.stringify(report, null, 1));
console.log(JSON.stringify({ gpu: report.gpu, status: report.status, testsCuda: report.testsCuda, testsCpu: report.testsCpu, testsNograph: report.testsNograph, stepGraphs: report.stepGraphs }, null, 1));
' "$OUT_DIR" "$(for k in "${!STATUS[@]}"; do printf '"%s":%s\n' "$k" "${STATUS[$k]}"; done | paste -sd, | sed 's/^/{/;s/$/}/')" \
  "$(for k in "${!SECONDS_TAKEN[@]}"; do printf '"%s":%s\n' "$k" "${SECONDS_TAKEN[$k]}"; done | paste -sd, | sed 's/^/{/;s/$/}/')" \
  "$(( $(date +%s) - START ))" "$LOG_DIR" "$GPU_OK"
echo "report: $OUT_DIR/gpu-check.json ($(( $(date +%s) - START ))s)"
[ "$GPU_OK" = 1 ] || exit 1
for k in build selftest selftest-nchw tests-cuda tests-cpu tests-nograph; do [ "${STATUS[$k]:-1}" = 0 ] || exit 1; done
