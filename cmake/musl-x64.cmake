# CMake toolchain: fully static x86-64 Linux programs against musl, with the C dependencies
# from `scripts/musl/build-deps.sh x64` (see musl-common.cmake). Used by the release-musl-x64
# preset; also usable directly: cmake --toolchain cmake/musl-x64.cmake ...
set(ANT_MUSL_ARCH x64)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
include("${CMAKE_CURRENT_LIST_DIR}/musl-common.cmake")
