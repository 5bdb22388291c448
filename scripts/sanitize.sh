#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into
# build-asan/ (CPU only) and runs the fuzz test and the core tests against it;
# then the CUDA backend's self-test on the CUDA emulator, sanitized too.
#
#   scripts/sanitize.sh                 # build + fuzz + robustness + io + core tests
#   scripts/sanitize.sh test/core       # build + the given vitest paths
#
# How: node itself is not instrumented, so GCC's libasan is preloaded
# (LD_PRELOAD) ahead of everything, and lib/native.ts loads the sanitized
# addon named by XARXA_ADDON instead of build/Release. Leak detection is off
# (node does not free everything at exit); any ASan report or UBSan finding
# aborts the process (halt_on_error), which fails the run. Exit status: 0 when
# the tests pass with no sanitizer report, else non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=build-asan
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

echo "== building the addon with -fsanitize=address,undefined into $OUT/"
npx cmake-js compile --out "$OUT" --CDXARXA_SANITIZE=ON --CDWITH_CUDA=OFF --CDCMAKE_BUILD_TYPE=RelWithDebInfo -p "$JOBS" >"$OUT.log" 2>&1 || {
  tail -40 "$OUT.log"
  echo "sanitize.sh: the sanitized build failed (log: $OUT.log)" >&2
  exit 1
}
ADDON="$PWD/$OUT/Release/xarxa.node"
[ -f "$ADDON" ] || { echo "sanitize.sh: $ADDON was not built" >&2; exit 1; }

CXX_BIN=${CXX:-g++}
LIBASAN=$("$CXX_BIN" -print-file-name=libasan.so)
[ -f "$LIBASAN" ] || { echo "sanitize.sh: libasan.so not found (install gcc's libasan, or clang's libclang-rt)" >&2; exit 1; }
LINKED=$(ldd "$ADDON" 2>&1 || true)
if [[ "$LINKED" != *libasan* ]]; then
  echo "sanitize.sh: $ADDON is not linked against libasan; is XARXA_SANITIZE honoured by CMakeLists.txt?" >&2
  exit 1
fi

TESTS=("$@")
[ ${#TESTS[@]} -gt 0 ] || TESTS=(test/robustness test/io test/core)

REPORTS=$(mktemp -d)
echo "== running ${TESTS[*]} under ASan + UBSan (reports: $REPORTS)"
set +e
env \
  XARXA_ADDON="$ADDON" \
  XARXA_DEVICE=cpu \
  LD_PRELOAD="$LIBASAN" \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allow_user_segv_handler=1:handle_segv=1:log_path=$REPORTS/asan" \
  UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$REPORTS/ubsan" \
  npx vitest run "${TESTS[@]}"
STATUS=$?
set -e

FOUND=0
for f in "$REPORTS"/*; do
  [ -e "$f" ] || continue
  FOUND=1
  echo "---- sanitizer report $f"
  cat "$f"
done
if [ $FOUND -ne 0 ]; then
  echo "sanitize.sh: FAILED: the sanitizers reported problems (above)" >&2
  exit 2
fi
if [ $STATUS -ne 0 ]; then
  echo "sanitize.sh: FAILED: the tests failed under the sanitizers (status $STATUS)" >&2
  exit $STATUS
fi
echo "sanitize.sh: OK: ${TESTS[*]} passed under ASan + UBSan with no reports"

# The CUDA backend's host code under the sanitizers too, on the CUDA emulator (needs the CUDA
# headers of scripts/install-cuda-wheels.sh; skipped with a message without them).
EMU=build-asan-emu
if cmake -S . -B "$EMU" -DWITH_CUDA=OFF -DXARXA_CUDA_EMULATOR=ON -DXARXA_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
     >"$EMU.log" 2>&1 && cmake --build "$EMU" --target xarxa_cuda_emu xarxa_cuda_selftest -j "$JOBS" >>"$EMU.log" 2>&1; then
  echo "== xarxa_cuda_selftest on the CUDA emulator under ASan + UBSan (leak detection on)"
  rc=0
  ASAN_OPTIONS="halt_on_error=1:abort_on_error=1" UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    "$EMU/xarxa_cuda_selftest" "$PWD/$EMU/libxarxa_cuda_emu.so" >"$EMU/selftest.txt" 2>&1 || rc=$?
  grep -v "^ok" "$EMU/selftest.txt" || true
  [ "$rc" = 0 ] || { echo "sanitize.sh: FAILED: the CUDA self-test on the emulator (exit $rc, above)" >&2; exit 1; }
  echo "sanitize.sh: OK: the CUDA backend on the emulator passed its self-test under ASan + UBSan"
else
  echo "sanitize.sh: NOTE: the CUDA emulator did not build (CUDA headers missing? log: $EMU.log); its sanitizer run skipped"
fi
