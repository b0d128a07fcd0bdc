#!/usr/bin/env bash
# Fresh Debian machine → running demo: install what StreamCast and its tests need, build, then
# `streamcast demo` (embedded broker, the bundled sample log, the bundled neural model, the
# dashboard). Ctrl-C stops the demo; `swift test` passes afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
swift build -c release --product streamcast
exec .build/release/streamcast demo "$@"
