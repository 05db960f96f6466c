#!/usr/bin/env bash
# Page load time of the devnet's fleet page with 300 nodes (issue 17 §3): make_fleet.py
# writes a synthetic devnet of HOSTS x NODES nodes after a finished rollout (logs in the exact
# event format, no processes), `ant-devnet serve` serves it, curl times the JSON, and
# load_time.py loads the page REPS times in headless Chromium over the DevTools protocol and
# reports when it had rendered every node (page clock and driver clock), medians.
#
#   nice -n 10 bench/fleet-page/run.sh
#   DEVNET=build/default/tools/ant-devnet/ant-devnet HOSTS=20 NODES=15 REPS=7 bench/fleet-page/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DEVNET=${DEVNET:-build/default/tools/ant-devnet/ant-devnet}
HOSTS=${HOSTS:-20}
NODES=${NODES:-15}
REPS=${REPS:-7}
[ -x "$DEVNET" ] || { echo "fleet-page bench: $DEVNET is missing (build the default preset)" >&2; exit 2; }
echo "command: $0 (DEVNET=$DEVNET HOSTS=$HOSTS NODES=$NODES REPS=$REPS nice=$(nice))"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load at start $(cut -d' ' -f1-3 /proc/loadavg); $(chromium --version 2>/dev/null)"
work=$(mktemp -d)
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
python3 bench/fleet-page/make_fleet.py "$work/d" "$HOSTS" "$NODES"
"$DEVNET" serve --dir "$work/d" >"$work/serve.out" &
serve_pid=$!
for _ in $(seq 1 200); do grep -q '^fleet page:' "$work/serve.out" 2>/dev/null && break; sleep 0.05; done
url=$(sed -n 's/^fleet page: //p' "$work/serve.out")
for i in 1 2 3; do
  curl -s -o /dev/null -w "  GET /api/fleet.json: %{http_code}, %{size_download} bytes, %{time_total} s\n" "${url}api/fleet.json"
done
/usr/bin/python3 bench/fleet-page/load_time.py "$url" "$REPS"
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
