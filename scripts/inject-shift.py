#!/usr/bin/env python3
"""Injects a level shift into a recorded replay (docs/online.md): multiplies the sale
units of a random share of products from a date on, and writes the drift file `streamcast
online-eval --drift` reads (the simulator's format), so the feedback experiment can run on real
demand.

Usage: inject-shift.py IN.jsonl.gz OUT.jsonl.gz OUT.drift.jsonl SHARE FACTOR START [SEED]
e.g.   inject-shift.py walmart.jsonl.gz walmart-shift.jsonl.gz walmart-shift.drift.jsonl 0.25 1.8 2012-05-04T00:00:00Z
"""
import gzip, json, random, sys

src, out, drift, share, factor, start = sys.argv[1:7]
share, factor = float(share), float(factor)
rng = random.Random(int(sys.argv[7]) if len(sys.argv) > 7 else 1)
lines = gzip.open(src, "rt").read().splitlines()
products = sorted({json.loads(l)["product"] for l in lines if '"sale"' in l})
shifted = set(rng.sample(products, round(share * len(products))))
with gzip.open(out, "wt") as f:
    for l in lines:
        e = json.loads(l)
        if e.get("type") == "sale" and e["product"] in shifted and e["ts"] >= start:
            e["units"] = round(e["units"] * factor, 2)
            l = json.dumps(e, separators=(",", ":"))
        f.write(l + "\n")
with open(drift, "w") as f:
    for p in sorted(shifted):
        f.write(json.dumps({"product": p, "kind": "level", "factor": factor, "start": start}) + "\n")
print(f"{len(shifted)} of {len(products)} products ×{factor} from {start}")
