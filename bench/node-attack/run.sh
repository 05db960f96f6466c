#!/usr/bin/env bash
# The announced-frame attack of issue 13 (1024 connections from 32 loopback addresses,
# each announcing a 4 MiB PUT and sending 10 bytes one wakeup at a time) against one
# ant-node with its default limits except --max-connections 2048 (so a STATUS probe still
# finds a slot), and the node's peak RssAnon during it. The bound the node promises
# (docs/PROTOCOL.md, "Guarantees to the node"): buffers <= max-buffer-memory +
# max-connections x ~8.2 KiB, each receive buffer <= max(4 KiB, 2 x bytes it sent).
#
#   bench/node-attack/run.sh
#   BUILD_DIR=build/default CONNS=1024 ADDRS=32 BYTES=10 NODE_ARGS="--max-buffer-memory 64MiB" bench/node-attack/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${BUILD_DIR:-build/bench}"
CONNS="${CONNS:-1024}"
ADDRS="${ADDRS:-32}"
BYTES="${BYTES:-10}"
HOLD="${HOLD:-3}"
NODE_ARGS="${NODE_ARGS:-}"

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j2 --target ant-node bench_node_attack >/dev/null
build_abs=$(cd "$BUILD_DIR" && pwd)
NODE="$build_abs/tools/ant-node/ant-node"
BENCH="$build_abs/bench/node-attack/bench_node_attack"

work=$(mktemp -d "${TMPDIR:-/tmp}/ant-node-attack.XXXXXX")
node_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 4096 2>/dev/null || true

echo "command: $0  (BUILD_DIR=$BUILD_DIR CONNS=$CONNS ADDRS=$ADDRS BYTES=$BYTES HOLD=$HOLD NODE_ARGS=$NODE_ARGS)"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2206
limits=(--max-connections 2048 $NODE_ARGS)
node_cmd=("$NODE" run --root-dir "$work/root" --listen 127.0.0.1:0 --no-auto-upgrade
          --map-size 256MiB --log-level warn "${limits[@]}")
echo "node:  ${node_cmd[*]}"
"${node_cmd[@]}" 2>"$work/node.log" &
node_pid=$!
for _ in $(seq 1 500); do [ -s "$work/root/node.port" ] && break; sleep 0.02; done
port=$(cat "$work/root/node.port")
"$NODE" run --print-config "${limits[@]}" | grep -E '^(max-connections|max-buffer-memory|frame-timeout|idle-timeout|max-frame)' || true
bench_cmd=("$BENCH" --port "$port" --pid "$node_pid" --conns "$CONNS" --addrs "$ADDRS"
           --bytes "$BYTES" --hold "$HOLD")
echo "bench: ${bench_cmd[*]}"
"${bench_cmd[@]}"
echo "node log (warnings):"
sort "$work/node.log" | awk '{ $1 = ""; print }' | sort | uniq -c | sort -rn | head -5
kill -TERM "$node_pid"; wait "$node_pid" || true; node_pid=""
