"""Prints what confluent-kafka-python (librdkafka) learns about a cluster
from AdminClient.list_topics, for the Go cluster tests in internal/e2e.

    confluent_metadata.py BOOTSTRAP TOPIC

One JSON line: {"brokers": [{"id", "host", "port"}, ...] sorted by id,
"topic_error": null or the error's name, "partitions": [{"partition",
"leader", "replicas", "isrs", "error"}, ...] sorted by partition}.
Replicas and ISRs are in the order the broker sent them.
"""
import json
import sys

from confluent_kafka.admin import AdminClient


def main(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    md = admin.list_topics(topic, timeout=10)
    t = md.topics[topic]
    print(json.dumps({
        "brokers": [{"id": b.id, "host": b.host, "port": b.port}
                    for b in sorted(md.brokers.values(), key=lambda b: b.id)],
        "topic_error": None if t.error is None else t.error.name(),
        "partitions": [{"partition": p.id, "leader": p.leader, "replicas": list(p.replicas),
                        "isrs": list(p.isrs), "error": None if p.error is None else p.error.name()}
                       for p in sorted(t.partitions.values(), key=lambda p: p.id)],
    }), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
