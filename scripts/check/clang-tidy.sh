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

# Diagnostics: path:line:col: warning|error: message [check,...]; a message may span lines
# (the Padding checker's does), so the check name is searched up to the closing bracket.
set +e
python3 - "$root" "$root/scripts/check/clang-tidy.accepted" "$work/out" >"$work/verdict" <<'PY'
import re, sys
root, accepted_file, out_file = sys.argv[1:]
accepted = set()
for line in open(accepted_file, encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if line:
        accepted.add(line)
text = open(out_file, encoding="utf-8", errors="replace").read()
diag = re.compile(r"^(/[^ \n]+):(\d+):(\d+): (?:warning|error): (.*?)\[([A-Za-z0-9._-]+)(?:,[^\]\n]*)?\]$",
                  re.M | re.S)
seen, bad, explained = set(), 0, 0
for m in diag.finditer(text):
    path, line, col, msg, check = m.groups()
    rel = path[len(root) + 1:] if path.startswith(root + "/") else path
    key = (rel, line, col, check)
    if key in seen:
        continue
    seen.add(key)
    shown = f"{rel}:{line}:{col}: {' '.join(msg.split())} [{check}]"
    if f"{rel}:{check}" in accepted:
        print("explained: " + shown)
        explained += 1
    else:
        print(shown)
        bad += 1
# A diagnostic header the pattern did not parse must not pass silently.
headers = len(set(re.findall(r"^(/[^ \n]+:\d+:\d+): (?:warning|error): ", text, re.M)))
if headers > len({k[:3] for k in seen}):
    print(f"clang-tidy: {headers - len({k[:3] for k in seen})} diagnostic(s) not parsed")
    bad += 1
print(f"COUNTS {len(seen)} {explained} {bad}")
PY
set -e
grep -v '^COUNTS ' "$work/verdict" || true
read -r _ total explained bad < <(grep '^COUNTS ' "$work/verdict")
if [ "$bad" -gt 0 ]; then
  # The notes (the analyzer's path to each finding) help the reader; print them once.
  echo "---- full clang-tidy output ----"
  cat "$work/out"
fi
echo "clang-tidy: $(wc -l <"$work/files") files, $((SECONDS - start))s, $total finding(s), $explained explained, $bad unexplained"
[ "$bad" -eq 0 ]
