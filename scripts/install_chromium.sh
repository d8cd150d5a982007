#!/usr/bin/env bash
# Headless Chromium for the viewer's browser tests (pytest -m browser) and the screenshots in docs/images/:
# Debian's `chromium` package, nothing downloaded from elsewhere. Idempotent: does nothing when
# /usr/bin/chromium exists. Needs root (CI runs as root) or sudo; without either it says so and
# exits 0, and the browser tests skip with that reason.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "not root and no sudo: chromium not installed; the browser tests will skip" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "installed: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
