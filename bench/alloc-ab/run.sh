#!/usr/bin/env bash
# Allocator A/B of ant-node (issue 7 §4): the small-frame workload of bench_alloc_ab (4
# client threads; PUT, GET and HAS of 64 B .. 16 KiB chunks, reconnecting every 64 requests)
# against three builds of the same node, measured in one run: the glibc build with glibc's
# malloc, the static musl build with musl's malloc, and the static musl build with
# mimalloc. Runs are interleaved (each repetition runs every build, in a rotating order)
# and every run gets a fresh node with an empty store; the figure per build is the median
# of REPS runs. Prints a markdown table: median throughput and its ratio to glibc, the
# paired ratio (median over repetitions of each repetition's own build/glibc ratio, which
# cancels the machine's drift between repetitions; the throughput target is judged on it),
# median and maximum peak RssAnon and its ratio to glibc, and node CPU per 1000 requests.
# Targets: musl + mimalloc >= 1.0x glibc throughput and RssAnon within +15 % of glibc.
#
#   nice -n 10 bench/alloc-ab/run.sh
#   GLIBC_NODE=build/default/tools/ant-node/ant-node \
#   MUSL_NODE=build/musl-nomi/tools/ant-node/ant-node \
#   MIMALLOC_NODE=build/musl-x64/tools/ant-node/ant-node \
#   CLIENT=build/default/bench/alloc-ab/bench_alloc_ab REPS=5 THREADS=4 CHUNKS=4096 \
#   ROUNDS=3 STORE_DIR=/dev/shm bench/alloc-ab/run.sh
#
# The musl-malloc build is the release-musl-x64 configuration with -DANT_USE_MIMALLOC=OFF in
# its own build dir (docs/ALLOCATOR.md shows the commands). STORE_DIR holds the nodes'
# stores (tmpfs by default, so the node's fsync per PUT does not make the disk the limit).
set -euo pipefail
cd "$(dirname "$0")/../.."
GLIBC_NODE=${GLIBC_NODE:-build/default/tools/ant-node/ant-node}
MUSL_NODE=${MUSL_NODE:-build/musl-nomi/tools/ant-node/ant-node}
MIMALLOC_NODE=${MIMALLOC_NODE:-build/musl-x64/tools/ant-node/ant-node}
CLIENT=${CLIENT:-build/default/bench/alloc-ab/bench_alloc_ab}
REPS=${REPS:-5}
THREADS=${THREADS:-4}
CHUNKS=${CHUNKS:-4096}
ROUNDS=${ROUNDS:-3}
RECONNECT=${RECONNECT:-64}
STORE_DIR=${STORE_DIR:-/dev/shm}

names=(glibc musl musl+mimalloc)
bins=("$GLIBC_NODE" "$MUSL_NODE" "$MIMALLOC_NODE")
for b in "${bins[@]}" "$CLIENT"; do
  [ -x "$b" ] || { echo "alloc-ab: $b is missing (see the header of $0)" >&2; exit 2; }
done
# The three builds must really differ the way the table says.
readelf -lW "$GLIBC_NODE" | grep -q INTERP || { echo "alloc-ab: $GLIBC_NODE is not the dynamic glibc build" >&2; exit 2; }
for b in "$MUSL_NODE" "$MIMALLOC_NODE"; do
  ! readelf -lW "$b" | grep -q INTERP || { echo "alloc-ab: $b is not static" >&2; exit 2; }
done
MIMALLOC_VERBOSE=1 "$MIMALLOC_NODE" --version 2>&1 | grep -q '^mimalloc:' ||
  { echo "alloc-ab: $MIMALLOC_NODE does not use mimalloc" >&2; exit 2; }
! MIMALLOC_VERBOSE=1 "$MUSL_NODE" --version 2>&1 | grep -q '^mimalloc:' ||
  { echo "alloc-ab: $MUSL_NODE uses mimalloc; configure it with -DANT_USE_MIMALLOC=OFF" >&2; exit 2; }

echo "command: $0 (GLIBC_NODE=$GLIBC_NODE MUSL_NODE=$MUSL_NODE MIMALLOC_NODE=$MIMALLOC_NODE CLIENT=$CLIENT REPS=$REPS THREADS=$THREADS CHUNKS=$CHUNKS ROUNDS=$ROUNDS RECONNECT=$RECONNECT STORE_DIR=$STORE_DIR nice=$(nice))"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load at start $(cut -d' ' -f1-3 /proc/loadavg)"

work=$(mktemp -d "$STORE_DIR/ant-alloc-ab.XXXXXX")
node_pid=""
cleanup() {
  if [ -n "$node_pid" ]; then kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
results=$work/results.txt
: >"$results"

run_one() { # run_one INDEX REP
  local i=$1 rep=$2 root=$work/root-$1-$2 port line
  "${bins[$i]}" run --root-dir "$root" --listen 127.0.0.1:0 --no-auto-upgrade \
    --map-size 2GiB --log-level warn 2>"$work/node-$i-$rep.log" &
  node_pid=$!
  for _ in $(seq 1 500); do [ -s "$root/node.port" ] && break; sleep 0.02; done
  port=$(cat "$root/node.port")
  line=$("$CLIENT" --addr "127.0.0.1:$port" --pid "$node_pid" --threads "$THREADS" \
           --chunks "$CHUNKS" --rounds "$ROUNDS" --reconnect "$RECONNECT" --seed "$rep")
  kill -TERM "$node_pid"; wait "$node_pid" || true; node_pid=""
  rm -rf "$root"
  echo "$i $rep $line" >>"$results"
  printf '  rep %d %-14s %s\n' "$rep" "${names[$i]}" "${line#RESULT }"
}

for rep in $(seq 1 "$REPS"); do
  for k in 0 1 2; do
    run_one $(( (k + rep) % 3 )) "$rep"
  done
done
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"

awk -v n0="${names[0]}" -v n1="${names[1]}" -v n2="${names[2]}" '
function median(arr, n,   i, j, t) {
  for (i = 2; i <= n; i++) for (j = i; j > 1 && arr[j - 1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j - 1]; arr[j - 1] = t }
  return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
{
  b = $1; rep = $2
  for (f = 4; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
  c[b]++
  ops[b, c[b]] = v["ops_per_s"]; anon[b, c[b]] = v["rss_anon_kib"]
  rep_ops[b, rep] = v["ops_per_s"]; reps[rep] = 1
  cpu[b, c[b]] = v["node_cpu_s"] * 1000 / v["ops"] * 1000
  if (v["rss_anon_kib"] > amax[b]) amax[b] = v["rss_anon_kib"]
}
END {
  name[0] = n0; name[1] = n1; name[2] = n2
  for (b = 0; b < 3; b++) {
    for (k = 1; k <= c[b]; k++) { t1[k] = ops[b, k]; t2[k] = anon[b, k]; t3[k] = cpu[b, k] }
    mo[b] = median(t1, c[b]); ma[b] = median(t2, c[b]); mc[b] = median(t3, c[b])
    # Paired ratio: each repetition runs the three builds back to back, so its own
    # build/glibc ratio cancels the drift of the machine between repetitions.
    np = 0; pmin[b] = 1e9; pmax[b] = 0
    for (rep in reps) if ((b, rep) in rep_ops && (0, rep) in rep_ops) {
      q = rep_ops[b, rep] / rep_ops[0, rep]; t4[++np] = q
      if (q < pmin[b]) pmin[b] = q; if (q > pmax[b]) pmax[b] = q
    }
    mp[b] = np ? median(t4, np) : 0
  }
  print ""
  print "| build | runs | median requests/s | vs glibc | paired vs glibc: median (min-max) | median peak RssAnon | max peak RssAnon | RssAnon vs glibc | node CPU ms / 1000 requests |"
  print "|---|---|---|---|---|---|---|---|---|"
  for (b = 0; b < 3; b++)
    printf "| %s | %d | %.0f | %.2fx | %.2fx (%.2f-%.2f) | %.1f MiB | %.1f MiB | %+.1f %% | %.1f |\n", name[b], c[b], mo[b], mo[b] / mo[0], mp[b], pmin[b], pmax[b], ma[b] / 1024, amax[b] / 1024, (ma[b] / ma[0] - 1) * 100, mc[b]
  printf "\ntargets: musl+mimalloc throughput %.2fx glibc, paired %.2fx (>= 1.0x: %s), RssAnon %+.1f %% (<= +15 %%: %s); musl malloc %.2fx glibc\n", mo[2] / mo[0], mp[2], (mp[2] >= 1.0 ? "meets" : "BELOW"), (ma[2] / ma[0] - 1) * 100, (ma[2] <= 1.15 * ma[0] ? "meets" : "ABOVE"), mo[1] / mo[0]
}' "$results"
