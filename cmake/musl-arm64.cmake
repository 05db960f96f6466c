# CMake toolchain: fully static arm64 (aarch64) Linux programs against musl, cross-compiled
# with Debian's aarch64-linux-gnu GCC and musl's arm64 libc unpacked by
# `scripts/musl/build-deps.sh arm64` (see musl-common.cmake). Used by the release-musl-arm64
# preset. Programs run here under qemu-aarch64-static, which is also CMake's emulator for
# try_run and for tests that use the target file.
set(ANT_MUSL_ARCH arm64)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
include("${CMAKE_CURRENT_LIST_DIR}/musl-common.cmake")
find_program(ANT_QEMU_AARCH64 qemu-aarch64-static)
if(ANT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${ANT_QEMU_AARCH64}")
endif()
