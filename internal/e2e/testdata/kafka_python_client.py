"""Drives kafka-python against samsa for the Go tests in internal/e2e.

    kafka_python_client.py codecs
    kafka_python_client.py create   BOOTSTRAP TOPIC PARTITIONS
    kafka_python_client.py produce  BOOTSTRAP TOPIC COMPRESSION  < records
    kafka_python_client.py consume  BOOTSTRAP TOPIC PARTITION|* OFFSET MAX

Records on stdin and on stdout are JSON lines:
{"partition": 0, "offset": 3, "key": "k" or null, "value": "v",
 "headers": [["a", "1"], ...]}. produce prints {"partition", "offset"} of
each delivery in input order. Everything goes through assign(), never a
consumer group.
"""
import json
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic


def out(obj):
    print(json.dumps(obj), flush=True)


def enc(s):
    return None if s is None else s.encode()


def dec(b):
    return None if b is None else b.decode()


def codecs():
    # gzip is built in; the others need python3-snappy, python3-lz4 and
    # python3-zstandard.
    from kafka import codec
    out({"gzip": codec.has_gzip(), "snappy": codec.has_snappy(), "lz4": codec.has_lz4(),
         "zstd": codec.has_zstd()})


def create(bootstrap, topic, partitions):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="e2e-admin")
    resp = admin.create_topics([NewTopic(topic, int(partitions), 1)], timeout_ms=10000)
    for name, code, msg in resp.topic_errors:
        out({"created": name, "error_code": code, "error_message": msg})
    desc = admin.describe_topics([topic])
    for t in desc:
        out({"described": t["topic"], "error_code": t["error_code"],
             "partitions": sorted(p["partition"] for p in t["partitions"]),
             "leaders": sorted(p["leader"] for p in t["partitions"])})
    out({"topics": sorted(admin.list_topics())})
    admin.close()


def produce(bootstrap, topic, compression):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all",
                             compression_type=None if compression == "none" else compression,
                             linger_ms=5)
    futures = []
    for line in sys.stdin:
        if not line.strip():
            continue
        r = json.loads(line)
        futures.append(producer.send(topic, key=enc(r["key"]), value=enc(r["value"]),
                                     headers=[(k, enc(v)) for k, v in r.get("headers") or []],
                                     partition=r["partition"]))
    producer.flush(timeout=20)
    for f in futures:
        md = f.get(timeout=20)
        out({"partition": md.partition, "offset": md.offset})
    producer.close()


def consume(bootstrap, topic, partition, offset, maximum):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=1000, group_id=None)
    if partition == "*":
        parts = sorted(consumer.partitions_for_topic(topic))
    else:
        parts = [int(partition)]
    tps = [TopicPartition(topic, p) for p in parts]
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, int(offset))
    n = 0
    for m in consumer:  # ends after consumer_timeout_ms without a message
        out({"partition": m.partition, "offset": m.offset, "key": dec(m.key), "value": dec(m.value),
             "headers": [[k, dec(v)] for k, v in m.headers]})
        n += 1
        if n >= int(maximum):
            break
    consumer.close()


if __name__ == "__main__":
    {"codecs": codecs, "create": create, "produce": produce, "consume": consume}[sys.argv[1]](*sys.argv[2:])
