#!/usr/bin/env bash
# The online feedback experiment on real demand (docs/online.md): for each seed,
# train a model on DATASET (scripts/accuracy.sh: also scores it on the benchmark window), serve it
# over the same log with a ×1.8 level shift injected into 25 % of the series (made once by
# scripts/inject-shift.py) with the error memory on and off, and summarise the pairs
# (scripts/feedback-summary.py; AGAINST=NAME compares with another run's "on" instead).
# Usage: [SEEDS="1 2 3"] [V=full|no-feedback] [OUT=/tmp/streamcast-accuracy] [SHIFT=/tmp/streamcast-shift]
#        [START=2011-05-06] [VARIANTS=memory+aci,no-memory+aci] [ETA=0.05]
#        scripts/shift-experiment.sh walmart|stallion TAG [TRAIN OPTIONS...]
# START: the shift's first day (default 2012-05-04 walmart, 2016-07-01 stallion); VARIANTS: the two
# online-eval variants compared (the first is "on"), ETA their recalibration step.
# e.g.   SEEDS="1 2 3" scripts/shift-experiment.sh walmart -st25 --memory-forecasts --stability 0.25
# Runs are named DATASET[-START]-V-TAG-sSEED in $SHIFT (the models in $OUT, as accuracy.sh names them).
set -euo pipefail
cd "$(dirname "$0")/.."
dataset=$1 tag=$2; shift 2
OUT=${OUT:-/tmp/streamcast-accuracy}
SHIFT=${SHIFT:-/tmp/streamcast-shift}
V=${V:-full}
case $dataset in
  walmart)  args=(--period week --horizons 4 --window-length 120); start=2012-05-04; recipe="--context 60 --patience 3" ;;
  stallion) args=(--period month --horizons 3 --window-length 60); start=2016-07-01; recipe="--context 24 --patience 25" ;;
  *) echo "shift-experiment.sh: DATASET must be walmart or stallion" >&2; exit 2 ;;
esac
mkdir -p "$SHIFT"
# The default shift keeps the names of the first runs; another start date names its log and runs.
name=$dataset; [ -z "${START:-}" ] || name=$dataset-$START
start=${START:-$start}
variants=${VARIANTS:-memory,no-memory}
[ "$variants" = memory,no-memory ] || name=$name-${variants//,/-}
for seed in ${SEEDS:-1 2 3}; do
  # The recipe the documented runs were trained with (docs/online.md), then this run's options.
  OUT=$OUT TAG=$tag TRAIN_ARGS="$recipe --epochs 25 --examples 40000 --networks 1 --minimum-steps 0 --no-season-flag --no-event-features $*" VARIANTS=$V SEEDS=$seed scripts/accuracy.sh "${BENCH:?set BENCH=the benchmark harness folder}" "${DATA:?set DATA=the datasets folder}" "$dataset"
  log=$SHIFT/$dataset-shift-$start.jsonl.gz drift=$SHIFT/$dataset-shift-$start.drift.jsonl
  [ -f "$log" ] || python3 scripts/inject-shift.py "$OUT/$dataset.jsonl.gz" "$log" "$drift" 0.25 1.8 "${start}T00:00:00Z"
  run=$SHIFT/$name-$V$tag-s$seed.shift.json
  [ -s "$run" ] || .build/release/streamcast online-eval --replay "$log" --drift "$drift" \
      --model "$OUT/$dataset-$V$tag-s$seed.safetensors" "${args[@]}" --variants "$variants" --recalibration-step "${ETA:-0.05}" \
      --forecasters "" --json 2>/dev/null >"$run"
done
python3 scripts/feedback-summary.py "$SHIFT" "$name-$V$tag" shift ${SEEDS:-1 2 3}
