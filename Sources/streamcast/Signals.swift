import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Process signals delivered to Swift closures, on a thread of their own.
///
/// A plain `sigaction` handler writes the signal's number into a pipe (the self-pipe trick: `write`
/// is async-signal-safe) and one thread reads the pipe and calls the handlers. Unlike signal
/// dispatch sources, this works whichever thread the kernel picks and whatever the main thread
/// is doing (a blocking consume loop included), so every long-running command stops on SIGINT /
/// SIGTERM in every state.
enum Signals {
/// Unchecked Sendable: `handlers` is behind `lock`; the pipe ends are immutable.
    private final class Registry: @unchecked Sendable {
        let lock = NSLock()
        var handlers: [Int32: [@Sendable () -> Void]] = [:]
        let readFD: Int32
        let writeFD: Int32

        init() {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { fatalError("cannot create the signal pipe: \(String(cString: strerror(errno)))") }
            readFD = fds[0]
            writeFD = fds[1]
            let reader = Thread { [self] in
                var byte: UInt8 = 0
                while true {
                    let n = read(readFD, &byte, 1)
                    if n == 1 {
                        lock.lock()
                        let todo = handlers[Int32(byte)] ?? []
                        lock.unlock()
                        for handler in todo { handler() }
                    } else if n < 0 && errno == EINTR {
                        continue
                    } else {
                        return
                    }
                }
            }
            reader.name = "streamcast-signals"
            reader.start()
        }
    }

    private static let registry = Registry()

    /// Calls `handler` (on the signal thread) each time the process receives `signal`.
    static func on(_ signal: Int32, _ handler: @escaping @Sendable () -> Void) {
        let registry = registry
        registry.lock.lock()
        registry.handlers[signal, default: []].append(handler)
        registry.lock.unlock()
        signalPipeFD.store(registry.writeFD, ordering: .relaxed)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            var byte = UInt8(truncatingIfNeeded: number)
            _ = write(signalPipeFD.load(ordering: .relaxed), &byte, 1)
        }
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        sigaction(signal, &action, nil)
    }

    /// Blocks the calling thread until SIGINT or SIGTERM arrives.
    static func waitForStop() {
        let semaphore = DispatchSemaphore(value: 0)
        for signal in [SIGINT, SIGTERM] { on(signal) { semaphore.signal() } }
        semaphore.wait()
    }
}

/// The pipe's write end, read by the signal handler (a C function pointer cannot capture context;
/// a lock-free atomic load is async-signal-safe). Stored once, before the first handler is installed.
private let signalPipeFD = Atomic<Int32>(-1)
