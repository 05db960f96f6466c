#!/usr/bin/env bash
# The node's own patch code (libzstd through src/upgrade/patch.c, bench_patch) on the four
# ant-node builds bench/delta/measure.sh leaves in $WORK/bin (run that first): for cases
# (a) (b) (c), the patch size, the time to make it, and the time and peak RSS (GNU time %M)
# of applying it exactly as the node does (ant_patch_apply_fd, file to file), result
# compared with the new binary. Usage: bench/delta/node.sh [BUILD_DIR]  (default build/default)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
B="${1:-$ROOT/build/default}/bench/delta/bench_patch"
WORK="${WORK:-/tmp/ant-delta-bench}"
[ -x "$B" ] || { echo "build bench_patch first (cmake --build --preset default)" >&2; exit 1; }
for v in 0.9.0 0.9.1 0.9.2 0.9.3; do
  [ -f "$WORK/bin/ant-node-$v" ] || { echo "run bench/delta/measure.sh first ($WORK/bin/ant-node-$v)" >&2; exit 1; }
done
archive() {
  local d; d="$(mktemp -d)"; install -m 0755 "$1" "$d/ant-node"
  tar --format=ustar --sort=name --owner=0 --group=0 --numeric-owner --mode=0755 \
    --mtime=@1700000000 -C "$d" -cf - ant-node | gzip -9 -n | wc -c
  rm -rf "$d"
}
echo "# bench/delta/node.sh: libzstd $(pkg-config --modversion libzstd 2>/dev/null || echo '?'), level 19, node apply path"
printf '%-28s %8s %8s %8s %7s %7s %8s %9s\n' case binary archive patch frac make-s apply-s apply-KiB
while read -r name old new; do
  o="$WORK/bin/ant-node-$old" n="$WORK/bin/ant-node-$new" p="$WORK/node-$old-$new.patch"
  mk="$("$B" make "$o" "$n" "$p")"
  ms="$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$mk")"
  /usr/bin/time -f "%M" -o "$WORK/node.time" "$B" apply "$o" "$p" "$n" > "$WORK/node.apply"
  as="$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$WORK/node.apply")"
  a="$(archive "$n")" ps="$(stat -c %s "$p")"
  printf '%-28s %8s %8s %8s %6.2f%% %7s %7s %8s\n' "$name" "$(stat -c %s "$n")" "$a" "$ps" \
    "$(echo "100 * $ps / $a" | bc -l)" "$ms" "$as" "$(cat "$WORK/node.time")"
done <<'CASES'
(a)version-only_0.9.2->0.9.3 0.9.2 0.9.3
(b)one-commit_0.9.1->0.9.2 0.9.1 0.9.2
(c)ten-commits_0.9.0->0.9.2 0.9.0 0.9.2
CASES
