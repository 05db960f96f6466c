#!/usr/bin/env bash
# The devnet demo: build ant-node twice (this version and the next patch version, each in its
# own build dir), start a devnet of 3 hosts x 5 nodes behind a local TLS release server,
# publish the next version, show the rollout as it happens, print the report, and stop
# everything (also on failure or Ctrl-C). Exit status: 0 only if every report row passed.
#
# Options:
#   --staged   steer the rollout with the signed cursor instead (ARCHITECTURE.md §10,
#              OPERATIONS.md "Steering a rollout"): published at cursor 0 (nobody moves),
#              then 20 %, a halt, 50 % while halted (nobody moves), a resume, 100 %; then
#              a yanked release published after it (never installed). Shorter timings by
#              default (window 20 s, check 5 s, TTL 10 s); the report adds a row per
#              cursor step (upgraded against candidates), the halt and the yank. Builds
#              a third ant-node (the yanked one); about 8 minutes.
#
# Environment (all optional):
#   ANT_DEMO_BUILD   build root (default: <repo>/build/devnet-demo)
#   ANT_DEMO_DIR     devnet dir (default: a fresh mktemp dir; kept for the logs and report)
#   ANT_DEMO_HOSTS, ANT_DEMO_NODES, ANT_DEMO_WINDOW, ANT_DEMO_INTERVAL, ANT_DEMO_TTL
set -euo pipefail

staged=0
for arg in "$@"; do
    case "$arg" in
    --staged) staged=1 ;;
    *) echo "usage: $0 [--staged]" >&2; exit 2 ;;
    esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${ANT_DEMO_BUILD:-$root/build/devnet-demo}
hosts=${ANT_DEMO_HOSTS:-3}
nodes=${ANT_DEMO_NODES:-5}
if [[ $staged -eq 1 ]]; then
    window=${ANT_DEMO_WINDOW:-20}
    interval=${ANT_DEMO_INTERVAL:-5}
    ttl=${ANT_DEMO_TTL:-10}
else
    window=${ANT_DEMO_WINDOW:-60}
    interval=${ANT_DEMO_INTERVAL:-10}
    ttl=${ANT_DEMO_TTL:-30}
fi
jobs=${ANT_DEMO_JOBS:-2}
t0=$(date +%s)

step() { printf '\n==> [%3ds] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }

devnet=""
dir=""
child=""
# Long steps run in the background and are waited for, so a signal runs the traps at once
# instead of after the step (bash defers traps while a foreground command runs).
run() {
    "$@" &
    child=$!
    local rc=0
    wait "$child" || rc=$?
    child=""
    return "$rc"
}
cleanup() {
    local rc=$?
    if [[ -n "$child" ]]; then
        kill "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    if [[ -n "$devnet" && -n "$dir" && -f "$dir/devnet.json" ]]; then
        step "stopping the devnet"
        "$devnet" down --dir "$dir" || rc=1
    fi
    [[ -n "$dir" ]] && echo "devnet files (logs, report, SVG) kept in $dir"
    printf '\ndemo %s in %ds\n' "$([[ $rc -eq 0 ]] && echo passed || echo FAILED)" \
        "$(( $(date +%s) - t0 ))"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "building ant-node and ant-devnet (this version)"
cmake -S "$root" -B "$build/current" -DCMAKE_BUILD_TYPE=Release -DANT_BUILD_TESTS=OFF >/dev/null
run cmake --build "$build/current" --target ant-node ant-devnet -j"$jobs" >/dev/null
node_bin=$build/current/tools/ant-node/ant-node
devnet=$build/current/tools/ant-devnet/ant-devnet
current=$("$node_bin" --version | sed -n 's/^ant-node //p')
IFS=. read -r major minor patch <<<"${current%%-*}"
next="$major.$minor.$((patch + 1))"

step "building ant-node $next (the release to roll out)"
cmake -S "$root" -B "$build/next" -DCMAKE_BUILD_TYPE=Release -DANT_BUILD_TESTS=OFF \
    -DANT_VERSION="$next" >/dev/null
run cmake --build "$build/next" --target ant-node -j"$jobs" >/dev/null
next_bin=$build/next/tools/ant-node/ant-node
"$next_bin" --version
if [[ $staged -eq 1 ]]; then
    bad=$major.$minor.$((patch + 2))
    step "building ant-node $bad (the release to publish and yank)"
    cmake -S "$root" -B "$build/yanked" -DCMAKE_BUILD_TYPE=Release -DANT_BUILD_TESTS=OFF \
        -DANT_VERSION="$bad" >/dev/null
    run cmake --build "$build/yanked" --target ant-node -j"$jobs" >/dev/null
    bad_bin=$build/yanked/tools/ant-node/ant-node
    "$bad_bin" --version
fi

dir=${ANT_DEMO_DIR:-$(mktemp -d /tmp/ant-devnet-demo.XXXXXX)}
step "starting $hosts hosts x $nodes nodes of ant-node $current in $dir"
"$devnet" up --dir "$dir" --binary "$node_bin" --hosts "$hosts" --nodes-per-host "$nodes" \
    --rollout-window "$window" --check-interval "$interval" --release-ttl "$ttl" \
    --trial-period 15   # also prints the live fleet page's URL
"$devnet" status --dir "$dir"

step "publishing ant-node $next (signed with the devnet key)"
"$devnet" publish --dir "$dir" --binary "$next_bin" --release-version "$next"

if [[ $staged -eq 1 ]]; then
    # A step reaches a node within TTL + one check; its candidates then restart within the
    # window (and a trial); `watch` shows the events meanwhile and returns at its timeout
    # unless every node is on the release.
    reach=$((ttl + interval + 5))
    settle=$((reach + window + 20))
    cursor_step() { # what, seconds to watch, ant-devnet rollout arguments...
        local what=$1 secs=$2
        shift 2
        step "$what"
        "$devnet" rollout --dir "$dir" "$@"
        run "$devnet" watch --dir "$dir" --release-version "$next" --timeout "$secs" || true
    }
    cursor_step "cursor 0: the release is listed, nobody starts" "$reach" \
        --release-version "$next" --cursor 0
    cursor_step "cursor 20 %: exactly the nodes the signed seed selects upgrade" "$settle" \
        --cursor 20
    cursor_step "halt: every node still on $current stops where it is" "$reach" --halt
    cursor_step "cursor 50 % while halted: nobody moves" "$((reach + window))" --cursor 50
    cursor_step "resume: the 50 % candidates upgrade" "$settle" --resume
    step "cursor 100 %: everybody"
    "$devnet" rollout --dir "$dir" --cursor 100
    run "$devnet" watch --dir "$dir" --release-version "$next" --timeout $((settle + 120))

    step "publishing $bad and yanking it at once: never installed"
    "$devnet" publish --dir "$dir" --binary "$bad_bin" --release-version "$bad"
    "$devnet" yank --dir "$dir" --release-version "$bad"
    run "$devnet" watch --dir "$dir" --release-version "$bad" --timeout "$((reach + window))" \
        --quiet || true
else
    step "rollout over a ${window}s window (one line per node event)"
    run "$devnet" watch --dir "$dir" --release-version "$next" --timeout $((window + ttl + interval + 120))
fi

step "report"
set +e
"$devnet" report --dir "$dir"
report_rc=$?
set -e
echo "report files: $dir/report.md $dir/report.json $dir/restarts.svg $dir/fleet.html (the fleet page, data inside)"
exit "$report_rc"
