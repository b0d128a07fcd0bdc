#!/usr/bin/env python3
"""What the error memory does to a forecast, forecast by forecast (docs/online.md).

Usage: memory-effect.py FORECASTS TRUTH
FORECASTS: `streamcast backtest ... --model M --no-memory --forecasts-out F` (every FCT: --fcts N);
TRUTH: the simulator's BASE.truth.csv.gz. Regresses the memory's change to the one-step median
(memory on − off) on the latest one-step error of the memory-on forecast, both in units of the
product's mean demand. Exponential smoothing predicts a negative slope (pull back against the
error) where the memory-off forecast's errors are white, a positive one (correct a persisting
bias) where they are autocorrelated; the lag-1 autocorrelation is printed too.
TRUTH: CSV with product, start (the period's start, as the forecasts' targets), units."""
import csv, gzip, json, sys
from collections import defaultdict
truth = {}
mean = defaultdict(list)
for r in csv.DictReader(gzip.open(sys.argv[2], "rt")):
    truth[(r["product"], r["start"])] = float(r["units"]); mean[r["product"]].append(float(r["units"]))
scale = {p: 1 + sum(v) / len(v) for p, v in mean.items()}
on, off = {}, {}
for line in open(sys.argv[1]):
    f = json.loads(line)
    t = f["targets"][0]
    (off if f["model"].endswith("+no-memory") else on)[(f["product"], t["start"])] = (f["fct"], t["q"][1])
# index by product: sorted targets
by = defaultdict(list)
for (p, start), (fct, m) in on.items(): by[p].append((start, m))
xs, ys, shifted = [], [], set()
for p, rows in by.items():
    rows.sort()
    for (s0, m0), (s1, m1) in zip(rows, rows[1:]):
        # s0 = target of the previous FCT = the period that closed at this FCT
        if (p, s0) not in truth or (p, s1) not in off: continue
        e = (truth[(p, s0)] - m0) / scale[p]
        d = (m1 - off[(p, s1)][1]) / scale[p]
        xs.append(e); ys.append(d)
n = len(xs); mx = sum(xs) / n; my = sum(ys) / n
sxx = sum((x - mx) ** 2 for x in xs); sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
slope = sxy / sxx
resid = sum((y - my - slope * (x - mx)) ** 2 for x, y in zip(xs, ys)) / (n - 2)
print(f"{n} one-step forecasts: memory's change = {slope:+.4f} (± {(resid / sxx) ** 0.5:.4f}) × latest error, "
      f"mean |change| {sum(abs(y) for y in ys) / n:.4f}, mean |error| {sum(abs(x) for x in xs) / n:.4f} (units of the product's mean)")
# by size of the error: is a large error pulled back as well?
for lo, hi in [(-9, -0.5), (-0.5, 0), (0, 0.5), (0.5, 9)]:
    sel = [(x, y) for x, y in zip(xs, ys) if lo <= x < hi]
    if sel: print(f"  error in [{lo}, {hi}): {len(sel)} forecasts, mean change {sum(y for _, y in sel) / len(sel):+.4f}, mean error {sum(x for x, _ in sel) / len(sel):+.4f}")

# Why that sign: are the memory-off forecast's one-step errors persistent (per product, in order)?
errors = defaultdict(list)
for (p, start), (fct, m) in off.items():
    if (p, start) in truth: errors[p].append((start, (truth[(p, start)] - m) / scale[p]))
pairs = []
for p, s in errors.items():
    s.sort()
    pairs += [(a, b) for (_, a), (_, b) in zip(s, s[1:])]
ma = sum(a for a, _ in pairs) / len(pairs); mb = sum(b for _, b in pairs) / len(pairs)
c = sum((a - ma) * (b - mb) for a, b in pairs)
va = sum((a - ma) ** 2 for a, _ in pairs); vb = sum((b - mb) ** 2 for _, b in pairs)
print(f"lag-1 autocorrelation of the memory-off one-step errors: {c / (va * vb) ** 0.5:+.3f} ({len(pairs)} pairs)")
