#!/usr/bin/env bash
# The online feedback experiment (docs/online.md) over several training seeds: trains NAME-sS for
# each seed (skipped when the model exists), serves it with the error memory on and off over the
# test log, keeps each run's JSON report, then summarises the on/off pairs
# (scripts/feedback-summary.py; AGAINST=NAME2 compares with another model). VARIANTS picks the
# two serving variants compared (online-eval --variants; the first is "on"), ETA the
# recalibration step of a +aci variant; TAG names the runs. SIM_ARGS go to `streamcast simulate`
# when DIR's logs are made (e.g. SIM_ARGS="--level-wander 0.9:0.1" DIR=/tmp/fbw).
# TRAIN=train0 trains on the same recipe without shifts; TEST=testN serves a test log of seed N.
# Usage: [SEEDS="1 2 3 4 5 6"] [TRAIN=train3|train0] [TEST=test|testN] [DIR=/tmp/fb] [OUT=/tmp/fbs] [VARIANTS=memory,no-memory] [ETA=0.05] [TAG=test] [SIM_ARGS=]
#        scripts/feedback-seeds.sh NAME [TRAIN OPTIONS...]
set -euo pipefail
cd "$(dirname "$0")/.."
SC=.build/release/streamcast
DIR=${DIR:-/tmp/fb}
OUT=${OUT:-/tmp/fbs}
TEST=${TEST:-test}
TAG=${TAG:-$TEST}
name=$1; shift
mkdir -p "$OUT" "$DIR"
swift build -c release --product streamcast >/dev/null
# The logs of docs/online.md, made once if missing (the simulator is deterministic per seed).
[ -f "$DIR/train3.jsonl.gz" ] || $SC simulate --products 1000 --periods 100 --period week --seed 24 \
    --drift level:0.2@20x1.8 --drift level:0.2@30x0.6 --drift level:0.2@40x1.7 --drift level:0.2@50x0.65 \
    --drift level:0.2@60x1.8 --drift level:0.2@70x0.6 --drift level:0.2@80x1.6 ${SIM_ARGS:-} --out "$DIR/train3.jsonl.gz"
# train0: the training recipe without its shifts; testN: the test recipe with seed N (test = seed 22).
[ "${TRAIN:-train3}" != train0 ] || [ -f "$DIR/train0.jsonl.gz" ] || $SC simulate --products 1000 --periods 100 --period week \
    --seed 24 ${SIM_ARGS:-} --out "$DIR/train0.jsonl.gz"
testseed=${TEST#test}; testseed=${testseed:-22}
[ -f "$DIR/$TEST.jsonl.gz" ] || $SC simulate --products 1000 --periods 100 --period week --seed "$testseed" \
    --drift level:0.25@70x1.8 ${SIM_ARGS:-} --out "$DIR/$TEST.jsonl.gz"
for seed in ${SEEDS:-1 2 3 4 5 6}; do
    m="$OUT/$name-s$seed"
    [ -f "$m.safetensors" ] || $SC train --replay "$DIR/${TRAIN:-train3}.jsonl.gz" --period week --horizons 4 --epochs 15 --patience 15 \
        --examples 20000 --seed "$seed" --calendar Config/calendar.toml "$@" --out "$m.safetensors" 2>"$m.train.log"
    [ -s "$m.$TAG.json" ] || $SC online-eval --replay "$DIR/$TEST.jsonl.gz" --drift "$DIR/$TEST.drift.jsonl" --model "$m.safetensors" \
        --period week --horizons 4 --window-length 32 --variants "${VARIANTS:-memory,no-memory}" --recalibration-step "${ETA:-0.05}" \
        --forecasters "" --json 2>/dev/null >"$m.$TAG.json"
done
python3 scripts/feedback-summary.py "$OUT" "$name" "$TAG" ${SEEDS:-1 2 3 4 5 6}
