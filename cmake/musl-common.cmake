# Shared body of the musl toolchain files (musl-x64.cmake, musl-arm64.cmake): compile with the
# musl compiler wrapper that scripts/musl/build-deps.sh generates, link every program fully
# static (no PT_INTERP, no DT_NEEDED) and resolve every C dependency — pkg-config modules,
# OpenSSL and mimalloc — from that script's static-only prefix, never from the host.
# The caller sets ANT_MUSL_ARCH (x64|arm64) and CMAKE_SYSTEM_PROCESSOR first.
set(CMAKE_SYSTEM_NAME Linux)

# Where build-deps.sh put its output; the default is what it uses without an outdir argument.
if(DEFINED ENV{ANT_MUSL_DEPS_DIR} AND NOT "$ENV{ANT_MUSL_DEPS_DIR}" STREQUAL "")
  set(_ant_deps_default "$ENV{ANT_MUSL_DEPS_DIR}")
else()
  set(_ant_deps_default "${CMAKE_CURRENT_LIST_DIR}/../build/musl-deps")
endif()
set(ANT_MUSL_DEPS_DIR "${_ant_deps_default}" CACHE PATH
    "Output directory of scripts/musl/build-deps.sh (holds <arch>/prefix and <arch>/toolchain)")
get_filename_component(_ant_deps "${ANT_MUSL_DEPS_DIR}/${ANT_MUSL_ARCH}" ABSOLUTE)
set(_ant_prefix "${_ant_deps}/prefix")
set(_ant_tc "${_ant_deps}/toolchain")
if(NOT EXISTS "${_ant_prefix}/DEPENDENCIES.txt" OR NOT EXISTS "${_ant_tc}/bin/musl-cc")
  message(FATAL_ERROR "musl dependencies for ${ANT_MUSL_ARCH} not found under ${_ant_deps}: "
                      "run scripts/musl/build-deps.sh ${ANT_MUSL_ARCH} first")
endif()

set(CMAKE_C_COMPILER "${_ant_tc}/bin/musl-cc")
# build-deps.sh records the binutils that match the compiler (plain or aarch64-linux-gnu-).
file(STRINGS "${_ant_tc}/tools.env" _ant_tools)
foreach(_line IN LISTS _ant_tools)
  if(_line MATCHES "^(AR|RANLIB|STRIP)=(.+)$")
    set(CMAKE_${CMAKE_MATCH_1} "${CMAKE_MATCH_2}" CACHE FILEPATH "" FORCE)
  endif()
endforeach()

# Search only the prefix for libraries, headers and packages; programs come from the host.
set(CMAKE_FIND_ROOT_PATH "${_ant_prefix}")
set(CMAKE_PREFIX_PATH "${_ant_prefix}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)

# pkg-config sees only the prefix's .pc files and returns the static link lines
# (Libs.private too: libcurl needs libssl, libcrypto and zlib after it).
set(ENV{PKG_CONFIG_LIBDIR} "${_ant_prefix}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
set(PKG_CONFIG_ARGN "--static" CACHE STRING "Extra pkg-config arguments (musl static build)")

set(OPENSSL_ROOT_DIR "${_ant_prefix}")
set(OPENSSL_USE_STATIC_LIBS TRUE)
set(mimalloc_DIR "${_ant_prefix}/lib/cmake/mimalloc" CACHE PATH "")

# Every executable is static; sections per function/datum let the linker drop the unused
# parts of OpenSSL, libcurl and libarchive (the dependencies are compiled the same way).
set(CMAKE_C_FLAGS_INIT "-ffunction-sections -fdata-sections")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -Wl,--gc-sections")
