#!/bin/sh
# SPDX-License-Identifier: MIT
# Ensures a local RabbitMQ is installed and listening on 127.0.0.1:5672, then prints the AMQP URL
# the integration tests use (export it as PRESENCEAGG_TEST_AMQP_URL). Idempotent and safe to run
# concurrently: a lock serialises installing and starting. Exits non-zero if the broker is not up
# within about 90 s.
set -eu

host=127.0.0.1
port=5672
deadline_s=90
lock=/tmp/presenceagg-rabbitmq.lock

port_open() {
    # Prefer ss (iproute2); fall back to bash's /dev/tcp.
    if command -v ss >/dev/null 2>&1; then
        ss -ltn "sport = :$port" 2>/dev/null | grep -q ":$port"
    else
        bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
    fi
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

exec 9>"$lock"
if command -v flock >/dev/null 2>&1; then flock -w "$deadline_s" 9; fi

if ! command -v rabbitmq-server >/dev/null 2>&1; then
    echo "rabbitmq.sh: installing rabbitmq-server" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server >&2
fi

if ! port_open; then
    echo "rabbitmq.sh: starting rabbitmq-server" >&2
    # Close the lock fd: the detached broker would otherwise hold the lock for its lifetime.
    as_root rabbitmq-server -detached >&2 9>&- || true
fi

start=$(date +%s)
until port_open; do
    if [ $(( $(date +%s) - start )) -ge "$deadline_s" ]; then
        echo "rabbitmq.sh: port $port not open after ${deadline_s}s" >&2
        exit 1
    fi
    sleep 1
done

remaining=$(( deadline_s - ($(date +%s) - start) ))
[ "$remaining" -lt 10 ] && remaining=10
if ! as_root rabbitmqctl await_startup --timeout "$remaining" >/dev/null 2>&1 9>&-; then
    echo "rabbitmq.sh: rabbitmqctl await_startup failed" >&2
    exit 1
fi

echo "amqp://guest:guest@$host:$port/"
