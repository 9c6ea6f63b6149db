// Decodes Avro values the way a Node.js service with a Confluent-compatible
// client does.
//
// Reads one JSON object per line on stdin: value (the hex of a value in
// the Confluent wire format). Decodes each with KafkaJS's schema registry
// client (@kafkajs/confluent-schema-registry, Avro through avsc), which
// takes the schema id from the value and the schema from the registry, and
// prints one JSON object per line: the decoded value. Exits 1 on the first
// value that does not decode.
//
// usage: node confluent_decode.mjs REGISTRY_URL < values.jsonl
import { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import { createInterface } from "node:readline";

// The arguments follow the script's path, or node's own when the module
// is evaluated (as testkit.RunClient does).
const args = process.argv.slice(import.meta.filename.endsWith(".mjs") ? 2 : 1);
const registry = new SchemaRegistry({ host: args[0] });
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { value } = JSON.parse(line);
  try {
    console.log(JSON.stringify({ value: await registry.decode(Buffer.from(value, "hex")) }));
  } catch (e) {
    console.error(`decode: ${e.message}`);
    process.exit(1);
  }
}
