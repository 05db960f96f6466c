#!/usr/bin/env bash
# Every release program and probe that was built is a stripped, fully static ELF for its
# arch: no PT_INTERP (nothing for the kernel to load first) and no DT_NEEDED. The glibc build
# of the same program serves as the negative control: the checker must reject it.
TEST_NAME=static_elf
source "$(dirname "$0")/lib.sh"

checked=0
for arch in x64 arm64; do
  case "$arch" in x64) machine="Advanced Micro Devices X86-64" ;; arm64) machine="AArch64" ;; esac
  bins=()
  for p in ant-node ant-keygen ant-devnet; do
    b="$(musl_bin "$arch" "$p")"; [ -z "$b" ] || bins+=("$b")
  done
  probe_var="ANT_PROBE_$(tr a-z A-Z <<<"$arch")"
  [ ! -x "${!probe_var:-}" ] || bins+=("${!probe_var}")
  for b in "${bins[@]}"; do
    why="$(is_static_elf "$b" "$machine")" || die "$why"
    say "ok $arch $(basename "$b"): static, stripped, $(stat -c %s "$b") bytes"
    checked=$((checked + 1))
  done
done
[ "$checked" -gt 0 ] || missing "any musl release program or probe"
for arch in x64 arm64; do
  for p in ant-node ant-keygen ant-devnet; do
    if [ -z "$(musl_bin "$arch" "$p")" ] && required; then die "$arch $p was not built"; fi
  done
done

# Negative control: the checker must see the glibc build's interpreter and libraries.
[ -x "${ANT_GLIBC_BIN:-}" ] || die "ANT_GLIBC_BIN not set"
if why="$(is_static_elf "$ANT_GLIBC_BIN" "Advanced Micro Devices X86-64")"; then
  die "checker accepted the dynamic glibc build $ANT_GLIBC_BIN"
fi
say "negative control rejected: $why"
say "PASS ($checked binaries)"
