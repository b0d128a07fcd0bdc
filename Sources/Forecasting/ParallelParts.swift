import Foundation

/// Runs `body` over `count` items cut into `parts` contiguous ranges, one per worker, and returns
/// the parts' results in range order. The cut depends only on `count` and `parts`, so callers
/// that combine results in this order stay deterministic (training sums gradients part by part;
/// serving's forecasts do not depend on the cut at all).
func inParallelParts<T>(count: Int, parts: Int, _ body: (_ part: Int, _ range: Range<Int>) -> T) -> [(range: Range<Int>, result: T)] {
    let parts = max(1, min(parts, count))
    let bounds = (0...parts).map { $0 * count / parts }
    if parts == 1 { return [(0..<count, body(0, 0..<count))] }
    let slots = Slots<T>(parts)
    defer { slots.buffer.deallocate() }
    withoutActuallyEscaping(body) { body in
        let work = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: parts) { i in
            (slots.buffer.baseAddress! + i).initialize(to: work.value(i, bounds[i]..<bounds[i + 1]))
        }
    }
    return (0..<parts).map { i in (bounds[i]..<bounds[i + 1], (slots.buffer.baseAddress! + i).move()) }
}

/// One result slot per worker; each worker writes only its own.
struct Slots<T>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<T>
    init(_ n: Int) { buffer = .allocate(capacity: n) }
}

/// A value handed to the workers of `inParallelParts`; each worker touches only its own part of
/// what it reaches (its workspace, its slot), which is why this is safe.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
