import ArgumentParser
import Events
import Foundation
import Kafka
import Pipeline
import Simulation
import Windows

/// Soak: a steady event rate through the embedded broker into the service for a long time, RSS
/// sampled every 10 s. Everything runs in this process (broker, producer, service), so the RSS is
/// theirs together; the broker's share is bounded by its ~5 MB per partition retention.
struct SoakBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "soak",
                                                    abstract: "Minutes of steady input through broker, service and consumer: resident memory (RSS) over time.")
    @Option(help: "Events per second.") var rate = 50_000
    @Option(help: "Minutes to run.") var minutes = 30.0
    @Option(help: "Minutes of warm-up excluded from the RSS band.") var warmup = 5.0
    @Option(help: "Products.") var products = 20_000
    @Option(help: "Wall seconds per simulated day (a period close refreshes every product).") var secondsPerDay = 60.0
    @Option(help: "Use this broker (e.g. `streamcast broker --partitions 8` in another process) instead of an embedded one, so the RSS is the service's alone.") var bootstrap: String?

    func run() throws {
        var config = PipelineConfig()
        config.partitions = 8
        let broker = try bootstrap == nil ? startBroker(port: 0, partitions: config.partitions, topics: config.topics) : nil
        let kafka = KafkaConfig(bootstrapServers: bootstrap ?? broker!.bootstrapServers, properties: [:])
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("soak-\(UUID().uuidString).sqlite").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: state + s) } }
        let service = try KafkaService(config: config, kafka: kafka, statePath: state, groupID: "soak")
        let stop = StopFlag()
        let box = UncheckedBox(service)
        let thread = Thread { do { try box.value.run { stop.isStopped } } catch { warn("service stopped: \(error)") } }
        thread.start()
        let producer = try KafkaProducer(config: kafka)
        let start: Int64 = 1_704_067_200_000, msPerWallSecond = 86_400_000.0 / secondsPerDay
        let began = Date()
        var sent = 0, samples: [(t: Double, rss: Int)] = []
        var nextSample = 0.0
        var rng = SplitMix64(seed: 1)
        while true {
            let elapsed = Date().timeIntervalSince(began)
            if elapsed >= minutes * 60 { break }
            // Catch up to the target rate, in slices of 1 ms.
            let due = Int(elapsed * Double(rate))
            while sent < due {
                let i = Int(rng.next() % UInt64(products)), product = "P\(i)"
                let time = start + Int64(Double(sent) / Double(rate) * msPerWallSecond)
                let sale = rng.next() % 10 < 7
                let line = sale ? #"{"type":"sale","product":"\#(product)","ts":"\#(Timestamp.format(time))","units":\#(1 + rng.next() % 3)}"#
                                : #"{"type":"page_view","product":"\#(product)","ts":"\#(Timestamp.format(time))","views":1}"#
                try producer.send(topic: sale ? config.topics.sales : config.topics.pageViews,
                                  partition: Partitioner.partition(product: product, partitions: config.partitions),
                                  key: Array(product.utf8), value: Array(line.utf8))
                sent += 1
                if sent % 1000 == 0 { producer.poll() }
            }
            if elapsed >= nextSample {
                samples.append((elapsed, StateBench().memoryKB().rss))
                // (The service's counters belong to its thread: read them only at the end.)
                warn(String(format: "soak %.0f s: %d events sent, RSS %.0f MB", elapsed, sent, Double(samples.last!.rss) / 1024))
                nextSample += 10
            }
            usleep(1000)
        }
        stop.stop()
        while thread.isExecuting { usleep(10_000) }
        let steady = samples.filter { $0.t >= warmup * 60 }.map(\.rss)
        let lo = steady.min() ?? 0, hi = steady.max() ?? 0
        say(String(format: "soak: %.0f min at %d events/s target: %d sent, %d consumed (%.0f/s), %d forecasts, dead letters %@; RSS after %.0f min warm-up %.0f–%.0f MB (band %.1f %% of the minimum)",
                   minutes, rate, sent, service.stats.events, Double(service.stats.events) / (minutes * 60), service.stats.forecasts,
                   "\(service.stats.deadLetters)", warmup, Double(lo) / 1024, Double(hi) / 1024, lo > 0 ? 100 * Double(hi - lo) / Double(lo) : 0))
    }
}
