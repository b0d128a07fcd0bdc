#!/usr/bin/env python3
"""Where two forecasters' scores differ, cell by cell.

    scripts/compare-forecasts.py BENCH_DIR DATASET FILE_A MODEL_A FILE_B MODEL_B

Reads both forecast files with the benchmark harness's own scorer (BENCH_DIR/score.py) and
prints mean wQL split into per-product contributions (they sum to the score): the difference by
quantile, horizon and FCT, by volume band (products ranked by Σ|y| over the test cells), the
products that lose most, and per band the median's bias, the P90 level and the coverage.
"""
import sys
from pathlib import Path

if len(sys.argv) != 7:
    sys.exit(__doc__)
sys.path.insert(0, str(Path(sys.argv[1]).resolve()))
import numpy as np  # noqa: E402
import datasets as D  # noqa: E402
import score as S  # noqa: E402

name, fa, ma, fb, mb = sys.argv[2:7]
ds = D.load(name)
y = S.test_truth(ds)                                            # [N, K, H]
pa, _ = S.read_forecasts(fa, ds, ma)
pb, _ = S.read_forecasts(fb, ds, mb)
qs = np.array(D.QUANTILES)


def loss(p):
    u = y[..., None] - p
    return 2 * np.maximum(qs * u, (qs - 1) * u) / np.abs(y).sum() / len(qs)


la, lb = loss(pa), loss(pb)
d = la - lb                                                     # > 0: A is worse
print(f"mean wQL  A {la.sum():.5f}  B {lb.sum():.5f}  A - B {d.sum():+.5f}")
print("A - B by quantile", np.round(d.sum(axis=(0, 1, 2)), 5))
print("A - B by horizon ", np.round(d.sum(axis=(0, 1, 3)), 5))
print("A - B by FCT     ", np.round(d.sum(axis=(0, 2, 3)), 5))
vol = np.abs(y).sum(axis=(1, 2))
order = np.argsort(-vol)
rank = np.empty_like(order)
rank[order] = np.arange(len(order))
bands = [(lo, hi) for lo, hi in [(0, 50), (50, 200), (200, 500), (500, 1000), (1000, len(order))] if lo < len(order)]
for lo, hi in bands:
    s = order[lo:hi]
    yy, den = y[s], np.abs(y[s]).sum()
    print(f"volume rank {lo}-{hi}: share of |y| {vol[s].sum() / vol.sum():.3f}  A - B {d[s].sum():+.5f}")
    for lab, p in (("A", pa[s]), ("B", pb[s])):
        print(f"   {lab}: median bias {(p[..., 1] - yy).sum() / den:+.4f}  ΣP90/Σ|y| {p[..., 2].sum() / den:.3f}  "
              f"Σ(P90-P10)/Σ|y| {(p[..., 2] - p[..., 0]).sum() / den:.3f}  "
              f"coverage {[round(float((yy <= p[..., j]).mean()), 3) for j in range(p.shape[-1])]}")
per = d.sum(axis=(1, 2, 3))
print("products where A loses most:")
for i in np.argsort(-per)[:10]:
    print(f"   {ds.products[i]}  A - B {per[i]:+.5f}  (A {la[i].sum():.5f}, B {lb[i].sum():.5f}, volume rank {rank[i]})")
