"""Drives confluent-kafka-python (librdkafka) against samsa for the Go tests
in internal/e2e.

    confluent_client.py create   BOOTSTRAP TOPIC PARTITIONS
    confluent_client.py produce  BOOTSTRAP TOPIC COMPRESSION  < records
    confluent_client.py consume  BOOTSTRAP TOPIC PARTITION|* OFFSET MAX

Records on stdin and on stdout are JSON lines:
{"partition": 0, "offset": 3, "key": "k" or null, "value": "v",
 "headers": [["a", "1"], ...]}. produce uses enable.idempotence=true and
prints the delivery report of each record, {"partition", "offset",
"error"}, in input order. consume uses assign() with a start offset:
librdkafka wants a group.id, but with auto commit off and no subscribe it
never needs the coordinator (samsa has no groups yet).
"""
import json
import sys

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def out(obj):
    print(json.dumps(obj), flush=True)


def enc(s):
    return None if s is None else s.encode()


def dec(b):
    return None if b is None else b.decode()


def create(bootstrap, topic, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for name, f in admin.create_topics([NewTopic(topic, int(partitions), 1)], operation_timeout=10).items():
        err = None
        try:
            f.result(timeout=20)
        except Exception as e:  # KafkaException wraps the KafkaError
            err = str(e)
        out({"created": name, "error": err})
    md = admin.list_topics(timeout=10)
    t = md.topics[topic]
    out({"described": topic, "error": None if t.error is None else str(t.error),
         "partitions": sorted(t.partitions), "leaders": sorted(p.leader for p in t.partitions.values()),
         "brokers": sorted(b.id for b in md.brokers.values())})
    out({"topics": sorted(md.topics)})


def produce(bootstrap, topic, compression):
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": compression,
                         "enable.idempotence": True, "linger.ms": 5})
    reports = []

    def on_delivery(i):
        def cb(err, msg):
            reports.append((i, {"partition": msg.partition(), "offset": msg.offset(),
                                "error": None if err is None else str(err)}))
        return cb

    n = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        r = json.loads(line)
        producer.produce(topic, key=enc(r["key"]), value=enc(r["value"]),
                         headers=[(k, enc(v)) for k, v in r.get("headers") or []],
                         partition=r["partition"], on_delivery=on_delivery(n))
        n += 1
        producer.poll(0)
    left = producer.flush(20)
    if left:
        raise SystemExit("%d messages not delivered" % left)
    for _, rep in sorted(reports, key=lambda x: x[0]):
        out(rep)


def consume(bootstrap, topic, partition, offset, maximum):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "e2e-unused",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    if partition == "*":
        parts = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    else:
        parts = [int(partition)]
    consumer.assign([TopicPartition(topic, p, int(offset)) for p in parts])
    n = 0
    at_end = set()
    while n < int(maximum):
        m = consumer.poll(10)
        if m is None:
            raise SystemExit("no message or end of partition within 10s")
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(m.partition())
                if at_end == set(parts):
                    break
                continue
            raise SystemExit("consume: %s" % m.error())
        out({"partition": m.partition(), "offset": m.offset(), "key": dec(m.key()), "value": dec(m.value()),
             "headers": [[k, dec(v)] for k, v in m.headers() or []]})
        n += 1
    consumer.close()


if __name__ == "__main__":
    {"create": create, "produce": produce, "consume": consume}[sys.argv[1]](*sys.argv[2:])
