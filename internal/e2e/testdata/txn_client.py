"""Drives confluent-kafka-python (librdkafka) transactions against samsa for
the Go tests in internal/e2e (txn_python_test.go).

    txn_client.py ck-txn      BOOTSTRAP TOPIC TXID  < records
    txn_client.py ck-consume  BOOTSTRAP TOPIC ISOLATION
    txn_client.py ck-timeout  BOOTSTRAP TXID TIMEOUT_MS
    txn_client.py ck-eos      BOOTSTRAP IN OUT GROUP TXID

Output is JSON lines. An error is printed as {"name", "code", "str",
"fatal", "retriable", "txn_requires_abort"} of the KafkaError (null when
there was none).

ck-txn reads records {"phase", "partition", "key", "value", "headers"} on
stdin, phase being one of "aborted", "committed", "zombie" and "fencer", and
plays this story with two transactional Producers of the same
transactional.id, printing {"step", "producer", "error"} after each step:

    1 init_transactions; begin; send the "aborted" records; flush;
      abort_transaction
    1 begin; send the "committed" records; flush; commit_transaction
    1 begin; send the "zombie" records; flush (delivered, left open)
    2 init_transactions (fences producer 1 and aborts its transaction)
    1 commit_transaction (must fail), then begin_transaction (must fail)
    2 begin; send the "fencer" records; flush; commit_transaction

Every delivery report is printed, in the order of the input, as
{"phase", "partition", "offset", "error"} right after the flush of its phase.
The story stops at the first step that fails unexpectedly (exit status 1).

ck-consume reads every partition of TOPIC from the start to its end with
isolation.level=ISOLATION (assign(), enable.partition.eof) and prints each
record as {"partition", "offset", "key", "value", "headers"}.

ck-timeout runs init_transactions with transaction.timeout.ms=TIMEOUT_MS and
prints {"step": "init", "error"}.

ck-eos is librdkafka's consume-transform-produce: a read_committed Consumer
subscribed to IN with GROUP reads every partition to its end, then a
transactional Producer sends "out-"+value of each record (same key, same
partition) to OUT, flushes them (so that the aborted ones are in the log
too), and adds send_offsets_to_transaction(the consumer's positions), first
in a transaction it aborts and then in one it commits. After each it
prints {"step": "abort" or "commit", "error", "positions": [[partition,
offset], ...], "committed": [[partition, offset], ...]}, committed being what
the consumer's committed() then reads for the group (-1001: none).
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

TIMEOUT = 20  # seconds for any one transactional call


def out(obj):
    print(json.dumps(obj), flush=True)


def enc(s):
    return None if s is None else s.encode()


def dec(b):
    return None if b is None else b.decode()


def err_json(e):
    if e is None:
        return None
    if isinstance(e, KafkaException):
        e = e.args[0]
    if not isinstance(e, KafkaError):
        return {"name": type(e).__name__, "code": None, "str": str(e), "fatal": None, "retriable": None,
                "txn_requires_abort": None}
    return {"name": e.name(), "code": e.code(), "str": e.str(), "fatal": e.fatal(), "retriable": e.retriable(),
            "txn_requires_abort": e.txn_requires_abort()}


def producer(bootstrap, txid, timeout_ms=None):
    conf = {"bootstrap.servers": bootstrap, "transactional.id": txid, "linger.ms": 5}
    if timeout_ms is not None:
        conf["transaction.timeout.ms"] = int(timeout_ms)
    return Producer(conf)


def step(name, who, fn, expect_error=False):
    """Runs fn, prints its outcome and stops the story unless the outcome is
    the expected one."""
    try:
        fn()
        err = None
    except Exception as e:  # KafkaException, or anything else unexpected
        err = e
    out({"step": name, "producer": who, "error": err_json(err)})
    if (err is not None) != expect_error:
        raise SystemExit("step %s of producer %d: %s" % (name, who, "no error" if err is None else err))


def send(p, topic, records, phase):
    reports = {}

    def on_delivery(i):
        def cb(err, msg):
            reports[i] = {"phase": phase, "partition": msg.partition(), "offset": msg.offset(),
                          "error": None if err is None else str(err)}
        return cb

    mine = [r for r in records if r["phase"] == phase]
    for i, r in enumerate(mine):
        p.produce(topic, key=enc(r["key"]), value=enc(r["value"]),
                  headers=[(k, enc(v)) for k, v in r.get("headers") or []],
                  partition=r["partition"], on_delivery=on_delivery(i))
        p.poll(0)
    left = p.flush(TIMEOUT)
    if left:
        raise SystemExit("%s: %d messages not delivered" % (phase, left))
    for i in range(len(mine)):
        out(reports[i])
        if reports[i]["error"] is not None:
            raise SystemExit("%s: delivery failed: %s" % (phase, reports[i]["error"]))


def ck_txn(bootstrap, topic, txid):
    records = [json.loads(line) for line in sys.stdin if line.strip()]
    p1 = producer(bootstrap, txid)
    step("init", 1, lambda: p1.init_transactions(TIMEOUT))

    step("begin", 1, p1.begin_transaction)
    send(p1, topic, records, "aborted")
    step("abort", 1, lambda: p1.abort_transaction(TIMEOUT))

    step("begin", 1, p1.begin_transaction)
    send(p1, topic, records, "committed")
    step("commit", 1, lambda: p1.commit_transaction(TIMEOUT))

    step("begin", 1, p1.begin_transaction)
    send(p1, topic, records, "zombie")

    p2 = producer(bootstrap, txid)
    step("init", 2, lambda: p2.init_transactions(TIMEOUT))

    step("commit", 1, lambda: p1.commit_transaction(TIMEOUT), expect_error=True)
    step("begin", 1, p1.begin_transaction, expect_error=True)

    step("begin", 2, p2.begin_transaction)
    send(p2, topic, records, "fencer")
    step("commit", 2, lambda: p2.commit_transaction(TIMEOUT))


def ck_consume(bootstrap, topic, isolation):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "e2e-unused", "enable.auto.commit": False,
                         "enable.partition.eof": True, "isolation.level": isolation})
    parts = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    at_end = set()
    deadline = time.time() + TIMEOUT
    while at_end != set(parts):
        if time.time() > deadline:
            raise SystemExit("not at the end of every partition within %ds: %s" % (TIMEOUT, sorted(at_end)))
        m = consumer.poll(1)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(m.partition())
                continue
            raise SystemExit("consume: %s" % m.error())
        at_end.discard(m.partition())
        out({"partition": m.partition(), "offset": m.offset(), "key": dec(m.key()), "value": dec(m.value()),
             "headers": [[k, dec(v)] for k, v in m.headers() or []]})
    consumer.close()


def ck_timeout(bootstrap, txid, timeout_ms):
    p = producer(bootstrap, txid, timeout_ms)
    try:
        p.init_transactions(TIMEOUT)
        err = None
    except Exception as e:
        err = e
    out({"step": "init", "error": err_json(err)})


def ck_eos(bootstrap, topic_in, topic_out, group, txid):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                         "enable.partition.eof": True})
    consumer.subscribe([topic_in])
    msgs = []
    at_end = set()
    deadline = time.time() + TIMEOUT
    while not consumer.assignment() or at_end != {p.partition for p in consumer.assignment()}:
        if time.time() > deadline:
            raise SystemExit("not at the end of the assigned partitions within %ds" % TIMEOUT)
        m = consumer.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(m.partition())
                continue
            raise SystemExit("consume: %s" % m.error())
        at_end.discard(m.partition())
        msgs.append(m)

    p = producer(bootstrap, txid)
    p.init_transactions(TIMEOUT)
    for end in ("abort", "commit"):
        p.begin_transaction()
        for m in msgs:
            p.produce(topic_out, key=m.key(), value=b"out-" + m.value(), partition=m.partition())
        if p.flush(TIMEOUT):
            raise SystemExit("%s: messages not delivered" % end)
        positions = consumer.position(consumer.assignment())
        try:
            p.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), TIMEOUT)
            if end == "abort":
                p.abort_transaction(TIMEOUT)
            else:
                p.commit_transaction(TIMEOUT)
            err = None
        except Exception as e:
            err = e
        committed = consumer.committed(consumer.assignment(), TIMEOUT)
        out({"step": end, "error": err_json(err), "positions": sorted([tp.partition, tp.offset] for tp in positions),
             "committed": sorted([tp.partition, tp.offset] for tp in committed)})
        if err is not None:
            raise SystemExit("%s: %s" % (end, err))
    consumer.close()


if __name__ == "__main__":
    {"ck-txn": ck_txn, "ck-consume": ck_consume, "ck-timeout": ck_timeout, "ck-eos": ck_eos}[sys.argv[1]](*sys.argv[2:])
