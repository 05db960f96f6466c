#!/usr/bin/env bash
# clang-tidy 14 over src/ and tools/ with the check set in .clang-tidy, using the flags of a
# build's compile_commands.json (the build dir is $1, default build/default). One clang-tidy
# process per file (two at a time, or $JOBS): clang-tidy 14 run on several files in one process
# reports clang-analyzer-valist false positives that a per-file run does not.
# Reviewed findings that stay (false positives, with the reason in docs/STATIC-ANALYSIS.md §3)
# are listed in scripts/check/clang-tidy.accepted as `path:check`; they print but do not fail.
# Exit: 0 clean, 1 unexplained findings, 2 usage/setup error.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bdir="${1:-$root/build/default}"
tidy="$(command -v clang-tidy-14 || command -v clang-tidy || true)"
[ -n "$tidy" ] || { echo "clang-tidy: not installed" >&2; exit 2; }
if [ ! -f "$bdir/compile_commands.json" ]; then
  echo "clang-tidy: $bdir/compile_commands.json missing (configure the build first)" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$root/scripts/check/compdb-filter.py" "$root" "$bdir" "$work" >"$work/files"

start=$SECONDS
# A file that does not compile is a setup error, not a finding: catch it from stderr.
set +e
xargs -a "$work/files" -P "${JOBS:-2}" -n 1 \
  "$tidy" -p "$work" --quiet --config-file="$root/.clang-tidy" >"$work/out" 2>"$work/err"
set -e
if grep -qE 'error: .*\[clang-diagnostic-error\]|Error while processing' "$work/out" "$work/err"; then
  grep -E 'clang-diagnostic-error|Error while processing' "$work/out" "$work/err" >&2
  echo "clang-tidy: a file failed to parse" >&2
  exit 2
fi

accepted="$work/accepted"
sed -e 's/[[:space:]]*#.*//' -e '/^$/d' "$root/scripts/check/clang-tidy.accepted" >"$accepted"
bad=0
explained=0
total=0
# Header lines of diagnostics: path:line:col: warning|error: message [check,...]
while IFS= read -r line; do
  total=$((total + 1))
  rel="${line#"$root"/}"
  path="${rel%%:*}"
  check="$(sed -E 's/.*\[([^],]+)[],].*/\1/' <<<"$line")"
  if grep -qxF "$path:$check" "$accepted"; then
    echo "explained: $rel"
    explained=$((explained + 1))
  else
    echo "$rel"
    bad=$((bad + 1))
  fi
done < <(grep -E '^/[^ ]+:[0-9]+:[0-9]+: (warning|error): .*\[[a-zA-Z0-9.,_-]+\]$' "$work/out" | sort -u)
if [ "$bad" -gt 0 ]; then
  # The notes (the analyzer's path to each finding) help the reader; print them once.
  echo "---- full clang-tidy output ----"
  cat "$work/out"
fi
echo "clang-tidy: $(wc -l <"$work/files") files, $((SECONDS - start))s, $total finding(s), $explained explained, $bad unexplained"
[ "$bad" -eq 0 ]
