#!/usr/bin/env bash
# A devnet of systemd hosts end to end (ARCHITECTURE.md §11): `ant-devnet up --systemd`
# with 3 hosts x 5 nodes, each host a systemd-nspawn container booting Debian 12's systemd
# from the cached root file system (scripts/systemd-host-rootfs.sh) in its own network
# namespace, ant-node installed by packaging/install.sh and run by the shipped unit.
#   1. rollout: the next version is published; once every unit runs it, `report` must pass
#      every row, the systemd ones included (restarts counted by systemd = nodes, units
#      active, 0 refused connections for the clients PINGing node 0 of each host every
#      10 ms, journald priorities). Prints the rollout time and the longest gap a client saw.
#   2. the hanging release (a build that never sends READY=1) is published: systemd's start
#      timeout kills it, the trial rolls every host back and marks it bad; `report` must
#      pass again, now with the rollback rows.
#   3. `down` leaves no container, namespace, mount or process; also after the supervisor
#      was SIGKILLed (a second, 1-host devnet).
# Needs root and systemd-nspawn; fails rather than skips without them. Label e2e;systemd.
# Usage: devnet_systemd.sh SOURCE_DIR BUILD_DIR ANT_DEVNET ANT_NODE NEXT_BIN NEXT_VERSION
#                          HANG_BIN HANG_VERSION
# shellcheck disable=SC2016,SC2034 # check() evals its single-quoted condition later
set -euo pipefail
src=$(cd "${1:?}" && pwd)
build=$(cd "${2:?}" && pwd)
devnet=$(realpath "${3:?}")
node=$(realpath "${4:?}")
next=$(realpath "${5:?}")
next_v=${6:?}
hang=$(realpath "${7:?}")
hang_v=${8:?}
[ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root"; exit 1; }
command -v systemd-nspawn >/dev/null || { echo "FAIL: systemd-nspawn missing (systemd-container)"; exit 1; }

t_test=$(date +%s)
rootfs=$("$src/scripts/systemd-host-rootfs.sh" "$build")
work=$(mktemp -d)
dir="$work/devnet"
fails=0
check() { if eval "$1"; then echo "ok   $2"; else echo "FAIL $2"; fails=$((fails + 1)); fi; }
dn() { "$devnet" "$1" --dir "$dir" "${@:2}"; }

cleanup() {
  if [ -f "$dir/devnet.json" ]; then dn down >/dev/null 2>&1 || true; fi
  if [ "$fails" -ne 0 ] && [ -d "$dir" ]; then
    tail -30 "$dir/supervisor.log" 2>/dev/null || true
    tail -20 "$dir"/hosts/h0/logs/install.log 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# 1. Up: short window and check interval, as the other devnet end-to-end tests.
t0=$(date +%s.%N)
dn up --systemd --rootfs "$rootfs" --packaging "$src/packaging" --binary "$node" \
  --hosts 3 --nodes-per-host 5 --rollout-window 20s --check-interval 3s --release-ttl 10s \
  --trial-period 5s --no-serve
echo "up: $(echo "$(date +%s.%N) - $t0" | bc) s"
status=$(dn status)
echo "$status"
id=$(sed -n 's/.*"net_id": *"\([0-9a-f]*\)".*/\1/p' "$dir/devnet.json")
check '[ -n "$id" ]' "devnet.json names the namespaces' id ($id)"
check '[ "$(grep -c "ant-node@[0-9]* active " <<<"$status")" = 15 ]' "15 units active after up (READY=1)"

t0=$(date +%s.%N)
dn publish --binary "$next" --release-version "$next_v"
dn watch --release-version "$next_v" --timeout 240s --quiet
rollout=$(echo "$(date +%s.%N) - $t0" | bc)
sleep 2 # the clients write their counts every second
rc=0
dn report >"$work/report1.md" || rc=$?
cat "$work/report1.md"
gap=$(python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
print(next(x["counts"]["longest_gap_ms"] for x in r["rows"] if x["check"].startswith("0 refused")))' \
  "$dir/report.json")
echo "rollout of $next_v to 15 nodes on 3 systemd hosts: ${rollout} s; longest client-visible gap: ${gap} ms"
check '[ "$rc" = 0 ]' "report after the rollout: every row PASS"
check 'grep -q "restarts counted by systemd = nodes.*PASS" "$work/report1.md"' "restarts counted by systemd = nodes"
check 'grep -q "0 refused connections across the rollout.*PASS" "$work/report1.md"' "0 refused connections"

# 2. The hanging release: rolled back on every host, marked bad.
t0=$(date +%s)
dn publish --binary "$hang" --release-version "$hang_v"
rc=1
for _ in $(seq 1 36); do
  sleep 5
  rc=0
  dn report >"$work/report2.md" 2>/dev/null || rc=$?
  if [ "$rc" = 0 ] && grep -q "hanging release rolled back" "$work/report2.md"; then break; fi
  rc=1
done
cat "$work/report2.md"
echo "hanging release $hang_v: rolled back and reported in $(( $(date +%s) - t0 )) s"
check '[ "$rc" = 0 ]' "report after the hanging release: every row PASS, rollback rows included"
dn status | tail -17

# 3. Down leaves nothing behind.
dn down
check '! ip netns list | grep -q "antdn-$id"' "no network namespace left"
check '! grep -q -e "$dir" -e "antdn-$id" /proc/mounts' "no mount left"
check '! ls "$dir"/hosts/h*/container.pid >/dev/null 2>&1' "no container left (pid files gone)"
check '! pgrep -f "systemd-nspawn.*$rootfs" >/dev/null' "no systemd-nspawn left"
check '[ "$(dn status | grep -c "container running")" = 0 ]' "status: every container down"
if command -v machinectl >/dev/null && [ -d /run/systemd/system ]; then
  check '! machinectl list --no-legend | grep -q "adn$id"' "machinectl lists no container"
fi

# 4. A crashed supervisor: its containers keep running; `down` still finds and kills them.
rm -rf "$dir"
dn up --systemd --rootfs "$rootfs" --packaging "$src/packaging" --binary "$node" \
  --hosts 1 --nodes-per-host 2 --no-serve >/dev/null
id=$(sed -n 's/.*"net_id": *"\([0-9a-f]*\)".*/\1/p' "$dir/devnet.json")
leader=$(cut -d' ' -f2 "$dir/hosts/h0/container.pid")
kill -KILL "$(cat "$dir/supervisor.pid")"
dn down
gone=no
for _ in $(seq 1 50); do
  if ! [ -d "/proc/$leader" ] || [ "$(awk '{print $3}' "/proc/$leader/stat" 2>/dev/null)" = Z ]; then
    gone=yes; break
  fi
  sleep 0.1
done
check '[ "$gone" = yes ]' "after a SIGKILLed supervisor, down killed the container (init $leader)"
check '! ip netns list | grep -q "antdn-$id"' "no network namespace left after the crash"
check '! pgrep -f "systemd-nspawn.*$rootfs" >/dev/null' "no systemd-nspawn left after the crash"
# The ping client (a fork of the supervisor, same command line) goes with the supervisor.
left=yes
for _ in $(seq 1 50); do
  pgrep -f -- "--dir $dir( |\$)" >/dev/null || { left=no; break; }
  sleep 0.1
done
check '[ "$left" = no ]' "no ping client left after the crash"
echo "devnet_systemd took $(( $(date +%s) - t_test )) s"
[ "$fails" -eq 0 ] || { echo "$fails checks failed"; exit 1; }
echo "all checks passed"
