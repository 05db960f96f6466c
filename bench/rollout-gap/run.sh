#!/usr/bin/env bash
# What a client sees of a devnet rollout (ARCHITECTURE.md §11): one client per host connects
# and PINGs one node every 10 ms (tests/systemd/ping_loop.py) from before the release is
# published until every node runs it. Prints, for each client, answered PINGs, refused
# connections, dropped ones and the longest gap between two answers, then the rollout time,
# how many nodes took their listener back from the supervisor's fd store, and the report's
# overall verdict. Needs the `default` build and the next version from devnet_build_next
# (ctest --preset default -R devnet_build_next).
# Usage: bench/rollout-gap/run.sh [BUILD_DIR]     (HOSTS, NODES, WINDOW_S to change the fleet)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/default}
hosts=${HOSTS:-3} nodes=${NODES:-5} window=${WINDOW_S:-60}
dv="$build/tools/ant-devnet/ant-devnet"
next="$build/devnet-next/tools/ant-node/ant-node"
if [ ! -x "$dv" ] || [ ! -x "$next" ]; then
  echo "build ant-devnet and run devnet_build_next first" >&2; exit 2
fi
version=$("$next" --version | cut -d' ' -f2)
d=$(mktemp -d /tmp/ant-rollout-gap-XXXXXX)/dn
cleanup() { touch "$d/stop"; wait || true; "$dv" down --dir "$d" >/dev/null 2>&1 || true; rm -rf "$(dirname "$d")"; }
trap cleanup EXIT

echo "command: HOSTS=$hosts NODES=$nodes WINDOW_S=$window bench/rollout-gap/run.sh $build"
"$dv" up --dir "$d" --binary "$build/tools/ant-node/ant-node" --hosts "$hosts" \
  --nodes-per-host "$nodes" --rollout-window "$window" --check-interval 10 --release-ttl 30 \
  --trial-period 15 >/dev/null
sleep 3
ports=$(python3 -c "import json,sys; c=json.load(open(sys.argv[1])); n=int(sys.argv[2]); print(' '.join(str(c['node_ports'][h*n]) for h in range(int(sys.argv[3]))))" \
  "$d/devnet.json" "$nodes" "$hosts")
i=0
for p in $ports; do
  python3 "$root/tests/systemd/ping_loop.py" "$p" "$d/stop" >"$d/ping$i.json" &
  i=$((i + 1))
done
t0=$(date +%s.%N)
"$dv" publish --dir "$d" --binary "$next" --release-version "$version" >/dev/null
"$dv" watch --dir "$d" --release-version "$version" --timeout 600 --quiet >/dev/null || true
t1=$(date +%s.%N)
sleep 2
touch "$d/stop"
wait
i=0
for p in $ports; do echo "client of host $i (port $p): $(cat "$d/ping$i.json")"; i=$((i + 1)); done
echo "rollout, publish to all $((hosts * nodes)) nodes on $version: $(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$t0" "$t1") s"
echo "nodes that took the listener back: $(grep -l 'Taking over listening socket' "$d"/hosts/h*/logs/*.log | wc -l)"
"$dv" report --dir "$d" >/dev/null || true
grep '^Overall' "$d/report.md" || true
