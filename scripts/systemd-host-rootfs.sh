#!/usr/bin/env bash
# Makes (once) the root file system of a systemd test host: Debian 12 minbase with systemd
# as init, plus the shared libraries the default (glibc) ant-node build links and python3
# for the test client, cached at BUILD_DIR/systemd-host/rootfs (about 280 MB). A finished
# tree is never modified afterwards: hosts boot from it with systemd-nspawn --ephemeral.
# Needs root, debootstrap and network access to the Debian mirror (MIRROR=... to change it).
# Usage: systemd-host-rootfs.sh BUILD_DIR     prints the rootfs path
set -euo pipefail
build=${1:?usage: systemd-host-rootfs.sh BUILD_DIR}
mirror=${MIRROR:-http://deb.debian.org/debian}
dest="$build/systemd-host/rootfs"
if [ -x "$dest/lib/systemd/systemd" ] && [ -f "$dest/.ant-complete" ]; then
  echo "$dest"; exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "systemd-host-rootfs: needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "systemd-host-rootfs: debootstrap missing" >&2; exit 1; }
tmp="$build/systemd-host/rootfs.tmp"
rm -rf "$tmp"
mkdir -p "$build/systemd-host"
pkgs=systemd,systemd-sysv,dbus,iproute2,passwd,procps,python3-minimal
pkgs=$pkgs,liblmdb0,libjson-c5,libcurl4,libarchive13,libssl3
debootstrap --variant=minbase --include="$pkgs" bookworm "$tmp" "$mirror" >&2
chroot "$tmp" apt-get clean
touch "$tmp/.ant-complete"
rm -rf "$dest"
mv "$tmp" "$dest"
echo "$dest"
