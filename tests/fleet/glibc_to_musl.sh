#!/usr/bin/env bash
# DEV-03 analogue (issue 7 §3): a devnet of HOSTS x NODES nodes running the glibc build of
# ant-node at version V upgrades to the static musl + mimalloc build published as V+1.
# Passes only if `ant-devnet report` passes every row (its binaries row expects the
# published static linking on every host) and, checked here as well, every node process
# at the end runs V+1 from an executable with no PT_INTERP and no DT_NEEDED that is not
# ` (deleted)`.
# Environment (set by tests/fleet/CMakeLists.txt): ANT_DEVNET_BIN, ANT_NODE_BIN (glibc, V),
# ANT_MUSL_NEXT_BIN (musl, V+1), ANT_NEXT_VERSION; optional ANT_FLEET_HOSTS/NODES.
# shellcheck disable=SC2034  # read by say() in lib.sh
TEST_NAME=fleet_glibc_to_musl
source "$(dirname "$0")/lib.sh"

devnet=${ANT_DEVNET_BIN:?} glibc=${ANT_NODE_BIN:?} musl=${ANT_MUSL_NEXT_BIN:?}
next=${ANT_NEXT_VERSION:?}
hosts=${ANT_FLEET_HOSTS:-3} nodes=${ANT_FLEET_NODES:-5}
# The devnet demo's timings (the report's uniformity row is calibrated on them), with a
# shorter trial so the whole run stays near three minutes.
window=60 interval=10 ttl=30 trial=15

[ -x "$musl" ] || missing "the musl ant-node $next ($musl)"
why=$(static_elf "$musl") || die "the release to roll out is not static: $why"
if static_elf "$glibc" >/dev/null; then
  die "$glibc is static: the fleet must start on the dynamic glibc build"
fi
current=$("$glibc" --version | sed -n 's/^ant-node //p')
[ -n "$current" ] && [ "$current" != "$next" ] || die "glibc ant-node reports '$current'"

dir=$(mktemp -d /tmp/ant-fleet-glibc-musl.XXXXXX)
up=0
cleanup() {
  local rc=$?
  if [ "$up" = 1 ]; then "$devnet" down --dir "$dir" >/dev/null 2>&1 || rc=1; fi
  if [ "$rc" = 0 ]; then rm -rf "$dir"; else say "devnet files kept in $dir"; fi
  exit "$rc"
}
trap cleanup EXIT

t0=$(date +%s)
say "up: $hosts hosts x $nodes nodes on glibc ant-node $current"
"$devnet" up --dir "$dir" --binary "$glibc" --hosts "$hosts" --nodes-per-host "$nodes" \
  --rollout-window "$window" --check-interval "$interval" --release-ttl "$ttl" \
  --trial-period "$trial" >/dev/null
up=1
say "publish: musl static ant-node $next"
"$devnet" publish --dir "$dir" --binary "$musl" --release-version "$next" >/dev/null
"$devnet" watch --dir "$dir" --release-version "$next" --quiet \
  --timeout $((window + ttl + interval + 120)) || die "not every node reached $next"

# The report judges a finished rollout: wait until every node confirmed its trial boot.
total=$((hosts * nodes))
deadline=$(( $(date +%s) + trial + 60 ))
while :; do
  confirmed=0
  for log in "$dir"/hosts/h*/logs/n*.log; do
    if grep -q "Trial boot confirmed.*version=$next\b" "$log"; then
      confirmed=$((confirmed + 1))
    fi
  done
  [ "$confirmed" = "$total" ] && break
  [ "$(date +%s)" -lt "$deadline" ] || die "$confirmed/$total nodes confirmed $next"
  sleep 1
done

rc=0
"$devnet" report --dir "$dir" >"$dir/report.out" || rc=$?
cat "$dir/report.out"
[ "$rc" = 0 ] || die "ant-devnet report exited $rc (a row failed)"
python3 - "$dir/report.json" "$next" <<'PY' || die "report.json check failed"
import json, sys
r = json.load(open(sys.argv[1]))
rows = r["rows"]
bad = [x["check"] for x in rows if x["status"] != "PASS"]
if not r["all_pass"] or bad or len(rows) < 9:
    sys.exit(f"rows not PASS: {bad} ({len(rows)} rows, all_pass={r['all_pass']})")
if r["devnet"]["final_version"] != sys.argv[2]:
    sys.exit(f"final version {r['devnet']['final_version']}")
b = [x for x in rows if x["check"].startswith("binaries on the new version")]
if len(b) != 1 or "static" not in b[0]["expect"]:
    sys.exit(f"the binaries row does not expect static linking: {b}")
PY

# Independently of the report: every live node process runs a static executable.
mapfile -t pids < <(python3 -c 'import json,sys; print("\n".join(str(n["pid"]) for n in json.load(open(sys.argv[1]))["nodes"]))' "$dir/state.json")
[ "${#pids[@]}" = "$total" ] || die "state.json lists ${#pids[@]} nodes, want $total"
for pid in "${pids[@]}"; do
  exe=$(readlink "/proc/$pid/exe") || die "node pid $pid is not running"
  case "$exe" in *" (deleted)") die "pid $pid runs a deleted executable: $exe" ;; esac
  why=$(static_elf "/proc/$pid/exe") || die "pid $pid ($exe): $why"
  ver=$("/proc/$pid/exe" --version)
  [ "$ver" = "ant-node $next" ] || die "pid $pid ($exe) is '$ver'"
done
say "PASS: $total nodes moved from glibc $current to static musl $next in $(( $(date +%s) - t0 )) s"
