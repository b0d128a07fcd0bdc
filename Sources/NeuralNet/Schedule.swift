import Foundation

/// Cosine learning-rate decay over a planned number of epochs: `base` at the first epoch,
/// `base · floor` at the last. Late epochs take small steps, so the weights settle instead of
/// bouncing around a minimum (the held-out loss of a constant rate moves ±4 % epoch to epoch
/// on walmart).
public func cosineLearningRate(base: Float, epoch: Int, of epochs: Int, floor: Float) -> Float {
    guard epochs > 1 else { return base }
    let progress = Float(min(max(epoch - 1, 0), epochs - 1)) / Float(epochs - 1)
    return base * (floor + (1 - floor) * 0.5 * (1 + cos(.pi * progress)))
}

/// An exponential moving average of the weights (Polyak averaging), updated after every
/// optimizer step: a cheap ensemble of the recent iterates, usually better than the last one.
/// The effective decay ramps up as min(decay, (1 + n)/(10 + n)) so the early average is not
/// dominated by the random initial weights.
public final class WeightAverage {
    public let decay: Float
    public private(set) var values: [Matrix]
    private var updates = 0

    public init(_ parameters: [Parameter], decay: Float) {
        self.decay = decay
        values = parameters.map(\.value)
    }

    /// avg ← d·avg + (1 − d)·w for every parameter.
    public func update(_ parameters: [Parameter]) {
        let d = min(decay, Float(1 + updates) / Float(10 + updates))
        updates += 1
        for (k, p) in parameters.enumerated() {
            values[k].data.withUnsafeMutableBufferPointer { avg in
                p.value.data.withUnsafeBufferPointer { w in
                    for i in avg.indices { avg[i] = d * avg[i] + (1 - d) * w[i] }
                }
            }
        }
    }

    /// Swaps the averaged weights into the parameters (and the live ones into the average):
    /// call twice to swap back.
    public func swap(into parameters: [Parameter]) {
        for (k, p) in parameters.enumerated() { Swift.swap(&values[k], &p.value) }
    }
}
