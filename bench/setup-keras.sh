#!/usr/bin/env bash
# Installs Keras on TensorFlow (CPU build) into a cached virtual environment
# for the benchmark's Keras peer. Dev-only: xarxa itself never needs Python.
#   bash bench/setup-keras.sh            # -> ~/.cache/xarxa/keras-venv
#   XARXA_KERAS_VENV=/some/dir bash bench/setup-keras.sh
# Exits non-zero with the reason when pip cannot install it; the benchmark then
# writes that reason into the Keras row instead of a number.
set -euo pipefail
VENV="${XARXA_KERAS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/xarxa/keras-venv}"
TF_SPEC="${XARXA_TF_SPEC:-tensorflow-cpu==2.21.0}"
PY="${PYTHON:-python3}"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import tensorflow, keras' >/dev/null 2>&1; then
  echo "keras venv ready: $VENV"
  "$VENV/bin/python" -c 'import tensorflow as tf, keras; print("tensorflow", tf.__version__, "keras", keras.__version__)'
  exit 0
fi
mkdir -p "$(dirname "$VENV")"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
# numpy comes with tensorflow; psutil is not needed (peak RSS comes from /proc).
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet "$TF_SPEC"; then
  echo "setup-keras: pip could not install $TF_SPEC" >&2
  exit 2
fi
"$VENV/bin/python" -c 'import tensorflow as tf, keras; print("tensorflow", tf.__version__, "keras", keras.__version__)'
echo "keras venv ready: $VENV"
