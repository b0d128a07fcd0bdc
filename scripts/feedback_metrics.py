"""What scripts/feedback-summary.py and feedback-frontier.py read from an online-eval --json report."""

def metrics(r):
    err = r.get("coverageErrorAfterShift")
    if err is None:  # reports written before online-eval computed it
        q = r["overall"]["quantiles"]
        pts = [p for p in r["curve"] if 0 <= p["fct"] - r["shiftPeriod"] <= 8]
        err = sum(abs(m - n) for p in pts for m, n in zip(p["midCoverage"], q)) / (len(pts) * len(q))
    rec = r.get("recoveryPeriods")
    return {"wql_after": r["wqlAfterShift"], "recovery": rec if rec is not None else 99, "cov_err": err,
            "volatility": r["overall"]["volatility"], "wql_all": r["overall"]["meanWeightedQuantileLoss"]}

def pooled_recovery(reports):
    """The recovery rule on the seeds' mean curve (mid coverage per FCT averaged over the seeds):
    steadier than any one seed's count, which a single FCT's noise can move by many periods."""
    q = reports[0]["overall"]["quantiles"]
    curves = [{p["fct"] - r["shiftPeriod"]: p["midCoverage"] for p in r["curve"]} for r in reports]
    fcts = sorted(set.intersection(*(set(c) for c in curves)))
    mean = {f: [sum(c[f][j] for c in curves) / len(curves) for j in range(len(q))] for f in fcts}
    within = {f: all(abs(m - n) <= 0.05 for m, n in zip(mean[f], q)) for f in fcts}
    for f in (f for f in fcts if f >= 0):
        if all(within.get(f + i, False) for i in range(3)):
            return f
    return None
