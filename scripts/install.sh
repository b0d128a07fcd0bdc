#!/usr/bin/env bash
# Everything StreamCast and its tests need on a fresh Debian machine with Swift 6: the C libraries
# it links (librdkafka, SQLite, zlib, OpenBLAS) and the outside programs the tests drive (kcat,
# curl, chromium for the dashboard test, python3 with confluent-kafka for the subscriber example).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq librdkafka-dev libsqlite3-dev zlib1g-dev libopenblas-dev libxgboost-dev \
    kcat curl chromium python3-pip util-linux >/dev/null
python3 -c 'import confluent_kafka' 2>/dev/null \
    || python3 -m pip install -q confluent-kafka 2>/dev/null \
    || python3 -m pip install -q --break-system-packages confluent-kafka
