#!/usr/bin/env bash
# The arm64 static release programs run (under qemu-aarch64-static here; the binaries are
# AArch64 ELF, checked by static_elf.sh): --version; an ML-DSA-65 key generation, release
# signature and verification round trip with ant-keygen (and a wrong-platform context that
# must be rejected); a short ant-node start, STATUS round trip and SIGTERM stop; and the
# probe's library self-test (SHA-256, json-c, tar.gz, LMDB, zlib).
TEST_NAME=arm64_qemu
source "$(dirname "$0")/lib.sh"
command -v qemu-aarch64-static >/dev/null || missing "qemu-aarch64-static (apt-get install qemu-user-static)"
Q=qemu-aarch64-static

keygen="$(musl_bin arm64 ant-keygen)"
node="$(musl_bin arm64 ant-node)"
probe="${ANT_PROBE_ARM64:-}"
[ -x "$probe" ] || probe=""
[ -n "$keygen" ] || [ -n "$node" ] || [ -n "$probe" ] || missing "arm64 musl programs and probe"
if required; then
  [ -n "$keygen" ] || die "arm64 ant-keygen was not built"
  [ -n "$node" ] || die "arm64 ant-node was not built"
fi

work="$(mktemp -d)"
node_pid=""
cleanup() {
  if [ -n "$node_pid" ]; then kill -KILL "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "$probe" ]; then
  mkdir "$work/lmdb"
  out="$($Q "$probe" selftest "$work/lmdb" 2>&1)" || die "arm64 probe selftest: $out"
  say "arm64 probe: $out"
fi

if [ -n "$keygen" ]; then
  out="$($Q "$keygen" --version)"
  grep -Eq '^ant-keygen [0-9]+\.[0-9]+\.[0-9]+' <<<"$out" || die "ant-keygen --version printed: $out"
  say "arm64 $out"
  $Q "$keygen" generate --out-dir "$work/keys" >/dev/null || die "arm64 ant-keygen generate failed"
  head -c 100000 /dev/urandom > "$work/ant-node-cli-linux-arm64.tar.gz"
  $Q "$keygen" sign --key "$work/keys/release-signing-key.secret" --input "$work/ant-node-cli-linux-arm64.tar.gz" \
    --output "$work/asset.sig" --release-version 1.2.3 --platform linux-arm64 >/dev/null || die "arm64 sign failed"
  [ "$(stat -c %s "$work/asset.sig")" -eq 3309 ] || die "signature is not 3309 bytes"
  out="$($Q "$keygen" verify --key "$work/keys/release-signing-key.pub" --input "$work/ant-node-cli-linux-arm64.tar.gz" \
    --signature "$work/asset.sig" --release-version 1.2.3 --platform linux-arm64)" || die "arm64 verify failed: $out"
  grep -q 'Signature is VALID' <<<"$out" || die "verify printed: $out"
  # The host build verifies the arm64 signature too (same bytes, any arch).
  if [ -x "${ANT_GLIBC_KEYGEN:-}" ]; then
    "$ANT_GLIBC_KEYGEN" verify --key "$work/keys/release-signing-key.pub" --input "$work/ant-node-cli-linux-arm64.tar.gz" \
      --signature "$work/asset.sig" --release-version 1.2.3 --platform linux-arm64 >/dev/null ||
      die "x86-64 glibc ant-keygen rejects the arm64-made signature"
  fi
  set +e
  $Q "$keygen" verify --key "$work/keys/release-signing-key.pub" --input "$work/ant-node-cli-linux-arm64.tar.gz" \
    --signature "$work/asset.sig" --release-version 1.2.3 --platform linux-x64 >/dev/null 2>&1
  rc=$?
  set -e
  [ "$rc" -eq 1 ] || die "a linux-arm64 signature verified (or errored, exit $rc) for linux-x64"
  say "arm64 ant-keygen: generate, sign, verify ok; wrong platform rejected"
fi

if [ -n "$node" ]; then
  out="$($Q "$node" --version)"
  grep -Eq '^ant-node [0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$' <<<"$out" || die "ant-node --version printed: $out"
  say "arm64 $out"
  mkdir -m 0700 "$work/root"
  # qemu-user cannot map the default 64 GiB LMDB window in its guest address space (a
  # limit of the emulator, not of arm64), so the chunk store gets 1 GiB here.
  $Q "$node" run --root-dir "$work/root" --listen 127.0.0.1:0 --no-auto-upgrade --workers 2 \
    --map-size 1GiB > "$work/node.log" 2>&1 &
  node_pid=$!
  port=""
  for _ in $(seq 200); do
    port="$(grep -o 'Listening .*port=[0-9]*' "$work/node.log" | grep -o 'port=[0-9]*' | cut -d= -f2 || true)"
    [ -n "$port" ] && break
    kill -0 "$node_pid" 2>/dev/null || die "arm64 ant-node exited at start: $(cat "$work/node.log")"
    sleep 0.1
  done
  [ -n "$port" ] || die "arm64 ant-node did not start listening: $(cat "$work/node.log")"
  out="$($Q "$node" status --addr "127.0.0.1:$port" 2>&1)" || die "arm64 ant-node status failed: $out"
  say "arm64 ant-node STATUS: $(tr '\n' ' ' <<<"$out" | cut -c1-160)"
  kill -TERM "$node_pid"
  rc=0
  for _ in $(seq 150); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$node_pid" 2>/dev/null && die "arm64 ant-node did not stop within 15 s of SIGTERM"
  wait "$node_pid" || rc=$?
  node_pid=""
  [ "$rc" -eq 0 ] || die "arm64 ant-node exited $rc after SIGTERM: $(tail -n 5 "$work/node.log")"
  grep -q 'Node stopped' "$work/node.log" || die "no clean stop logged: $(tail -n 5 "$work/node.log")"
  say "arm64 ant-node: started, answered STATUS, stopped cleanly on SIGTERM"
fi
say "PASS"
