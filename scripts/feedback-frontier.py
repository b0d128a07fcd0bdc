#!/usr/bin/env python3
"""The recovery/volatility frontier of several models (docs/online.md): for each
NAME, the first serving variant of OUT/NAME-sSEED.TEST.json (scripts/feedback-seeds.sh) averaged
over the seeds — post-shift wQL, coverage error FCT 0–8, recovery of the seeds' mean curve,
volatility — and which names are dominated (another is at least as good on post-shift wQL and on
volatility, and better on one).

Usage: feedback-frontier.py OUT TEST "SEED..." NAME...   e.g. /tmp/fbs test "1 2 3" T3-fb-st10 T3-nofb-st25
"""
import json, sys

from feedback_metrics import metrics, pooled_recovery

out, test, seeds, names = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4:]
table = {}
for name in names:
    reports = [json.load(open(f"{out}/{name}-s{s}.{test}.json"))[0] for s in seeds]
    ms = [metrics(r) for r in reports]
    mean = {k: sum(m[k] for m in ms) / len(ms) for k in ("wql_after", "cov_err", "volatility", "wql_all")}
    mean["recovery"] = pooled_recovery(reports)
    table[name] = mean
print(f"{'model':<22} {'wQL after shift':>16} {'coverage error':>15} {'recovery':>9} {'volatility':>11} {'wQL all':>9}  dominated by")
for name, m in table.items():
    by = [o for o, n in table.items() if o != name and n["wql_after"] <= m["wql_after"] and n["volatility"] <= m["volatility"]
          and (n["wql_after"] < m["wql_after"] or n["volatility"] < m["volatility"])]
    rec = "never" if m["recovery"] is None else str(m["recovery"])
    print(f"{name:<22} {m['wql_after']:>16.4f} {m['cov_err']:>15.4f} {rec:>9} {m['volatility']:>11.4f} {m['wql_all']:>9.4f}  {', '.join(by)}")
