#!/usr/bin/env bash
# Proves scripts/check/banned-functions.sh catches what it must and ignores what it must: a
# fixture tree (built here, not checked in) with banned calls in code, including one after a
# comment on the same line and one split from its parenthesis, and decoys in comments, string
# literals, char literals, longer identifiers and struct members. Fails if any expected
# file:line is missing from the report or any decoy line is reported.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
check="$here/../../scripts/check/banned-functions.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tree/sub"

cat > "$tmp/tree/bad.c" <<'C'
#include <string.h>
static void f(char *d, const char *s) {
    strcpy(d, s);
    /* strcat(d, s) in a comment */ sprintf (d, "%s", s);
    const char *t = "atoi(x) in a string"; (void)t;
    // gets(d) in a line comment
    char q = '('; (void)q;
    int n = atoi
        (s);
    (void)n;
}
C
cat > "$tmp/tree/sub/decoys.h" <<'C'
/* Decoys only: none of these lines is a call of a banned function.
 * strcpy(a, b); sprintf(x); system("rm") */
struct ops { int (*system)(void); };
static inline int ant_sprintf(void) { return 0; }
static inline int g(struct ops *o, struct ops p) { return o->system() + p.system() + ant_sprintf(); }
static const char *msg = "call system(\"x\") \" and rand()";
static inline int my_strtok_r_like(void) { return 0; }
C
cat > "$tmp/tree/sub/more.c" <<'C'
#include <stdlib.h>
int h(void) { return rand() + system("true"); }
C

set +e
out="$("$check" "$tmp/tree" 2>&1)"
rc=$?
set -e
echo "$out"
fail=0
if [ "$rc" -ne 1 ]; then echo "FAIL: expected exit 1, got $rc"; fail=1; fi
for want in "bad.c:3: banned function strcpy()" "bad.c:4: banned function sprintf()" \
            "bad.c:8: banned function atoi()" "more.c:2: banned function rand()" \
            "more.c:2: banned function system()"; do
  if ! grep -qF "$want" <<<"$out"; then echo "FAIL: missing: $want"; fail=1; fi
done
if grep -qE 'decoys\.h|bad\.c:(5|6|7):' <<<"$out"; then echo "FAIL: decoy reported"; fail=1; fi
n="$(grep -c 'banned function' <<<"$out" || true)"
if [ "$n" -ne 5 ]; then echo "FAIL: expected 5 hits, got $n"; fail=1; fi

# A clean tree passes; a missing directory is a usage error, not a pass.
mkdir -p "$tmp/clean"
printf 'int ok(void) { return 0; }\n' > "$tmp/clean/ok.c"
"$check" "$tmp/clean" >/dev/null || { echo "FAIL: clean tree rejected"; fail=1; }
set +e
"$check" "$tmp/nonexistent" >/dev/null 2>&1
rc=$?
set -e
if [ "$rc" -ne 2 ]; then echo "FAIL: missing dir gave $rc, not 2"; fail=1; fi
exit "$fail"
