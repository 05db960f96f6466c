#!/usr/bin/env bash
# What scraping costs a node (issue 17 §3): the same ant-node binary run with metrics off and
# with `--metrics-listen` scraped every second, side by side in one run. Each repetition runs
# both modes (order alternating) on a fresh node with an empty store, through two phases:
#   load: bench_alloc_ab's small-frame workload (PUT/GET/HAS of 64 B..16 KiB chunks from
#         THREADS client threads, reconnecting every 64 requests) -> requests/s, node CPU per
#         1000 requests and peak RssAnon (sampled every 10 ms);
#   idle: IDLE_S seconds without protocol traffic -> node CPU ms per minute and RssAnon at
#         the end (the steady cost of the scrapes themselves).
# With metrics on, a scraper GETs /metrics once a second for the whole life of the node
# (and must get 200 every time, or the run fails). Prints every run and a table of medians.
#
#   nice -n 10 bench/metrics/run.sh
#   NODE=build/default/tools/ant-node/ant-node CLIENT=build/default/bench/alloc-ab/bench_alloc_ab \
#   REPS=5 THREADS=2 CHUNKS=2048 ROUNDS=20 IDLE_S=30 STORE_DIR=/dev/shm bench/metrics/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
NODE=${NODE:-build/default/tools/ant-node/ant-node}
CLIENT=${CLIENT:-build/default/bench/alloc-ab/bench_alloc_ab}
REPS=${REPS:-5}
THREADS=${THREADS:-2}
CHUNKS=${CHUNKS:-2048}
ROUNDS=${ROUNDS:-20}
IDLE_S=${IDLE_S:-30}
STORE_DIR=${STORE_DIR:-/dev/shm}
for b in "$NODE" "$CLIENT"; do
  [ -x "$b" ] || { echo "metrics bench: $b is missing (build the default preset)" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "metrics bench: curl is missing" >&2; exit 2; }

echo "command: $0 (NODE=$NODE CLIENT=$CLIENT REPS=$REPS THREADS=$THREADS CHUNKS=$CHUNKS ROUNDS=$ROUNDS IDLE_S=$IDLE_S STORE_DIR=$STORE_DIR nice=$(nice))"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load at start $(cut -d' ' -f1-3 /proc/loadavg)"

work=$(mktemp -d "$STORE_DIR/ant-metrics-bench.XXXXXX")
node_pid="" scraper_pid=""
cleanup() {
  if [ -n "$scraper_pid" ]; then kill "$scraper_pid" 2>/dev/null || true; wait "$scraper_pid" 2>/dev/null || true; fi
  if [ -n "$node_pid" ]; then kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
results=$work/results.txt
: >"$results"

# CPU time of every thread of the node in ns (schedstat: exact, where /proc/PID/stat counts
# 10 ms ticks, too coarse for what a scrape costs). The node's threads live as long as it.
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%.0f", s}'; }
rss_anon() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }

# scrape PORT OUT: GET /metrics every second; each status code appended to OUT.
scrape() {
  while :; do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 2 "http://127.0.0.1:$1/metrics" >>"$2" || echo 000 >>"$2"
    sleep 1
  done
}

run_one() { # run_one MODE(off|on) REP
  local mode=$1 rep=$2 root=$work/root-$1-$2 log=$work/node-$1-$2.log port mport="" line
  local extra=() codes=$work/codes-$1-$2
  [ "$mode" = on ] && extra=(--metrics-listen 127.0.0.1:0)
  "$NODE" run --root-dir "$root" --listen 127.0.0.1:0 --no-auto-upgrade --map-size 2GiB \
    "${extra[@]}" 2>"$log" &
  node_pid=$!
  for _ in $(seq 1 500); do [ -s "$root/node.port" ] && break; sleep 0.02; done
  port=$(cat "$root/node.port")
  : >"$codes"
  if [ "$mode" = on ]; then
    mport=$(sed -n 's/.*Metrics endpoint listening .* port=\([0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$mport" ] || { echo "metrics bench: no metrics port in $log" >&2; exit 1; }
    scrape "$mport" "$codes" &
    scraper_pid=$!
  fi
  line=$("$CLIENT" --addr "127.0.0.1:$port" --pid "$node_pid" --threads "$THREADS" \
           --chunks "$CHUNKS" --rounds "$ROUNDS" --reconnect 64 --seed "$rep")
  local c0 c1
  c0=$(cpu_ns "$node_pid")
  sleep "$IDLE_S"
  c1=$(cpu_ns "$node_pid")
  local idle_anon
  idle_anon=$(rss_anon "$node_pid")
  if [ -n "$scraper_pid" ]; then kill "$scraper_pid"; wait "$scraper_pid" 2>/dev/null || true; scraper_pid=""; fi
  kill -TERM "$node_pid"; wait "$node_pid" || true; node_pid=""
  rm -rf "$root"
  local scrapes bad
  scrapes=$(wc -l <"$codes")
  bad=$(grep -vc '^200$' "$codes" || true)
  if [ "$mode" = on ] && { [ "$scrapes" -lt 1 ] || [ "$bad" -ne 0 ]; }; then
    echo "metrics bench: $bad of $scrapes scrapes failed" >&2; exit 1
  fi
  local idle_ms_per_min
  idle_ms_per_min=$(awk -v a="$c0" -v b="$c1" -v s="$IDLE_S" 'BEGIN {printf "%.2f", (b - a) / 1e6 * 60 / s}')
  echo "$mode $rep $line idle_cpu_ms_per_min=$idle_ms_per_min idle_rss_anon_kib=$idle_anon scrapes=$scrapes" >>"$results"
  printf '  rep %d %-3s %s idle_cpu_ms_per_min=%s idle_rss_anon_kib=%s scrapes=%s\n' "$rep" "$mode" \
    "${line#RESULT }" "$idle_ms_per_min" "$idle_anon" "$scrapes"
}

for rep in $(seq 1 "$REPS"); do
  if [ $((rep % 2)) -eq 1 ]; then run_one off "$rep"; run_one on "$rep"; else run_one on "$rep"; run_one off "$rep"; fi
done
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"

awk '
function median(arr, n,   i, j, t) {
  for (i = 2; i <= n; i++) for (j = i; j > 1 && arr[j - 1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j - 1]; arr[j - 1] = t }
  return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
{
  m = $1
  for (f = 4; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
  k = ++c[m]
  ops[m, k] = v["ops_per_s"]; cpu[m, k] = v["node_cpu_s"] * 1e6 / v["ops"]
  anon[m, k] = v["rss_anon_kib"]; icpu[m, k] = v["idle_cpu_ms_per_min"]; ianon[m, k] = v["idle_rss_anon_kib"]
}
END {
  print ""
  print "| metrics | runs | median requests/s | node CPU ms / 1000 requests | peak RssAnon under load | idle node CPU ms / min | RssAnon after idle |"
  print "|---|---|---|---|---|---|---|"
  split("off on", modes, " ")
  for (i = 1; i <= 2; i++) {
    m = modes[i]
    for (k = 1; k <= c[m]; k++) { a[k] = ops[m, k]; b[k] = cpu[m, k]; d[k] = anon[m, k]; e[k] = icpu[m, k]; g[k] = ianon[m, k] }
    mo[m] = median(a, c[m]); mc[m] = median(b, c[m]); ma[m] = median(d, c[m]); mi[m] = median(e, c[m]); mr[m] = median(g, c[m])
    printf "| %s | %d | %.0f | %.2f | %.1f MiB | %.2f | %.2f MiB |\n", (m == "on" ? "on, scraped every 1 s" : "off"), c[m], mo[m], mc[m], ma[m] / 1024, mi[m], mr[m] / 1024
  }
  printf "\non vs off: requests/s %+.1f %%, CPU per request %+.1f %%, peak RssAnon %+.1f %%, idle CPU %+.2f ms/min, idle RssAnon %+.0f KiB\n", (mo["on"] / mo["off"] - 1) * 100, (mc["on"] / mc["off"] - 1) * 100, (ma["on"] / ma["off"] - 1) * 100, mi["on"] - mi["off"], mr["on"] - mr["off"]
}' "$results"
