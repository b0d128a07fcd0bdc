#!/usr/bin/env bash
# Several instances against one: throughput, and how long partitions pause when an instance joins,
# leaves cleanly or is killed -9. Release build, embedded broker, the demo model.
#   scripts/scaleout-bench.sh [PRODUCTS] [DAYS] [PARTITIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
B=.build/release/streamcast
PRODUCTS=${1:-300} DAYS=${2:-120} PARTS=${3:-16}
W=$(mktemp -d /tmp/streamcast-scaleout-XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
$B simulate --products "$PRODUCTS" --periods "$DAYS" --seed 41 --out "$W/log.jsonl" > /dev/null
EVENTS=$(wc -l < "$W/log.jsonl")

export STREAMCAST_TOPICS_PARTITIONS=$PARTS STREAMCAST_FORECAST_MODEL_FILE=Replays/sample-daily.safetensors
export STREAMCAST_KAFKA_SESSION_TIMEOUT_MS=6000 STREAMCAST_KAFKA_HEARTBEAT_INTERVAL_MS=500

broker() {  # a fresh broker with the log published in full
  pkill -f "streamcast broker --port 0 --partitions $PARTS" 2>/dev/null || true
  $B broker --port 0 --partitions "$PARTS" > "$W/broker.log" 2>&1 &
  until grep -q "listening on" "$W/broker.log"; do sleep 0.2; done
  BS=$(grep -o "listening on [^ ]*" "$W/broker.log" | cut -d' ' -f3)
  export STREAMCAST_KAFKA_BOOTSTRAP_SERVERS=$BS
  $B replay "$W/log.jsonl" --to-kafka --bootstrap "$BS" > /dev/null 2>&1
}
start() {  # start NAME PORT: an instance with its own (empty) state file
  STREAMCAST_SERVICE_HTTP=127.0.0.1:$2 $B run --state "$W/$1.sqlite" > "$W/$1.log" 2>&1 &
  echo $! > "$W/$1.pid"
}
consumed() {  # events read so far over the given ports (accepted + dead letters)
  local n=0 p
  for p in "$@"; do
    n=$((n + $(curl -s --max-time 2 "http://127.0.0.1:$p/metrics" | awk '/^streamcast_(events|dead_letters)_total/ {s += $2} END {printf "%d", s}')))
  done
  echo $n
}
assigned_at() { grep -m1 "partitions assigned" "$W/$1.log" | cut -c1-25; }
run_group() {  # run_group N: N instances from empty state; seconds from the first assignment to all events read
  local n=$1 ports=() i
  broker
  for i in $(seq 1 "$n"); do start "g$n-$i" $((18000 + 10 * n + i)); ports+=($((18000 + 10 * n + i))); done
  until [ "$(grep -l "partitions assigned" "$W"/g"$n"-*.log 2>/dev/null | wc -l)" -ge "$n" ]; do sleep 0.1; done
  local t0; t0=$(date +%s.%N)
  until [ "$(consumed "${ports[@]}")" -ge "$EVENTS" ]; do sleep 0.2; done
  local t1; t1=$(date +%s.%N)
  for i in $(seq 1 "$n"); do kill -TERM "$(cat "$W/g$n-$i.pid")"; wait "$(cat "$W/g$n-$i.pid")" || true; done
  python3 -c "import sys; s=$t1-$t0; print(f'{$n} instance(s), {$PARTS} partitions: {$EVENTS} events in {s:.1f} s = {$EVENTS/s:,.0f} events/s')"
}
echo "$(date -u +%F) $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); log: $PRODUCTS products x $DAYS days"
run_group 1
run_group 2

# Pauses: a joins alone; b joins (a pauses for the rebalance); b leaves cleanly; a is killed -9 and c takes over.
broker
start a 18101; until grep -q "partitions assigned" "$W/a.log"; do sleep 0.1; done
until [ "$(consumed 18101)" -ge "$EVENTS" ]; do sleep 0.2; done
ts() { date -d "$1" +%s; }
t=$(date +%s); start b 18102
until [ "$(grep -c "partitions assigned" "$W/a.log")" -ge 2 ] && grep -q "partitions assigned" "$W/b.log"; do sleep 0.1; done
echo "join: a's partitions paused $(( $(ts "$(grep "partitions assigned" "$W/a.log" | tail -1 | cut -c1-25)") - $(ts "$(grep "partitions revoked" "$W/a.log" | tail -1 | cut -c1-25)") )) s (b started $t, assigned $(( $(ts "$(assigned_at b)") - t )) s later)"
t=$(date +%s); kill -TERM "$(cat "$W/b.pid")"
until [ "$(grep -c "partitions assigned" "$W/a.log")" -ge 3 ]; do sleep 0.1; done
echo "clean leave: b's partitions back on a $(( $(ts "$(grep "partitions assigned" "$W/a.log" | tail -1 | cut -c1-25)") - t )) s after SIGTERM"
start c 18103; until [ "$(grep -c "partitions assigned" "$W/a.log")" -ge 4 ] && grep -q "partitions assigned" "$W/c.log"; do sleep 0.1; done
t=$(date +%s); kill -9 "$(cat "$W/a.pid")"
until [ "$(grep -c "partitions assigned" "$W/c.log")" -ge 2 ]; do sleep 0.1; done
echo "kill -9: a's partitions on c $(( $(ts "$(grep "partitions assigned" "$W/c.log" | tail -1 | cut -c1-25)") - t )) s after the kill (session timeout 6 s); restores on c:"
grep "partition restored" "$W/c.log" | awk '{for(i=1;i<=NF;i++){split($i,a,"="); v[a[1]]=a[2]} n[v["source"]]++; s[v["source"]]+=v["seconds"]; p[v["source"]]+=v["products"]} END {for (k in n) printf "  %s: %d partitions, %d products, %.3f s\n", k, n[k], p[k], s[k]}'
kill -TERM "$(cat "$W/c.pid")"; wait "$(cat "$W/c.pid")" || true
