#!/usr/bin/env bash
# Streaming verification of a 1 GiB file: `ant-keygen verify` against
# `openssl dgst -shake256` on the same file, interleaved (openssl, ant, openssl, ant, ...)
# so both see the same machine state, medians over RUNS runs each. The file is read once
# beforehand so both measure page-cache reads, and both hash every byte once with SHAKE256
# (ant-keygen absorbs the file into mu, ARCHITECTURE.md §3). Peak RSS comes from /usr/bin/time
# (Debian package `time`). Targets (issue 2 §5): throughput >= 0.95x openssl, peak RSS of
# ant-keygen <= 16 MiB.
#
#   bench/verify-file/run.sh             # builds ant-keygen in build/bench (RelWithDebInfo)
#   BUILD_DIR=build/default RUNS=7 SIZE_MIB=1024 DATA_DIR=/var/tmp bench/verify-file/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${BUILD_DIR:-build/bench}"
RUNS="${RUNS:-5}"
SIZE_MIB="${SIZE_MIB:-1024}"
DATA_DIR="${DATA_DIR:-${TMPDIR:-/tmp}}"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "verify-file: $TIME is missing (apt-get install time)" >&2; exit 2; }

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j2 --target ant-keygen >/dev/null
KG="$(pwd)/$BUILD_DIR/tools/ant-keygen/ant-keygen"

work=$(mktemp -d "$DATA_DIR/ant-verify-file.XXXXXX")
trap 'rm -rf "$work"' EXIT
file="$work/ant-node-cli-linux-x64.tar.gz"
echo "command: $0  (BUILD_DIR=$BUILD_DIR RUNS=$RUNS SIZE_MIB=$SIZE_MIB DATA_DIR=$DATA_DIR)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg); $(openssl version)"
echo "preparing a ${SIZE_MIB} MiB random file in $work"
# AES-CTR keystream: incompressible bytes at memory speed (openssl ends on SIGPIPE, hence
# the process substitution, whose status set -o pipefail does not see).
head -c "$((SIZE_MIB * 1024 * 1024))" \
  < <(openssl enc -aes-128-ctr -nosalt -pass pass:ant-verify-file-bench -in /dev/zero 2>/dev/null) >"$file"
[ "$(stat -c %s "$file")" -eq "$((SIZE_MIB * 1024 * 1024))" ] || { echo "verify-file: could not make the file" >&2; exit 1; }
"$KG" generate --out-dir "$work/keys" \
  --seed-hex 0000000000000000000000000000000000000000000000000000000000000001 >/dev/null
"$KG" sign --key "$work/keys/release-signing-key.secret" --input "$file" --output "$file.sig" \
  --release-version 0.2.0 --platform linux-x64 >/dev/null
cat "$file" >/dev/null

verify_cmd=("$KG" verify --key "$work/keys/release-signing-key.pub" --input "$file"
            --signature "$file.sig" --release-version 0.2.0 --platform linux-x64)
openssl_cmd=(openssl dgst -shake256 "$file")
echo "ant:     ${verify_cmd[*]}"
echo "openssl: ${openssl_cmd[*]}"

# Runs "$@" under /usr/bin/time; prints "<wall s> <user+sys CPU s> <max RSS KiB>". The CPU
# time is reported beside the wall time because this machine may be shared: other loads
# stretch wall time far more than the CPU time of the hashing itself.
measure() {
  local t0 t1
  t0=$(date +%s.%N)
  "$TIME" -f '%U %S %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
    echo "verify-file: command failed: $*" >&2; cat "$work/out" "$work/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  tail -n1 "$work/time" | awk -v a="$t0" -v b="$t1" '{ printf "%.6f %.2f %s\n", b - a, $1 + $2, $3 }'
}

: >"$work/results"
for i in $(seq 1 "$RUNS"); do
  read -r ow oc orss < <(measure "${openssl_cmd[@]}")
  read -r aw ac arss < <(measure "${verify_cmd[@]}")
  grep -qx 'Signature is VALID' "$work/out" || { echo "verify-file: ant-keygen did not say VALID" >&2; exit 1; }
  printf 'run %d: openssl %.3f s wall, %.2f s CPU, %d KiB   ant-keygen verify %.3f s wall, %.2f s CPU, %d KiB\n' \
    "$i" "$ow" "$oc" "$orss" "$aw" "$ac" "$arss"
  echo "$ow $oc $orss $aw $ac $arss" >>"$work/results"
done

awk -v mib="$SIZE_MIB" '
  { ow[NR] = $1; oc[NR] = $2; orss[NR] = $3; aw[NR] = $4; ac[NR] = $5; arss[NR] = $6 }
  function median(a, n,   b, i, j, t) {
    for (i = 1; i <= n; i++) b[i] = a[i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (b[j] + 0 < b[i] + 0) { t = b[i]; b[i] = b[j]; b[j] = t }
    return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
  }
  END {
    n = NR; mow = median(ow, n); maw = median(aw, n); moc = median(oc, n); mac = median(ac, n)
    maxr = 0; for (i = 1; i <= n; i++) if (arss[i] + 0 > maxr) maxr = arss[i]
    ratio = mow / maw
    printf "median over %d runs: openssl %.3f s = %.0f MiB/s; ant-keygen verify %.3f s = %.0f MiB/s (wall)\n", n, mow, mib / mow, maw, mib / maw
    for (i = 1; i <= n; i++) pr[i] = ow[i] / aw[i]
    printf "CPU time (user+sys) medians: openssl %.2f s, ant-keygen %.2f s, ratio %.3fx\n", moc, mac, moc / mac
    printf "median of per-pair wall ratios (each openssl run / the ant run right after it): %.3fx\n", median(pr, n)
    printf "throughput ant/openssl (wall): %.3fx (target >= 0.95x: %s)\n", ratio, (ratio >= 0.95 ? "meets" : "BELOW")
    printf "peak RSS ant-keygen: median %.1f MiB, max %.1f MiB (target <= 16 MiB: %s); openssl median %.1f MiB\n", median(arss, n) / 1024, maxr / 1024, (maxr <= 16384 ? "meets" : "ABOVE"), median(orss, n) / 1024
    exit (ratio >= 0.95 && maxr <= 16384) ? 0 : 1
  }' "$work/results"
