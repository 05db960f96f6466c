#!/usr/bin/env bash
# Soak A/B (issue 7 §3, the Rust ant-node PR's DEV-01/02 analogue): two identical devnets
# side by side, arm A running the glibc build of ant-node (system malloc) and arm B the
# static musl build (mimalloc), under the same upload load for SOAK_SECONDS. Each arm gets
# its own uploader that loops over fresh 10, 25 and 100 MB files (`ant-node put
# --devnet-manifest`); both uploaders use the same seeds, so both arms store the same
# bytes in the same order. Every SAMPLE_S seconds sample.py reads each node's RssAnon,
# RssFile and CPU ticks from /proc. At the end the supervisor's state gives restarts and
# crashes (no release is published, so no restart is an upgrade), and report.py writes
# the markdown table and an SVG of RSS over time.
#
#   nice -n 10 bench/soak-ab/run.sh
#   SOAK_SECONDS=600 SOAK_HOSTS=2 SOAK_NODES=5 SAMPLE_S=5 SOAK_DISTINCT=16 \
#     GLIBC_BUILD=build/default MUSL_BUILD=build/musl-x64 OUT=build/proofs-soak \
#     bench/soak-ab/run.sh
#
# GLIBC_BUILD must hold tools/ant-node/ant-node and tools/ant-devnet/ant-devnet (the
# default preset builds both); MUSL_BUILD tools/ant-node/ant-node (release-musl-x64). The
# glibc ant-devnet runs both devnets and the glibc ant-node is the upload client of both,
# so only the nodes differ between the arms. Outputs in OUT: soak.md, soak.svg,
# samples.csv, uploads-<arm>.log, the devnets' logs (devnet dirs are kept until the next
# run with the same OUT; their chunk stores are deleted at the end).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_HOSTS=${SOAK_HOSTS:-2}
SOAK_NODES=${SOAK_NODES:-5}
SAMPLE_S=${SAMPLE_S:-5}
SIZES_MB=${SIZES_MB:-"10 25 100"}
SOAK_DISTINCT=${SOAK_DISTINCT:-16}
GLIBC_BUILD=$(cd "${GLIBC_BUILD:-build/default}" && pwd)
MUSL_BUILD=$(cd "${MUSL_BUILD:-build/musl-x64}" && pwd)
OUT=${OUT:-build/proofs-soak}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

glibc_node=$GLIBC_BUILD/tools/ant-node/ant-node
musl_node=$MUSL_BUILD/tools/ant-node/ant-node
devnet=$GLIBC_BUILD/tools/ant-devnet/ant-devnet
for f in "$glibc_node" "$musl_node" "$devnet"; do
  [ -x "$f" ] || { echo "soak-ab: $f is missing (see the header of $0)" >&2; exit 2; }
done
if readelf -lW "$musl_node" | grep -q INTERP; then
  echo "soak-ab: $musl_node is dynamically linked; arm B needs the static musl build" >&2
  exit 2
fi

cmdline="$0 (SOAK_SECONDS=$SOAK_SECONDS SOAK_HOSTS=$SOAK_HOSTS SOAK_NODES=$SOAK_NODES SAMPLE_S=$SAMPLE_S SIZES_MB='$SIZES_MB' SOAK_DISTINCT=$SOAK_DISTINCT GLIBC_BUILD=$GLIBC_BUILD MUSL_BUILD=$MUSL_BUILD OUT=$OUT nice=$(nice))"
echo "command: $cmdline"

arms=(A B)
declare -A bin=([A]="$glibc_node" [B]="$musl_node")
declare -A label=([A]="glibc + system malloc" [B]="musl static + mimalloc")
pids=()
# Stops the background jobs started here and their children (an uploader's running put):
# each job is paused first so it cannot start a new child between the two kills.
stop_jobs() {
  local p
  for p in "${pids[@]}"; do
    kill -STOP "$p" 2>/dev/null || true
    pkill -TERM -P "$p" 2>/dev/null || true
    kill -TERM "$p" 2>/dev/null || true
    kill -CONT "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  local rc=$?
  stop_jobs
  for a in "${arms[@]}"; do
    if [ -f "$OUT/devnet-$a/devnet.json" ]; then
      "$devnet" down --dir "$OUT/devnet-$a" >/dev/null 2>&1 || rc=1
      # The chunk stores are the bulk of the disk use; logs and state stay for inspection.
      find "$OUT/devnet-$a/hosts" -name '*.mdb' -delete 2>/dev/null || true
    fi
  done
  rm -rf "$OUT/work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for a in "${arms[@]}"; do
  if [ -e "$OUT/devnet-$a" ]; then
    "$devnet" down --dir "$OUT/devnet-$a" >/dev/null 2>&1 || true
    rm -rf "$OUT/devnet-$a"
  fi
done
rm -rf "$OUT/work"
mkdir -p "$OUT/work"
rm -f "$OUT"/uploads-*.log "$OUT/samples.csv"

for a in "${arms[@]}"; do
  echo "arm $a (${label[$a]}): ${bin[$a]} ($("${bin[$a]}" --version))"
  # No release is ever published: the nodes' checks find nothing, so any restart the
  # supervisor counts is a crash or a hang the node exited from, not an upgrade.
  "$devnet" up --dir "$OUT/devnet-$a" --binary "${bin[$a]}" --hosts "$SOAK_HOSTS" \
    --nodes-per-host "$SOAK_NODES" --check-interval 1h --release-ttl 1h \
    --rollout-window 60 >/dev/null
done

# One uploader per arm: fresh files per iteration (seeded by iteration and size, the same
# for both arms), each put against every node of that arm's devnet. The seeds repeat after
# SOAK_DISTINCT iterations, which bounds the disk use (each chunk is stored on 3 nodes);
# a repeated put still sends and hashes every byte, the node just finds the chunk stored.
uploader() {
  local a=$1
  local w=$OUT/work/$a i=0 size f t0 rc
  mkdir -p "$w"
  while :; do
    for size in $SIZES_MB; do
      f=$w/in-$size.bin
      head -c "$((size * 1000 * 1000))" < <(openssl enc -aes-128-ctr -nosalt \
        -pass "pass:ant-soak-$((i % SOAK_DISTINCT))-$size" -in /dev/zero 2>/dev/null) >"$f"
      t0=$EPOCHREALTIME
      rc=0
      "$glibc_node" put "$f" --devnet-manifest "$OUT/devnet-$a/devnet.json" \
        --manifest-out "$w/manifest.json" >/dev/null 2>>"$OUT/uploads-$a.err" || rc=$?
      awk -v t0="$t0" -v t1="$EPOCHREALTIME" -v a="$a" -v s="$size" -v rc="$rc" \
        'BEGIN { printf "%.3f %s %d %d %.3f\n", t1, a, s, rc, t1 - t0 }' >>"$OUT/uploads-$a.log"
      rm -f "$f"
    done
    i=$((i + 1))
  done
}

python3 "$root/bench/soak-ab/sample.py" --interval "$SAMPLE_S" --out "$OUT/samples.csv" \
  A="$OUT/devnet-A" B="$OUT/devnet-B" &
pids+=($!)
start=$(date +%s)
for a in "${arms[@]}"; do
  uploader "$a" &
  pids+=($!)
done
echo "soaking for ${SOAK_SECONDS}s (load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
sleep "$SOAK_SECONDS" &
wait $! || true
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
# Stop the uploaders (an interrupted put is not counted: only finished lines are), then the
# sampler, so the last samples and the supervisor state cover the same moment.
stop_jobs
elapsed=$(( $(date +%s) - start ))
for a in "${arms[@]}"; do cp "$OUT/devnet-$a/state.json" "$OUT/state-$a.json"; done

python3 "$root/bench/soak-ab/report.py" --out "$OUT" --seconds "$elapsed" \
  --command "$cmdline" --load "start $load_start, end $load_end; $(nproc) cores shared" \
  --arm "A=${label[A]}=${bin[A]}" --arm "B=${label[B]}=${bin[B]}"
echo "table: $OUT/soak.md  svg: $OUT/soak.svg  samples: $OUT/samples.csv"
