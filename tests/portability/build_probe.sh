#!/usr/bin/env bash
# Fixture of the portability tests: builds the dependency probe (probe/) with the musl
# toolchain file of ARCH into OUTDIR, the same way the release presets build the programs
# (static, stripped, mimalloc through cmake/Allocator.cmake). Skips when the dependencies of
# that arch have not been built by scripts/musl/build-deps.sh.
#   build_probe.sh x64|arm64 OUTDIR
TEST_NAME="build_probe_$1"
source "$(dirname "$0")/lib.sh"
arch="$1" out="$2"
src="$(cd "$TESTS_DIR/../.." && pwd)"
deps="${ANT_MUSL_DEPS_DIR:-$src/build/musl-deps}"
[ -f "$deps/$arch/prefix/DEPENDENCIES.txt" ] || missing "musl dependencies for $arch in $deps (scripts/musl/build-deps.sh $arch)"
cmake -S "$TESTS_DIR/probe" -B "$out" --toolchain "$src/cmake/musl-$arch.cmake" \
  -DANT_MUSL_DEPS_DIR="$deps" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXE_LINKER_FLAGS_RELEASE=-s >/dev/null ||
  die "configure failed"
cmake --build "$out" -j2 >/dev/null || die "build failed"
say "built $out/ant-portability-probe"
