import ArgumentParser
import Foundation

/// `streamcast reload`: asks a running service to reload its model file now (it also reloads by
/// itself when the file changes, every `forecast.reload_poll_seconds`). The service is found by the
/// pid file it keeps beside its checkpoint, so no other process is signalled.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make a running service reload its model file (found by its checkpoint's pid file).")

    @Option(help: "The running service's checkpoint file (its pid file is FILE.pid).") var state = "streamcast.sqlite"

    func run() throws {
        let path = PidFile.path(statePath: state)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ValidationError("no running service for \(state): \(path) is missing or unreadable (is `streamcast run --state \(state)` running?)")
        }
        guard kill(pid, SIGHUP) == 0 else {
            throw ValidationError("the service of \(state) (pid \(pid) in \(path)) is not running: \(String(cString: strerror(errno)))")
        }
        say("asked the service of \(state) (pid \(pid)) to reload its model")
    }
}

/// The running service's process id, in a file beside its checkpoint (`STATE.pid`), removed on a
/// clean stop. `streamcast reload` reads it.
struct PidFile {
    let path: String

    static func path(statePath: String) -> String { statePath + ".pid" }

    init(statePath: String) throws {
        path = Self.path(statePath: statePath)
        do {
            try "\(getpid())\n".write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationErrorText("cannot write the pid file \(path) beside the checkpoint: \(error.localizedDescription)")
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
