#!/usr/bin/env bash
# packaging/install.sh on a file-system tree (--root), as root: the user, the binary owned by
# it, the unit, one env file per instance with its port, 0700 state dirs, enabled instances;
# a second run adds instances and keeps an operator's edited env file; uninstall removes the
# binary and the unit but keeps the node data, the env files and the user; --purge removes
# those too; bad arguments and a binary that is not ant-node are refused.
# Usage: install_test.sh ANT_NODE_BINARY
# shellcheck disable=SC2016,SC2034 # check() evals its single-quoted condition later
set -euo pipefail
bin=${1:?usage: install_test.sh ANT_NODE_BINARY}
here=$(cd "$(dirname "$0")/../.." && pwd)
inst="$here/packaging/install.sh"
[ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root (useradd, chown)"; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
fails=0
check() { if eval "$1"; then echo "ok   $2"; else echo "FAIL $2"; fails=$((fails + 1)); fi; }

mkdir -p "$root/etc"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
echo 'root:*:19000:0:99999:7:::' > "$root/etc/shadow"
echo 'root:*::' > "$root/etc/gshadow"
chmod 0600 "$root/etc/shadow" "$root/etc/gshadow"

"$inst" install --root "$root" --binary "$bin" --instances 3 --base-port 13000 >/dev/null 2>&1
uid=$(awk -F: '$1 == "ant" { print $3 }' "$root/etc/passwd")
check '[ -n "$uid" ]' "system user ant created in the tree"
check '[ "$(stat -c %u:%a "$root/opt/ant-node/bin/ant-node")" = "$uid:755" ]' "binary owned by ant, 0755"
check '[ "$(stat -c %u:%a "$root/opt/ant-node/bin")" = "$uid:755" ]' "binary dir owned by ant"
check '[ "$(stat -c %u "$root/opt/ant-node")" = 0 ]' "/opt/ant-node itself stays root's"
check 'cmp -s "$here/packaging/systemd/ant-node@.service" "$root/etc/systemd/system/ant-node@.service"' "unit installed unchanged"
check '[ "$(cat "$root/etc/ant-node/2.env")" = "ANT_LISTEN=0.0.0.0:13001" ]' "instance 2 listens on base+1"
for i in 1 2 3; do
  check '[ "$(stat -c %u:%a "$root/var/lib/ant-node/'$i'")" = "$uid:700" ]' "state dir $i 0700 ant"
  check '[ -L "$root/etc/systemd/system/multi-user.target.wants/ant-node@'$i'.service" ]' "ant-node@$i enabled"
done
check '[ "$(stat -c %u:%a "$root/var/lib/ant-node/upgrades")" = "$uid:700" ]' "shared cache dir 0700 ant"

echo 'ANT_LISTEN=0.0.0.0:19999' > "$root/etc/ant-node/2.env"
"$inst" install --root "$root" --binary "$bin" --instances 4 --base-port 13000 >/dev/null 2>&1
check '[ "$(cat "$root/etc/ant-node/2.env")" = "ANT_LISTEN=0.0.0.0:19999" ]' "rerun keeps an edited env file"
check '[ "$(cat "$root/etc/ant-node/4.env")" = "ANT_LISTEN=0.0.0.0:13003" ]' "rerun adds instance 4"
check '[ "$(grep -c "^ant:" "$root/etc/passwd")" = 1 ]' "rerun does not add the user twice"

echo identity > "$root/var/lib/ant-node/1/node_identity.key"
"$inst" uninstall --root "$root" >/dev/null 2>&1
check '[ ! -e "$root/opt/ant-node" ]' "uninstall removes /opt/ant-node"
check '[ ! -e "$root/etc/systemd/system/ant-node@.service" ]' "uninstall removes the unit"
check '[ -z "$(ls "$root/etc/systemd/system/multi-user.target.wants" 2>/dev/null)" ]' "uninstall disables every instance"
check '[ -f "$root/var/lib/ant-node/1/node_identity.key" ]' "uninstall keeps node data"
check '[ -f "$root/etc/ant-node/1.env" ] && grep -q "^ant:" "$root/etc/passwd"' "uninstall keeps env files and user"
"$inst" uninstall --root "$root" --purge >/dev/null 2>&1
check '[ ! -e "$root/var/lib/ant-node" ] && [ ! -e "$root/etc/ant-node" ]' "--purge removes data and env files"
check '! grep -q "^ant:" "$root/etc/passwd"' "--purge removes the user"

refused() { "$inst" "$@" >/dev/null 2>&1 && return 1; return 0; }
check 'refused install --root "$root" --binary "$bin" --instances 0' "refuses 0 instances"
check 'refused install --root "$root" --binary "$bin" --instances 2 --base-port 65535' "refuses ports past 65535"
check 'refused install --root "$root" --binary /bin/true' "refuses a binary that is not ant-node"
check 'refused install --root "$root" --binary "$bin" --user "x;rm"' "refuses a strange user name"
check 'refused install --root "$root" --binary "$bin" --listen-host "1.2.3.4;x"' "refuses a strange listen host"
check 'refused frobnicate' "refuses an unknown action"
[ "$fails" -eq 0 ] || { echo "$fails checks failed"; exit 1; }
echo "all checks passed"
