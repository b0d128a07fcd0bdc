/// Kafka's default partitioner (Java client: murmur2 of the key, made positive, modulo the partition
/// count), so products land on the same partition number whoever produced them and offline replays
/// group products exactly as the Kafka path does.
public enum Partitioner {
    public static func partition(key: [UInt8], partitions: Int) -> Int32 {
        key.withUnsafeBytes { partition(bytes: $0, partitions: partitions) }
    }

    public static func partition(product: String, partitions: Int) -> Int32 {
        var product = product
        return product.withUTF8 { partition(bytes: UnsafeRawBufferPointer($0), partitions: partitions) }
    }

    static func partition(bytes: UnsafeRawBufferPointer, partitions: Int) -> Int32 {
        Int32(Int(murmur2(bytes) & 0x7fff_ffff) % partitions)
    }

    static func murmur2(_ data: UnsafeRawBufferPointer) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: data.count)
        let blocks = data.count / 4
        for i in 0..<blocks {
            let b = i * 4
            var k = UInt32(data[b]) | UInt32(data[b + 1]) << 8 | UInt32(data[b + 2]) << 16 | UInt32(data[b + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = blocks * 4
        switch data.count & 3 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16; fallthrough
        case 2:
            h ^= UInt32(data[tail + 1]) << 8; fallthrough
        case 1:
            h ^= UInt32(data[tail])
            h = h &* m
        default: break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }
}
