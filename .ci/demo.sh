#!/usr/bin/env bash
# One command from a fresh machine to the demo: installs what is missing, builds, and runs
# `presence-agg demo` (no account, no configuration, no external service). Extra arguments go to
# the demo, e.g. `bash .ci/demo.sh --duration 30s --clients 1000`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash .ci/setup.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
meson compile -C build presence-agg >/dev/null
exec build/cli/presence-agg demo "$@"
