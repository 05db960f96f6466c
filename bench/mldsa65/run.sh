#!/usr/bin/env bash
# ML-DSA-65 speed of libant beside @noble/post-quantum, in one run: the C benchmark and the
# node benchmark alternate for ROUNDS rounds (so a change in machine load hits both), and
# the ratio of the medians is printed per operation with its target (issue 2 §5: verify
# >= 15x noble, keygen and sign >= 13x).
#
#   bench/mldsa65/run.sh                 # builds bench_mldsa65 in build/bench (RelWithDebInfo)
#   BUILD_DIR=build/default ROUNDS=5 bench/mldsa65/run.sh
#
# Needs scripts/setup.sh to have run (tests/js/node_modules).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${BUILD_DIR:-build/bench}"
ROUNDS="${ROUNDS:-3}"
C_ARGS="${C_ARGS:-7 300}"
NODE_ARGS="${NODE_ARGS:-7 40}"

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j2 --target bench_mldsa65 >/dev/null
BIN="$BUILD_DIR/bench/mldsa65/bench_mldsa65"

echo "command: $0  (BUILD_DIR=$BUILD_DIR ROUNDS=$ROUNDS C_ARGS='$C_ARGS' NODE_ARGS='$NODE_ARGS')"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build type: $(grep '^CMAKE_BUILD_TYPE' "$BUILD_DIR/CMakeCache.txt" | cut -d= -f2)"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq 1 "$ROUNDS"); do
  echo "--- round $round"
  # shellcheck disable=SC2086
  "$BIN" $C_ARGS | tee -a "$results" | grep -v '^RESULT'
  # shellcheck disable=SC2086
  node bench/mldsa65/noble_bench.mjs $NODE_ARGS | tee -a "$results" | grep -v '^RESULT'
done

echo "--- medians over $ROUNDS rounds; ratio ant/noble by median CPU time per operation"
echo "    (this machine may be shared: CPU time is what load does not stretch), then by median"
echo "    wall time per operation and by the median wall-clock ops/s of whole runs"
awk '
  $1 == "RESULT" { k = $2 "," $3; rate[k] = rate[k] " " $4; ns[k] = ns[k] " " $5; cpu[k] = cpu[k] " " $6 }
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    split("keygen sign verify", ops, " ")
    target["keygen"] = 13; target["sign"] = 13; target["verify"] = 15
    fail = 0
    for (k = 1; k <= 3; k++) {
      op = ops[k]
      ac = median(cpu["ant," op]); bc = median(cpu["noble," op])
      at = median(ns["ant," op]); bt = median(ns["noble," op])
      ar = median(rate["ant," op]); br = median(rate["noble," op])
      r = bc / ac; ok = (r >= target[op] ? "meets" : "BELOW")
      if (r < target[op]) fail = 1
      printf "%-6s ant %6.1f us CPU (%5.0f ops/s)  noble %7.1f us CPU (%4.0f ops/s)  ratio %5.1fx CPU, %5.1fx wall/op, %5.1fx run rate  (target >= %dx: %s)\n", op, ac / 1000, 1e9 / ac, bc / 1000, 1e9 / bc, r, bt / at, ar / br, target[op], ok
    }
    exit fail
  }' "$results"
