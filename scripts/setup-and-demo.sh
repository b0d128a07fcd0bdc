#!/usr/bin/env bash
# Fresh Debian machine → running demo: system packages, build, `streamcast demo` on the embedded broker.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq librdkafka-dev libsqlite3-dev zlib1g-dev libopenblas-dev kcat python3-pip >/dev/null
swift build -c release --product streamcast
exec .build/release/streamcast demo "$@"
