#!/usr/bin/env bash
# Proves scripts/check/file-cycles.py finds a circle and only a circle: fixture objects
# (compiled here, not checked in) where ring/a.o and ring/b.o call each other through
# ring/c.o (a -> b -> c -> a) beside a file that only calls down, and a module that only
# calls down (top.o -> base.o). The first must fail naming a, b and c and not the bystander;
# the second must pass.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
check="$here/../../scripts/check/file-cycles.py"
cc="${CC:-cc}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/ring" "$tmp/down"

printf 'int b_f(void);\nint a_f(void) { return b_f() + 1; }\n' > "$tmp/ring/a.c"
printf 'int c_f(void);\nint b_f(void) { return c_f() + 1; }\n' > "$tmp/ring/b.c"
printf 'int a_f(void);\nint c_f(void) { return a_f() + 1; }\n' > "$tmp/ring/c.c"
printf 'int a_f(void);\nint bystander(void) { return a_f(); }\n' > "$tmp/ring/d.c"
printf 'int base_f(void) { return 1; }\n' > "$tmp/down/base.c"
printf 'int base_f(void);\nint top_f(void) { return base_f(); }\n' > "$tmp/down/top.c"
for f in "$tmp"/ring/*.c "$tmp"/down/*.c; do
  "$cc" -c "$f" -o "${f%.c}.o"
done

if out="$(python3 "$check" --objects "$tmp/ring")"; then
  echo "FAIL: a -> b -> c -> a was not reported" >&2
  exit 1
fi
echo "$out"
echo "$out" | grep -q "a b c call each other in a circle" ||
  { echo "FAIL: the circle is not named a b c" >&2; exit 1; }
if echo "$out" | grep -q "bystander\|^  d ->\| d "; then
  echo "FAIL: d, which only calls down, was reported" >&2
  exit 1
fi
python3 "$check" --objects "$tmp/down" ||
  { echo "FAIL: a module that only calls down was reported" >&2; exit 1; }
echo "file-cycles self-test: ok"
