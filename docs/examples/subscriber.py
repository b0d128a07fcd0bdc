"""Subscribe to StreamCast forecasts (pip install confluent-kafka). Prints P10/P50/P90 per horizon."""
import json, sys
from confluent_kafka import Consumer

bootstrap = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092"
limit = int(sys.argv[2]) if len(sys.argv) > 2 else None  # stop after N messages (None = forever)
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "buyer-example", "auto.offset.reset": "earliest"})
consumer.subscribe(["forecasts"])
seen = 0
while limit is None or seen < limit:
    msg = consumer.poll(5.0)
    if msg is None or msg.error(): continue
    f = json.loads(msg.value()); seen += 1
    print(msg.key().decode(), f["fct"], [(t["start"][:10], t["q"]) for t in f["targets"][:3]], f["model"])
consumer.close()
