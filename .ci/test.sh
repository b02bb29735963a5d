#!/usr/bin/env bash
# The README's test command: installs what is missing, starts RabbitMQ, builds with warnings as
# errors, runs every test (unit, integration against the real broker and the local Ably
# stand-in, fuzz corpora, end-to-end tests of the real CLI), and ends with "N passed, N failed".
#   BUILD_DIR   build directory (default build-test)
#   MESON_ARGS  extra `meson setup` arguments (e.g. sanitizers)
#   SUITES      space-separated meson test suites (default: all)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build-test}

bash .ci/setup.sh
amqp_url=$(bash tests/support/rabbitmq.sh)
export PRESENCEAGG_TEST_AMQP_URL="$amqp_url"

if [ ! -f "$build/build.ninja" ]; then
  # shellcheck disable=SC2086
  meson setup "$build" -Dwerror=true ${MESON_ARGS:-} >/dev/null
fi
meson compile -C "$build"

suite_args=()
for s in ${SUITES:-}; do suite_args+=(--suite "$s"); done
set +e
meson test -C "$build" --print-errorlogs --num-processes 2 "${suite_args[@]}"
status=$?
set -e
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): passed += 1
    elif r == "SKIP": skipped += 1
    else: failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status
