#!/usr/bin/env bash
# mimalloc is the allocator of the static programs that ask for it (ant-node, ant-devnet)
# and of nothing else:
#  - the probe, linked through the same cmake/Allocator.cmake, checks that memory from
#    malloc, libc's strdup, libcurl, OpenSSL, json-c, libarchive, LMDB and a second thread
#    all lies in mimalloc's heap (whole-program override, not just "linked in");
#  - ant-node / ant-devnet print mimalloc's option banner with MIMALLOC_VERBOSE=1;
#  - ant-keygen, which does not use it, prints none (negative control of the banner check).
TEST_NAME=mimalloc
source "$(dirname "$0")/lib.sh"

checked=0
banner() { MIMALLOC_VERBOSE=1 "$@" --version 2>&1 >/dev/null | grep -c "^mimalloc: option 'verbose': 1" || true; }

for arch in x64 arm64; do
  run=()
  if [ "$arch" = arm64 ]; then
    command -v qemu-aarch64-static >/dev/null || { required && die "qemu-aarch64-static missing"; continue; }
    run=(qemu-aarch64-static)
  fi
  probe_var="ANT_PROBE_$(tr a-z A-Z <<<"$arch")"
  probe="${!probe_var:-}"
  if [ -x "$probe" ]; then
    out="$("${run[@]}" "$probe" alloc 2>&1)" || die "$arch probe: allocations not served by mimalloc: $out"
    [ "$(grep -c ' mimalloc$' <<<"$out")" -eq 9 ] || die "$arch probe alloc printed: $out"
    say "$arch probe: malloc, strdup, libcurl, OpenSSL, json-c, libarchive, LMDB, thread -> mimalloc"
    checked=$((checked + 1))
  fi
  for p in ant-node ant-devnet; do
    b="$(musl_bin "$arch" "$p")"
    [ -n "$b" ] || continue
    [ "$(banner "${run[@]}" "$b")" -ge 1 ] || die "$arch $p: no mimalloc banner with MIMALLOC_VERBOSE=1"
    say "$arch $p: mimalloc active (MIMALLOC_VERBOSE banner)"
    checked=$((checked + 1))
  done
  kg="$(musl_bin "$arch" ant-keygen)"
  if [ -n "$kg" ]; then
    [ "$(banner "${run[@]}" "$kg")" -eq 0 ] || die "$arch ant-keygen unexpectedly carries mimalloc"
    say "$arch ant-keygen: no banner (uses musl's malloc, as intended)"
  fi
done
[ "$checked" -gt 0 ] || missing "musl probe, ant-node or ant-devnet"
say "PASS"
