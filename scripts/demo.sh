#!/usr/bin/env bash
# The main job of README.md: installs what is missing, then runs the devnet demo
# (scripts/devnet-demo.sh): two versions of ant-node built, a fleet of 3 hosts x 5 nodes
# behind a local TLS release server, the next version published, signed and rolled out,
# the report printed, everything stopped. Exit status 0 only if every report row passed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec ./scripts/devnet-demo.sh "$@"
