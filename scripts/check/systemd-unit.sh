#!/usr/bin/env bash
# Checks the shipped unit packaging/systemd/ant-node@.service with systemd's own tools,
# without installing anything on this host: an alternate root holds the distribution's
# unit directory, the unit, and the built binary at /opt/ant-node/bin/ant-node.
#   systemd-analyze verify    must exit 0 and print nothing (unknown keys, bad values,
#                             a missing ExecStart binary all print);
#   systemd-analyze security  overall exposure must be at most THRESHOLD tenths (default
#                             20, i.e. 2.0 on systemd's 0-10 scale); the score is printed.
# Self-check: a copy with a misspelt key must make verify complain, so a verify that
# silently checks nothing cannot pass.
# Usage: systemd-unit.sh ANT_NODE_BINARY [THRESHOLD]
set -euo pipefail
bin=${1:?usage: systemd-unit.sh ANT_NODE_BINARY [THRESHOLD]}
threshold=${2:-20}
here=$(cd "$(dirname "$0")/../.." && pwd)
unit="$here/packaging/systemd/ant-node@.service"
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing (package systemd)"; exit 1; }

sysunits=
for d in /usr/lib/systemd/system /lib/systemd/system; do
  [ -f "$d/sysinit.target" ] && { sysunits=$d; break; }
done
[ -n "$sysunits" ] || { echo "no systemd unit directory on this host"; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/opt/ant-node/bin"
cp -a "$sysunits" "$root/usr/lib/systemd/system"
install -m 0755 "$bin" "$root/opt/ant-node/bin/ant-node"

check_verify() {
  install -m 0644 "$1" "$root/etc/systemd/system/ant-node@.service"
  systemd-analyze verify --man=false --root="$root" ant-node@1.service 2>&1
}

out=$(check_verify "$unit") || { echo "$out"; echo "FAIL: systemd-analyze verify exited non-zero"; exit 1; }
if [ -n "$out" ]; then
  echo "$out"; echo "FAIL: systemd-analyze verify complained"; exit 1
fi
echo "verify: clean"

sed 's/^WatchdogSec=/WatchdogSecc=/' "$unit" > "$root/broken.service"
out=$(check_verify "$root/broken.service" || true)
if ! grep -q "WatchdogSecc" <<<"$out"; then
  echo "$out"; echo "FAIL: self-check: verify did not notice a misspelt key"; exit 1
fi
install -m 0644 "$unit" "$root/etc/systemd/system/ant-node@.service"

cmd=(systemd-analyze security --offline=true --root="$root" --threshold="$threshold" ant-node@1.service)
set +e
sec=$("${cmd[@]}" 2>&1)
rc=$?
set -e
score=$(grep -o 'Overall exposure level for ant-node@1.service: [0-9.]* [A-Z]*' <<<"$sec" || true)
echo "security: ${score:-no score} (systemd-analyze security --offline=true --root=ROOT ant-node@1.service; --threshold=$threshold)"
if [ "$rc" -ne 0 ] || [ -z "$score" ]; then
  echo "$sec"; echo "FAIL: exposure above --threshold=$threshold (tenths) or no score"; exit 1
fi
