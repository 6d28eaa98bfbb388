#!/usr/bin/env bash
# `make browser`: Chromium for the browser tests, from Debian's `chromium` package (Playwright drives it
# and never downloads a browser of its own). Does nothing when /usr/bin/chromium is already there.
set -euo pipefail

CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}  # where Debian's package puts it; the tests look there too
if [ -x "$CHROMIUM" ]; then
  echo "Chromium for the browser tests: $CHROMIUM is installed."
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo)
  else
    echo "Installing Chromium needs root: sudo apt-get update && sudo apt-get install -y chromium" >&2
    echo "(without it, 'make test' skips the browser tests and says so)" >&2
    exit 1
  fi
fi

echo "Installing Chromium (Debian's chromium package) for the browser tests..."
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q chromium
test -x "$CHROMIUM" || { echo "apt-get installed chromium, but there is no $CHROMIUM" >&2; exit 1; }
echo "Installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
