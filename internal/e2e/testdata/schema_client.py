"""Drives confluent-kafka-python's Schema Registry client and its JSON and
Protobuf serializers against samsa, for internal/e2e/schema_python_test.go.

    schema_client.py registry URL
    schema_client.py produce  BOOTSTRAP URL TOPIC json|protobuf  < values
    schema_client.py consume  BOOTSTRAP TOPIC json|protobuf N

Output is JSON lines.

registry runs SchemaRegistryClient through a fixed story on subjects
py-avro-value, py-jsonschema-value and py-proto-value (see story()) and prints one
{"step": NAME, ...} per call: what the call returned, or {"error":
{"status", "code", "message"}} for a SchemaRegistryError.

produce reads one JSON value per line and sends it with a
SerializingProducer whose value serializer is JSONSerializer(JSON_SCHEMA) or
ProtobufSerializer(Order) (both register their schema under TOPIC-value), to
partition 0, key "k<i>"; it prints {"key", "partition", "offset", "error"}
per record in input order. Protobuf values are Order messages given as
their JSON mapping.

consume reads partition 0 from the start with a DeserializingConsumer and
the matching deserializer and prints N records as {"key", "offset",
"value"}, the value as the deserializer returned it (Order as its JSON
mapping, proto field names, 64-bit ints as strings).

The Order message type is built at run time from a FileDescriptorProto (no
protoc): message Order {string id = 1; int64 qty = 2; repeated string tags =
3; Line line = 4; google.protobuf.Timestamp at = 5;} message Line {string
sku = 1; double price = 2;} in package e2e.shop, file e2e/shop/order.proto.
"""
import json
import sys

from confluent_kafka import KafkaError
from confluent_kafka import DeserializingConsumer, SerializingProducer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import StringDeserializer, StringSerializer
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory, timestamp_pb2

JSON_SCHEMA = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Payment", "type": "object",
    "properties": {"id": {"type": "string"}, "amount": {"type": "number"},
                   "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["id", "amount"],
})

AVRO_V1 = json.dumps({"type": "record", "name": "User", "namespace": "e2e",
                      "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]})
# v2 adds a field with a default: backward and forward compatible.
AVRO_V2 = json.dumps({"type": "record", "name": "User", "namespace": "e2e",
                      "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"},
                                 {"name": "email", "type": "string", "default": ""}]})
# A new field without a default: old data cannot be read (not backward).
AVRO_NO_DEFAULT = json.dumps({"type": "record", "name": "User", "namespace": "e2e",
                              "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"},
                                         {"name": "age", "type": "int"}]})
# id turned from long into string: incompatible either way.
AVRO_BAD_TYPE = json.dumps({"type": "record", "name": "User", "namespace": "e2e",
                            "fields": [{"name": "id", "type": "string"}, {"name": "name", "type": "string"}]})
AVRO_INVALID = '{"type": "record", "name": "User", "fields": [{"name": "id", "type": "nope"}]}'

# amount may also be a string: a reader of v2 reads every v1 document.
JSON_WIDER = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Payment", "type": "object",
    "properties": {"id": {"type": "string"}, "amount": {"type": ["number", "string"]},
                   "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["id", "amount"],
})
# A property added to an open content model (additionalProperties not
# false): old documents may hold "note" with any type, so not backward.
JSON_OPEN_ADDED = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Payment", "type": "object",
    "properties": {"id": {"type": "string"}, "amount": {"type": "number"},
                   "tags": {"type": "array", "items": {"type": "string"}},
                   "note": {"type": "string"}},
    "required": ["id", "amount"],
})
# amount becomes a string: incompatible.
JSON_BAD_TYPE = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Payment", "type": "object",
    "properties": {"id": {"type": "string"}, "amount": {"type": "string"},
                   "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["id", "amount"],
})

PROTO_TEXT = 'syntax = "proto3";\npackage e2e.txt;\n\nmessage Ping {\n  string id = 1;\n  int32 n = 2;\n}\n'
PROTO_TEXT_V2 = 'syntax = "proto3";\npackage e2e.txt;\n\nmessage Ping {\n  string id = 1;\n  int32 n = 2;\n  string note = 3;\n}\n'
# Field 2 reused with a length-delimited type.
PROTO_TEXT_BAD = 'syntax = "proto3";\npackage e2e.txt;\n\nmessage Ping {\n  string id = 1;\n  string n = 2;\n}\n'


def out(obj):
    print(json.dumps(obj), flush=True)


def err(e):
    return {"status": e.http_status_code, "code": e.error_code, "message": e.error_message}


def order_class():
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="e2e/shop/order.proto", package="e2e.shop", syntax="proto3",
                                             dependency=["google/protobuf/timestamp.proto"])
    order = fdp.message_type.add(name="Order")
    order.field.add(name="id", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL, json_name="id")
    order.field.add(name="qty", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL, json_name="qty")
    order.field.add(name="tags", number=3, type=F.TYPE_STRING, label=F.LABEL_REPEATED, json_name="tags")
    order.field.add(name="line", number=4, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                    type_name=".e2e.shop.Line", json_name="line")
    order.field.add(name="at", number=5, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                    type_name=".google.protobuf.Timestamp", json_name="at")
    line = fdp.message_type.add(name="Line")
    line.field.add(name="sku", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL, json_name="sku")
    line.field.add(name="price", number=2, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL, json_name="price")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(timestamp_pb2.DESCRIPTOR.serialized_pb))
    pool.Add(fdp)
    return message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName("e2e.shop.Order"))


def story(url):
    sr = SchemaRegistryClient({"url": url})

    def step(name, fn):
        try:
            res = fn()
        except SchemaRegistryError as e:
            out({"step": name, "error": err(e)})
            return None
        out(dict({"step": name}, **res))
        return res

    def registered(rs):
        return {"id": rs.schema_id, "subject": rs.subject, "version": rs.version,
                "schema": rs.schema.schema_str, "type": rs.schema.schema_type}

    avro = "py-avro-value"
    step("avro-register", lambda: {"id": sr.register_schema(avro, Schema(AVRO_V1, "AVRO"))})
    step("avro-register-again", lambda: {"id": sr.register_schema(avro, Schema(AVRO_V1, "AVRO"))})
    step("avro-latest", lambda: registered(sr.get_latest_version(avro)))
    step("avro-compat-v2", lambda: {"compatible": sr.test_compatibility(avro, Schema(AVRO_V2, "AVRO"))})
    step("avro-compat-no-default", lambda: {"compatible": sr.test_compatibility(avro, Schema(AVRO_NO_DEFAULT, "AVRO"))})
    step("avro-register-v2", lambda: {"id": sr.register_schema(avro, Schema(AVRO_V2, "AVRO"))})
    step("avro-version-1", lambda: registered(sr.get_version(avro, 1)))
    step("avro-versions", lambda: {"versions": sr.get_versions(avro)})
    step("avro-lookup-v1", lambda: registered(sr.lookup_schema(avro, Schema(AVRO_V1, "AVRO"))))

    def by_id():
        s = sr.get_schema(sr.get_latest_version(avro).schema_id)
        return {"schema": s.schema_str, "type": s.schema_type}
    step("avro-by-id", by_id)
    step("global-compat", lambda: {"level": sr.get_compatibility()})
    step("avro-set-compat", lambda: {"result": sr.set_compatibility(avro, "FULL")})
    step("avro-compat", lambda: {"level": sr.get_compatibility(avro)})
    step("global-compat-after", lambda: {"level": sr.get_compatibility()})
    # FULL: the new field without a default is neither backward nor forward
    # safe, the one with a default is both.
    step("avro-full-no-default", lambda: {"compatible": sr.test_compatibility(avro, Schema(AVRO_NO_DEFAULT, "AVRO"))})
    step("avro-register-incompatible", lambda: {"id": sr.register_schema(avro, Schema(AVRO_BAD_TYPE, "AVRO"))})
    step("avro-register-invalid", lambda: {"id": sr.register_schema(avro, Schema(AVRO_INVALID, "AVRO"))})
    step("avro-lookup-unregistered", lambda: registered(sr.lookup_schema(avro, Schema(AVRO_NO_DEFAULT, "AVRO"))))
    step("unknown-subject", lambda: registered(sr.get_latest_version("py-nope-value")))
    step("unknown-id", lambda: {"schema": sr.get_schema(99999).schema_str})
    step("avro-set-compat-invalid", lambda: {"result": sr.set_compatibility(avro, "SOMETIMES")})

    js = "py-jsonschema-value"
    step("json-register", lambda: {"id": sr.register_schema(js, Schema(JSON_SCHEMA, "JSON"))})
    step("json-latest", lambda: registered(sr.get_latest_version(js)))
    step("json-compat-wider", lambda: {"compatible": sr.test_compatibility(js, Schema(JSON_WIDER, "JSON"))})
    step("json-compat-open-added", lambda: {"compatible": sr.test_compatibility(js, Schema(JSON_OPEN_ADDED, "JSON"))})
    step("json-compat-bad-type", lambda: {"compatible": sr.test_compatibility(js, Schema(JSON_BAD_TYPE, "JSON"))})
    step("json-register-incompatible", lambda: {"id": sr.register_schema(js, Schema(JSON_BAD_TYPE, "JSON"))})
    step("json-register-invalid", lambda: {"id": sr.register_schema(js, Schema('{"type": 5}', "JSON"))})

    pb = "py-proto-value"
    step("proto-register", lambda: {"id": sr.register_schema(pb, Schema(PROTO_TEXT, "PROTOBUF"))})
    step("proto-lookup", lambda: registered(sr.lookup_schema(pb, Schema(PROTO_TEXT, "PROTOBUF"))))
    step("proto-compat-v2", lambda: {"compatible": sr.test_compatibility(pb, Schema(PROTO_TEXT_V2, "PROTOBUF"))})
    step("proto-compat-bad", lambda: {"compatible": sr.test_compatibility(pb, Schema(PROTO_TEXT_BAD, "PROTOBUF"))})
    step("proto-register-incompatible", lambda: {"id": sr.register_schema(pb, Schema(PROTO_TEXT_BAD, "PROTOBUF"))})
    step("proto-register-invalid",
         lambda: {"id": sr.register_schema(pb, Schema('syntax = "proto3";\nmessage M {\n  strin a = 1;\n}\n', "PROTOBUF"))})
    step("subjects", lambda: {"subjects": sorted(sr.get_subjects())})


def produce(bootstrap, url, topic, fmt):
    sr = SchemaRegistryClient({"url": url})
    if fmt == "json":
        ser = JSONSerializer(JSON_SCHEMA, sr)
        mk = lambda v: v  # noqa: E731
    else:
        cls = order_class()
        ser = ProtobufSerializer(cls, sr)
        mk = lambda v: json_format.ParseDict(v, cls())  # noqa: E731
    p = SerializingProducer({"bootstrap.servers": bootstrap, "key.serializer": StringSerializer("utf_8"),
                             "value.serializer": ser, "enable.idempotence": True})
    reports = {}

    def cb(i):
        def f(e, msg):
            reports[i] = {"key": msg.key().decode(), "partition": msg.partition(), "offset": msg.offset(),
                          "error": None if e is None else str(e)}
        return f
    n = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        p.produce(topic, key="k%d" % n, value=mk(json.loads(line)), partition=0, on_delivery=cb(n))
        n += 1
        p.poll(0)
    if p.flush(20):
        raise SystemExit("records not delivered")
    for i in range(n):
        out(reports[i])


def consume(bootstrap, topic, fmt, n):
    if fmt == "json":
        de = JSONDeserializer(JSON_SCHEMA)
        show = lambda v: v  # noqa: E731
    else:
        de = ProtobufDeserializer(order_class())
        show = lambda v: json_format.MessageToDict(v, preserving_proto_field_name=True)  # noqa: E731
    c = DeserializingConsumer({"bootstrap.servers": bootstrap, "group.id": "py-schema-" + topic,
                               "auto.offset.reset": "earliest", "enable.auto.commit": False,
                               "key.deserializer": StringDeserializer("utf_8"), "value.deserializer": de})
    c.subscribe([topic])
    got = 0
    while got < int(n):
        m = c.poll(15)
        if m is None:
            raise SystemExit("no record within 15s after %d" % got)
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise SystemExit("consume: %s" % m.error())
        out({"key": m.key(), "offset": m.offset(), "value": show(m.value())})
        got += 1
    c.close()


if __name__ == "__main__":
    {"registry": story, "produce": produce, "consume": consume}[sys.argv[1]](*sys.argv[2:])
