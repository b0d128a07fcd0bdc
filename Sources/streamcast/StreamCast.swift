import ArgumentParser
import Foundation
import Logging
import Forecasting
import NeuralNet
import Pipeline

@main
struct StreamCast: AsyncParsableCommand {
    /// Process-wide settings first (BLAS.useOneThread says why), then the command.
    static func main() async {
        BLAS.useOneThread()
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "streamcast",
        abstract: "Streaming multi-horizon quantile demand forecasts from Kafka events.",
        subcommands: [DemoCommand.self, BrokerCommand.self, RunCommand.self, ReplayCommand.self,
                      ReloadCommand.self, RecordCommand.self, SimulateCommand.self, ConvertCommand.self, TrainCommand.self, BacktestCommand.self, PriceResponseCommand.self, WhatIfCommand.self, OnlineEvalCommand.self, MonitorCommand.self, FuzzCommand.self, BenchCommand.self])
}

/// Flags shared by the commands that run the pipeline (contract: common flags).
struct PipelineOptions: ParsableArguments {
    @Option(help: "TOML configuration file (default: Config/streamcast.toml when present).") var config: String?
    @Option(help: "Kafka bootstrap servers HOST:PORT.") var bootstrap: String?
    @Option(help: "SQLite checkpoint file.") var state: String?
    @Option(help: "Consumer group id.") var group: String?
    @Option(help: "Period: hour, day, week or month.") var period: String?
    @Option(help: "Forecast horizons H.") var horizons: Int?
    @Option(help: "Quantile levels, e.g. 0.1,0.5,0.9.") var quantiles: String?
    @Option(help: "Partitions of the input topics.") var partitions: Int?
    @Option(help: "Window length L in periods.") var windowLength: Int?
    @Option(help: "Baseline forecaster: seasonal_naive or empirical_quantiles.") var forecaster: String?
    @Option(help: "Trained model file (safetensors from `streamcast train`); replaces the baseline (backtest: repeatable).") var model: [String] = []

    /// Defaults < file < environment < these flags; exits with status 2 on any config error.
    func settings() throws -> Settings {
        do {
            var s = try Settings.load(configPath: config)
            let flags: [(String, String?)] = [
                ("checkpoint.path", state), ("service.group", group), ("windows.period", period),
                ("forecast.horizons", horizons.map(String.init)), ("forecast.quantiles", quantiles),
                ("topics.partitions", partitions.map(String.init)), ("windows.length", windowLength.map(String.init)),
                ("forecast.model", forecaster), ("kafka.bootstrap.servers", bootstrap), ("forecast.model_file", model.last),
            ]
            for (key, value) in flags { if let value { try s.apply(key, value, origin: "command line") } }
            try s.validate()
            return s
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("streamcast: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

/// The flags of commands that only talk to Kafka (no forecasting): the config file and the broker.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "TOML configuration file (default: Config/streamcast.toml when present); its [topics] and [kafka] apply.") var config: String?
    @Option(help: "Kafka bootstrap servers HOST:PORT.") var bootstrap: String?

    func settings() throws -> Settings {
        try PipelineOptions.parse((config.map { ["--config", $0] } ?? []) + (bootstrap.map { ["--bootstrap", $0] } ?? [])).settings()
    }
}

func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

func warn(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// One line of progress on stderr, e.g. "replay: 1.2M lines, 850k/s, 34 MB".
func progressLine(_ label: String, lines: Int64, bytes: Int, seconds: Double) {
    let rate = seconds > 0 ? Double(lines) / seconds : 0
    warn(String(format: "%@: %lld lines, %.0f lines/s, %.1f MB read, %.1f s", label, lines, rate, Double(bytes) / 1e6, seconds))
}

/// The forecaster the settings ask for: the trained model when a model file is configured, the
/// baseline otherwise (with a log line saying so).
func makeForecaster(_ settings: Settings) throws -> any Forecaster {
    let models = try loadModels(settings)
    guard !models.isEmpty else {
        warn("streamcast: no model file configured (forecast.model_file / --model); using the \(settings.pipeline.forecaster) baseline")
        return settings.recalibrated(try settings.pipeline.makeForecaster())
    }
    return settings.serving(models)
}

/// The configured model file, checked against the configuration (exit 2 naming the key if not).
/// `A+B+C` names an ensemble: the quantile average of those models (e.g. one network, several seeds).
func loadModels(_ settings: Settings) throws -> [MQModel] {
    guard let spec = settings.modelFile else { return [] }
    return try spec.split(separator: "+").map { part in
        let path = String(part)
        let model: MQModel
        do { model = try MQModel.load(from: path) } catch {
            FileHandle.standardError.write(Data("streamcast: config error at 'forecast.model_file': \(error)\n".utf8))
            throw ExitCode(2)
        }
        guard model.period == settings.pipeline.windows.period else {
            FileHandle.standardError.write(Data("streamcast: config error at 'forecast.model_file': \(path) was trained for \(model.period.rawValue)s but windows.period is \(settings.pipeline.windows.period.rawValue)\n".utf8))
            throw ExitCode(2)
        }
        return model
    }
}

extension Settings {
    /// The models as the service serves them: one model, or the ensemble of several, with the
    /// error-memory switch, wrapped in the recalibrator when configured.
    func serving(_ models: [MQModel]) -> any Forecaster {
        _ = warnedIfBatchesAreNotExact
        return recalibrated(MQModel.forecaster(serving: models, useMemory: errorMemory))
    }

    /// Wraps the forecaster in the online recalibrator when `forecast.recalibration` asks for it.
    func recalibrated(_ f: any Forecaster) -> any Forecaster {
        recalibration == .off ? f : ConformalRecalibrator(inner: f, step: recalibrationStep, stepScale: recalibrationScale)
    }
}

/// Said once, for operators, when this CPU's BLAS kernels make the model forecast one product
/// per forward pass (docs/operations.md, "Deterministic forecasts and the CPU").
let warnedIfBatchesAreNotExact: Void = {
    guard !BLAS.rowsAreBatchInvariant else { return }
    warn("streamcast: OpenBLAS's \(BLAS.coreName) kernels make a matrix row's result depend on its neighbours; "
         + "forecasting one product per forward pass so that forecasts do not depend on the batch (exact, slower; "
         + "on CPUs with AVX-512, OPENBLAS_CORETYPE unset or =SkylakeX restores batched passes)")
}()

/// `--recalibration-scale level|width` (ArgumentParser refuses other values with exit 64).
extension ConformalRecalibrator.StepScale: ExpressibleByArgument {}
