#!/usr/bin/env bash
# Chunk throughput of one ant-node (issue 5 §5): PUT then GET of SIZE_MIB (default 1024)
# MiB in 256 KiB..1 MiB chunks from 4 client threads, the node's peak RssAnon/RssFile,
# and in the same run `openssl dgst -sha256` on the same bytes, the ceiling (the node
# hashes every byte once per PUT and once per verified GET). Targets: GET >= 0.5x and
# PUT >= 0.3x of that ceiling; node RssAnon <= 64 MiB.
#
#   bench/node-chunks/run.sh
#   BUILD_DIR=build/node SIZE_MIB=1024 DATA_DIR=/var/tmp STORE_DIR=/dev/shm bench/node-chunks/run.sh
#
# DATA_DIR holds the source file; STORE_DIR the node's root (its LMDB). The node commits
# every PUT with an fsync, so on a disk STORE_DIR PUT is bounded by the disk's sync write
# speed as well; STORE_DIR=/dev/shm measures the node without the disk.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${BUILD_DIR:-build/bench}"
SIZE_MIB="${SIZE_MIB:-1024}"
DATA_DIR="${DATA_DIR:-${TMPDIR:-/tmp}}"
STORE_DIR="${STORE_DIR:-$DATA_DIR}"
THREADS="${THREADS:-4}"

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j2 --target ant-node bench_node_chunks >/dev/null
build_abs=$(cd "$BUILD_DIR" && pwd)
NODE="$build_abs/tools/ant-node/ant-node"
BENCH="$build_abs/bench/node-chunks/bench_node_chunks"

work=$(mktemp -d "$DATA_DIR/ant-node-chunks.XXXXXX")
store=$(mktemp -d "$STORE_DIR/ant-node-chunks-store.XXXXXX")
node_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null || true
  rm -rf "$work" "$store"
}
trap cleanup EXIT

echo "command: $0  (BUILD_DIR=$BUILD_DIR SIZE_MIB=$SIZE_MIB DATA_DIR=$DATA_DIR STORE_DIR=$STORE_DIR THREADS=$THREADS)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg); $(openssl version)"
echo "store: $store ($(df -T "$store" | awk 'NR==2 {print $2}'))"
file="$work/data.bin"
head -c "$((SIZE_MIB * 1024 * 1024))" \
  < <(openssl enc -aes-128-ctr -nosalt -pass pass:ant-node-chunks-bench -in /dev/zero 2>/dev/null) >"$file"
cat "$file" >/dev/null

# The ceiling, timed on the same (page-cached) bytes: best of 3 by wall time, and the
# CPU time (user+sys) of that run, which a loaded shared machine distorts far less.
best=""; best_cpu=""
for i in 1 2 3; do
  read -r t c < <( { TIMEFORMAT='%R %U %S'; time openssl dgst -sha256 "$file" >/dev/null; } 2>&1 |
                   awk '{ printf "%.6f %.3f\n", $1, $2 + $3 }')
  if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; best_cpu=$c; fi
done
ceiling=$(awk -v s="$SIZE_MIB" -v t="$best" 'BEGIN { printf "%.1f", s / t }')
echo "openssl dgst -sha256 $file: $best s = $ceiling MiB/s (CPU $best_cpu s)"

node_cmd=("$NODE" run --root-dir "$store/root" --listen 127.0.0.1:0 --no-auto-upgrade
          --map-size "$((SIZE_MIB * 2 + 256))MiB" --log-level warn)
echo "node:  ${node_cmd[*]}"
"${node_cmd[@]}" 2>"$work/node.log" &
node_pid=$!
for _ in $(seq 1 500); do [ -s "$store/root/node.port" ] && break; sleep 0.02; done
port=$(cat "$store/root/node.port")
bench_cmd=("$BENCH" --addr "127.0.0.1:$port" --pid "$node_pid" --file "$file" --threads "$THREADS")
echo "bench: ${bench_cmd[*]}"
"${bench_cmd[@]}" | tee "$work/bench.out"
kill -TERM "$node_pid"; wait "$node_pid" || true; node_pid=""

read -r put get anon file_kib put_cpu get_cpu < <(sed -n 's/^RESULT put_mibs=\([0-9.]*\) get_mibs=\([0-9.]*\) rss_anon_kib=\([0-9]*\) rss_file_kib=\([0-9]*\) put_cpu_s=\([0-9.]*\) get_cpu_s=\([0-9.]*\)$/\1 \2 \3 \4 \5 \6/p' "$work/bench.out")
awk -v c="$ceiling" -v p="$put" -v g="$get" -v a="$anon" -v oc="$best_cpu" -v pc="$put_cpu" -v gc="$get_cpu" 'BEGIN {
  pr = p / c; gr = g / c
  printf "node CPU per byte vs openssl: PUT %.2fx, GET %.2fx of openssl'"'"'s CPU time (load-independent view)\n", pc / oc, gc / oc
  printf "PUT %.1f MiB/s = %.2fx ceiling (target >= 0.3x: %s)\n", p, pr, (pr >= 0.3 ? "meets" : "BELOW")
  printf "GET %.1f MiB/s = %.2fx ceiling (target >= 0.5x: %s)\n", g, gr, (gr >= 0.5 ? "meets" : "BELOW")
  printf "node peak RssAnon %.1f MiB (target <= 64 MiB: %s)\n", a / 1024, (a <= 65536 ? "meets" : "ABOVE")
  exit (pr >= 0.3 && gr >= 0.5 && a <= 65536) ? 0 : 1
}'
