#!/usr/bin/env bash
# cppcheck (Debian 12: 2.10) over src/ and tools/, with the exact flags and defines of a
# build's compile_commands.json (the build dir is $1, default build/default).
# Checks: warning, style, performance, portability, with the posix and gnu library models.
# Suppressions, each justified in docs/STATIC-ANALYSIS.md §2: scripts/check/cppcheck.supp.
# Exit: 0 clean, 1 findings (printed as file:line: severity(id): message), 2 usage/setup error.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bdir="${1:-$root/build/default}"
command -v cppcheck >/dev/null || { echo "cppcheck: not installed" >&2; exit 2; }
if [ ! -f "$bdir/compile_commands.json" ]; then
  echo "cppcheck: $bdir/compile_commands.json missing (configure the build first)" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
n="$(python3 "$root/scripts/check/compdb-filter.py" "$root" "$bdir" "$work" | wc -l)"

start=$SECONDS
set +e
cppcheck --project="$work/compile_commands.json" --std=c11 \
  --enable=warning,style,performance,portability --library=posix --library=gnu \
  --inline-suppr --suppressions-list="$root/scripts/check/cppcheck.supp" \
  --error-exitcode=1 -j "${JOBS:-2}" --quiet \
  --template='{file}:{line}: {severity}({id}): {message}' 2>&1
rc=$?
set -e
echo "cppcheck: $n files, $((SECONDS - start))s, $([ "$rc" -eq 0 ] && echo clean || echo FINDINGS)"
[ "$rc" -eq 0 ] && exit 0
exit 1
