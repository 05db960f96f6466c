# shellcheck shell=bash
# Shared helpers of the fleet proofs (sourced, not run). A missing musl output makes a test
# skip (exit 77) unless ANT_PORTABILITY_REQUIRED is ON/1, in ctest's environment or as the
# CMake option (passed as ANT_PORTABILITY_REQUIRED_CMAKE), for runs that must prove the
# release builds and treat a gap as a failure.
set -euo pipefail

SKIP=77
say() { printf '%s: %s\n' "${TEST_NAME:-fleet}" "$*"; }
die() { say "FAIL: $*" >&2; exit 1; }

required() {
  local v
  for v in "${ANT_PORTABILITY_REQUIRED_CMAKE:-OFF}" "${ANT_PORTABILITY_REQUIRED:-OFF}"; do
    case "$v" in ON|on|1|TRUE|true|YES|yes) return 0 ;; esac
  done
  return 1
}

missing() {
  if required; then die "missing $* (ANT_PORTABILITY_REQUIRED is set)"; fi
  say "SKIP: missing $* (needs scripts/musl/build-deps.sh x64, see docs/RELEASING.md; set ANT_PORTABILITY_REQUIRED=1 to fail instead)"
  exit "$SKIP"
}

# static_elf FILE: no PT_INTERP and no DT_NEEDED (prints why not and returns 1 otherwise).
# readelf's output is captured before grep reads it, so SIGPIPE cannot turn a negated
# check into a pass under pipefail.
static_elf() {
  local prog dyn
  prog=$(readelf -lW "$1" 2>&1) || { echo "$1: not an ELF file"; return 1; }
  dyn=$(readelf -dW "$1" 2>&1) || true
  if grep -q INTERP <<<"$prog"; then echo "$1: has PT_INTERP"; return 1; fi
  if grep -q '(NEEDED)' <<<"$dyn"; then echo "$1: has DT_NEEDED entries"; return 1; fi
  return 0
}
