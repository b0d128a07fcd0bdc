import Forecasting
import Testing

@Suite struct MetricsTests {
    /// Two products, one FCT, H = 2, quantiles 0.1/0.5/0.9, numbers worked by hand.
    @Test func weightedQuantileLossCoverageAndWAPEByHand() {
        var e = AccuracyEvaluator(quantiles: [0.1, 0.5, 0.9], horizons: 2, season: 1)
        e.actuals = ["A": [10: 5, 11: 10, 12: 0], "B": [10: 1, 11: 2, 12: 4]]
        e.forecasts = ["A": [10: [[8, 10, 12], [0, 1, 2]]], "B": [10: [[1, 2, 3], [1, 2, 3]]]]
        let r = e.report(model: "m", fcts: [10])
        // Cells (y; q10 q50 q90): A1 (10; 8 10 12), A2 (0; 0 1 2), B1 (2; 1 2 3), B2 (4; 1 2 3). Σ|y| = 16.
        // ρ_0.1: A1 0.2, A2 0, B1 0.1, B2 0.3 → wQL = 2·0.6/16
        // ρ_0.5: A1 0, A2 0.5, B1 0, B2 1 → 2·1.5/16
        // ρ_0.9: A1 0.2, A2 0.2, B1 0.1, B2 0.9 → 2·1.4/16
        #expect(abs(r.weightedQuantileLoss[0] - 1.2 / 16) < 1e-12)
        #expect(abs(r.weightedQuantileLoss[1] - 3.0 / 16) < 1e-12)
        #expect(abs(r.weightedQuantileLoss[2] - 2.8 / 16) < 1e-12)
        #expect(abs(r.meanWeightedQuantileLoss - 7.0 / 48) < 1e-12)
        #expect(r.coverageAtOrBelow == [0.25, 0.75, 0.75])  // y ≤ q: q10 {A2}; q50 {A1, A2, B1}; q90 {A1, A2, B1}
        #expect(r.coverageBelow == [0, 0.25, 0.75])  // y < q: q10 {}; q50 {A2}; q90 {A1, A2, B1}
        // Ties count by the share the level implies: 0.1 lies in [0, 0.25], 0.5 in [0.25, 0.75];
        // q90's band is the single point 0.75 (no ties), below nominal.
        #expect(r.coverage == [0.1, 0.5, 0.75])
        // Mid coverage, ties (counts: y = ⌊q⌋) at half: q10 ties A2 → 0.5/4; q50 below A2, ties A1, B1 → 2/4;
        // q90 below A1, A2, B1 → 3/4 (B2 = 4 is above 3).
        #expect(r.midCoverage == [0.125, 0.5, 0.75])
        #expect(abs(r.wape - 3.0 / 16) < 1e-12)
        #expect(r.cells == 4)
    }

    /// Calibrated quantiles of Poisson(1.5) counts: plain coverage of P10 cannot come near 0.1,
    /// mid coverage comes near, and coverage with ties counted by the level's share is exact.
    @Test func midCoverageOfCalibratedCountQuantilesIsNearNominal() {
        var e = AccuracyEvaluator(quantiles: [0.1, 0.5, 0.9], horizons: 1, season: 1)
        // Poisson(1.5) pmf ≈ 0.223, 0.335, 0.251, 0.126, 0.047, 0.018: 1,000 outcomes in those shares.
        let counts = [223, 335, 251, 126, 47, 18]
        var product = 0
        for (y, n) in counts.enumerated() {
            for _ in 0..<n {
                // The calibrated quantiles: P10 = 0, P50 = 1, P90 = 3 (plus a little, as a network's softplus gives).
                e.actuals["p\(product)"] = [1: Double(y)]
                e.forecasts["p\(product)"] = [0: [[0.02, 1.01, 3.03]]]
                product += 1
            }
        }
        let r = e.report(model: "m", fcts: [0])
        #expect(abs(r.coverageAtOrBelow[0] - 0.223) < 1e-9)  // every zero is "at or below" P10
        // Each level lies between the shares below and at or below its quantile, so the coverage
        // of the calibrated forecast is nominal exactly.
        #expect(abs(r.coverageBelow[1] - 0.223) < 1e-9 && abs(r.coverageAtOrBelow[1] - 0.558) < 1e-9)
        #expect(abs(r.coverageBelow[2] - 0.809) < 1e-9 && abs(r.coverageAtOrBelow[2] - 0.935) < 1e-9)
        #expect(zip(r.coverage, [0.1, 0.5, 0.9]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(abs(r.midCoverage[0] - 0.1115) < 1e-9)
        #expect(abs(r.midCoverage[1] - (0.223 + 0.335 / 2)) < 1e-9)
        #expect(abs(r.midCoverage[2] - (0.223 + 0.335 + 0.251 + 0.126 / 2)) < 1e-9)
    }

    @Test func volatilityMeasuresHowSuccessiveForecastsOfOneTargetMove() {
        var e = AccuracyEvaluator(quantiles: [0.5], horizons: 2, season: 1)
        e.actuals = ["A": [9: 1, 10: 1, 11: 1, 12: 1]]
        // FCT 9 forecast target 11 (its h = 2) at 4; FCT 10 forecasts target 11 (h = 1) at 2.
        e.forecasts = ["A": [9: [[3], [4]], 10: [[2], [2]]]]
        let r = e.report(model: "m", fcts: [10])
        // One comparable pair: |ŷ_{10,1} − ŷ_{9,2}| = 2, over mean |y| = 1.
        #expect(r.volatility == 2)
    }
}
