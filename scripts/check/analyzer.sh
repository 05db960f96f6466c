#!/usr/bin/env bash
# gcc -fanalyzer over src/ and tools/: configures its own build dir (default build/sa-analyzer,
# or $1) with -fanalyzer and without the test suite, builds every library module and program,
# and collects the analyzer's diagnostics (-Wanalyzer-*) for files under src/ and tools/.
# Prints each one (file:line: [-Wanalyzer-...] message) and the count.
# Findings that were reviewed and explained in docs/STATIC-ANALYSIS.md §4 are listed in
# scripts/check/analyzer.accepted as `path:check` lines; they are reported but do not fail.
# Exit: 0 no unexplained finding, 1 unexplained findings, 2 configure or build failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bdir="${1:-$root/build/sa-analyzer}"
jobs="${JOBS:-2}"
accepted="$root/scripts/check/analyzer.accepted"
log="$bdir/analyzer.log"

# -Werror stays off: analyzer warnings are counted here, not turned into a build failure.
# ANT_TEST_FAULTS off: the fault points exist only in test builds.
cmake -S "$root" -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANT_WERROR=OFF \
  -DANT_BUILD_TESTS=OFF -DANT_TEST_FAULTS=OFF -DCMAKE_C_FLAGS="-fanalyzer" >/dev/null \
  || exit 2
# Rebuild every object so each file's diagnostics appear in this run's log.
cmake --build "$bdir" --target clean >/dev/null || exit 2
start=$SECONDS
if ! cmake --build "$bdir" -j "$jobs" >"$log" 2>&1; then
  tail -30 "$log" >&2
  echo "analyzer: build failed (log: $log)" >&2
  exit 2
fi
secs=$((SECONDS - start))

# One line per diagnostic: the gcc header line that carries [-Wanalyzer-...].
mapfile -t found < <(grep -E '^[^ ]+:[0-9]+:[0-9]+: warning: .*\[-Wanalyzer-[a-z0-9-]+\]' "$log" |
  sed -E "s#^$root/##" | grep -E '^(src|tools)/' | sort -u)
bad=0
explained=0
for f in "${found[@]}"; do
  path="${f%%:*}"
  check="$(sed -E 's/.*\[(-Wanalyzer-[a-z0-9-]+)\]$/\1/' <<<"$f")"
  if [ -f "$accepted" ] && grep -qxF "$path:$check" <(sed -e 's/[[:space:]]*#.*//' -e '/^$/d' "$accepted"); then
    echo "explained: $f"
    explained=$((explained + 1))
  else
    echo "$f"
    bad=$((bad + 1))
  fi
done
echo "analyzer: ${#found[@]} finding(s), $explained explained, $bad unexplained; build ${secs}s (log: $log)"
[ "$bad" -eq 0 ]
