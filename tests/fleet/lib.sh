# shellcheck shell=bash
# Shared helpers of the fleet proofs (sourced, not run): the portability tests' helpers
# (say, die, missing, static_elf, ...). A missing musl output makes a test skip (exit 77)
# unless ANT_PORTABILITY_REQUIRED is ON/1, in ctest's environment or as the CMake option
# (passed as ANT_PORTABILITY_REQUIRED_CMAKE), for runs that must prove the release builds
# and treat a gap as a failure.
# shellcheck source=../portability/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../portability" && pwd)/lib.sh"
