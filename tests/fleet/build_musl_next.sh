#!/usr/bin/env bash
# Fixture of fleet_glibc_to_musl: builds the static musl + mimalloc ant-node at the next
# patch version (the release the glibc fleet upgrades to) with the release-musl-x64
# settings into its own build dir, reusing the cached musl dependencies.
#   build_musl_next.sh SRC BINDIR VERSION
# Environment: ANT_MUSL_DEPS_DIR (scripts/musl/build-deps.sh output, default
# SRC/build/musl-deps). Skips (77) when the dependencies are missing, unless required.
# shellcheck disable=SC2034  # read by say() in lib.sh
TEST_NAME=fleet_build_musl_next
source "$(dirname "$0")/lib.sh"
src=$1 bin=$2 version=$3
deps=${ANT_MUSL_DEPS_DIR:-$src/build/musl-deps}
[ -f "$deps/x64/prefix/DEPENDENCIES.txt" ] && [ -x "$deps/x64/toolchain/bin/musl-cc" ] ||
  missing "the x64 musl dependencies in $deps"
cmake -S "$src" -B "$bin" --toolchain "$src/cmake/musl-x64.cmake" \
  -DANT_MUSL_DEPS_DIR="$deps" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXE_LINKER_FLAGS_RELEASE=-s \
  -DANT_USE_MIMALLOC=ON -DANT_BUILD_TESTS=OFF -DANT_WERROR=ON -DANT_VERSION="$version" \
  >"$bin.configure.log" 2>&1 || { cat "$bin.configure.log" >&2; die "configuring the musl build failed"; }
nice -n 5 cmake --build "$bin" --target ant-node -j2 >"$bin.build.log" 2>&1 ||
  { tail -40 "$bin.build.log" >&2; die "building the musl ant-node failed"; }
node=$bin/tools/ant-node/ant-node
got=$("$node" --version)
[ "$got" = "ant-node $version" ] || die "$node --version printed '$got', want 'ant-node $version'"
why=$(static_elf "$node") || die "$why"
say "built $node ($got, static)"
