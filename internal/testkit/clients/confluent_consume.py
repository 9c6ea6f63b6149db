"""Reads Avro records the way a Confluent client of another language does.

Consumes the given topics from their start with Confluent's Python client
(librdkafka, read_committed, a consumer group of its own) and decodes each
value with Confluent's AvroDeserializer against a schema registry, until it
has COUNT records or TIMEOUT seconds passed. Prints one JSON object per
record: topic, partition, offset, key, headers and the decoded value
(timestamps as ISO 8601). Exits 1 with a message on stderr when it got
fewer records, or when a value does not decode.

usage: confluent_consume.py BOOTSTRAP REGISTRY_URL GROUP COUNT TIMEOUT TOPIC...
"""

import datetime
import json
import sys
import time

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def plain(v):
    if isinstance(v, (datetime.datetime, datetime.date)):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    raise TypeError(f"cannot print {type(v)}")


def main(bootstrap, registry, group, count, timeout, *topics):
    count, deadline = int(count), time.monotonic() + float(timeout)
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry}))
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
    })
    consumer.subscribe(list(topics))
    got = 0
    try:
        while got < count and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is None:
                continue
            if m.error():
                print(f"consume: {m.error()}", file=sys.stderr)
                continue
            ctx = SerializationContext(m.topic(), MessageField.VALUE, m.headers())
            value = deserialize(m.value(), ctx)
            print(json.dumps({
                "topic": m.topic(),
                "partition": m.partition(),
                "offset": m.offset(),
                "key": (m.key() or b"").decode(),
                "headers": {k: (v or b"").decode() for k, v in (m.headers() or [])},
                "value": value,
            }, default=plain), flush=True)
            got += 1
    finally:
        consumer.close()
    if got < count:
        print(f"read {got} of {count} records in {timeout}s", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) < 7:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
