#!/usr/bin/env bash
# One real host under real systemd (ARCHITECTURE.md §11): a systemd-nspawn container booting
# Debian 12's systemd from the cached root file system (scripts/systemd-host-rootfs.sh), with
# its own network namespace, where packaging/install.sh installs ant-node and the shipped
# unit unchanged. Then, checked against systemd itself:
#   - both instances become active (Type=notify: only after READY=1), STATUS= shows the port,
#     the watchdog and fd store settings are in force, the installer's users and dirs work
#     with every hardening directive of the unit;
#   - a node killed with SIGKILL is restarted by systemd (NRestarts=1, new MainPID) onto the
#     listening socket kept in its fd store: a client connecting and PINGing every 10 ms
#     through the restart sees 0 refused connections (its longest gap is printed);
#   - journald keeps the node's priorities (`Node started` at info, nothing at err);
#   - the hanging release (a build that passes validation, counts its trial attempt and then
#     never sends READY=1): systemd's start timeout kills each start, three attempts, and the
#     fourth start rolls the host back and marks the version bad; both instances serve the
#     old version again. TimeoutStartSec is shortened to 5 s by a drop-in for the test (the
#     shipped unit itself stays unchanged);
#   - `install.sh uninstall` stops and removes the units and keeps the node data.
# Needs root, systemd-nspawn (systemd-container) and, the first time, debootstrap and the
# Debian mirror. Fails rather than skips without them. Label e2e;systemd.
# Usage: nspawn_host.sh SOURCE_DIR BUILD_DIR ANT_NODE_BINARY HANGING_BINARY
# shellcheck disable=SC2016,SC2034 # check() evals its single-quoted condition later
set -euo pipefail
src=$(cd "${1:?}" && pwd)
build=$(cd "${2:?}" && pwd)
bin=$(realpath "${3:?}")
hang=$(realpath "${4:?}")
[ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root"; exit 1; }
command -v systemd-nspawn >/dev/null || { echo "FAIL: systemd-nspawn missing (systemd-container)"; exit 1; }

rootfs=$("$src/scripts/systemd-host-rootfs.sh" "$build")
work=$(mktemp -d)
machine="ant-e2e-$$"
nspawn=''
fails=0
check() { if eval "$1"; then echo "ok   $2"; else echo "FAIL $2"; fails=$((fails + 1)); fi; }

cleanup() {
  if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
    kill -TERM "$nspawn" 2>/dev/null || true # nspawn powers the container off
    for _ in $(seq 1 300); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$nspawn" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

systemd-nspawn -D "$rootfs" --ephemeral --register=no --keep-unit --private-network -b \
  --machine="$machine" --bind-ro="$src/packaging:/mnt/src/packaging" \
  --bind-ro="$src/docs:/mnt/src/docs" --bind-ro="$bin:/mnt/ant-node" \
  --bind-ro="$hang:/mnt/ant-node-hang" \
  >"$work/console.log" 2>&1 &
nspawn=$!

leader=''
for _ in $(seq 1 300); do
  for p in $(pgrep -P "$nspawn" 2>/dev/null); do
    [ "$(cat /proc/"$p"/comm 2>/dev/null)" = systemd ] && leader=$p
  done
  [ -n "$leader" ] && break
  sleep 0.1
done
[ -n "$leader" ] || { cat "$work/console.log"; echo "FAIL: the container did not boot"; exit 1; }
inside() { nsenter -t "$leader" -a "$@"; }
# PID 1 exists before its bus does: ask until it answers, then until boot is over.
state=''
for _ in $(seq 1 1200); do
  state=$(inside systemctl is-system-running 2>&1 || true)
  case "$state" in running|degraded|maintenance|stopping|offline) break ;; esac
  sleep 0.1
done
check '[ "$state" = running ]' "Debian 12 systemd boots in the container ($state)"

inside /mnt/src/packaging/install.sh install --binary /mnt/ant-node --instances 2 --base-port 13000
active=''
for _ in $(seq 1 600); do
  active=$(inside systemctl is-active ant-node@1 ant-node@2 | tr '\n' ' ' || true)
  [ "$active" = "active active " ] && break
  sleep 0.1
done
check '[ "$active" = "active active " ]' "both instances active after READY=1 ($active)"
show() { inside systemctl show -p "$2" --value "$1"; }
check '[ "$(show ant-node@1 Type)" = notify ]' "Type=notify"
check '[[ "$(show ant-node@1 StatusText)" == "Serving on port 13000"* ]]' "STATUS= $(show ant-node@1 StatusText)"
check '[ "$(show ant-node@2 WatchdogUSec)" = 30s ]' "watchdog armed ($(show ant-node@2 WatchdogUSec))"
check '[ "$(show ant-node@1 NRestarts)" = 0 ]' "no restart yet"
pid1=$(show ant-node@1 MainPID)

# A crash under load: systemd restarts it, the socket waits in the fd store meanwhile.
nsenter -t "$leader" -n python3 "$src/tests/systemd/ping_loop.py" 13000 "$work/stop" \
  >"$work/ping.json" &
pinger=$!
sleep 1
inside systemctl kill --kill-whom=main --signal=SIGKILL ant-node@1
restarted=''
for _ in $(seq 1 300); do
  if [ "$(show ant-node@1 NRestarts)" = 1 ] && [ "$(inside systemctl is-active ant-node@1)" = active ]; then
    restarted=yes; break
  fi
  sleep 0.1
done
sleep 1
touch "$work/stop"
wait "$pinger" || true
ping=$(cat "$work/ping.json")
echo "client across the restart: $ping"
check '[ "$restarted" = yes ]' "systemd restarted the killed node (NRestarts=1)"
check '[ "$(show ant-node@1 MainPID)" != "$pid1" ]' "new MainPID"
check '[[ "$ping" == *"\"refused\": 0,"* ]]' "0 refused connections across the restart"
check '[[ "$ping" != *"\"ok\": 0,"* ]]' "PINGs answered"
journal() { inside journalctl --no-pager "$@"; }
# jgrep TEXT JOURNALCTL-ARGS...: whole output first (grep -q would cut journalctl's pipe).
jgrep() { local out; out=$(journal "${@:2}"); grep -qF -- "$1" <<<"$out"; }
check 'jgrep "Taking over listening socket" -u ant-node@1' "successor took the socket from the fd store"
check 'jgrep "Node started" -u ant-node@1 -p info..info' "journald: Node started at priority info"
check '[ -z "$(journal -o cat -u ant-node@2 -p err)" ]' "journald: nothing at err for a healthy node"
check '! jgrep "Cannot store more fds" -u ant-node@1' "no second copy offered to the fd store"
echo "live: $(inside systemd-analyze security ant-node@1.service 2>/dev/null | tail -1)"

# The hanging release, installed the way the upgrade's replacer leaves a host: the old
# binary as .backup, the new one in place; then both nodes restart onto it.
good=$(inside /opt/ant-node/bin/ant-node --version)
bad=$(inside /mnt/ant-node-hang --version)
inside mkdir -p /etc/systemd/system/ant-node@.service.d
printf '[Service]\nTimeoutStartSec=5\n' > "$work/timeout.conf"
inside sh -c 'cat > /etc/systemd/system/ant-node@.service.d/zz-test-timeout.conf' < "$work/timeout.conf"
inside systemctl daemon-reload
before1=$(show ant-node@1 NRestarts)
inside sh -c 'cd /opt/ant-node/bin && cp -p ant-node ant-node.backup &&
  cp /mnt/ant-node-hang .ant-node.new && chown ant:ant .ant-node.new && chmod 0755 .ant-node.new &&
  mv .ant-node.new ant-node'
t0=$(date +%s)
inside systemctl kill --kill-whom=main --signal=SIGKILL ant-node@1 ant-node@2
back=''
for _ in $(seq 1 1800); do
  if [ "$(inside /opt/ant-node/bin/ant-node --version 2>/dev/null)" = "$good" ] &&
     [ "$(inside systemctl is-active ant-node@1 ant-node@2 | tr '\n' ' ')" = "active active " ] &&
     [ "$(show ant-node@1 NRestarts)" -ge $((before1 + 4)) ]; then
    back=yes; break
  fi
  sleep 0.1
done
echo "hanging release ($bad): rolled back in $(( $(date +%s) - t0 )) s, NRestarts ant-node@1=$(show ant-node@1 NRestarts) ant-node@2=$(show ant-node@2 NRestarts)"
check '[ "$back" = yes ]' "hanging release rolled back: $good on disk, both instances active"
check 'inside grep -qx "${bad#ant-node }" /opt/ant-node/bin/ant-node.bad-versions' "${bad#ant-node } marked bad for the host"
check 'jgrep "Trial boot started version=${bad#ant-node } attempt=3" -u ant-node@1' "three trial attempts counted"
check 'jgrep "Rolling back failed upgrade" -u ant-node@1 -u ant-node@2' "the trial rolled the binary back"
check 'jgrep "start operation timed out" -u ant-node@1' "systemd's start timeout killed the hang"
[ "$fails" -eq 0 ] || { journal -u ant-node@1 -u ant-node@2 | tail -60 || true; }
inside rm -rf /etc/systemd/system/ant-node@.service.d
inside systemctl daemon-reload

inside /mnt/src/packaging/install.sh uninstall
check '[ "$(inside systemctl is-active ant-node@1 || true)" != active ]' "uninstall stopped the instances"
check 'inside test -s /var/lib/ant-node/1/node_identity.key' "uninstall kept the node identity"
check '! inside test -e /opt/ant-node/bin/ant-node' "uninstall removed the binary"

[ "$fails" -eq 0 ] || { echo "$fails checks failed"; tail -50 "$work/console.log"; exit 1; }
echo "all checks passed"
