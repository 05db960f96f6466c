#!/usr/bin/env bash
# The Alpine failure, reproduced and fixed: inside an empty root (a chroot holding nothing but
# the binary) the static x86-64 release program runs, while the glibc-dynamic build of the
# same program cannot even be executed: execve(2) fails with ENOENT although the file is
# there, because its PT_INTERP (/lib64/ld-linux-x86-64.so.2) is missing.
TEST_NAME=emptyroot_x64
source "$(dirname "$0")/lib.sh"
can_chroot || missing "chroot permission (run as root or allow user namespaces)"

ran=0
for p in ant-node ant-keygen ant-devnet; do
  b="$(musl_bin x64 "$p")"
  [ -n "$b" ] || continue
  out="$(in_empty_root -f "$b:/$p" -- "/$p" --version 2>&1)" || die "static $p failed in the empty root: $out"
  grep -q "^emptyroot: root holds: /$p\$" <<<"$out" || die "root was not empty: $out"
  grep -Eq "^$p [0-9]+\.[0-9]+\.[0-9]+" <<<"$out" || die "static $p --version printed: $out"
  say "static $p --version in the empty root: $(grep -E "^$p " <<<"$out")"
  ran=$((ran + 1))
done
if [ -x "${ANT_PROBE_X64:-}" ]; then
  out="$(in_empty_root -f "$ANT_PROBE_X64:/probe" -- /probe versions 2>&1)" || die "static probe failed in the empty root: $out"
  grep -q '^curl libcurl/' <<<"$out" || die "probe printed: $out"
  say "static probe in the empty root: ok"
  ran=$((ran + 1))
fi
[ "$ran" -gt 0 ] || missing "x64 musl programs and probe"

# The glibc build of the same program: the file is present, execve says ENOENT.
[ -x "${ANT_GLIBC_BIN:-}" ] || die "ANT_GLIBC_BIN not set"
name="$(basename "$ANT_GLIBC_BIN")"
set +e
out="$(in_empty_root -f "$ANT_GLIBC_BIN:/$name" -- "/$name" --version 2>&1)"
rc=$?
set -e
[ "$rc" -eq 127 ] || die "glibc $name exited $rc in the empty root, want execve failure: $out"
grep -q "^emptyroot: root holds: /$name\$" <<<"$out" || die "root was not as expected: $out"
grep -q 'execve failed: errno=2 (ENOENT)' <<<"$out" || die "glibc $name did not fail with ENOENT: $out"
interp="$(readelf -lW "$ANT_GLIBC_BIN" | grep -o 'interpreter: [^]]*' | cut -d' ' -f2)"
say "glibc $name in the empty root: execve ENOENT (missing interpreter $interp) — the Alpine failure"
say "PASS"
