"""Drives a schema registry with Confluent's Python SchemaRegistryClient.

Runs the calls a Confluent producer, consumer or operator script makes on
a subject, in order, and prints one JSON object per call: step, and either
result or error (the HTTP status and the registry's error code).

usage: confluent_registry.py REGISTRY_URL SUBJECT
"""

import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError


def record(fields):
    return json.dumps({"type": "record", "name": "Thing", "namespace": "interop", "fields": fields})


def main(url, subject):
    sr = SchemaRegistryClient({"url": url})
    v1 = Schema(record([{"name": "id", "type": "string"}]), "AVRO")
    v2 = Schema(record([{"name": "id", "type": "string"}, {"name": "n", "type": "int", "default": 0}]), "AVRO")
    bad = Schema(record([{"name": "id", "type": "int"}]), "AVRO")
    steps = [
        ("register v1", lambda: sr.register_schema(subject, v1)),
        ("register v1 again", lambda: sr.register_schema(subject, v1)),
        ("lookup v1", lambda: sr.lookup_schema(subject, v1).version),
        ("compatible v2", lambda: sr.test_compatibility(subject, v2)),
        ("compatible bad", lambda: sr.test_compatibility(subject, bad)),
        ("register v2", lambda: sr.register_schema(subject, v2)),
        ("register bad", lambda: sr.register_schema(subject, bad)),
        ("latest version", lambda: sr.get_latest_version(subject).version),
        ("versions", lambda: sr.get_versions(subject)),
        ("schema of v1's id", lambda: json.loads(sr.get_schema(sr.get_version(subject, 1).schema_id).schema_str)["fields"]),
        ("set subject compatibility", lambda: sr.set_compatibility(subject, "FULL")["compatibility"]),
        ("subject compatibility", lambda: sr.get_compatibility(subject)),
        ("delete version 2", lambda: sr.delete_version(subject, 2)),
        ("versions after delete", lambda: sr.get_versions(subject)),
        ("delete subject", lambda: sr.delete_subject(subject)),
        ("delete subject permanently", lambda: sr.delete_subject(subject, permanent=True)),
        ("subject listed", lambda: subject in sr.get_subjects()),
        ("missing schema id", lambda: sr.get_schema(987654)),
        ("missing subject", lambda: sr.get_latest_version(subject + "-none")),
    ]
    for name, call in steps:
        try:
            out = {"step": name, "result": call()}
        except SchemaRegistryError as e:
            out = {"step": name, "error": {"status": e.http_status_code, "code": e.error_code}}
        print(json.dumps(out, default=str), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
