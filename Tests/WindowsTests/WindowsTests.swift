import Events
import Testing
@testable import Windows

func t(_ s: String) -> Int64 { Timestamp.parse(s)! }

@Suite struct PeriodCalendarTests {
    @Test func weeksStartMondayAndMonthsOnTheFirst() {
        let wed = t("2024-03-06T12:00:00Z")
        #expect(Timestamp.format(Period.week.start(of: Period.week.index(of: wed))) == "2024-03-04T00:00:00Z")
        #expect(Timestamp.format(Period.month.start(of: Period.month.index(of: wed))) == "2024-03-01T00:00:00Z")
        #expect(Timestamp.format(Period.month.end(of: Period.month.index(of: t("2024-12-31T23:59:59Z")))) == "2025-01-01T00:00:00Z")
        #expect(Timestamp.format(Period.day.start(of: Period.day.index(of: wed))) == "2024-03-06T00:00:00Z")
        #expect(Timestamp.format(Period.hour.end(of: Period.hour.index(of: wed))) == "2024-03-06T13:00:00Z")
        for p in Period.allCases {
            for i in Int64(600)..<Int64(640) { #expect(p.index(of: p.start(of: i)) == i && p.index(of: p.end(of: i) - 1) == i) }
        }
    }
}

@Suite struct PartitionWindowsTests {
    var config = WindowConfig(period: .day, length: 4, lateness: 3_600_000)

    func sale(_ p: String, _ ts: String, _ units: Double = 1) -> Event {
        Event(kind: .sale, product: p, time: t(ts), quantity: units)
    }

    /// Closes what can be closed, returning (product, closed period start, units of last period).
    func closeAll(_ w: inout PartitionWindows) -> [(String, String, Float)] {
        var out: [(String, String, Float)] = []
        while w.closeNext({ _, pw in
            out.append((pw.product, Timestamp.format(Period.day.start(of: pw.lastClosed)), pw.recent(.units).last ?? -1))
        }) != nil {}
        return out
    }

    @Test func outOfOrderWithinLatenessIsCountedAndLateIsRejected() {
        var w = PartitionWindows(partition: 0, config: config)
        #expect(w.ingest(sale("A", "2024-03-01T10:00:00Z"), input: "sales") == nil)
        #expect(w.ingest(sale("A", "2024-03-02T00:30:00Z"), input: "sales") == nil)
        // Out of order, but within the hour of lateness: still day 1.
        #expect(w.ingest(sale("A", "2024-03-01T23:00:00Z", 2), input: "sales") == nil)
        #expect(closeAll(&w).isEmpty)  // watermark 00:30 < end of day 1 + 1 h
        #expect(w.ingest(sale("A", "2024-03-02T01:00:00Z"), input: "sales") == nil)
        let closed = closeAll(&w)
        #expect(closed.count == 1 && closed[0].1 == "2024-03-01T00:00:00Z" && closed[0].2 == 3)
        // Day 1 is now past watermark − lateness: late, and never counted.
        #expect(w.ingest(sale("A", "2024-03-01T22:00:00Z"), input: "sales")?.reason == .late)
        #expect(w.product("A")!.totalUnits == 5)
    }

    @Test func quietProductsStillSeeTheirPeriodsClose() {
        var w = PartitionWindows(partition: 0, config: config)
        _ = w.ingest(sale("quiet", "2024-03-01T10:00:00Z", 4), input: "sales")
        _ = w.ingest(sale("busy", "2024-03-01T11:00:00Z"), input: "sales")
        for day in 2...5 { _ = w.ingest(sale("busy", "2024-03-0\(day)T12:00:00Z"), input: "sales") }
        let closed = closeAll(&w)
        #expect(closed.filter { $0.0 == "quiet" }.map(\.1) == ["2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z", "2024-03-03T00:00:00Z", "2024-03-04T00:00:00Z"])
        #expect(w.product("quiet")!.recent(.units) == [4, 0, 0, 0])
        // Ring buffer keeps only the last L = 4 periods.
        _ = w.ingest(sale("busy", "2024-03-07T12:00:00Z"), input: "sales")
        _ = closeAll(&w)
        #expect(w.product("quiet")!.recent(.units) == [0, 0, 0, 0])
    }

    @Test func slowestInputHoldsTheWatermarkAndRegisteredSilentInputsBlock() {
        var w = PartitionWindows(partition: 0, config: config)
        w.register(input: "sales")
        w.register(input: "views")
        _ = w.ingest(sale("A", "2024-03-01T10:00:00Z"), input: "sales")
        _ = w.ingest(sale("A", "2024-03-03T10:00:00Z"), input: "sales")
        _ = w.ingest(sale("A", "2024-03-05T10:00:00Z"), input: "sales")
        #expect(w.watermark == nil && closeAll(&w).isEmpty)  // views not heard from yet
        _ = w.ingest(Event(kind: .pageView, product: "A", time: t("2024-03-02T02:00:00Z"), quantity: 3), input: "views")
        #expect(closeAll(&w).map(\.1) == ["2024-03-01T00:00:00Z"])  // views' clock is the slowest
        w.markIdle(input: "views")  // caught up: views no longer holds the partition back
        #expect(closeAll(&w).map(\.1) == ["2024-03-02T00:00:00Z", "2024-03-03T00:00:00Z", "2024-03-04T00:00:00Z"])
        #expect(w.product("A")!.recent(.views) == [0, 3, 0, 0])
    }

    @Test func tooFarInFutureIsRejectedWithoutMovingTheClock() {
        var w = PartitionWindows(partition: 0, config: config)
        _ = w.ingest(sale("A", "2024-03-01T10:00:00Z"), input: "sales")
        #expect(w.ingest(sale("A", "2030-03-01T10:00:00Z"), input: "sales")?.reason == .tooFarInFuture)
        #expect(w.ingest(sale("A", "2024-03-01T11:00:00Z"), input: "sales") == nil)
    }

    /// Product A at price 10 from day 1, and a promotion to 6 announced on day 1, effective at
    /// `effective`; a sale on day 5; every period up to day 4 closed.
    func promotedProduct(effective: String, config c: WindowConfig) -> ProductWindow {
        var w = PartitionWindows(partition: 0, config: c)
        _ = w.ingest(Event(kind: .price, product: "A", time: t("2024-03-01T00:00:00Z"), quantity: 10), input: "prices")
        _ = w.ingest(Event(kind: .price, product: "A", time: t("2024-03-01T01:00:00Z"), quantity: 6,
                           effective: t(effective), promo: true), input: "prices")
        _ = w.ingest(sale("A", "2024-03-05T02:00:00Z"), input: "sales")
        w.markIdle(input: "prices")
        _ = closeAll(&w)
        return w.product("A")!
    }

    @Test func pricesAreTimeWeightedAndAnnouncedChangesApplyLater() {
        // Effective at noon on day 3: day 3's price is the time-weighted mean.
        let a = promotedProduct(effective: "2024-03-03T12:00:00Z", config: config)
        #expect(a.recent(.price) == [10, 10, 8, 6])
        #expect(a.recent(.promo) == [0, 0, 1, 1])
    }

    @Test func codecRoundTripsAProductWindow() throws {
        var w = PartitionWindows(partition: 0, config: config)
        _ = w.ingest(Event(kind: .price, product: "A", time: t("2024-03-01T00:00:00Z"), quantity: 10, category: "cat"), input: "sales")
        for d in 1...7 { _ = w.ingest(sale("A", "2024-03-0\(d)T10:00:00Z", Double(d)), input: "sales") }
        _ = closeAll(&w)
        let original = w.product("A")!
        let decoded = try WindowCodec.decode(WindowCodec.encode(original))
        #expect(decoded.recent(.units) == original.recent(.units))
        #expect(decoded.open == original.open && decoded.prices == original.prices)
        #expect(decoded.lastClosed == original.lastClosed && decoded.totalUnits == original.totalUnits && decoded.category == "cat")
        #expect(WindowCodec.encode(decoded) == WindowCodec.encode(original))
    }

    /// Offline training keeps every price change with its announcement (`keepsPriceHistory`), so a
    /// past FCT's future prices can be read as they were known then; the service prunes them.
    @Test func trainingWindowsKeepTheWholePriceSchedule() {
        for keeps in [false, true] {
            var c = config
            c.keepsPriceHistory = keeps
            let a = promotedProduct(effective: "2024-03-03T00:00:00Z", config: c)
            #expect(a.recent(.price) == [10, 10, 6, 6], "the closed periods' prices do not depend on it")
            #expect(a.prices.count == (keeps ? 2 : 1))
            if keeps {
                // Day 3's price as known at the end of day 0 (before the announcement) and of day 1.
                let day3 = (t("2024-03-03T00:00:00Z"), t("2024-03-04T00:00:00Z"))
                #expect(PriceChange.price(a.prices, from: day3.0, to: day3.1, asOf: t("2024-03-01T00:30:00Z")) == (10, false))
                #expect(PriceChange.price(a.prices, from: day3.0, to: day3.1, asOf: t("2024-03-02T00:00:00Z")) == (6, true))
            }
        }
    }
}

@Suite struct InterleavingTests {
    /// The same events read in two topic interleavings give the same closed windows: a product's
    /// life starts at its earliest period even when a later event of another topic is read first.
    @Test func productLifeStartsAtItsEarliestEventWhateverTheInterleaving() {
        let config = WindowConfig(period: .day, length: 8, lateness: 3_600_000)
        let sales = [Event(kind: .sale, product: "A", time: t("2024-03-01T10:00:00Z"), quantity: 2),
                     Event(kind: .sale, product: "A", time: t("2024-03-04T10:00:00Z"), quantity: 1)]
        let views = [Event(kind: .pageView, product: "A", time: t("2024-03-03T10:00:00Z"), quantity: 5),
                     Event(kind: .pageView, product: "A", time: t("2024-03-04T12:00:00Z"), quantity: 1)]
        func run(_ order: [(Event, String)]) -> (ProductWindow, [String]) {
            var w = PartitionWindows(partition: 0, config: config)
            w.register(input: "sales"); w.register(input: "views")
            var closes: [String] = []
            for (e, input) in order {
                _ = w.ingest(e, input: input)
                while w.closeNext({ _, pw in closes.append(Timestamp.format(Period.day.start(of: pw.lastClosed))) }) != nil {}
            }
            return (w.product("A")!, closes)
        }
        let viewsFirst = run([(views[0], "views"), (sales[0], "sales"), (views[1], "views"), (sales[1], "sales")])
        let salesFirst = run([(sales[0], "sales"), (views[0], "views"), (sales[1], "sales"), (views[1], "views")])
        #expect(viewsFirst.0.recent(.units) == salesFirst.0.recent(.units))
        #expect(viewsFirst.0.recent(.units) == [2, 0, 0])
        #expect(viewsFirst.1 == salesFirst.1 && viewsFirst.1.first == "2024-03-01T00:00:00Z")
    }

}
