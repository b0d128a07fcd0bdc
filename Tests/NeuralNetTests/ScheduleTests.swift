import Foundation
import Testing
@testable import NeuralNet

@Test func cosineScheduleRunsFromTheBaseRateToItsFloor() {
    #expect(cosineLearningRate(base: 2e-3, epoch: 1, of: 25, floor: 0.1) == 2e-3)
    #expect(abs(cosineLearningRate(base: 2e-3, epoch: 25, of: 25, floor: 0.1) - 2e-4) < 1e-9)
    #expect(abs(cosineLearningRate(base: 2e-3, epoch: 13, of: 25, floor: 0.1) - 1.1e-3) < 1e-8)  // halfway
    var previous = Float.infinity
    for epoch in 1...25 {
        let rate = cosineLearningRate(base: 1, epoch: epoch, of: 25, floor: 0.1)
        #expect(rate < previous)
        previous = rate
    }
    #expect(cosineLearningRate(base: 1, epoch: 40, of: 25, floor: 0.1) == cosineLearningRate(base: 1, epoch: 25, of: 25, floor: 0.1))
}

@Test func weightAverageIsTheRampedExponentialAverageAndSwapsBothWays() {
    let p = Parameter("w", Matrix(rows: 1, cols: 2, data: [0, 10]))
    let average = WeightAverage([p], decay: 0.5)
    var expected: [Double] = [0, 10]
    for (n, step) in [[1.0, 2.0], [3.0, -4.0], [5.0, 6.0], [7.0, 8.0]].enumerated() {
        p.value.data = step.map(Float.init)
        average.update([p])
        let d = min(0.5, Double(1 + n) / Double(10 + n))
        expected = zip(expected, step).map { d * $0 + (1 - d) * $1 }
    }
    for i in 0..<2 { #expect(abs(Double(average.values[0].data[i]) - expected[i]) < 1e-5) }
    average.swap(into: [p])
    #expect(abs(Double(p.value.data[1]) - expected[1]) < 1e-5)
    #expect(average.values[0].data == [7, 8])
    average.swap(into: [p])
    #expect(p.value.data == [7, 8])
}

/// The flop counter is shared by parallel serving/training threads: no update may be lost. (Other
/// tests may run gemm concurrently while it counts, so the count is at least, not exactly, ours.)
@Test func gemmStatisticsCountsEveryCallFromParallelThreads() {
    let a = Matrix(rows: 8, cols: 8, data: (0..<64).map { Float($0 % 5) })
    GEMMStatistics.start()
    DispatchQueue.concurrentPerform(iterations: 2) { _ in
        var c = Matrix(rows: 8, cols: 8)
        for _ in 0..<2_000 { gemm(a, a, into: &c) }
    }
    let (flops, _) = GEMMStatistics.stop()
    #expect(flops >= 2 * 2_000 * 2 * 512)
    var c = Matrix(rows: 8, cols: 8)
    gemm(a, a, into: &c)
    #expect(GEMMStatistics.stop().flops == flops, "nothing counted once stopped")
}
