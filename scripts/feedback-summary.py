#!/usr/bin/env python3
"""Summarises scripts/feedback-seeds.sh runs: per seed and on average, the first serving variant
(default: error memory on) against the second (memory off).

Usage: [AGAINST=NAME2] feedback-summary.py OUT NAME TEST SEED...
Reads OUT/NAME-sSEED.TEST.json (streamcast online-eval --json with two variants). With AGAINST,
"off" is instead the first variant of NAME2's run with the same seed (another model, e.g. one
trained without feedback: the seeds are then independent draws, not pairs).
Columns: post-shift wQL, recovery (FCTs until the shifted products' mid coverage is within 5
points of nominal for 3 FCTs in a row), coverage error (mean |mid coverage - nominal| over
FCTs 0..8 after the shift and the quantiles: a finer view of recovery), volatility, overall wQL.
"""
import json, math, os, sys

from feedback_metrics import metrics, pooled_recovery

out, name, test, seeds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

rows, reports = [], ([], [])
for s in seeds:
    runs = json.load(open(f"{out}/{name}-s{s}.{test}.json"))
    if os.environ.get("AGAINST"):
        runs = [runs[0], json.load(open(f"{out}/{os.environ['AGAINST']}-s{s}.{test}.json"))[0]]
    on, off = metrics(runs[0]), metrics(runs[1])
    rows.append((s, on, off))
    reports[0].append(runs[0]); reports[1].append(runs[1])

keys = ["wql_after", "recovery", "cov_err", "volatility", "wql_all"]
print(f"{name} on {test}: {runs[0]['model']} / {runs[1]['model']}")
print("seed  " + "  ".join(f"{k:>22}" for k in keys))
for s, on, off in rows:
    print(f"{s:>4}  " + "  ".join(f"{on[k]:>10.4f} / {off[k]:<9.4f}" for k in keys))

def mean_se(xs):
    m = sum(xs) / len(xs)
    se = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1) / len(xs)) if len(xs) > 1 else float("nan")
    return m, se

print("mean  " + "  ".join(f"{mean_se([on[k] for _, on, _ in rows])[0]:>10.4f} / {mean_se([off[k] for _, _, off in rows])[0]:<9.4f}" for k in keys))
for k in keys:
    d = [on[k] - off[k] for _, on, off in rows]
    m, se = mean_se(d)
    better = sum(1 for x in d if x < 0)
    print(f"on - off {k:>10}: {m:+.4f} ± {se:.4f} (SE), on lower in {better}/{len(d)}")
print(f"recovery of the mean curve over the seeds: {pooled_recovery(reports[0])} / {pooled_recovery(reports[1])} periods")
