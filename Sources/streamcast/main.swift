import Foundation
import Kafka
let broker = try EmbeddedBroker(port: Int(CommandLine.arguments.dropFirst().first ?? "9092")!)
try broker.createTopic("sales", partitions: 4)
print("broker at \(broker.bootstrapServers)")
FileHandle.standardOutput.write("ready\n".data(using: .utf8)!)
while true { sleep(1) }
