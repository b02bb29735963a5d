#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end performance harness: one command builds a release tree, starts RabbitMQ, runs
# e2e-bench (bare consumer vs presence-agg drain, scale, bootstrap, churn), plots with gnuplot
# and writes docs/benchmarks-e2e.md.
#
#   bash tests/bench/e2e/run.sh [--quick] [--phases drain,scale,publish-memory,bootstrap,churn] [--no-doc]
#
# --quick runs small loads (a minute or two) and does not touch docs/ unless --doc is given.
# BUILD_DIR (default build-bench) selects the release build directory; STANDIN a different
# ably-standin binary (default: the one in the build directory).
set -euo pipefail

root=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
quick=0
write_doc=1
doc_forced=0
phases=drain,scale,publish-memory,bootstrap,churn
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --phases) phases=$2; shift ;;
        --no-doc) write_doc=0 ;;
        --doc) doc_forced=1 ;;
        *) echo "usage: $0 [--quick] [--phases LIST] [--no-doc|--doc]" >&2; exit 2 ;;
    esac
    shift
done
if [ "$quick" = 1 ] && [ "$doc_forced" = 0 ]; then write_doc=0; fi

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
cd "$root"

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --buildtype=release -Dbenchmarks=enabled >&2
fi
ninja -C "$build" -j2 cli/presence-agg tests/support/standin/ably-standin \
    tests/support/amqp/amqp-bare-consumer tests/bench/e2e/e2e-bench >&2

url=$(sh tests/support/rabbitmq.sh)
case "$url" in */) url="${url}%2f" ;; esac

out=$build/e2e-results
rm -rf "$out"
mkdir -p "$out"
args=(--build-root "$build" --out "$out" --amqp-url "$url" --phases "$phases")
[ "$quick" = 1 ] && args+=(--quick)
[ -n "${STANDIN:-}" ] && args+=(--standin "$STANDIN")
"$build/tests/bench/e2e/e2e-bench" "${args[@]}"

plotdir=$out
[ "$write_doc" = 1 ] && plotdir=$root/docs/plots
mkdir -p "$plotdir"
plots_note=""
if ! command -v gnuplot >/dev/null 2>&1; then
    plots_note="gnuplot is not installed: no plots were drawn (apt-get install gnuplot-nox)."
    echo "run.sh: $plots_note" >&2
elif [ ! -s "$out/scale.tsv" ] || [ ! -s "$out/churn.tsv" ]; then
    plots_note="Plots need the scale and churn phases; not drawn in this run."
    echo "run.sh: $plots_note" >&2
else
    gnuplot -e "datadir='$out'; plotdir='$plotdir'" tests/bench/e2e/plots.gp
    echo "run.sh: plots in $plotdir" >&2
fi

[ "$write_doc" = 1 ] || exit 0
doc=$root/docs/benchmarks-e2e.md
{
    echo "# End-to-end benchmarks"
    echo
    echo "Produced by \`bash tests/bench/e2e/run.sh\` (phases: $phases) on $started, commit"
    echo "\`$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\` plus the working tree. The harness"
    echo "(tests/bench/e2e/) builds a release tree (\`meson setup build-bench --buildtype=release"
    echo "-Dbenchmarks=enabled\`), starts RabbitMQ with tests/support/rabbitmq.sh, and runs the real"
    echo "\`presence-agg run\` against it and the local Ably stand-in (tests/support/standin), on loopback."
    echo "Micro-benchmarks of the library are in [benchmarks.md](benchmarks.md)."
    echo
    echo "## Machine"
    echo
    echo "- $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "- $(awk '/MemTotal/ {printf "%.1f GB RAM", $2/1048576}' /proc/meminfo), $(uname -sr)"
    echo "- load average at start: $load_at_start (other jobs share the machine: figures are noisy;"
    echo "  compare ratios within one run, not absolute numbers across runs)"
    echo "- RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || echo '?'),"
    echo "  librabbitmq $(dpkg-query -W -f '${Version}' librabbitmq-dev 2>/dev/null || echo '?')"
    echo
    echo "## Stand-in artefacts"
    echo
    echo "The packaged cpp-httplib behind tests/support/standin (0.11.4) has two behaviours that"
    echo "dominate timings and that Ably does not share: (1) it answers with brotli at its default"
    echo "quality whenever the client accepts it (presence-agg's libcurl accepts every encoding):"
    echo "~0.7-4 s per 100-channel batch presence answer, so a bootstrap of 2,000 channels takes"
    echo "~28 s instead of ~0.3 s; (2) without TCP_NODELAY every answer on a kept-alive connection"
    echo "waits ~40 ms for a delayed ACK, so each publish request costs ~43 ms (a 100,000-member"
    echo "snapshot of ~430 parts takes ~18 s per view). Unless the stand-in binary line below names"
    echo "the stock build, the figures used a stand-in with \`set_tcp_nodelay(true)\` and JSON answers"
    echo "sent as \`application/json; charset=utf-8\` (which cpp-httplib does not compress); set"
    echo "STANDIN=/path/to/ably-standin to choose the binary."
    echo
    cat "$out/results.md"
    cat "$root/tests/bench/e2e/reading.md"
    echo
    echo "## Plots"
    echo
    if [ -n "$plots_note" ]; then
        echo "$plots_note"
    else
        echo "![throughput against state size](plots/e2e-throughput-vs-state.png)"
        echo "![memory against members](plots/e2e-memory-vs-members.png)"
        echo "![tick cost against changes](plots/e2e-tick-vs-changes.png)"
        echo "![bytes published against churn](plots/e2e-bytes-vs-churn.png)"
    fi
    echo
    echo "## How to run"
    echo
    echo '```sh'
    echo 'bash tests/bench/e2e/run.sh            # everything, ~10 minutes; rewrites this file'
    echo 'bash tests/bench/e2e/run.sh --quick    # small loads, prints tables only'
    echo 'bash tests/bench/e2e/run.sh --phases drain,bootstrap'
    echo '```'
    echo
    echo "Raw data (TSV) and child logs are left in build-bench/e2e-results/."
} > "$doc"
echo "run.sh: wrote $doc" >&2
