# Shared helpers of the portability tests (sourced, not run). The tests prove the musl
# release outputs: they find the preset build dirs through ANT_MUSL_X64_DIR /
# ANT_MUSL_ARM64_DIR and the musl probes through ANT_PROBE_X64 / ANT_PROBE_ARM64 (all set by
# tests/portability/CMakeLists.txt). A missing output makes a test skip (exit 77) unless
# ANT_PORTABILITY_REQUIRED is ON/1 (CMake option or environment), for runs that built them
# and must treat a gap as a failure.
set -euo pipefail

SKIP=77
TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { printf '%s: %s\n' "${TEST_NAME:-portability}" "$*"; }
die() { say "FAIL: $*" >&2; exit 1; }

# Required by the CMake option (ANT_PORTABILITY_REQUIRED_CMAKE) or by ctest's environment.
required() {
  local v
  for v in "${ANT_PORTABILITY_REQUIRED_CMAKE:-OFF}" "${ANT_PORTABILITY_REQUIRED:-OFF}"; do
    case "$v" in ON|on|1|TRUE|true|YES|yes) return 0 ;; esac
  done
  return 1
}

# missing WHAT: a build output the test needs is absent.
missing() {
  if required; then die "missing $* (ANT_PORTABILITY_REQUIRED is set)"; fi
  say "SKIP: missing $* (build it with scripts/release.sh --build-only, or see docs/RELEASING.md)"
  exit "$SKIP"
}

# musl_bin ARCH PROGRAM: prints the path of a release program, empty when not built.
musl_bin() {
  local dir
  case "$1" in
    x64) dir="${ANT_MUSL_X64_DIR:-}" ;;
    arm64) dir="${ANT_MUSL_ARM64_DIR:-}" ;;
  esac
  [ -n "$dir" ] && [ -x "$dir/tools/$2/$2" ] && printf '%s\n' "$dir/tools/$2/$2"
  return 0
}

# static_elf FILE: fully static (no PT_INTERP, no DT_NEEDED). Prints why not and returns 1
# otherwise. readelf's output is captured before grep reads it, so SIGPIPE cannot turn a
# negated check into a pass under pipefail.
static_elf() {
  local f="$1" prog dyn
  prog="$(readelf -lW "$f" 2>&1)" || { echo "$f: not an ELF file"; return 1; }
  dyn="$(readelf -dW "$f" 2>&1)" || true
  if grep -q 'INTERP' <<<"$prog"; then
    echo "$f: has PT_INTERP ($(grep -o 'Requesting program interpreter: [^]]*' <<<"$prog"))"; return 1
  fi
  if grep -q '(NEEDED)' <<<"$dyn"; then
    echo "$f: has DT_NEEDED: $(grep '(NEEDED)' <<<"$dyn" | grep -o '\[.*\]' | tr '\n' ' ')"; return 1
  fi
  return 0
}

# is_static_elf FILE MACHINE: static_elf, stripped, and for MACHINE as readelf names it.
# Prints why not and returns 1 otherwise.
is_static_elf() {
  local f="$1" machine="$2" hdr sec
  hdr="$(readelf -hW "$f")" || { echo "$f: not an ELF file"; return 1; }
  sec="$(readelf -SW "$f")"
  if ! grep -q "Machine:[[:space:]]*$machine\$" <<<"$hdr"; then
    echo "$f: machine is $(awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}' <<<"$hdr"), want $machine"; return 1
  fi
  static_elf "$f" || return 1
  if grep -q ' \.symtab ' <<<"$sec"; then
    echo "$f: not stripped (.symtab present)"; return 1
  fi
  return 0
}

# in_empty_root [-f SRC:DEST]... [-d DIR]... -- CMD ARGS...: runs CMD chrooted into a fresh
# directory that holds only the listed files and directories (see emptyroot.py).
in_empty_root() {
  if [ "$(id -u)" -eq 0 ]; then
    python3 "$TESTS_DIR/emptyroot.py" "$@"
  else
    # Without root, a user namespace grants the chroot (when the kernel allows it).
    unshare --user --map-root-user python3 "$TESTS_DIR/emptyroot.py" "$@"
  fi
}

can_chroot() {
  [ "$(id -u)" -eq 0 ] || unshare --user --map-root-user true 2>/dev/null
}
