#!/usr/bin/env bash
# Installs what building, testing and the devnet need on Debian 12: Debian packages through
# apt-get (as root, or through sudo) and the npm packages of the ML-DSA cross-check.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config clang
  libssl-dev libcurl4-openssl-dev libarchive-dev liblmdb-dev libjson-c-dev zlib1g-dev
  libmimalloc-dev
  # binary patches between releases (issue 19): zstd --patch-from through libzstd
  libzstd-dev
  # metrics: promtool and the Python prometheus_client parser check /metrics (tests/node)
  prometheus python3-prometheus-client
  # the fleet page: tested in headless Chromium, timed over the DevTools protocol (bench/fleet-page)
  chromium python3-websocket
  valgrind nginx-light openssl python3 nodejs npm ca-certificates time
  cppcheck clang-tidy
  # bench/delta/measure.sh: the patch-format measurement only (issue 19)
  bsdiff zstd
  # the static musl release builds (scripts/musl/build-deps.sh) and their portability proofs
  musl-tools musl-dev gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user-static
  dpkg-dev autoconf automake libtool m4 patch xz-utils bzip2 file debian-archive-keyring
  linux-libc-dev
  # systemd-analyze verify/security on the shipped unit (tests/packaging)
  systemd
  # real hosts under systemd (tests/systemd): systemd-nspawn and a debootstrap root
  systemd-container debootstrap
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js may come from outside Debian (a newer build with its own npm); accept any working pair.
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The independent ML-DSA implementation for the cross-check tests (pinned in package-lock.json).
if [ -f tests/js/package.json ]; then
  if [ ! -d tests/js/node_modules/@noble/post-quantum ]; then
    echo "setup: installing npm packages for tests/js"
    (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
echo "setup: ok"
