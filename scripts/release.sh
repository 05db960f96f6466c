#!/usr/bin/env bash
# Builds and signs an ant-node release: the static musl programs for x86-64 and arm64
# (presets release-musl-x64 / release-musl-arm64, dependencies from scripts/musl/build-deps.sh),
# checks them (version string, fully static, mimalloc active), packs
# ant-node-cli-linux-{x64,arm64}.tar.gz with ant-node at the archive root, signs each with
# ant-keygen under the release context ant-node-release-v2:<version>:<platform>, verifies the
# signatures against the public key compiled into the binaries, and writes SHA256SUMS.
# With --metadata-dir D it also adds each archive to the signed release metadata in D
# (`ant-release add`: the next targets version, unsigned; the key holders then sign it and
# re-sign the timestamp as docs/RELEASING.md says). With it, each platform's archive also gets
# binary patches (`ant-release add --delta-from`, issue 19) from the newest DELTAS (default 3)
# earlier versions whose archives sit beside this release's output (--previous-dir P, default
# the parent of --out: P/<old version>/ant-node-cli-linux-<arch>.tar.gz) and which targets lists;
# publish the ant-node-cli-*-from-*.patch files beside the archives.
# docs/RELEASING.md is the maintainer's guide.
#
#   scripts/release.sh --version X.Y.Z[-pre] --key SECRET [--out DIR] [--arch x64|arm64|all]
#                      [--metadata-dir D] [--previous-dir P]
#   scripts/release.sh --build-only [--version V] [--arch ...]   (build + check, no packing)
#
# The secret key never enters the repository or the output: it is only passed to
# `ant-keygen sign --key`. Environment: JOBS (default: nproc), ANT_NICE (default 10),
# SOURCE_DATE_EPOCH (archive timestamps; default: the commit time of HEAD), CMAKE_ARGS
# (extra configure arguments, split on spaces).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

VERSION="" KEY="" OUT="" ARCHES="x64 arm64" BUILD_ONLY=0 METADATA="" PREVIOUS=""
PUBKEY="$ROOT/packaging/release-signing-key.pub"
usage() {
  sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --version) VERSION="${2:?}"; shift 2 ;;
    --key) KEY="${2:?}"; shift 2 ;;
    --out) OUT="${2:?}"; shift 2 ;;
    --pubkey) PUBKEY="${2:?}"; shift 2 ;;
    --arch) case "${2:?}" in x64|arm64) ARCHES="$2" ;; all) ARCHES="x64 arm64" ;; *) usage ;; esac; shift 2 ;;
    --build-only) BUILD_ONLY=1; shift ;;
    --metadata-dir) METADATA="${2:?}"; shift 2 ;;
    --previous-dir) PREVIOUS="${2:?}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "release: unknown argument $1" >&2; usage ;;
  esac
done

log() { printf 'release: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [ -z "$VERSION" ]; then
  [ "$BUILD_ONLY" = 1 ] || die "--version is required"
  VERSION="$(sed -n 's/^project(ant-node VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
fi
[[ "$VERSION" =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$ ]] ||
  die "version '$VERSION' is not X.Y.Z[-pre]"
if [ "$BUILD_ONLY" = 0 ]; then
  [ -n "$KEY" ] || die "--key SECRET is required (the release signing secret key file)"
  [ -f "$KEY" ] && [ -r "$KEY" ] || die "cannot read secret key $KEY"
  KEY="$(cd "$(dirname "$KEY")" && pwd)/$(basename "$KEY")"
  if git -C "$ROOT" ls-files --error-unmatch "$KEY" >/dev/null 2>&1; then
    die "$KEY is tracked by git: a release secret key must never be in the repository"
  fi
  [ -f "$PUBKEY" ] || die "public key $PUBKEY not found"
  OUT="${OUT:-$ROOT/build/musl-release/$VERSION}"
fi
JOBS="${JOBS:-$(nproc)}"
NICE=(nice -n "${ANT_NICE:-10}")
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}"

machine_of() { case "$1" in x64) echo "Advanced Micro Devices X86-64" ;; arm64) echo "AArch64" ;; esac; }
runner_of() { case "$1" in x64) echo "" ;; arm64) echo "qemu-aarch64-static" ;; esac; }

# ---------------------------------------------------------------- build
for arch in $ARCHES; do
  t0=$(date +%s)
  log "$arch: dependencies"
  JOBS="$JOBS" scripts/musl/build-deps.sh "$arch"
  log "$arch: configure + build (version $VERSION)"
  "${NICE[@]}" cmake --preset "release-musl-$arch" -DANT_VERSION="$VERSION" \
    -DANT_RELEASE_KEY_FILE="$PUBKEY" ${CMAKE_ARGS:-} >/dev/null
  "${NICE[@]}" cmake --build --preset "release-musl-$arch" -j "$JOBS"
  log "$arch: built in $(( $(date +%s) - t0 )) s"
done

# ---------------------------------------------------------------- check
for arch in $ARCHES; do
  dir="$ROOT/build/musl-$arch/tools"
  run="$(runner_of "$arch")"
  if [ -n "$run" ] && ! command -v "$run" >/dev/null; then
    die "$run is needed to check the $arch binaries (apt-get install qemu-user-static)"
  fi
  for p in ant-node ant-keygen ant-release ant-devnet; do
    b="$dir/$p/$p"
    [ -x "$b" ] || die "$arch: $b was not built"
    # Each output is captured before grep reads it: `cmd | grep -q` under pipefail fails
    # when grep stops early and cmd gets SIGPIPE, which a negated check would then pass.
    hdr="$(readelf -hW "$b")"; prog="$(readelf -lW "$b")"; dyn="$(readelf -dW "$b")"; sec="$(readelf -SW "$b")"
    grep -q "Machine:[[:space:]]*$(machine_of "$arch")\$" <<<"$hdr" || die "$b: wrong machine"
    ! grep -q INTERP <<<"$prog" || die "$b has a PT_INTERP: not static"
    ! grep -q '(NEEDED)' <<<"$dyn" || die "$b has DT_NEEDED entries: not static"
    ! grep -q ' \.symtab ' <<<"$sec" || die "$b is not stripped"
    got="$($run "$b" --version)"
    [ "$got" = "$p $VERSION" ] || die "$b --version printed '$got', want '$p $VERSION'"
  done
  for p in ant-node ant-devnet; do
    banner="$(MIMALLOC_VERBOSE=1 $run "$dir/$p/$p" --version 2>&1 >/dev/null)"
    grep -q "^mimalloc: option" <<<"$banner" ||
      die "$arch $p: mimalloc is not its allocator (add ant_use_allocator($p) to tools/$p/CMakeLists.txt)"
  done
  log "$arch: ant-node $(stat -c %s "$dir/ant-node/ant-node") bytes, static, stripped, mimalloc"
done
if [ "$BUILD_ONLY" = 1 ]; then
  log "build only: outputs in build/musl-{$(tr ' ' , <<<"$ARCHES")}/tools"
  exit 0
fi

# ---------------------------------------------------------------- pack, sign, sum
# Signing runs on this machine, so it uses the x86-64 ant-keygen when it was built here and
# otherwise the arm64 one under qemu.
if [ -x "$ROOT/build/musl-x64/tools/ant-keygen/ant-keygen" ]; then
  KEYGEN=("$ROOT/build/musl-x64/tools/ant-keygen/ant-keygen")
else
  KEYGEN=(qemu-aarch64-static "$ROOT/build/musl-arm64/tools/ant-keygen/ant-keygen")
fi
# The secret must belong to the public key compiled into the binaries as their trust anchor,
# or every node would reject this release.
"${KEYGEN[@]}" verify-key --key "$KEY" --pub "$PUBKEY" >/dev/null ||
  die "$KEY is not the secret half of $PUBKEY (the key ant-node trusts)"

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
assets=()
for arch in $ARCHES; do
  platform="linux-$arch"
  asset="ant-node-cli-$platform.tar.gz"
  rm -rf "$stage/$arch"; mkdir -p "$stage/$arch"
  install -m 0755 "$ROOT/build/musl-$arch/tools/ant-node/ant-node" "$stage/$arch/ant-node"
  # Reproducible archive: one member, fixed owner, mode and time, no gzip timestamp.
  tar --format=ustar --sort=name --owner=0 --group=0 --numeric-owner --mode=0755 \
      --mtime="@$SOURCE_DATE_EPOCH" -C "$stage/$arch" -cf - ant-node | gzip -9 -n > "$OUT/$asset.tmp"
  mv "$OUT/$asset.tmp" "$OUT/$asset"
  [ "$(tar -tzf "$OUT/$asset")" = "ant-node" ] || die "$asset does not hold exactly ant-node"
  "${KEYGEN[@]}" sign --key "$KEY" --input "$OUT/$asset" --output "$OUT/$asset.sig" \
    --release-version "$VERSION" --platform "$platform" >/dev/null
  "${KEYGEN[@]}" verify --key "$PUBKEY" --input "$OUT/$asset" --signature "$OUT/$asset.sig" \
    --release-version "$VERSION" --platform "$platform" >/dev/null ||
    die "$asset.sig does not verify against $PUBKEY"
  assets+=("$asset" "$asset.sig")
  log "$asset: $(stat -c %s "$OUT/$asset") bytes (ant-node $(stat -c %s "$stage/$arch/ant-node") bytes), signed"
done
(cd "$OUT" && sha256sum "${assets[@]}" > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
log "release $VERSION ready in $OUT:"
(cd "$OUT" && ls -l "${assets[@]}" SHA256SUMS) >&2

# ---------------------------------------------------------------- signed metadata
if [ -n "$METADATA" ]; then
  if [ -x "$ROOT/build/musl-x64/tools/ant-release/ant-release" ]; then
    RELTOOL=("$ROOT/build/musl-x64/tools/ant-release/ant-release")
  else
    RELTOOL=(qemu-aarch64-static "$ROOT/build/musl-arm64/tools/ant-release/ant-release")
  fi
  PREVIOUS="${PREVIOUS:-$(dirname "$OUT")}"
  listed="$("${RELTOOL[@]}" show --dir "$METADATA" --json 2>/dev/null || true)"
  [ -n "$listed" ] || listed='{}'
  for arch in $ARCHES; do
    # Patches from the newest earlier versions this host still has archives of and the
    # targets lists for this platform (a node's old binary is a listed one).
    deltas=()
    if [ -d "$PREVIOUS" ]; then
      while read -r old; do
        [ -n "$old" ] || continue
        a="$PREVIOUS/$old/ant-node-cli-linux-$arch.tar.gz"
        python3 -c 'import json,sys; t=json.loads(sys.argv[1]).get("targets",{}); sys.exit(0 if any(r["version"]==sys.argv[2] and r["platform"]==sys.argv[3] for r in t.get("releases",[])) else 1)' \
          "$listed" "$old" "linux-$arch" 2>/dev/null && deltas+=("$old=$a")
      done < <(for d in "$PREVIOUS"/*/; do
                 v="$(basename "$d")"
                 [ "$v" != "$VERSION" ] && [ -f "$d/ant-node-cli-linux-$arch.tar.gz" ] &&
                   [ "$(printf '%s\n%s\n' "$v" "$VERSION" | sort -V | tail -1)" = "$VERSION" ] &&
                   echo "$v"
               done | sort -V | tail -n "${DELTAS:-3}")
    fi
    delta_args=()
    if [ "${#deltas[@]}" -gt 0 ]; then
      delta_args=(--delta-from "$(IFS=,; echo "${deltas[*]}")" --delta-dir "$OUT")
      log "linux-$arch: patches from ${deltas[*]%%=*}"
    fi
    "${RELTOOL[@]}" add --dir "$METADATA" --release-version "$VERSION" --platform "linux-$arch" \
      --archive "$OUT/ant-node-cli-linux-$arch.tar.gz" "${delta_args[@]}" >&2 ||
      die "ant-release add refused ant-node-cli-linux-$arch.tar.gz"
  done
  (cd "$OUT" && ls ant-node-cli-*-from-*.patch 2>/dev/null | xargs -r sha256sum >> SHA256SUMS)
  log "metadata: the newest targets file in $METADATA is unsigned. Next (docs/RELEASING.md):"
  log "  ant-release sign --dir $METADATA --role targets --key T1.secret   (and a second holder)"
  log "  ant-release timestamp --dir $METADATA && ant-release sign --dir $METADATA --role timestamp --key TS.secret"
  log "  ant-release verify --dir $METADATA, then publish targets first, timestamp last"
fi
