#!/usr/bin/env bash
# The online feedback experiment (docs/online.md): train one model on the simulated level-shift
# log, then serve it with the error memory on and off over the test log and report recovery,
# post-shift wQL and volatility.
# Usage: [SEED=1] [TRAIN=train2] scripts/feedback-experiment.sh NAME [TRAIN OPTIONS...], e.g. NAME=L8R8 --context 8 --memory 8.
# Needs the logs of docs/online.md in $DIR (default /tmp/fb): train2.jsonl.gz, test.jsonl.gz, test.drift.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
SC=.build/release/streamcast
DIR=${DIR:-/tmp/fb}
OUT=${OUT:-/tmp/fb2}
name=$1; shift
mkdir -p "$OUT"
swift build -c release --product streamcast >/dev/null
[ -f "$OUT/$name.safetensors" ] || $SC train --replay "$DIR/${TRAIN:-train2}.jsonl.gz" --period week --horizons 4 --epochs 15 --patience 15 \
    --examples 20000 --seed "${SEED:-1}" --calendar Config/calendar.toml "$@" --out "$OUT/$name.safetensors" 2>"$OUT/train-$name.log"
variants=memory,no-memory
case " $* " in *" no-feedback "*) variants=memory ;; esac
$SC online-eval --replay "$DIR/test.jsonl.gz" --drift "$DIR/test.drift.jsonl" --model "$OUT/$name.safetensors" \
    --period week --horizons 4 --window-length 32 --variants $variants --forecasters "" --curves-out "$OUT/curves-$name.csv" 2>&1 | grep "shifted.*wQL"
