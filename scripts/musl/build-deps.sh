#!/usr/bin/env bash
# Builds every C dependency of the static musl release (zlib, OpenSSL, libcurl, libarchive,
# LMDB, json-c, mimalloc, libzstd) from its Debian 12 source package, for x86-64 with musl-gcc or for
# arm64 with Debian's aarch64 cross compiler and musl's arm64 libc unpacked from the
# musl-dev:arm64 and musl:arm64 .debs. Sources and the arm64 .debs come through a private apt
# configuration (own sources.list, state, cache and lists under the output directory; the
# machine's apt sources are never touched, only their mirror URL is reused). Each library is
# installed static-only into <outdir>/<arch>/prefix, which cmake/musl-<arch>.cmake consumes.
# A finished build leaves a stamp keyed by the source version, the recipe, the flags and the
# compiler; a second run with nothing changed rebuilds nothing.
#
#   scripts/musl/build-deps.sh x64|arm64 [outdir]
#
# Default outdir: $ANT_MUSL_DEPS_DIR, else build/musl-deps (a cache outside the work tree,
# e.g. ANT_MUSL_DEPS_DIR=/var/cache/ant-musl-deps, survives `rm -rf build` and new clones;
# the toolchain files and the portability tests read the same variable).
# Environment: JOBS (default 2), ANT_NICE (default 10), ANT_MUSL_APT_UPDATE=1 forces a fresh
# index download (otherwise the private index is refreshed when older than a day),
# ANT_DEBIAN_MIRROR / ANT_DEBIAN_SECURITY_MIRROR override the mirrors taken from /etc/apt.
set -euo pipefail

ARCH="${1:-}"
case "$ARCH" in
  x64) TRIPLE=x86_64-linux-musl; CC_REAL=x86_64-linux-gnu-gcc; BIN_PREFIX=""
       OSSL_TARGET=linux-x86_64; CPU=x86_64 ;;
  arm64) TRIPLE=aarch64-linux-musl; CC_REAL=aarch64-linux-gnu-gcc; BIN_PREFIX=aarch64-linux-gnu-
       OSSL_TARGET=linux-aarch64; CPU=aarch64 ;;
  *) echo "usage: $0 x64|arm64 [outdir]" >&2; exit 2 ;;
esac
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${2:-${ANT_MUSL_DEPS_DIR:-$ROOT/build/musl-deps}}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
JOBS="${JOBS:-2}"
renice -n "${ANT_NICE:-10}" -p $$ >/dev/null 2>&1 || true

A="$OUT/$ARCH"               # per-arch tree
PREFIX="$A/prefix"           # what the CMake toolchain files consume
TC="$A/toolchain"            # compiler wrapper + specs
STAMPS="$PREFIX/.stamps"     # inside the prefix: deleting the prefix forgets every build
LOGS="$A/logs"
BUILD="$A/build"
mkdir -p "$OUT/src" "$PREFIX/lib/pkgconfig" "$PREFIX/include" "$TC/bin" "$STAMPS" "$LOGS" "$BUILD"

log() { printf 'build-deps[%s]: %s\n' "$ARCH" "$*" >&2; }
die() { log "error: $*"; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# ---------------------------------------------------------------- host packages
# Everything the recipes below run. The arm64 cross compiler and qemu (for the portability
# tests) only matter for arm64 but are cheap enough to keep the list single.
HOST_PACKAGES=(
  build-essential musl-tools musl-dev gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
  qemu-user-static dpkg-dev perl make cmake pkg-config autoconf automake libtool m4 patch
  xz-utils bzip2 file debian-archive-keyring linux-libc-dev
)
ensure_packages() {
  local missing=() p
  for p in "${HOST_PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}
ensure_packages

# ---------------------------------------------------------------- private apt
# The mirror is whatever the machine already uses for bookworm (and bookworm-security), so a
# proxy or local mirror keeps working; nothing outside $OUT/apt is written.
mirror_for() {  # $1 = suite; prints the first URI serving it in the machine's apt sources
  local suite="$1" f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '$1=="deb" || $1=="deb-src" {
        i=2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i+1)==s) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$suite" 'function flush() { if (types ~ /deb/ && (" " suites " ") ~ (" " s " ") && uri != "") { print uri; found=1 } types=""; suites=""; uri="" }
        /^[ \t]*$/ { flush(); if (found) exit; next }
        /^Types:/ { $1=""; types=$0 } /^URIs:/ { uri=$2 } /^Suites:/ { $1=""; suites=$0 }
        END { if (!found) flush() }' "$f"
  done
}
MIRROR="${ANT_DEBIAN_MIRROR:-$(mirror_for bookworm | head -n1)}"
SEC_MIRROR="${ANT_DEBIAN_SECURITY_MIRROR:-$(mirror_for bookworm-security | head -n1)}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SEC_MIRROR="${SEC_MIRROR:-http://deb.debian.org/debian-security}"

APTD="$OUT/apt"
mkdir -p "$APTD/sources.list.d" "$APTD/preferences.d" "$APTD/state/lists/partial" \
         "$APTD/cache/archives/partial"
[ -f "$APTD/state/status" ] || : > "$APTD/state/status"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
cat > "$APTD/sources.list.new" <<EOF
deb-src [signed-by=$KEYRING] $MIRROR bookworm main
deb-src [signed-by=$KEYRING] $MIRROR bookworm-updates main
deb-src [signed-by=$KEYRING] $SEC_MIRROR bookworm-security main
deb [arch=arm64 signed-by=$KEYRING] $MIRROR bookworm main
deb [arch=arm64 signed-by=$KEYRING] $MIRROR bookworm-updates main
deb [arch=arm64 signed-by=$KEYRING] $SEC_MIRROR bookworm-security main
EOF
if ! cmp -s "$APTD/sources.list.new" "$APTD/sources.list" 2>/dev/null; then
  mv "$APTD/sources.list.new" "$APTD/sources.list"
  rm -f "$APTD/state/updated"
else
  rm -f "$APTD/sources.list.new"
fi
APT_OPTS=(
  -o "Dir::Etc::SourceList=$APTD/sources.list" -o "Dir::Etc::SourceParts=$APTD/sources.list.d"
  -o "Dir::Etc::Preferences=$APTD/preferences" -o "Dir::Etc::PreferencesParts=$APTD/preferences.d"
  -o "Dir::State=$APTD/state" -o "Dir::State::status=$APTD/state/status"
  -o "Dir::Cache=$APTD/cache" -o "APT::Architecture=amd64" -o "APT::Architectures::=arm64"
)
# As root apt drops to the _apt user for downloads, which cannot write into a build tree.
[ "$(id -u)" -ne 0 ] || APT_OPTS+=(-o "APT::Sandbox::User=root")

# One lock for the private index and the source cache: x64 and arm64 may run side by side.
exec 9>"$APTD/ant-build-deps.lock"
flock 9
if [ "${ANT_MUSL_APT_UPDATE:-0}" = 1 ] || [ ! -f "$APTD/state/updated" ] ||
   [ -n "$(find "$APTD/state/updated" -mmin +1440)" ]; then
  log "refreshing the private apt index from $MIRROR and $SEC_MIRROR"
  apt-get "${APT_OPTS[@]}" -qq update >"$APTD/update.log" 2>&1 ||
    { cat "$APTD/update.log" >&2; die "apt-get update (private config) failed"; }
  touch "$APTD/state/updated"
fi
flock -u 9

# fetch_source PKG: unpacks the newest available Debian source of PKG (falling back to an
# older indexed version if a mirror lacks the newest files) into $OUT/src/PKG/VERSION/ and
# sets SRC (the unpacked tree) and VER. apt checks every file against the signed index.
fetch_source() {
  local pkg="$1" v dir tmp versions
  versions="$(apt-cache "${APT_OPTS[@]}" showsrc --only-source "$pkg" 2>/dev/null |
              awk '/^Version:/ { print $2 }' | sort -u)"
  [ -n "$versions" ] || die "no source package $pkg in the private apt index"
  # Newest first by Debian version ordering.
  versions="$(printf '%s\n' $versions | while read -r v; do
      n=0; for w in $versions; do dpkg --compare-versions "$w" gt "$v" && n=$((n+1)); done
      echo "$n $v"; done | sort -n | cut -d' ' -f2)"
  for v in $versions; do
    dir="$OUT/src/$pkg/$v"
    if [ -f "$dir/.unpacked" ]; then
      SRC="$dir/$(cat "$dir/.unpacked")"; VER="$v"; return 0
    fi
    tmp="$(mktemp -d "$OUT/src/.fetch.XXXXXX")"
    if (cd "$tmp" && apt-get "${APT_OPTS[@]}" -q source --only-source "$pkg=$v") >"$LOGS/fetch-$pkg.log" 2>&1; then
      rm -rf "$dir"; mkdir -p "$dir"
      local sub
      sub="$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -n1)"
      [ -n "$sub" ] || die "apt-get source $pkg=$v unpacked nothing"
      mv "$tmp"/* "$dir"/
      basename "$sub" > "$dir/.unpacked"
      rm -rf "$tmp"
      SRC="$dir/$(cat "$dir/.unpacked")"; VER="$v"
      log "fetched $pkg $v"
      return 0
    fi
    rm -rf "$tmp"
    log "could not fetch $pkg $v (see $LOGS/fetch-$pkg.log); trying an older version"
  done
  die "no version of $pkg could be fetched"
}

# ---------------------------------------------------------------- toolchain
# A compiler wrapper like Debian's musl-gcc, but generated here so both arches look alike:
# the real GCC plus a specs file that swaps glibc's headers, start files and libc for musl's.
# musl ships no Linux UAPI headers (<linux/*.h>, <asm/*.h>), which OpenSSL's secure heap
# wants; like Alpine's linux-headers they come from Debian's linux-libc-dev of the target arch.
KINC="$TC/kernel-include"
if [ "$ARCH" = arm64 ]; then
  SYSROOT="$A/sysroot"
  if [ ! -f "$SYSROOT/.unpacked" ]; then
    rm -rf "$SYSROOT" "$A/debs"; mkdir -p "$SYSROOT" "$A/debs"
    flock 9
    (cd "$A/debs" && apt-get "${APT_OPTS[@]}" -q download musl-dev:arm64 musl:arm64 linux-libc-dev:arm64) \
      >"$LOGS/fetch-sysroot.log" 2>&1 || { cat "$LOGS/fetch-sysroot.log" >&2; die "apt-get download (arm64 sysroot) failed"; }
    flock -u 9
    for d in "$A"/debs/*.deb; do dpkg-deb -x "$d" "$SYSROOT"; done
    (cd "$A/debs" && ls) > "$SYSROOT/.unpacked"
    log "unpacked $(tr '\n' ' ' < "$SYSROOT/.unpacked")into $SYSROOT"
  fi
  SPECS_IN="$SYSROOT/usr/lib/aarch64-linux-musl/musl-gcc.specs"
  MUSL_ID="$(cat "$SYSROOT/.unpacked")"
  KSRC="$SYSROOT/usr/include"; KARCH="$SYSROOT/usr/include/aarch64-linux-gnu/asm"
  sed "s#/usr/#$SYSROOT/usr/#g" "$SPECS_IN" > "$TC/musl-gcc.specs.in"
else
  SPECS_IN=/usr/lib/x86_64-linux-musl/musl-gcc.specs
  MUSL_ID="$(dpkg-query -W -f='musl-dev ${Version} linux-libc-dev ${Version}' musl-dev linux-libc-dev)"
  KSRC=/usr/include; KARCH=/usr/include/x86_64-linux-gnu/asm
  cp "$SPECS_IN" "$TC/musl-gcc.specs.in"
fi
rm -rf "$KINC"; mkdir -p "$KINC"
cp -a "$KSRC/linux" "$KSRC/asm-generic" "$KINC/"
cp -a "$KARCH" "$KINC/asm"
# Kernel headers go last, after musl's and GCC's own.
sed "s#-isystem include%s#-isystem include%s -isystem $KINC#" "$TC/musl-gcc.specs.in" > "$TC/musl-gcc.specs"
command -v "$CC_REAL" >/dev/null || die "$CC_REAL not found"
cat > "$TC/bin/musl-cc" <<EOF
#!/bin/sh
exec $CC_REAL "\$@" -specs "$TC/musl-gcc.specs"
EOF
chmod 0755 "$TC/bin/musl-cc"
CC="$TC/bin/musl-cc"
AR="${BIN_PREFIX}ar"
RANLIB="${BIN_PREFIX}ranlib"
STRIP="${BIN_PREFIX}strip"
printf '%s\n' "AR=$(command -v "$AR")" "RANLIB=$(command -v "$RANLIB")" "STRIP=$(command -v "$STRIP")" > "$TC/tools.env"

# Sections per function/data item let the final link drop what the programs never call.
CFLAGS="-O2 -pipe -fstack-protector-strong -ffunction-sections -fdata-sections"
TOOLCHAIN_ID="$($CC_REAL --version | head -n1) / $MUSL_ID / $CFLAGS"

# A CMake toolchain file for the dependencies that build with CMake (json-c, mimalloc).
cat > "$TC/deps.cmake" <<EOF
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR $CPU)
set(CMAKE_C_COMPILER "$CC")
set(CMAKE_AR "$(command -v "$AR")" CACHE FILEPATH "")
set(CMAKE_RANLIB "$(command -v "$RANLIB")" CACHE FILEPATH "")
set(CMAKE_FIND_ROOT_PATH "$PREFIX")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
EOF

# Autoconf's view of the same toolchain.
AC_ENV=(CC="$CC" AR="$AR" RANLIB="$RANLIB" CFLAGS="$CFLAGS" CPPFLAGS="-I$PREFIX/include"
        LDFLAGS="-L$PREFIX/lib" PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig" PKG_CONFIG_PATH="")
AC_HOST=(--build=x86_64-pc-linux-gnu --host="$TRIPLE")

# fresh_tree PKG: a clean copy of the pristine source to build in (the source stays reusable).
fresh_tree() {
  local b="$BUILD/$1"
  rm -rf "$b"
  cp -a "$SRC" "$b"
  cd "$b"
}

# ---------------------------------------------------------------- recipes
build_zlib() {
  fresh_tree zlib
  env CC="$CC" AR="$AR" RANLIB="$RANLIB" CFLAGS="$CFLAGS" CHOST="$TRIPLE" \
    ./configure --static --prefix="$PREFIX" --libdir="$PREFIX/lib"
  make -j"$JOBS" libz.a
  make install
}

build_openssl() {
  fresh_tree openssl
  # no-async: musl has no makecontext(). no-module/no-dso/no-engine: nothing is loaded at run
  # time, the providers live in libcrypto. --openssldir=/etc/ssl: the default CA locations
  # (/etc/ssl/certs, /etc/ssl/cert.pem) exist on Debian, Ubuntu and Alpine alike.
  env CC="$CC" AR="$AR" RANLIB="$RANLIB" CFLAGS="$CFLAGS" \
    ./Configure "$OSSL_TARGET" --prefix="$PREFIX" --libdir=lib --openssldir=/etc/ssl \
      no-shared no-tests no-dso no-engine no-module no-afalgeng no-async no-comp no-ssl3 \
      no-weak-ssl-ciphers no-legacy no-srp no-idea no-md2 no-rc5 no-ui-console no-ktls
  make -j"$JOBS" build_libs
  make install_dev
}

build_curl() {
  fresh_tree curl
  # Debian's series ends with the GnuTLS and NSS flavour patches (they rename the library);
  # Debian builds the OpenSSL flavour with both popped, and so do we.
  patch -R -p1 -s < debian/patches/99_nss.patch
  patch -R -p1 -s < debian/patches/90_gnutls.patch
  autoreconf -fi
  env "${AC_ENV[@]}" ./configure "${AC_HOST[@]}" --prefix="$PREFIX" \
    --disable-shared --enable-static --disable-dependency-tracking \
    --with-openssl="$PREFIX" --with-zlib="$PREFIX" \
    --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --with-ca-path=/etc/ssl/certs \
    --enable-http --enable-ipv6 --enable-threaded-resolver \
    --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
    --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
    --disable-gopher --disable-mqtt --disable-manual --disable-ntlm --disable-ntlm-wb \
    --disable-unix-sockets --disable-alt-svc \
    --without-libpsl --without-nghttp2 --without-nghttp3 --without-ngtcp2 --without-libidn2 \
    --without-brotli --without-zstd --without-librtmp --without-libssh2 --without-libssh \
    --without-gssapi --without-libgsasl --without-hyper --without-quiche --without-msh3
  make -j"$JOBS" -C lib
  make -C lib install
  make -C include install
  make install-pkgconfigDATA install-binSCRIPTS
}

build_libarchive() {
  fresh_tree libarchive
  # Debian's patches touch configure.ac and Makefile.am, so regenerate as Debian does.
  autoreconf -fi
  env "${AC_ENV[@]}" ./configure "${AC_HOST[@]}" --prefix="$PREFIX" \
    --disable-shared --enable-static --disable-dependency-tracking \
    --disable-bsdtar --disable-bsdcat --disable-bsdcpio --disable-acl --disable-xattr \
    --with-zlib --without-bz2lib --without-libb2 --without-iconv --without-lz4 --without-zstd \
    --without-lzma --without-lzo2 --without-cng --without-openssl --without-nettle \
    --without-mbedtls --without-xml2 --without-expat
  make -j"$JOBS" libarchive.la
  make install-libLTLIBRARIES install-includeHEADERS install-pkgconfigDATA
}

build_lmdb() {
  fresh_tree lmdb
  cd libraries/liblmdb
  # MDB_USE_ROBUST=0: musl refuses robust mutexes (ENOSYS) where the robust-futex list is
  # unavailable — qemu-user, where the arm64 build is tested, is such a place — and LMDB
  # then cannot open any environment. They only matter when several processes share an
  # environment and one dies holding the write lock; a node's chunk store has one process,
  # and LMDB re-initialises the lock region whenever a sole opener starts.
  make -j"$JOBS" CC="$CC" AR="$AR" OPT="$CFLAGS" XCFLAGS="-DMDB_USE_ROBUST=0" liblmdb.a
  install -m 0644 liblmdb.a "$PREFIX/lib/"
  install -m 0644 lmdb.h "$PREFIX/include/"
  local v
  v="$(awk '/define MDB_VERSION_MAJOR/ {a=$3} /define MDB_VERSION_MINOR/ {b=$3} /define MDB_VERSION_PATCH/ {c=$3} END {print a"."b"."c}' lmdb.h)"
  cat > "$PREFIX/lib/pkgconfig/lmdb.pc" <<EOF
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: liblmdb
Description: Lightning Memory-Mapped Database (static, musl)
Version: $v
Libs: -L\${libdir} -llmdb
Libs.private: -pthread
Cflags: -I\${includedir}
EOF
}

build_json_c() {
  fresh_tree json-c
  cmake -S . -B _build -DCMAKE_TOOLCHAIN_FILE="$TC/deps.cmake" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="$CFLAGS -DNDEBUG" -DCMAKE_INSTALL_PREFIX="$PREFIX" \
    -DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON \
    -DBUILD_TESTING=OFF -DBUILD_APPS=OFF -DDISABLE_WERROR=ON -DDISABLE_EXTRA_LIBS=ON
  cmake --build _build -j"$JOBS"
  cmake --install _build
}

build_mimalloc() {
  fresh_tree mimalloc
  # The object build (mimalloc.o) is what overrides malloc for a whole static program:
  # an object file is always linked in, so its malloc/free win over libc.a's.
  cmake -S . -B _build -DCMAKE_TOOLCHAIN_FILE="$TC/deps.cmake" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="$CFLAGS -DNDEBUG" -DCMAKE_INSTALL_PREFIX="$PREFIX" \
    -DMI_BUILD_SHARED=OFF -DMI_BUILD_STATIC=ON -DMI_BUILD_OBJECT=ON -DMI_BUILD_TESTS=OFF \
    -DMI_OVERRIDE=ON -DMI_INSTALL_TOPLEVEL=ON
  cmake --build _build -j"$JOBS"
  cmake --install _build
}

build_zstd() {
  fresh_tree zstd
  # The library only (Debian's source package `libzstd`): no legacy (pre-v0.8) frame
  # formats and no dictionary builder, neither of which a binary patch uses; static and
  # single-threaded (ZSTD_MULTITHREAD off, as lib/Makefile builds libzstd.a by default).
  local opts=(CC="$CC" AR="$AR" CFLAGS="$CFLAGS" ZSTD_LEGACY_SUPPORT=0 ZSTD_LIB_DICTBUILDER=0
              PREFIX="$PREFIX" LIBDIR="$PREFIX/lib" INCLUDEDIR="$PREFIX/include")
  make -C lib -j"$JOBS" "${opts[@]}" libzstd.a libzstd.pc
  make -C lib "${opts[@]}" install-static install-includes install-pc
}

# run_step PKG SRCPKG DEPS...: builds PKG unless its stamp matches; the key covers the
# source version, this recipe's text, the toolchain and the keys of what it links against.
declare -A KEY
run_step() {
  local pkg="$1" srcpkg="$2"; shift 2
  local fn="build_${pkg//-/_}" key dep t0
  flock 9
  fetch_source "$srcpkg"
  flock -u 9
  key="$( { echo "$srcpkg $VER"; echo "$TOOLCHAIN_ID"; declare -f "$fn";
            for dep in "$@"; do echo "$dep ${KEY[$dep]}"; done; } | sha256sum | cut -c1-32)"
  KEY[$pkg]="$key"
  if [ -f "$STAMPS/$pkg" ] && [ "$(cat "$STAMPS/$pkg")" = "$key" ]; then
    log "$pkg $VER: up to date"
    return 0
  fi
  rm -f "$STAMPS/$pkg"
  log "$pkg $VER: building (log: $LOGS/$pkg.log)"
  t0=$(date +%s)
  if ! ( set -euo pipefail; "$fn" ) >"$LOGS/$pkg.log" 2>&1; then
    tail -n 40 "$LOGS/$pkg.log" >&2
    die "$pkg failed"
  fi
  echo "$key" > "$STAMPS/$pkg"
  echo "$srcpkg $VER" > "$STAMPS/$pkg.version"
  log "$pkg $VER: done in $(( $(date +%s) - t0 )) s"
}

T_START=$(date +%s)
run_step zlib zlib
run_step openssl openssl
run_step curl curl zlib openssl
run_step libarchive libarchive zlib
run_step lmdb lmdb
run_step json-c json-c
run_step mimalloc mimalloc
run_step zstd libzstd

# Only static archives belong in the prefix: a stray .so would be picked by find_library.
find "$PREFIX" \( -name '*.so' -o -name '*.so.*' -o -name '*.la' \) -delete
cat "$STAMPS"/*.version > "$PREFIX/DEPENDENCIES.txt"
log "prefix ready: $PREFIX ($(( $(date +%s) - T_START )) s)"
