#!/usr/bin/env bash
# Packs .device/ for a lent GPU machine (no Node.js, no network there; see
# ../shared/device/README.md): Node.js and npm through ../shared/device/pack-node.sh,
# and node_modules trimmed to fit. What travels (the working tree + .device) may
# be 64 MiB in all; pack-node.sh's whole node_modules is 47 MB compressed here,
# which with node (22 MB) is over. Source maps (203 MB of node_modules, tfjs's
# mostly), TypeScript (only `tsc` uses it; tsx and vitest do not) and bundle-size
# reports are left out: nothing gpu-check.sh runs reads them.
#   scripts/pack-device.sh        (after npm ci; then carry .device)
# Env: XZ_LEVEL (default -6 for node_modules; node itself as pack-node.sh packs it).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "pack-device: $*"; }
[ -d node_modules ] || { say "no node_modules: run npm ci first" >&2; exit 1; }
[ -x ../shared/device/pack-node.sh ] || { say "no ../shared/device/pack-node.sh" >&2; exit 1; }

DEVICE_DEPS=none ../shared/device/pack-node.sh | grep -v -e 'working tree' -e 'bring .device' -e 'on the GPU machine' || true

# Re-packed only when npm has changed node_modules; kept in build-device/ (ignored, does not travel).
cache=build-device/node_modules.tar.xz
xzl=${XZ_LEVEL:--6}
stamp="$xzl $(stat -c %Y node_modules/.package-lock.json package-lock.json 2>/dev/null | tr '\n' ' ')"
mkdir -p build-device
if [ -s "$cache" ] && [ "$(cat build-device/stamp 2>/dev/null)" = "$stamp" ]; then
  say "node_modules: $cache up to date"
else
  say "node_modules: packing (xz $xzl) ..."
  tar --exclude=node_modules/.cache --exclude='*.map' --exclude='*.min.js.html' --exclude=node_modules/typescript \
    -cf - node_modules | xz "$xzl" -T2 > "$cache.part"
  mv "$cache.part" "$cache"
  echo "$stamp" > build-device/stamp
fi
cp "$cache" .device/node_modules.tar.xz

# Real MNIST for the GPU benchmark (11 MiB of IDX .gz files; gpu-check.sh points the bench at .device/data), so that
# its loss check applies and its MNIST figures are on the notebook's data. CIFAR-10's JPEG proxy (19 MiB, and
# Python to decode it) would not fit: the CNN row trains on random data of the same shape.
rm -rf .device/data
if [ -f ../shared/data/mnist/train-images-idx3-ubyte.gz ]; then
  mkdir -p .device/data/mnist
  cp ../shared/data/mnist/*-ubyte.gz .device/data/mnist/
  say "data: real MNIST ($(du -sh .device/data | cut -f1)) in .device/data"
else
  say "data: no ../shared/data/mnist: the GPU benchmark will use random data"
fi

tree=$(git ls-files -z -co --exclude-standard | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s+=$1} END {print s+0}')
dev=$(du -sb .device | cut -f1)
awk -v d="$dev" -v t="$tree" 'BEGIN { m = 1048576
  printf "pack-device: .device %.1f MiB + working tree %.1f MiB = %.1f MiB of the 64 MiB that may travel\n", d/m, t/m, (d+t)/m
  exit (d + t > 64 * m) }' || { say "over 64 MiB: it would not travel" >&2; exit 1; }
say "carry .device; on the GPU machine: REQUIRE_CUDA=1 source .device/remote-env.sh && bash scripts/gpu-check.sh \$OUT"
