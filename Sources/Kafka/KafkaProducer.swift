import CRdKafka
import Logging

/// An idempotent producer with delivery reports and back-pressure.
///
/// `send` copies the message into librdkafka's queue; when that queue is full it serves delivery
/// reports until there is room (back-pressure instead of dropping). `flush` waits until every
/// message sent so far is acknowledged and throws if any delivery failed, so a caller can make
/// "produced" a precondition of "checkpointed".
/// Unchecked Sendable: librdkafka's producer handle is thread-safe; delivery counts are updated from its callback, read after poll/flush.
public final class KafkaProducer: @unchecked Sendable {
    private final class Deliveries {
        var delivered = 0
        var failed = 0
        var lastFailure: String?
        /// Topics whose delivered positions are kept (by topic handle): partition → offset after
        /// the newest message delivered.
        var tracked: [OpaquePointer: [Int32: Int64]] = [:]
    }

    private let handle: OpaquePointer
    private let deliveries = Deliveries()
    private var topics: [String: OpaquePointer] = [:]
    private let logger: Logger
    private var closed = false

    public init(config: KafkaConfig, logger: Logger = Logger(label: "streamcast.kafka.producer")) throws {
        var config = config
        if config["enable.idempotence"] == nil { config["enable.idempotence"] = "true" }
        if config["linger.ms"] == nil { config["linger.ms"] = "5" }
        let conf = try config.makeConf()
        self.logger = logger
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(deliveries).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            guard let message, let opaque else { return }
            let d = Unmanaged<Deliveries>.fromOpaque(opaque).takeUnretainedValue()
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                d.delivered += 1
                if !d.tracked.isEmpty, let rkt = message.pointee.rkt, d.tracked[rkt] != nil {
                    let m = message.pointee
                    d.tracked[rkt]![m.partition] = max(d.tracked[rkt]![m.partition] ?? 0, m.offset + 1)
                }
            } else {
                d.failed += 1
                d.lastFailure = String(cString: rd_kafka_err2str(message.pointee.err))
            }
        }
        var errbuf = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errbuf, errbuf.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.client, "cannot create producer: \(errorText(errbuf))")
        }
        handle = rk
    }

    deinit { close() }

    private func topic(_ name: String) throws -> OpaquePointer {
        if let t = topics[name] { return t }
        guard let t = rd_kafka_topic_new(handle, name, nil) else {
            throw KafkaError(.topic, "cannot open topic \(name)")
        }
        topics[name] = t
        return t
    }

    /// Queues one message. `partition` nil lets librdkafka's partitioner choose from the key.
    /// Headers are (name, value) pairs.
    public func send(topic name: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8],
                     headers: [(String, [UInt8])] = []) throws {
        let rkt = try topic(name)
        while true {
            let err: rd_kafka_resp_err_t = value.withUnsafeBytes { v in
                (key ?? []).withUnsafeBytes { k in
                    produce(rkt: rkt, partition: partition ?? RD_KAFKA_PARTITION_UA, key: key == nil ? nil : k,
                            value: v, headers: headers)
                }
            }
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { break }
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                rd_kafka_poll(handle, 10)  // back-pressure: serve delivery reports, then retry
                continue
            }
            throw KafkaError(.produce, err, context: "produce to \(name)")
        }
        rd_kafka_poll(handle, 0)
    }

    private func produce(rkt: OpaquePointer, partition: Int32, key: UnsafeRawBufferPointer?,
                         value: UnsafeRawBufferPointer, headers: [(String, [UInt8])]) -> rd_kafka_resp_err_t {
        if headers.isEmpty {
            let rc = rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY,
                                      UnsafeMutableRawPointer(mutating: value.baseAddress), value.count,
                                      key?.baseAddress, key?.count ?? 0, nil)
            return rc == 0 ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_last_error()
        }
        // Headers need the vector API (rd_kafka_producev is variadic and not callable from Swift).
        let hdrs = rd_kafka_headers_new(headers.count)!
        for (name, bytes) in headers {
            bytes.withUnsafeBytes { b in _ = rd_kafka_header_add(hdrs, name, -1, b.baseAddress, b.count) }
        }
        var vus = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 6)
        vus[0].vtype = RD_KAFKA_VTYPE_RKT; vus[0].u.rkt = rkt
        vus[1].vtype = RD_KAFKA_VTYPE_PARTITION; vus[1].u.i32 = partition
        vus[2].vtype = RD_KAFKA_VTYPE_VALUE
        vus[2].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress); vus[2].u.mem.size = value.count
        vus[3].vtype = RD_KAFKA_VTYPE_KEY
        vus[3].u.mem.ptr = key.flatMap { UnsafeMutableRawPointer(mutating: $0.baseAddress) }; vus[3].u.mem.size = key?.count ?? 0
        vus[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS; vus[4].u.i = RD_KAFKA_MSG_F_COPY
        vus[5].vtype = RD_KAFKA_VTYPE_HEADERS; vus[5].u.headers = hdrs
        guard let error = rd_kafka_produceva(handle, &vus, vus.count) else { return RD_KAFKA_RESP_ERR_NO_ERROR }
        let code = rd_kafka_error_code(error)
        rd_kafka_error_destroy(error)
        rd_kafka_headers_destroy(hdrs)  // ownership passes to librdkafka only on success
        return code
    }

    /// Keeps, for this topic, the offset after the newest message delivered to each partition
    /// (`deliveredEnd`): where a reader of what this producer wrote must read up to.
    public func trackDeliveredOffsets(topic name: String) throws {
        let rkt = try topic(name)
        if deliveries.tracked[rkt] == nil { deliveries.tracked[rkt] = [:] }
    }

    /// The offset after the newest delivered message of a tracked topic's partition (nil: none yet).
    public func deliveredEnd(topic name: String, partition: Int32) -> Int64? {
        topics[name].flatMap { deliveries.tracked[$0]?[partition] }
    }

    /// Serves delivery reports without blocking.
    public func poll() { rd_kafka_poll(handle, 0) }

    /// Messages queued or in flight.
    public var outstanding: Int { Int(rd_kafka_outq_len(handle)) }
    public var deliveredCount: Int { deliveries.delivered }
    public var failedCount: Int { deliveries.failed }

    /// Waits until everything sent so far is delivered; throws on timeout or on any failed delivery
    /// since the last flush.
    public func flush(timeoutMs: Int32 = 30_000) throws {
        let err = rd_kafka_flush(handle, timeoutMs)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(.timeout, err, context: "flush") }
        if deliveries.failed > 0 {
            let reason = deliveries.lastFailure ?? "unknown"
            let count = deliveries.failed
            deliveries.failed = 0
            throw KafkaError(.produce, "\(count) message(s) not delivered: \(reason)")
        }
    }

    public func close() {
        guard !closed else { return }
        closed = true
        _ = rd_kafka_flush(handle, 10_000)
        for (_, t) in topics { rd_kafka_topic_destroy(t) }
        topics.removeAll()
        rd_kafka_destroy(handle)
    }
}
