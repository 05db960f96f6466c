#!/usr/bin/env bash
# Proves scripts/check/self-contained.py finds references above the repository root and
# leaves references inside it alone: a fixture git repository (built here) with one escaping
# reference per line in the files `bad*` and only in-tree references in `good*`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
check="$here/../../scripts/check/self-contained.py"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
repo="$tmp/repo"
mkdir -p "$repo/sub/deep" "$repo/scripts"

# The escaping references are assembled from pieces ($up is two dots, $ref the name of a
# directory beside a checkout), so that this file, which the checker also reads as part of
# the repository, holds none of them literally.
up='..' ref='sha''red'
printf '%s\n' "add_test(NAME t COMMAND x \${PROJECT_SOURCE_DIR}/$up/$ref/vectors)" \
  "include(\${CMAKE_CURRENT_SOURCE_DIR}/$up/$up/other/x.cmake)" > "$repo/sub/bad.cmake"
printf '%s\n' "cat $up/$up/outside.txt" "cd \"\$(git rev-parse --show-toplevel)/$up\"" \
  "see $up/$ref/DESIGN.md" > "$repo/scripts/bad.sh"
printf '%s\n' "The map is [DESIGN]($up/DESIGN.md)." > "$repo/bad.md"
printf '%s\n' 'include(${CMAKE_CURRENT_SOURCE_DIR}/../cmake/x.cmake)' \
  'add_executable(b ${PROJECT_SOURCE_DIR}/src/../src/b.c)' > "$repo/sub/good.cmake"
printf '%s\n' 'cd "$(dirname "$0")/.."' 'cat ../../README.md' 'more to come...' \
  > "$repo/sub/deep/good.sh"
printf '%s\n' 'See [the design](docs/ARCHITECTURE.md) and an ellipsis... in prose.' \
  > "$repo/good.md"
git -C "$repo" init -q
git -C "$repo" add -A

set +e
out="$(python3 "$check" "$repo" 2>&1)"
rc=$?
set -e
echo "$out"
fail=0
[ "$rc" -eq 1 ] || { echo "FAIL: exit $rc, want 1"; fail=1; }
for want in sub/bad.cmake:1 sub/bad.cmake:2 scripts/bad.sh:1 scripts/bad.sh:2 \
            scripts/bad.sh:3 bad.md:1; do
  grep -q "^$want:" <<<"$out" || { echo "FAIL: $want not reported"; fail=1; }
done
if grep -q "^good\|^sub/good\|^sub/deep/good" <<<"$out"; then
  echo "FAIL: an in-tree reference was reported"; fail=1
fi
[ "$fail" -eq 0 ] && echo "self-contained selftest: ok"
exit "$fail"
