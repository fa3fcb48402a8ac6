"""Consumer-group drivers for the Go tests in internal/e2e
(groups_crossclient_test.go): confluent-kafka (librdkafka) and kafka-python
as group members, and kafka-python's admin view of a group.

    group_client.py ck-members   BOOTSTRAP TOPIC GROUP N HOLD
    group_client.py kp-consume   BOOTSTRAP TOPIC GROUP MAX
    group_client.py kp-describe  BOOTSTRAP GROUP

Output is JSON lines.

ck-members runs N confluent-kafka Consumers in this one process (client.id
ck-member-I, same group.id, subscribe), polls them in turn until every one
has a non-empty assignment, prints {"member", "client_id", "assignment",
"early"} for each, then polls them in turn until each has reached the end of
each of its partitions, and prints every record read under the final
assignment as {"member", "partition", "offset", "value"} ("early" counts
those read under an assignment that a rebalance then revoked). Then each commits synchronously what it consumed and prints
{"member", "committed": [[partition, offset], ...]} as committed() then
reads it back. With HOLD=1 it then prints {"ready": true} and keeps the
members polling (no more commits) until stdin is closed. Last, the
members close (leaving the group) and it prints {"closed": true}.

kp-consume is one kafka-python KafkaConsumer subscribed with GROUP
(auto commit off, auto_offset_reset earliest): it prints up to MAX records
{"partition", "offset", "value"} (stopping earlier when none comes for 3 s),
commits synchronously with commit(), prints {"committed": {partition:
offset}} as committed() reads it back, and closes.

kp-describe prints what KafkaAdminClient.describe_consumer_groups and
list_consumer_group_offsets say about GROUP: {"group", "state",
"protocol_type", "protocol", "members": [{"member_id", "client_id",
"client_host", "assignment": [[topic, [partitions]]]}]} and
{"offsets": [[topic, partition, offset, metadata], ...]}.
"""
import json
import select
import sys
import time

N_DEADLINE = 25  # seconds for the members to get assignments and to consume


def out(obj):
    print(json.dumps(obj), flush=True)


def dec(b):
    return None if b is None else b.decode()


def ck_members(bootstrap, topic, group, n, hold):
    from confluent_kafka import Consumer, KafkaError

    n = int(n)
    members = []
    assigned = [[] for _ in range(n)]
    kept = [[] for _ in range(n)]  # records read under the current assignment

    def on_assign(i):
        def cb(consumer, parts):
            assigned[i] = sorted(p.partition for p in parts)
        return cb

    def on_revoke(i):
        def cb(consumer, parts):
            assigned[i] = []
            kept[i] = []  # read in a generation that is over
        return cb

    for i in range(n):
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": "ck-member-%d" % i,
                      "enable.auto.commit": False, "auto.offset.reset": "earliest",
                      "enable.partition.eof": True, "session.timeout.ms": 10000,
                      "heartbeat.interval.ms": 500})
        c.subscribe([topic], on_assign=on_assign(i), on_revoke=on_revoke(i))
        members.append(c)

    # A member polled before the others have their assignment may already
    # read under its own; what it read under an assignment it lost is
    # dropped by on_revoke (and counted as early).
    early = 0
    at_end = [set() for _ in range(n)]

    def handle(i, m):
        nonlocal early
        if m is None:
            return
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                at_end[i].add(m.partition())
                return
            raise SystemExit("member %d: %s" % (i, m.error()))
        at_end[i].discard(m.partition())
        kept[i].append({"member": i, "partition": m.partition(), "offset": m.offset(), "value": dec(m.value())})
        early += 1

    deadline = time.time() + N_DEADLINE
    while not all(assigned):
        if time.time() > deadline:
            raise SystemExit("members did not all get partitions within %ds: %s" % (N_DEADLINE, assigned))
        for i, c in enumerate(members):
            handle(i, c.poll(0.05))
    early -= sum(len(k) for k in kept)
    for i in range(n):
        out({"member": i, "client_id": "ck-member-%d" % i, "assignment": assigned[i], "early": early})
        at_end[i] &= set(assigned[i])

    deadline = time.time() + N_DEADLINE
    while any(at_end[i] != set(assigned[i]) for i in range(n)):
        if time.time() > deadline:
            raise SystemExit("members did not reach the end within %ds: %s of %s" % (N_DEADLINE, at_end, assigned))
        for i, c in enumerate(members):
            handle(i, c.poll(0.05))
    for k in kept:
        for r in k:
            out(r)

    for i, c in enumerate(members):
        c.commit(asynchronous=False)
        committed = c.committed(c.assignment(), timeout=10)
        out({"member": i, "committed": sorted([p.partition, p.offset] for p in committed)})

    if int(hold):
        out({"ready": True})
        while True:
            r, _, _ = select.select([sys.stdin], [], [], 0)
            if r and not sys.stdin.readline():
                break
            for c in members:
                m = c.poll(0.05)
                if m is not None and m.error() and m.error().code() != KafkaError._PARTITION_EOF:
                    raise SystemExit("holding: %s" % m.error())
    for c in members:
        c.close()
    out({"closed": True})


def kp_consume(bootstrap, topic, group, maximum):
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, client_id="kp-member",
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             consumer_timeout_ms=3000)
    n = 0
    if int(maximum) > 0:
        for m in consumer:  # ends after consumer_timeout_ms without a record
            out({"partition": m.partition, "offset": m.offset, "value": dec(m.value)})
            n += 1
            if n >= int(maximum):
                break
    consumer.commit()
    committed = {}
    for tp in consumer.assignment():
        committed[tp.partition] = consumer.committed(tp)
    out({"committed": committed})
    consumer.close()


def kp_describe(bootstrap, group):
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="kp-admin")
    for g in admin.describe_consumer_groups([group]):
        members = []
        for m in g.members:
            assignment = []
            if m.member_assignment is not None:
                assignment = sorted([t, sorted(ps)] for t, ps in m.member_assignment.assignment)
            members.append({"member_id": m.member_id, "client_id": m.client_id, "client_host": m.client_host,
                            "assignment": assignment})
        out({"group": g.group, "state": g.state, "protocol_type": g.protocol_type, "protocol": g.protocol,
             "members": sorted(members, key=lambda m: m["client_id"])})
    offsets = admin.list_consumer_group_offsets(group)
    out({"offsets": sorted([tp.topic, tp.partition, o.offset, o.metadata] for tp, o in offsets.items())})
    admin.close()


if __name__ == "__main__":
    {"ck-members": ck_members, "kp-consume": kp_consume, "kp-describe": kp_describe}[sys.argv[1]](*sys.argv[2:])
