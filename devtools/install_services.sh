#!/usr/bin/env bash
# `make services`: nginx and redis-server from Debian's packages, for `make cluster` and the tests that
# run the store behind nginx or its job queue on Redis. Does nothing when both are installed; never
# starts them (each test or `make cluster` starts its own on a port of its own, and stops it).
set -euo pipefail

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -eq 0 ]; then
  echo "nginx and redis-server are installed."
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo)
  else
    echo "Installing ${missing[*]} needs root: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

echo "Installing ${missing[*]} (Debian's packages)..."
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
# policy-rc.d 101: the packages' scripts must not start the services (no systemd here; ports stay free).
printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d.album-store >/dev/null
"${SUDO[@]}" chmod +x /usr/sbin/policy-rc.d.album-store
if [ ! -e /usr/sbin/policy-rc.d ]; then
  "${SUDO[@]}" ln -s /usr/sbin/policy-rc.d.album-store /usr/sbin/policy-rc.d
  trap '"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${SUDO[@]}" apt-get install -y -q "${missing[@]}"
"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d.album-store
echo "Installed: $(/usr/sbin/nginx -v 2>&1), $(redis-server --version | cut -d' ' -f1-3)"
