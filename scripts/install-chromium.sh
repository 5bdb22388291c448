#!/usr/bin/env bash
# Installs Debian's chromium (for the report's browser test) and a font (so PNG
# figures have text) when they are missing. Never fails: without them the
# browser test is skipped and PNGs lack text, with a message saying so.

set -u

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ! ls /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf >/dev/null 2>&1; then
  missing+=(fonts-dejavu-core)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-chromium: chromium and fonts already installed"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: apt-get not found, cannot install ${missing[*]} (browser test will be skipped)"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "install-chromium: not root and no sudo, cannot install ${missing[*]} (browser test will be skipped)"
    exit 0
  fi
fi

echo "install-chromium: installing ${missing[*]}"
log=$(mktemp)
if $sudo apt-get update -qq >"$log" 2>&1 &&
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >>"$log" 2>&1; then
  echo "install-chromium: done"
else
  echo "install-chromium: could not install ${missing[*]} (browser test will be skipped); last lines of apt output:"
  tail -n 5 "$log"
fi
rm -f "$log"
exit 0
