#!/usr/bin/env bash
# Cache hit (ARCHITECTURE.md §4, issue 3 §7): stage + verify of a 200 MiB cached archive, timed
# against `openssl dgst -shake256` over the same cached file in the same run. The two
# commands alternate (openssl, hit, openssl, hit, ...) so both see the same machine load;
# the figures are medians. The file is in the page cache before the first run.
# A hit reads the archive once: this thread absorbs it into mu (SHAKE256, the same work as
# openssl's), a helper thread hashes it with SHA-256 and writes the private copy.
# Targets: hit <= 1.15x openssl wall time; peak RSS of the hit <= 16 MiB (/usr/bin/time -v).
#
#   bench/cache-hit/run.sh
#   BUILD_DIR=build/default RUNS=7 DATA_DIR=/var/tmp bench/cache-hit/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${BUILD_DIR:-build/bench}"
RUNS="${RUNS:-5}"
DATA_DIR="${DATA_DIR:-${TMPDIR:-/tmp}}"
SIZE_MIB=200
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "cache-hit: $TIME is missing (apt-get install time)" >&2; exit 2; }

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j2 --target bench_cache_hit >/dev/null
BENCH="$(pwd)/$BUILD_DIR/bench/cache-hit/bench_cache_hit"

work=$(mktemp -d "$DATA_DIR/ant-cache-hit.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "command: $0  (BUILD_DIR=$BUILD_DIR RUNS=$RUNS DATA_DIR=$DATA_DIR)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg); $(openssl version)"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$work/input"
"$BENCH" prepare "$work/cache" "$work/keys" "$work/input"
rm -f "$work/input"
archive="$work/cache/ant-node-0.2.0-linux-x64.archive"
[ "$(stat -c %s "$archive")" -eq "$((SIZE_MIB * 1024 * 1024))" ] || { echo "cache-hit: no cached archive" >&2; exit 1; }
cat "$archive" >/dev/null

hit_cmd=("$BENCH" hit "$work/cache" "$work/keys")
openssl_cmd=(openssl dgst -shake256 "$archive")
echo "hit:     ${hit_cmd[*]}"
echo "openssl: ${openssl_cmd[*]}"

# Prints "<wall s> <user+sys s> <peak RSS KiB>" for one run of "$@" under time -v.
measure() {
  local t0 t1 cpu rss
  t0=$(date +%s.%N)
  "$TIME" -v -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
    echo "cache-hit: command failed: $*" >&2; cat "$work/out" "$work/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$work/time")
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time")
  awk -v a="$t0" -v b="$t1" -v c="$cpu" -v r="$rss" 'BEGIN { printf "%.6f %s %s\n", b - a, c, r }'
}

run_series() { # $1 = label, rest = hit command; appends "ow oc orss hw hc hrss" lines
  local label=$1; shift
  : >"$work/results"
  for i in $(seq 1 "$RUNS"); do
    read -r ow oc orss < <(measure "${openssl_cmd[@]}")
    read -r hw hc hrss < <(measure "$@")
    grep -qx verified "$work/out" || { echo "cache-hit: the hit did not verify" >&2; exit 1; }
    printf '%s run %d: openssl %.3f s wall %.2f s CPU %d KiB | hit %.3f s wall %.2f s CPU %d KiB\n' \
      "$label" "$i" "$ow" "$oc" "$orss" "$hw" "$hc" "$hrss"
    echo "$ow $oc $orss $hw $hc $hrss" >>"$work/results"
  done
}

summary() { # $1 = label, $2 = 1 to judge against the targets
  awk -v label="$1" -v judge="$2" -v mib="$SIZE_MIB" '
    { ow[NR] = $1; oc[NR] = $2; hw[NR] = $4; hc[NR] = $5; hr[NR] = $6 }
    function median(a, n,   b, i, j, t) {
      for (i = 1; i <= n; i++) b[i] = a[i]
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (b[j] + 0 < b[i] + 0) { t = b[i]; b[i] = b[j]; b[j] = t }
      return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
    }
    END {
      n = NR; mo = median(ow, n); mh = median(hw, n); maxr = 0
      for (i = 1; i <= n; i++) if (hr[i] + 0 > maxr) maxr = hr[i]
      ratio = mh / mo
      printf "%s: medians over %d runs: openssl %.3f s (%.0f MiB/s), hit %.3f s (%.0f MiB/s) wall; CPU %.2f s vs %.2f s\n", label, n, mo, mib / mo, mh, mib / mh, median(oc, n), median(hc, n)
      if (judge) {
        printf "%s: hit/openssl wall time %.3fx (target <= 1.15x: %s); peak RSS of the hit max %.1f MiB (target <= 16 MiB: %s)\n", label, ratio, (ratio <= 1.15 ? "meets" : "ABOVE"), maxr / 1024, (maxr <= 16384 ? "meets" : "ABOVE")
        exit (ratio <= 1.15 && maxr <= 16384) ? 0 : 1
      }
      printf "%s: hit/openssl wall time %.3fx; peak RSS max %.1f MiB (information only)\n", label, ratio, maxr / 1024
    }' "$work/results"
}

run_series "one key" "${hit_cmd[@]}"
summary "one key (production: the compiled-in key only)" 1 && status=0 || status=$?
RUNS=3 run_series "two keys" "${hit_cmd[@]}" release-key
summary "two keys (compiled-in + --trusted-keys-dir, a devnet node)" 0
exit "$status"
