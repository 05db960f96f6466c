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
#   - `install.sh uninstall` stops and removes the units and keeps the node data.
# Needs root, systemd-nspawn (systemd-container) and, the first time, debootstrap and the
# Debian mirror. Fails rather than skips without them. Label e2e;systemd.
# Usage: nspawn_host.sh SOURCE_DIR BUILD_DIR ANT_NODE_BINARY
# shellcheck disable=SC2016,SC2034 # check() evals its single-quoted condition later
set -euo pipefail
src=$(cd "${1:?}" && pwd)
build=$(cd "${2:?}" && pwd)
bin=$(realpath "${3:?}")
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
journal() { inside journalctl --no-pager -o cat "$@"; }
check 'journal -u ant-node@1 | grep -q "Taking over listening socket"' "successor took the socket from the fd store"
check 'journal -u ant-node@1 -p info..info | grep -q "Node started"' "journald: Node started at priority info"
check '[ -z "$(journal -u ant-node@2 -p err)" ]' "journald: nothing at err for a healthy node"
echo "live: $(inside systemd-analyze security ant-node@1.service 2>/dev/null | tail -1)"

inside /mnt/src/packaging/install.sh uninstall
check '[ "$(inside systemctl is-active ant-node@1 || true)" != active ]' "uninstall stopped the instances"
check 'inside test -s /var/lib/ant-node/1/node_identity.key' "uninstall kept the node identity"
check '! inside test -e /opt/ant-node/bin/ant-node' "uninstall removed the binary"

[ "$fails" -eq 0 ] || { echo "$fails checks failed"; tail -50 "$work/console.log"; exit 1; }
echo "all checks passed"
