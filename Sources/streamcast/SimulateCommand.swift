import ArgumentParser
import Foundation
import Pipeline
import Simulation
import Windows

/// `streamcast simulate`: a synthetic event log (the bundled Replays/ sample is made with it).
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "simulate", abstract: "Write a synthetic retail event log.")

    @Option(help: "Number of products.") var products = 100
    @Option(help: "Number of periods.") var periods = 120
    @Option(help: "Period: hour, day, week or month.") var period = "day"
    @Option(help: "Random seed (same seed, same log).") var seed: UInt64 = 1
    @Option(help: "Output file (.gz compresses).") var out: String

    func run() throws {
        guard let p = Period(rawValue: period) else { throw ValidationError("--period must be hour, day, week or month") }
        var c = SimulationConfig()
        c.products = products
        c.periods = periods
        c.period = p
        c.seed = seed
        let writer = try LineWriter(path: out)
        let n = Simulator.generate(c) { writer.write($0) }
        writer.close()
        say("wrote \(n) events for \(products) products over \(periods) \(period)s to \(out)")
    }
}
