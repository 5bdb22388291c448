#!/usr/bin/env bash
# CI check of the CUDA backend on a machine without a GPU: compiles and links
# libxarxa_cuda.so against NVIDIA's CUDA 13.0 pip wheels and inspects it. Nothing runs
# on a GPU here; it fails (non-zero) on any compile error, on compiler warnings in
# native/cuda (XARXA_CUDA_ALLOW_WARNINGS=1 lets them pass), or when the library is not
# what the addon expects.
#
#   scripts/cuda-build-check.sh
#
# Steps: scripts/install-cuda-wheels.sh (cached); configure the project in build-cuda/
# with WITH_CUDA=ON (through cmake-js when node_modules has it, else plain cmake: the
# addon target is configured but not built); build only the xarxa_cuda target; then
#   - libxarxa_cuda.so exists;
#   - `nm -D` exports xarxa_cuda_abi / xarxa_cuda_device_count / xarxa_cuda_create;
#   - `ldd` shows no libcudart (the CUDA runtime is linked statically) and nothing missing;
#   - its fat binary holds SASS for sm_75, sm_80 and sm_90 and PTX (unless CUDAARCHS /
#     XARXA_CUDA_ARCHS_EXPECTED say otherwise);
# then builds and runs xarxa_cuda_selftest: every op on CUDA against the CPU backend when
# there is a GPU; without one, only the library's "no CUDA driver" answer.
# Env: XARXA_CUDA_BUILD_DIR (default build-cuda), XARXA_CUDA_WHEELS (wheel cache),
#      CUDAARCHS (architectures to build; default 75-real;80-real;90-real;90-virtual),
#      XARXA_CUDA_ARCHS_EXPECTED (e.g. "SASS80 SASS90 PTX90"), XARXA_CUDA_ALLOW_WARNINGS,
#      XARXA_CUDA_WHEELS_SKIP=1 (use the CUDA already in the environment, e.g. on a GPU
#      machine after `source .device/remote-env.sh`, which has no network for pip).
set -euo pipefail

t_start=$(date +%s)
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${XARXA_CUDA_BUILD_DIR:-build-cuda}
LOG=$(mktemp "${TMPDIR:-/tmp}/xarxa-cuda-build.XXXXXX")
trap 'rm -f "$LOG"' EXIT

say() { echo "cuda-build-check: $*"; }
fail() { echo "cuda-build-check: FAILED: $*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

# ---- 1. toolchain -------------------------------------------------------------------
t=$(date +%s)
if [ "${XARXA_CUDA_WHEELS_SKIP:-0}" = 1 ]; then
  # e.g. on a GPU machine (no network) after `source .device/remote-env.sh`
  say "using the CUDA of this environment (XARXA_CUDA_WHEELS_SKIP=1)"
  [ -n "${CUDACXX:-}" ] || CUDACXX=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
else
  bash scripts/install-cuda-wheels.sh
  # shellcheck disable=SC1091
  source "${XARXA_CUDA_WHEELS:-$HOME/.cache/xarxa/cuda-wheels}/env.sh"
fi
say "toolchain ready in $(elapsed "$t"): $("$CUDACXX" --version | sed -n 's/.*release \([0-9.]*\), \(V[0-9.]*\).*/nvcc \1 (\2)/p')"

# ---- 2. configure and build only the CUDA library --------------------------------------
t=$(date +%s)
set -o pipefail
if [ -x node_modules/.bin/cmake-js ] && command -v node >/dev/null 2>&1; then
  say "configure + build (cmake-js) in $OUT"
  { node_modules/.bin/cmake-js configure --out "$OUT" --CDWITH_CUDA=ON \
      && node_modules/.bin/cmake-js build --out "$OUT" --target xarxa_cuda; } 2>&1 | tee "$LOG" \
    || fail "the CUDA library did not build (log above)"
else
  say "configure + build (cmake; no node_modules/.bin/cmake-js) in $OUT"
  { cmake -S . -B "$OUT" -DWITH_CUDA=ON -DCMAKE_BUILD_TYPE=Release \
      && cmake --build "$OUT" --target xarxa_cuda --parallel; } 2>&1 | tee "$LOG" \
    || fail "the CUDA library did not build (log above)"
fi
say "built in $(elapsed "$t")"

warnings=$(grep -iE "warning" "$LOG" | grep -E "native/cuda|cmake/cuda.cmake|nvcc|ptxas" || true)
if [ -n "$warnings" ]; then
  echo "$warnings" >&2
  if [ "${XARXA_CUDA_ALLOW_WARNINGS:-0}" = 1 ]; then
    say "WARNING: the build printed warnings (allowed by XARXA_CUDA_ALLOW_WARNINGS=1)"
  else
    fail "the build printed warnings for the CUDA sources (XARXA_CUDA_ALLOW_WARNINGS=1 accepts them)"
  fi
fi

# ---- 3. inspect the library ---------------------------------------------------------------
lib=$(find "$OUT" -name libxarxa_cuda.so -type f -newer "$LOG" -print -quit 2>/dev/null || true)
[ -n "$lib" ] || lib=$(find "$OUT" -name libxarxa_cuda.so -type f -print -quit 2>/dev/null || true)
[ -n "$lib" ] || fail "no libxarxa_cuda.so under $OUT"
say "library: $lib ($(stat -c %s "$lib") bytes)"
addon_dir_note=""
if [ -f "$(dirname "$lib")/xarxa.node" ]; then addon_dir_note=" (beside xarxa.node)"; fi
say "output folder: $(dirname "$lib")$addon_dir_note"

exports=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort)
for sym in xarxa_cuda_abi xarxa_cuda_device_count xarxa_cuda_create; do
  echo "$exports" | grep -qx "$sym" || fail "$lib does not export $sym"
done
say "exports: $(echo "$exports" | tr '\n' ' ')"

deps=$(env -u LD_LIBRARY_PATH ldd "$lib")  # RUNPATH alone must find cuBLAS and cuDNN
if echo "$deps" | grep -q "libcudart"; then
  echo "$deps" >&2
  fail "$lib depends on a shared libcudart (expected the static CUDA runtime)"
fi
if echo "$deps" | grep -q "not found"; then
  echo "$deps" >&2
  fail "$lib has unresolved library dependencies"
fi
say "dependencies: $(echo "$deps" | awk '/=>/ {print $1}' | tr '\n' ' ')"
say "RUNPATH: $(readelf -d "$lib" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')"

# The fat binary's entries: kind (SASS = cubin, PTX) and architecture, read from the
# .nv_fatbin section (the wheels ship no cuobjdump).
archs=$(python3 - "$lib" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
shoff, = struct.unpack_from("<Q", data, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
sh = lambda i: struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
strtab = sh(shstrndx)
name = lambda off: data[strtab[4] + off:data.index(b"\0", strtab[4] + off)].decode()
sec = b""
for i in range(shnum):
    h = sh(i)
    if name(h[0]) == ".nv_fatbin":
        sec = data[h[4]:h[4] + h[5]]
found = set()
pos = 0
while pos + 16 <= len(sec):
    magic, _, hsize, fsize = struct.unpack_from("<IHHQ", sec, pos)
    if magic != 0xBA55ED50:
        pos += 8
        continue
    e, end = pos + hsize, pos + hsize + fsize
    while e + 0x20 <= end:
        kind, _, ehsize, padded = struct.unpack_from("<HHII", sec, e)
        sm, = struct.unpack_from("<I", sec, e + 0x1C)
        found.add(("PTX" if kind == 1 else "SASS" if kind == 2 else "KIND%d-" % kind) + str(sm))
        if ehsize == 0:
            break
        e += ehsize + padded
    pos = end
print(" ".join(sorted(found)))
PY
)
say "device code: ${archs:-none}"
if [ -n "${XARXA_CUDA_ARCHS_EXPECTED:-}" ]; then
  expected=$XARXA_CUDA_ARCHS_EXPECTED
elif [ -z "${CUDAARCHS:-}" ]; then
  expected="SASS75 SASS80 SASS90 PTX90"
else
  expected=""
fi
for a in $expected; do
  echo " $archs " | grep -q " $a " || fail "the fat binary lacks $a (has: ${archs:-nothing})"
done

# ---- 4. the self-test (CUDA against the CPU reference, op by op) -------------------------------
# It links the CPU core (native/core, cpu, layers, model), so a failure to build it is reported
# but does not fail this check. Without a GPU it only opens the library and gets the
# "no CUDA driver" answer (exit 2); with one it runs every comparison (exit 0 or 1).
t=$(date +%s)
selftest="$(dirname "$lib")/xarxa_cuda_selftest"
if cmake --build "$OUT" --target xarxa_cuda_selftest >"$LOG" 2>&1 && [ -x "$selftest" ]; then
  "$selftest" --cpu-vs-cpu >"$LOG" 2>&1 || { cat "$LOG" >&2; fail "the self-test does not pass against itself (CPU vs CPU)"; }
  rc=0
  env -u LD_LIBRARY_PATH "$selftest" "$lib" 2>&1 | tee "$LOG" || rc=$?
  case $rc in
    0) say "self-test passed on the GPU in $(elapsed "$t")" ;;
    2) say "self-test: no usable GPU here ($(head -1 "$LOG" | sed 's/^library [^:]*: //'))" ;;
    *) fail "self-test failed (exit $rc)" ;;
  esac
else
  tail -n 20 "$LOG" >&2
  say "NOTE: xarxa_cuda_selftest did not build (it needs the CPU core sources); skipped"
fi

say "OK in $(elapsed "$t_start") total"
