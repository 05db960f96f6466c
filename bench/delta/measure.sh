#!/usr/bin/env bash
# Measures binary patch formats for ant-node releases (issue 19): zstd --patch-from against
# bsdiff, on the static musl x86-64 ant-node (or the glibc build with ANT_DELTA_GLIBC=1).
# Four builds of ant-node, each from a detached `git worktree` of this repository in a
# scratch dir (never committed): BASE~10 as 0.9.0, BASE~1 as 0.9.1, BASE as 0.9.2 and BASE
# as 0.9.3. The pairs measured:
#   (a) version string only   BASE 0.9.2 -> BASE 0.9.3
#   (b) one commit apart      BASE~1 0.9.1 -> BASE 0.9.2
#   (c) ten commits apart     BASE~10 0.9.0 -> BASE 0.9.2
# For each: the full archive (reproducible tar.gz as scripts/release.sh packs it), the patch
# from each tool, the patch as a fraction of the full archive, and apply time and peak RSS
# (GNU time), and the time and peak RSS of making the patch (the release side). BASE commits count along the first-parent history (merges are one release
# step each). Usage: bench/delta/measure.sh [BASE]   (default HEAD).
# Env: ANT_MUSL_DEPS_DIR (default /work/main/build/musl-deps if it exists, else
# build/musl-deps), WORK (scratch dir, default /tmp/ant-delta-bench), JOBS (default 2).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BASE="$(git -C "$ROOT" rev-parse "${1:-HEAD}")"
WORK="${WORK:-/tmp/ant-delta-bench}"
JOBS="${JOBS:-2}"
GLIBC="${ANT_DELTA_GLIBC:-0}"
if [ -z "${ANT_MUSL_DEPS_DIR:-}" ]; then
  if [ -d /work/main/build/musl-deps/x64/prefix ]; then ANT_MUSL_DEPS_DIR=/work/main/build/musl-deps
  else ANT_MUSL_DEPS_DIR="$ROOT/build/musl-deps"; fi
fi
export ANT_MUSL_DEPS_DIR SOURCE_DATE_EPOCH=1700000000
for t in zstd bsdiff bspatch /usr/bin/time; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }; done
mkdir -p "$WORK"

rev_of() { git -C "$ROOT" rev-list --first-parent -n 1 --skip "$1" "$BASE"; }

# build <commit> <version> -> $WORK/bin/ant-node-<version>
build() {
  local rev="$1" ver="$2" src="$WORK/src-$2" out="$WORK/bin/ant-node-$2"
  [ -f "$out" ] && return 0
  rm -rf "$src"; git -C "$ROOT" worktree prune
  git -C "$ROOT" worktree add --detach -f "$src" "$rev" >/dev/null 2>&1
  if [ "$GLIBC" = 1 ]; then
    nice -n 10 cmake -S "$src" -B "$src/build/rel" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_EXE_LINKER_FLAGS_RELEASE=-s -DANT_BUILD_TESTS=OFF -DANT_VERSION="$ver" >/dev/null
    nice -n 10 cmake --build "$src/build/rel" -j "$JOBS" --target ant-node >/dev/null
    bin="$(find "$src/build/rel" -name ant-node -type f -perm -u+x | head -1)"
  else
    (cd "$src" && nice -n 10 cmake --preset release-musl-x64 -DANT_VERSION="$ver" >/dev/null &&
       nice -n 10 cmake --build --preset release-musl-x64 -j "$JOBS" --target ant-node >/dev/null)
    bin="$src/build/musl-x64/tools/ant-node/ant-node"
  fi
  mkdir -p "$WORK/bin"; cp "$bin" "$out"
  git -C "$ROOT" worktree remove --force "$src"
}

archive() { # binary -> its release archive size
  local d; d="$(mktemp -d)"; install -m 0755 "$1" "$d/ant-node"
  tar --format=ustar --sort=name --owner=0 --group=0 --numeric-owner --mode=0755 \
    --mtime="@$SOURCE_DATE_EPOCH" -C "$d" -cf - ant-node | gzip -9 -n | wc -c
  rm -rf "$d"
}

# timed <out-prefix> cmd... : runs cmd under GNU time, leaves "<seconds> <peak KiB>"
timed() { local p="$1"; shift; /usr/bin/time -f "%e %M" -o "$p.time" "$@" >/dev/null 2>&1; cat "$p.time"; }

build "$(rev_of 10)" 0.9.0
build "$(rev_of 1)" 0.9.1
build "$(rev_of 0)" 0.9.2
build "$(rev_of 0)" 0.9.3

echo "# bench/delta/measure.sh $BASE ($( [ "$GLIBC" = 1 ] && echo glibc || echo musl static) x86-64 ant-node, zstd $(zstd -V | grep -o 'v[0-9.]*'))"
printf "%-28s %8s %8s | %8s %7s %6s %8s %6s %8s | %8s %7s %6s %8s %6s %8s\n" case binary archive \
  zstd frac apply-s apply-KiB make-s make-KiB bsdiff frac apply-s apply-KiB make-s make-KiB
for c in "a version-only 0.9.2 0.9.3" "b one-commit 0.9.1 0.9.2" "c ten-commits 0.9.0 0.9.2"; do
  set -- $c
  old="$WORK/bin/ant-node-$3" new="$WORK/bin/ant-node-$4" p="$WORK/p-$1"
  full=$(archive "$new")
  # zstd: long window covering the whole old binary, as --patch-from needs; level 19.
  win=$(( $(stat -c %s "$old") > $(stat -c %s "$new") ? $(stat -c %s "$old") : $(stat -c %s "$new") ))
  wlog=$(python3 -c "import math; print(max(10, math.ceil(math.log2($win))))")
  zm=$(timed "$p.zm" zstd -q -f -19 --long="$wlog" --patch-from="$old" "$new" -o "$p.zst")
  zt=$(timed "$p.za" zstd -q -f -d --long="$wlog" --patch-from="$old" "$p.zst" -o "$p.zout")
  cmp -s "$p.zout" "$new" || { echo "zstd round trip failed" >&2; exit 1; }
  bm=$(timed "$p.bm" bsdiff "$old" "$new" "$p.bsdiff")
  bt=$(timed "$p.ba" bspatch "$old" "$p.bout" "$p.bsdiff")
  cmp -s "$p.bout" "$new" || { echo "bspatch round trip failed" >&2; exit 1; }
  zs=$(stat -c %s "$p.zst"); bs=$(stat -c %s "$p.bsdiff")
  printf "%-28s %8d %8d | %8d %6.2f%% %6s %8s %6s %8s | %8d %6.2f%% %6s %8s %6s %8s\n" \
    "($1) $2 $3->$4" "$(stat -c %s "$new")" "$full" \
    "$zs" "$(python3 -c "print(100*$zs/$full)")" $zt $zm \
    "$bs" "$(python3 -c "print(100*$bs/$full)")" $bt $bm
done
