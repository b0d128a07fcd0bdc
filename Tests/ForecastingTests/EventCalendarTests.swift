import Foundation
@testable import Forecasting
import NeuralNet
import Testing
import Windows

/// Per-event features: each named event gets its own pair of target inputs (in the period, in the
/// week after), the calendar survives the model file, and a model without events is unchanged.
@Suite struct EventCalendarTests {
    /// As the streamcast process does at its start (BLAS.useOneThread says why).
    init() { BLAS.useOneThread() }

    // 2024-11-29 (Black Friday) is day 20056; 2024-12-25 is day 20082.
    static let calendar = EventCalendar([("black_friday", 20056), ("christmas", 20082), ("black_friday", 19691)])

    @Test func featuresPerEventAndPeriod() {
        let c = Self.calendar
        #expect(c.names == ["black_friday", "christmas"], "sorted names: the same calendar, the same feature order")
        #expect(c.featureCount == 4)
        let day = Period.day
        let friday = day.index(of: Int64(20056) * 86_400_000)
        #expect(c.features(day, friday) == [1, 0, 0, 0], "Black Friday's own day")
        #expect(c.features(day, friday - 3) == [0, 0, 1, 0], "three days before: in the week after the period")
        #expect(c.features(day, friday + 1) == [0, 0, 0, 0])
        let week = Period.week
        let bfWeek = week.index(of: Int64(20056) * 86_400_000)
        #expect(c.features(week, bfWeek) == [1, 0, 0, 0])
        #expect(c.features(week, bfWeek - 1) == [0, 0, 1, 0])
        #expect(c.features(week, bfWeek + 4) == [0, 1, 0, 0], "Christmas 2024 is the Wednesday four weeks later")
    }

    @Test func encodedRoundTrip() throws {
        let c = Self.calendar
        let back = try #require(EventCalendar(encoded: c.encoded))
        #expect(back == c)
        #expect(EventCalendar(encoded: "no colon here") == nil)
        #expect(EventCalendar(encoded: "x:1,y") == nil)
    }

    /// The builder writes each target's event pair into the last `eventFeatures` future columns.
    @Test func targetColumns() {
        var config = MQConfig()
        config.context = 4
        config.horizons = 2
        config.eventFeatures = Self.calendar.featureCount
        config.futureFeatures = 4 + config.eventFeatures
        let builder = FeatureBuilder(config: config, period: .day, holidays: Self.calendar.days, events: Self.calendar)
        let friday = Int64(Period.day.index(of: Int64(20056) * 86_400_000))
        let series = ProductSeries(product: "p", category: 0, firstPeriod: friday - 6, units: Array(repeating: 3, count: 8),
                                   views: Array(repeating: 0, count: 8), price: Array(repeating: 5, count: 8), promo: Array(repeating: 0, count: 8))
        // FCT t = 4 → targets are periods friday − 1 (horizon 1) and friday (horizon 2).
        let (batch, _) = builder.batch([(series, 4, nil, nil)])
        #expect((4..<8).map { batch.future[0, $0] } == [0, 0, 1, 0], "the day before: Black Friday in the week after")
        #expect((4..<8).map { batch.future[1, $0] } == [1, 0, 0, 0], "Black Friday itself")
        #expect(batch.future[1, 2] == 1, "and the single holiday flag still says so")
    }

    @Test func modelFileKeepsTheCalendar() throws {
        var config = MQConfig()
        config.eventFeatures = Self.calendar.featureCount
        config.futureFeatures += config.eventFeatures
        var model = MQModel(network: MQNetwork(config, seed: 3), period: .day, holidays: Self.calendar.days, id: "m")
        model.events = Self.calendar
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("events-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let back = try MQModel.load(from: path)
        #expect(back.events == Self.calendar && back.network.config.eventFeatures == 4)

        // A network that expects event inputs without the calendar that names them is refused.
        model.events = EventCalendar([])
        try model.save(to: path)
        do { _ = try MQModel.load(from: path); Issue.record("loaded without its events") } catch {
            #expect("\(error)".contains("event features"))
        }
    }

    /// An event with no day in the training range has nothing to learn from: train leaves it out.
    @Test func onlyEventsThatOccurInARange() {
        let day = Period.day
        let friday = day.index(of: Int64(20056) * 86_400_000)
        let seen = Self.calendar.occurring(day, from: friday - 30, through: friday + 10)
        #expect(seen.names == ["black_friday"])
        #expect(seen.days == [20056, 19691], "every day of an event that occurs")
        #expect(Self.calendar.occurring(day, from: friday - 30, through: friday + 20).names == ["black_friday", "christmas"],
                "Christmas is in the week after Dec 18, the range's last day")
        #expect(Self.calendar.occurring(day, from: 0, through: 10).names.isEmpty)
    }
}
