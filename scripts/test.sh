#!/usr/bin/env bash
# The test command of README.md: installs what is missing, builds the static musl release
# binaries for x86-64 and arm64 (their C dependencies from Debian source packages, cached
# under build/musl-deps after the first run), builds the given preset (default: `default`)
# and runs the whole suite under CTest, portability proofs of the musl builds included.
#   ./scripts/test.sh              # glibc build, Debian's libraries
#   PRESET=asan ./scripts/test.sh  # the same suite under ASan + UBSan
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET="${PRESET:-default}"

./scripts/setup.sh
./scripts/release.sh --build-only
export ANT_PORTABILITY_REQUIRED=1
cmake --preset "$PRESET"
cmake --build --preset "$PRESET" -j "$(nproc)"
ctest --preset "$PRESET" -j "$(nproc)" ${CTEST_ARGS:-}
