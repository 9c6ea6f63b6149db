"""Writes Avro records the way a Confluent producer of another language does.

Reads one JSON object per line on stdin: topic, key, headers and value (the
hex of a value in the Confluent wire format). Decodes each value with
Confluent's AvroDeserializer, then encodes the object again with Confluent's
AvroSerializer under the TopicRecordNameStrategy subject of its record
(<topic>-<record full name>), registering the writer's schema there as any
Confluent producer does at start (the registry must answer with the id it
already has), and produces it with Confluent's Python client (librdkafka,
acks=all, idempotent) with the same key and headers. Prints one JSON object
per record: topic, the schema id of the value read and the one the
serializer wrote, and the partition and offset the broker gave.

usage: confluent_produce.py BOOTSTRAP REGISTRY_URL < records.jsonl
"""

import json
import sys

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def main(bootstrap, registry):
    sr = SchemaRegistryClient({"url": registry})
    deserialize = AvroDeserializer(sr)
    serializers = {}
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    results, failures = [], []

    def delivered(read_id):
        def report(err, msg):
            if err is not None:
                failures.append(str(err))
            else:
                results.append({"topic": msg.topic(), "read_schema_id": read_id,
                                "schema_id": int.from_bytes(msg.value()[1:5], "big"),
                                "partition": msg.partition(), "offset": msg.offset()})
        return report

    for line in sys.stdin:
        rec = json.loads(line)
        value = bytes.fromhex(rec["value"])
        headers = [(k, v.encode()) for k, v in rec["headers"].items()]
        ctx = SerializationContext(rec["topic"], MessageField.VALUE, headers)
        obj = deserialize(value, ctx)
        schema_id = int.from_bytes(value[1:5], "big")
        if schema_id not in serializers:
            schema = sr.get_schema(schema_id)
            serializers[schema_id] = AvroSerializer(sr, schema.schema_str, conf={
                "auto.register.schemas": True,
                "subject.name.strategy": topic_record_subject_name_strategy,
            })
        out = serializers[schema_id](obj, ctx)
        producer.produce(rec["topic"], key=rec["key"].encode(), value=out, headers=headers, on_delivery=delivered(schema_id))
        producer.poll(0)
    left = producer.flush(60)
    for r in results:
        print(json.dumps(r))
    if failures or left:
        print(f"produce failed: {failures}, {left} not acknowledged", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
