#!/usr/bin/env bash
# The main job of README.md. Until ant-devnet lands this is the release-signing round trip:
# generate a key pair, sign a 64 MiB file with the version-bound release context, verify it,
# and show that a one-byte change is rejected.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" >/dev/null
bin=build/default/tools/ant-keygen/ant-keygen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== generate a release key pair"
"$bin" generate --out-dir "$work/keys"
echo "== make a 64 MiB file and sign it"
head -c $((64 << 20)) /dev/urandom >"$work/ant-node-cli-linux-x64.tar.gz"
"$bin" sign --key "$work/keys/release-signing-key.secret" --input "$work/ant-node-cli-linux-x64.tar.gz" \
  --output "$work/ant-node-cli-linux-x64.tar.gz.sig" --context "ant-node-release-v2:0.2.0:linux-x64"
echo "== verify it"
"$bin" verify --key "$work/keys/release-signing-key.pub" --input "$work/ant-node-cli-linux-x64.tar.gz" \
  --signature "$work/ant-node-cli-linux-x64.tar.gz.sig" --context "ant-node-release-v2:0.2.0:linux-x64"
echo "== flip one byte: must be rejected"
printf '\x00' | dd of="$work/ant-node-cli-linux-x64.tar.gz" bs=1 seek=1000 conv=notrunc status=none
if "$bin" verify --key "$work/keys/release-signing-key.pub" --input "$work/ant-node-cli-linux-x64.tar.gz" \
  --signature "$work/ant-node-cli-linux-x64.tar.gz.sig" --context "ant-node-release-v2:0.2.0:linux-x64"; then
  echo "demo: FAILED (tampered file verified)"; exit 1
fi
echo "demo: ok"
