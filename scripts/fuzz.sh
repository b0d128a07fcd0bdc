#!/usr/bin/env bash
# Coverage-guided fuzzing of the event decoder and the replay reader with libFuzzer + AddressSanitizer.
#   scripts/fuzz.sh [RUNS] [extra libFuzzer flags...]      (default RUNS = 1000000)
# Builds `streamcast-fuzz` with -sanitize=fuzzer,address (linked with lld: SwiftPM names the entry
# point itself, and gold trips over libFuzzer's own main), seeds a corpus from Tests/FuzzCorpus and a
# simulated log, and runs. A crash leaves the input in .build/fuzz-artifacts/; replay it with the
# plain build: `swift build --product streamcast-fuzz && .build/debug/streamcast-fuzz FILE`, fix,
# and add the file to Tests/FuzzCorpus (every file there is replayed by the test suite).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"; shift || true
toolset=.build/fuzz-toolset.json
mkdir -p .build
cat > "$toolset" <<JSON
{ "schemaVersion": "1.0",
  "swiftCompiler": { "extraCLIOptions": ["-sanitize=fuzzer,address", "-DFUZZING"] },
  "linker": { "path": "$(dirname "$(readlink -f "$(command -v swift)")")/ld.lld" } }
JSON
swift build -c release --product streamcast-fuzz --build-path .build/fuzz --toolset "$toolset" 2>&1 \
  | grep -v "Cannot export local symbol" | tail -3
corpus=.build/fuzz-corpus; artifacts=.build/fuzz-artifacts
mkdir -p "$corpus" "$artifacts"
cp Tests/FuzzCorpus/* "$corpus/"
if [ ! -f "$corpus/simulated.jsonl" ]; then
  swift build --product streamcast >/dev/null
  .build/debug/streamcast simulate --products 3 --periods 5 --seed 1 --out "$corpus/simulated-all.jsonl" >/dev/null
  head -c 3000 "$corpus/simulated-all.jsonl" > "$corpus/simulated.jsonl"; rm "$corpus/simulated-all.jsonl"
fi
cat > .build/fuzz.dict <<'DICT'
"\"type\""
"\"product\""
"\"ts\""
"\"units\""
"\"views\""
"\"price\""
"\"effective\""
"\"promo\""
"\"category\""
"\"sale\""
"\"page_view\""
"\"price\""
"null"
"true"
"false"
"1e999"
"\\u00e9"
"\\ud83d\\ude00"
"2024-02-29T23:59:59.123456+01:00"
DICT
# Temporary replay files on tmpfs when there is one (4x the rate).
[ -d /dev/shm ] && export TMPDIR=/dev/shm
export SWIFT_BACKTRACE=enable=no
started=$(date +%s)
.build/fuzz/release/streamcast-fuzz "$corpus" -runs="$runs" -max_len=4096 -dict=.build/fuzz.dict \
  -artifact_prefix="$artifacts/" -print_final_stats=1 "$@" 2>&1 | grep -E "^#[0-9]+[[:space:]]+(pulse|DONE)|^stat::|ERROR|Fatal|crash|Done"
echo "fuzz: $runs inputs in $(( $(date +%s) - started )) s"
