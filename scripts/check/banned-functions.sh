#!/usr/bin/env bash
# Banned-function check: fails (exit 1) with file:line:function for every call of a C library
# function this project does not allow, in the .c and .h files under the given directories
# (default: src and tools of the repository). Comments, string literals and character literals
# are blanked before matching (line numbers kept), so prose that names a function is not a hit,
# while a call hidden after a comment on the same line still is. Matching is on the call form
# `name (`, as a whole identifier: `ant_sprintf(` or `x.system(` are not hits.
# Why each function is banned, and what to use instead: docs/STATIC-ANALYSIS.md §1.
# Exit: 0 clean, 1 banned calls found, 2 usage or I/O error.
set -euo pipefail

# Unbounded or unterminated string writes, unchecked number parsing, non-reentrant or
# predictable library state, racy temp names, shell invocation, stack allocation of
# attacker-chosen size.
BANNED=(
  strcpy strcat strncpy strncat stpcpy stpncpy wcscpy wcscat
  sprintf vsprintf gets getwd
  atoi atol atoll atof
  strtok
  alloca
  tmpnam tmpnam_r tempnam mktemp
  system popen
  rand srand random srandom rand_r drand48 erand48 lrand48 nrand48 mrand48 jrand48 srand48
  gmtime localtime ctime asctime
  readdir_r getpass
)

root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ "$#" -eq 0 ]; then
  set -- "$root/src" "$root/tools"
fi
for d in "$@"; do
  if [ ! -d "$d" ]; then
    echo "banned-functions: not a directory: $d" >&2
    exit 2
  fi
done

pattern="$(IFS='|'; echo "${BANNED[*]}")"
files=()
while IFS= read -r -d '' f; do files+=("$f"); done \
  < <(find "$@" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
if [ "${#files[@]}" -eq 0 ]; then
  echo "banned-functions: no C sources under: $*" >&2
  exit 2
fi

# The Perl filter keeps every newline, so a hit's line number is the source's line number.
perl -e '
  use strict; use warnings;
  my $pat = shift @ARGV;
  my $hits = 0;
  for my $file (@ARGV) {
    open(my $fh, "<", $file) or do { print STDERR "banned-functions: $file: $!\n"; exit 2 };
    local $/; my $src = <$fh>; close $fh;
    # Blank block comments, line comments, string and char literals (keeping newlines).
    $src =~ s{
        (/\*.*?\*/)
      | (//[^\n]*)
      | ("(?:\\.|[^"\\\n])*")
      | (\x27(?:\\.|[^\x27\\\n])*\x27)
    }{ my $m = $&; $m =~ s/[^\n]/ /g; $m }gsex;
    # The name and its parenthesis may be on different lines; report the line of the name.
    while ($src =~ /(?<![\w.>])($pat)\s*\(/g) {
      my $line = 1 + (substr($src, 0, $-[1]) =~ tr/\n//);
      print "$file:$line: banned function $1()\n";
      $hits++;
    }
  }
  exit($hits ? 1 : 0);
' "$pattern" "${files[@]}" && rc=0 || rc=$?
if [ "$rc" -eq 0 ]; then
  echo "banned-functions: clean (${#files[@]} files)"
fi
exit "$rc"
