#!/usr/bin/env bash
# Installs a CUDA 13.0 toolchain (nvcc, runtime, cuBLAS, cuDNN) from NVIDIA's PyPI wheels into a
# cached folder, for building libxarxa_cuda.so on machines without a CUDA toolkit (CI, no GPU needed).
#
#   scripts/install-cuda-wheels.sh              # install (or reuse), write $ROOT/env.sh, say where it is
#   scripts/install-cuda-wheels.sh --print-env  # the same, then print the exports on stdout:
#                                               #   eval "$(scripts/install-cuda-wheels.sh --print-env)"
#   source "${XARXA_CUDA_WHEELS:-$HOME/.cache/xarxa/cuda-wheels}/env.sh"
#
# Layout under ROOT (default ${XARXA_CUDA_WHEELS:-$HOME/.cache/xarxa/cuda-wheels}):
#   downloads/  the wheel files (pip download cache; kept, so changing one pin re-downloads only it)
#   site/       `pip install --target` of the pinned wheels (nvidia/cu13/{bin,include,lib,nvvm},
#               nvidia/cudnn/{include,lib})
#   cuda        -> site/nvidia/cu13, the toolkit (CUDA_HOME); its lib/ gains unversioned symlinks
#               (libcudart.so -> libcudart.so.13, libcublas.so -> libcublas.so.13, ...) so that
#               find_library(cublas) and CMake's FindCUDAToolkit work, and lib64 -> lib, where
#               nvcc looks for libcudart_static.a
#   cudnn       -> site/nvidia/cudnn, with lib/libcudnn.so -> libcudnn.so.9 etc.
#   env.sh      CUDA_HOME, CUDACXX, PATH, CUBLAS_*/CUDNN_* (ROOT, INCLUDE_DIR, LIBRARY_DIR),
#               CMAKE_PREFIX_PATH, LD_LIBRARY_PATH, as .device/remote-env.sh exports them on GPU machines
#   .pins       what is installed; the same pins next time = nothing to do
#
# Pins: CUDA 13.0.x for the compiler and runtime (the GPU machines' driver 580 is CUDA 13.0);
# cuBLAS 13.0.x; cuDNN 9.x for CUDA 13 (minor-version compatibility lets it run on a 13.0 driver).
set -euo pipefail

ROOT=${XARXA_CUDA_WHEELS:-$HOME/.cache/xarxa/cuda-wheels}
PYTHON=${PYTHON:-python3}
PINS=(
  nvidia-cuda-nvcc==13.0.88
  nvidia-cuda-runtime==13.0.96
  nvidia-cuda-crt==13.0.88
  nvidia-nvvm==13.0.88
  nvidia-cuda-cccl==13.0.85
  nvidia-cublas==13.0.2.14
  nvidia-cudnn-cu13==9.24.0.43
)
LAYOUT=3  # bump when the folder layout below changes

print_env=0
for a in "$@"; do
  case $a in
    --print-env) print_env=1 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "install-cuda-wheels: unknown argument $a" >&2; exit 2 ;;
  esac
done

log() { echo "install-cuda-wheels: $*" >&2; }

want="layout=$LAYOUT ${PINS[*]}"
mkdir -p "$ROOT"
if [ -f "$ROOT/.pins" ] && [ "$(cat "$ROOT/.pins")" = "$want" ] && [ -x "$ROOT/site/nvidia/cu13/bin/nvcc" ] \
   && [ -f "$ROOT/env.sh" ]; then
  log "up to date in $ROOT"
else
  command -v "$PYTHON" >/dev/null || { log "ERROR: no $PYTHON"; exit 1; }
  "$PYTHON" -m pip --version >/dev/null 2>&1 || { log "ERROR: no pip for $PYTHON"; exit 1; }
  t0=$(date +%s)
  mkdir -p "$ROOT/downloads"
  # Download into the cache (pip skips files already there), then install from it alone.
  # --no-deps: the pins are the whole set (nvidia-cudnn-cu13 asks for an unpinned nvidia-cublas).
  log "downloading ${#PINS[@]} wheels into $ROOT/downloads (about 1.1 GB the first time)"
  "$PYTHON" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$ROOT/downloads" "${PINS[@]}" >&2
  log "installing into $ROOT/site"
  rm -rf "$ROOT/site.tmp" "$ROOT/.pins"
  PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install -q --disable-pip-version-check --no-deps --no-index \
    --find-links "$ROOT/downloads" --no-compile --target "$ROOT/site.tmp" "${PINS[@]}" >&2
  rm -rf "$ROOT/site"
  mv "$ROOT/site.tmp" "$ROOT/site"

  # Unversioned names next to the versioned libraries the wheels ship.
  for d in "$ROOT/site/nvidia/cu13/lib" "$ROOT/site/nvidia/cudnn/lib"; do
    [ -d "$d" ] || { log "ERROR: $d missing after install"; exit 1; }
    for f in "$d"/lib*.so.*; do
      [ -e "$f" ] || continue
      base=$(basename "$f"); base=${base%%.so.*}.so
      [ -e "$d/$base" ] || ln -s "$(basename "$f")" "$d/$base"
    done
  done
  # nvcc.profile links with -L$TOP/lib64 (as in a real toolkit); the wheels use lib/.
  [ -e "$ROOT/site/nvidia/cu13/lib64" ] || ln -s lib "$ROOT/site/nvidia/cu13/lib64"
  ln -sfn site/nvidia/cu13 "$ROOT/cuda"
  ln -sfn site/nvidia/cudnn "$ROOT/cudnn"

  CUDA=$ROOT/cuda CUDNN=$ROOT/cudnn
  [ -x "$CUDA/bin/nvcc" ] && [ -f "$CUDA/include/cuda_runtime.h" ] && [ -f "$CUDA/lib/libcudart_static.a" ] \
    && [ -f "$CUDA/include/cublas_v2.h" ] && [ -e "$CUDA/lib/libcublas.so" ] \
    && [ -f "$CUDNN/include/cudnn.h" ] && [ -e "$CUDNN/lib/libcudnn.so" ] \
    || { log "ERROR: incomplete install under $ROOT"; exit 1; }

  cat >"$ROOT/env.sh" <<EOF
# Written by scripts/install-cuda-wheels.sh: source it (bash/sh) to build against the wheels' CUDA.
export CUDA_HOME="$CUDA"
export CUDA_PATH="$CUDA"
export CUDACXX="$CUDA/bin/nvcc"
export CUBLAS_ROOT="$CUDA"
export CUBLAS_INCLUDE_DIR="$CUDA/include"
export CUBLAS_LIBRARY_DIR="$CUDA/lib"
export CUDNN_ROOT="$CUDNN"
export CUDNN_INCLUDE_DIR="$CUDNN/include"
export CUDNN_LIBRARY_DIR="$CUDNN/lib"
case ":\$PATH:" in *":$CUDA/bin:"*) ;; *) export PATH="$CUDA/bin:\$PATH" ;; esac
case ":\${CMAKE_PREFIX_PATH:-}:" in *":$CUDA:"*) ;; *) export CMAKE_PREFIX_PATH="$CUDA:$CUDNN\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}" ;; esac
case ":\${LD_LIBRARY_PATH:-}:" in *":$CUDA/lib:"*) ;; *) export LD_LIBRARY_PATH="$CUDA/lib:$CUDNN/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" ;; esac
EOF
  echo "$want" >"$ROOT/.pins"
  log "installed in $(( $(date +%s) - t0 )) s: nvcc $("$CUDA/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), cuBLAS ${PINS[5]#*==}, cuDNN ${PINS[6]#*==}"
fi

if [ "$print_env" = 1 ]; then
  grep '^[ec]' "$ROOT/env.sh"
else
  log "environment: source $ROOT/env.sh"
fi
