#!/usr/bin/env bash
# The test command of README.md: installs what is missing, builds from scratch with the
# given preset (default: `default`) and runs the whole suite under CTest.
#   ./scripts/test.sh            # glibc build, Debian's libraries
#   PRESET=asan ./scripts/test.sh  # the same suite under ASan + UBSan
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET="${PRESET:-default}"

./scripts/setup.sh
cmake --preset "$PRESET"
cmake --build --preset "$PRESET" -j "$(nproc)"
ctest --preset "$PRESET" -j "$(nproc)" ${CTEST_ARGS:-}
