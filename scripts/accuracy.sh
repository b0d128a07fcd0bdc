#!/usr/bin/env bash
# Accuracy on the real datasets (docs/accuracy.md): convert, train each ablation, backtest through
# the streaming pipeline, score with the benchmark harness's scorer (score.py; needs pandas).
# Usage: scripts/accuracy.sh BENCH_DIR DATA_DIR [DATASET...] (default: stallion walmart carparts);
# BENCH_DIR holds the harness's score.py, DATA_DIR the downloaded datasets (docs/datasets.md). SEEDS="1 2 3".
# With several seeds each variant is also scored as an ensemble (quantile average over its seeds);
# VARIANTS="full" trains only the full model. Models already trained are reused.
# TRAIN_ARGS="--channels 32 --decoder 32" passes options to `streamcast train`; TAG="-c32" names those models.
set -euo pipefail
cd "$(dirname "$0")/.."
SC=.build/release/streamcast
[ $# -ge 2 ] || { echo "usage: scripts/accuracy.sh BENCH_DIR DATA_DIR [DATASET...]" >&2; exit 2; }
BENCH=$(cd "$1" && pwd); DATA=$(cd "$2" && pwd); shift 2
OUT=${OUT:-/tmp/streamcast-accuracy}
SEEDS=${SEEDS:-1}
mkdir -p "$OUT"
swift build -c release --product streamcast >/dev/null
for d in "${@:-stallion walmart carparts}"; do
  for dataset in $d; do
    case $dataset in
      walmart)  period=week;  h=4; win=120; shift=4 ;;
      stallion) period=month; h=3; win=60;  shift=0 ;;
      carparts) period=month; h=3; win=60;  shift=0 ;;
    esac
    log=$OUT/$dataset.jsonl.gz
    [ -f "$log" ] || $SC convert "$dataset" --data "$DATA" --out "$log"
    cal=(); [ -f "$OUT/$dataset.calendar.toml" ] && cal=(--calendar "$OUT/$dataset.calendar.toml")
    models=()
    for variant in ${VARIANTS:-mqcnn no-feedback full}; do
      members=()
      for seed in $SEEDS; do
        m=$OUT/$dataset-$variant${TAG:-}-s$seed.safetensors
        # `train`'s defaults: only what describes the data (period, horizons, its calendar) is passed.
        [ -f "$m" ] || $SC train --replay "$log" --period $period --horizons $h "${cal[@]}" --variant $variant \
          --seed "$seed" ${TRAIN_ARGS:-} --out "$m" 2>>"$OUT/$dataset.train.log"
        models+=(--model "$m")
        members+=("$m")
      done
      if [ ${#members[@]} -gt 1 ]; then models+=(--ensemble "$(IFS=+; echo "${members[*]}")"); fi
    done
    fc=$OUT/$dataset.forecasts.jsonl
    $SC backtest --replay "$log" --period $period --horizons $h --window-length $win "${models[@]}" \
      --forecasts-out "$fc" --shift-output-days $shift
    for model in $(python3 -c "import json,sys; print(' '.join(sorted({json.loads(l)['model'] for l in open('$fc')})))"); do
      (cd "$BENCH" && python3 score.py "$fc" "$dataset" --model "$model" --out "$OUT/$dataset.$model.score.json" | grep -F "$model" | head -1)
    done
  done
done
