#!/usr/bin/env bash
# Installs what presenceagg needs to build, test and run, when it is missing. Idempotent; run as
# root (or with sudo available). Used by the README's commands and by CI.
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config cmake clang libclang-rt-14-dev
  librabbitmq-dev libcurl4-openssl-dev rapidjson-dev libcli11-dev doctest-dev
  libbenchmark-dev libcpp-httplib-dev rabbitmq-server ca-certificates gnuplot-nox
)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# Node.js and npm may come from outside Debian's packages; only install them when absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm projects used by tests and examples (the official ably SDK).
root=$(cd "$(dirname "$0")/.." && pwd)
for dir in "$root/tests/e2e" "$root/examples/js-consumer"; do
  if [ -f "$dir/package.json" ] && [ ! -d "$dir/node_modules" ]; then
    echo "npm ci in ${dir#"$root"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
