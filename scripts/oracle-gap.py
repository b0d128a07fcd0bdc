#!/usr/bin/env python3
"""Where a forecaster's gap to the oracle lies, on a simulated log (`streamcast simulate`).

    scripts/oracle-gap.py LOG.jsonl.gz TRUTH.csv.gz FORECASTS.jsonl[:MODEL_PREFIX] [...]

The oracle forecasts with the true quantiles of each period, and those know every promotion in
the period, including ones not yet announced when the forecast was made: no forecaster that uses
only what is known at the FCT can match it there. This splits each model's pinball loss, relative
to the oracle's on the same cells, by whether the target period has no promotion, a promotion
announced by the end of the FCT's period, or one announced later; and by horizon. Only cells
every given model forecast are scored, so models compare on the same cells.
"""
import collections, gzip, json, sys
import numpy as np, pandas as pd

log_path, truth_path, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
if not specs:
    sys.exit(__doc__)
truth = pd.read_csv(truth_path)
truth["start"] = truth["start"].str[:10]
qcols = [c for c in truth.columns if c.startswith("q")]
qs = [float(c[1:]) for c in qcols]
oracle = {(p, s): (u, q) for p, s, u, q in zip(truth["product"], truth["start"], truth["units"], truth[qcols].to_numpy(float))}
period_days = None
changes = collections.defaultdict(list)  # product → [(announced, effective, promo)]
with gzip.open(log_path, "rt") as f:
    for line in f:
        if '"price"' not in line:
            continue
        e = json.loads(line)
        if e.get("type") == "price":
            changes[e["product"]].append((pd.Timestamp(e["ts"][:19]), pd.Timestamp((e.get("effective") or e["ts"])[:19]), bool(e.get("promo", False))))
for p in changes:
    changes[p].sort(key=lambda c: c[1])


def promo_status(product, start, end, known_by):
    """none | announced | unannounced: a promotion in effect during [start, end)."""
    status = "none"
    cs = changes.get(product, [])
    for i, (announced, effective, promo) in enumerate(cs):
        if not promo or effective >= end:
            continue
        stop = min((c[1] for c in cs[i + 1:] if c[1] > effective), default=pd.Timestamp.max)
        if stop > start:
            if announced > known_by:
                return "unannounced"
            status = "announced"
    return status


def pinball(y, q):
    return sum(max(l * (y - v), (l - 1) * (y - v)) for l, v in zip(qs, q))


cells = {}
for spec in specs:
    path, _, prefix = spec.partition(":")
    for line in open(path):
        m = json.loads(line)
        if prefix and not m["model"].startswith(prefix):
            continue
        fct = pd.Timestamp(m["fct"][:10])
        for h, t in enumerate(m["targets"], 1):
            cells.setdefault(m["model"], {})[(m["product"], m["fct"][:10], t["start"][:10], h)] = t["q"]
common = set.intersection(*(set(c) for c in cells.values()))
common = {k for k in common if (k[0], k[2]) in oracle}
step = None
rows = []
for key in sorted(common):
    product, fct, start, h = key
    y, oq = oracle[(product, start)]
    s = pd.Timestamp(start)
    if step is None:
        step = pd.Timestamp(start) - pd.Timestamp(fct)  # one period (horizon 1)
    status = promo_status(product, s, s + step, pd.Timestamp(fct) + step)
    row = {"h": h, "promo": status, "oracle": pinball(y, oq)}
    for model, c in cells.items():
        row[model] = pinball(y, c[key])
    rows.append(row)
df = pd.DataFrame(rows)
models = list(cells)
print(f"{len(df)} cells scored by every model; promotion in the target period: "
      + ", ".join(f"{k} {v / len(df):.1%}" for k, v in df["promo"].value_counts().items()))
print(f"{'model':44s} {'all':>7s} {'known':>7s} {'none':>7s} {'annc.':>7s} {'unannc.':>7s}   by horizon (all)")
for m in models:
    r = lambda g: g[m].sum() / g["oracle"].sum()
    known = df[df.promo != "unannounced"]
    parts = [r(df), r(known)] + [r(df[df.promo == s]) if (df.promo == s).any() else float("nan") for s in ("none", "announced", "unannounced")]
    byh = " ".join(f"{r(g):.3f}" for _, g in df.groupby("h"))
    print(f"{m[:44]:44s} " + " ".join(f"{x:7.3f}" for x in parts) + "   " + byh)
print("ratios: Σ pinball / the oracle's Σ pinball on the same cells; 'known' = every cell but those with an unannounced promotion")
