import Foundation
@testable import Forecasting
import Testing
import Windows

/// The network's inputs for one (series, FCT), checked by hand: scaling, the scale-free history,
/// the series' level, the seasonal anchor; and a model file with fewer features (trained before a
/// feature was added) still gets exactly its own.
@Suite struct SeriesFeaturesTests {
    static let series = ProductSeries(product: "p", category: 0, firstPeriod: 2_800, units: [2, 4, 6, 8, 10, 12, 14, 16],
                                      views: Array(repeating: 0, count: 8), price: Array(repeating: 5, count: 8),
                                      promo: Array(repeating: 0, count: 8))

    /// Weekly features with context 4 and 2 horizons.
    static func builder(pastFeatures: Int = 6, futureFeatures: Int = 4) -> FeatureBuilder {
        var c = MQConfig()
        c.context = 4
        c.horizons = 2
        c.pastFeatures = pastFeatures
        c.futureFeatures = futureFeatures
        return FeatureBuilder(config: c, period: .week, holidays: [])
    }

    @Test func pastAndFutureFeaturesOfOneExample() {
        let builder = Self.builder(pastFeatures: 7)  // with the level input (train --level-input)
        let t = 5  // context = periods 2…5 (units 6, 8, 10, 12), targets 6 and 7
        let (batch, scales) = builder.batch([(Self.series, t, nil, nil)])
        let scale: Float = 1 + (6 + 8 + 10 + 12) / 4
        #expect(scales == [scale])
        #expect((0..<4).map { batch.past[$0, 0] } == [6, 8, 10, 12].map { $0 / scale })
        #expect((0..<4).allSatisfy { abs(batch.past[$0, 6] - log1p(scale) / 10) < 1e-6 }, "the level, on every context step")
        #expect(batch.past[3, 5] == Float(6) / 52, "age: periods of history so far")
        // The season of a week is 52 periods, longer than this history: no seasonal anchor.
        #expect(batch.future[0, 3] == 0 && batch.future[1, 3] == 0)
        #expect(batch.future[0, 0] == 0, "price at its reference level")
    }

    @Test func seasonFlag() {
        let builder = Self.builder(futureFeatures: 5)  // with the season flag (train --season-flag)
        let (batch, _) = builder.batch([(Self.series, 5, nil, nil)])
        #expect(batch.future[0, 4] == 0 && batch.future[1, 4] == 0, "no season-ago value in 8 weeks")
        // 60 weeks of history: at FCT 55 the targets 56, 57 have season-ago values (weeks 4, 5);
        // at FCT 40 they do not. A real zero sale a season ago keeps the flag at 1.
        var units = (0..<60).map { Float($0 + 1) }
        units[4] = 0
        let long = ProductSeries(product: "q", category: 0, firstPeriod: 2_800, units: units,
                                 views: Array(repeating: 0, count: 60), price: Array(repeating: 5, count: 60),
                                 promo: Array(repeating: 0, count: 60))
        let (b, scales) = builder.batch([(long, 55, nil, nil), (long, 40, nil, nil)])
        #expect(b.future[0, 4] == 1 && b.future[0, 3] == 0, "a season-ago zero: known, and zero")
        #expect(b.future[1, 4] == 1 && b.future[1, 3] == 6 / scales[0])
        #expect(b.future[2, 4] == 0 && b.future[3, 4] == 0 && b.future[2, 3] == 0)
    }

    @Test func aModelWithFewerFeaturesGetsOnlyItsOwn() {
        // 6 past inputs: the default, and every model trained before the level input existed.
        let (batch, _) = Self.builder(pastFeatures: 6).batch([(Self.series, 5, nil, nil)])
        #expect(batch.past.cols == 6)
        #expect((0..<4).map { batch.past[$0, 0] } == [6, 8, 10, 12].map { $0 / 10 })
    }

    /// A series built from a log knows when each price was announced: a past FCT's target prices
    /// are the ones announced by the end of the FCT's period, as serving sees them. A promotion
    /// announced later is not in the inputs (the log shows it; the forecast at the FCT could not).
    static func announcedSeries() -> ProductSeries {
        var s = ProductSeries(product: "p", category: 0, firstPeriod: 2_800, units: Array(repeating: 3, count: 8),
                              views: Array(repeating: 0, count: 8), price: [5, 5, 5, 5, 5, 5, 5, 4],
                              promo: [0, 0, 0, 0, 0, 0, 0, 1])
        let week = Period.week
        s.priceChanges = [PriceChange(effective: week.start(of: 2_800), price: 5, promo: false, announced: week.start(of: 2_800)),
                          PriceChange(effective: week.start(of: 2_807), price: 4, promo: true, announced: week.start(of: 2_806) + 1),
                          PriceChange(effective: week.start(of: 2_808), price: 5, promo: false, announced: week.start(of: 2_806) + 1)]
        return s
    }

    @Test func futurePricesAreTheOnesKnownAtTheFCT() {
        let s = Self.announcedSeries()
        let (batch, _) = Self.builder().batch([(s, 5, nil, nil), (s, 6, nil, nil)])
        // FCT 5 (end of week 5): week 7's promotion is announced only during week 6.
        #expect(batch.future[1, 0] == 0 && batch.future[1, 1] == 0, "target 7 from FCT 5: the price then known")
        // FCT 6: target 7 (row 2) is the promotion, at log(4 / 5) against the reference price 5.
        #expect(abs(batch.future[2, 0] - log(Float(4) / 5)) < 1e-6 && batch.future[2, 1] == 1)
        // Without the schedule (a serving window's series), the closed periods' own values.
        var plain = s
        plain.priceChanges = []
        let (old, _) = Self.builder().batch([(plain, 5, nil, nil)])
        #expect(old.future[1, 1] == 1)
    }

    /// With the elasticity the target's price enters as log(target / price now), not as an input.
    @Test func priceChangeForTheElasticity() {
        var c = Self.builder().config
        c.priceElasticity = true
        let (batch, scales) = FeatureBuilder(config: c, period: .week, holidays: []).batch([(Self.announcedSeries(), 6, nil, nil)])
        #expect(batch.priceChange.count == 2 && batch.priceChange[1] == 0, "week 8: back at the price now")
        #expect(abs(batch.priceChange[0] - log(Float(4) / 5)) < 1e-6)
        #expect(batch.future[0, 0] == 0 && batch.future[0, 1] == 1, "the promotion flag stays an input")
        #expect(batch.level == scales.map { log1p($0) / 10 })
        #expect(batch.promoChange.isEmpty)
    }

    /// Promotions are price cuts where the promoted periods' price is under the usual one; a
    /// markdown flag at an unchanged price is not.
    @Test func whetherPromotionsCutThePrice() {
        let cut = Self.announcedSeries()  // week 7 promoted at 4, usually 5
        var flagged = cut
        flagged.price = Array(repeating: 1, count: 8)
        flagged.promo = [0, 1, 1, 0, 1, 1, 1, 0]
        #expect(ProductSeries.promotionsCutThePrice([cut]) == (1, 1))
        #expect(ProductSeries.promotionsCutThePrice([flagged]) == (5, 0))
        #expect(ProductSeries.promotionsCutThePrice([cut, flagged]) == (6, 1.0 / 6))
        // Only the periods up to `through` count (training reads nothing after its range).
        #expect(ProductSeries.promotionsCutThePrice([cut, flagged], through: cut.firstPeriod + 6) == (5, 0))
        var none = cut
        none.promo = Array(repeating: 0, count: 8)
        #expect(ProductSeries.promotionsCutThePrice([none]).promoted == 0)
    }

    /// With the promotion's lift a factor too, the flag is no input: per target, promo then − promo now.
    @Test func promoChangeForTheLift() {
        var c = Self.builder().config
        c.priceElasticity = true
        c.promoLift = true
        let s = Self.announcedSeries()
        let (batch, _) = FeatureBuilder(config: c, period: .week, holidays: []).batch([(s, 6, nil, nil)])
        #expect(batch.promoChange == [1, 0], "week 7 holds the promotion announced by FCT 6, week 8 does not")
        #expect(batch.future[0, 1] == 0 && batch.future[1, 1] == 0, "the flag is not an input")
        #expect(abs(batch.priceChange[0] - log(Float(4) / 5)) < 1e-6)
        // From inside the promotion (FCT 7), the week after it ends it: −1.
        let (inside, _) = FeatureBuilder(config: c, period: .week, holidays: []).batch([(s, 7, nil, nil)])
        #expect(inside.promoChange[0] == -1)
        #expect(abs(inside.priceChange[0] - log(Float(5) / 4)) < 1e-6)
    }
}
