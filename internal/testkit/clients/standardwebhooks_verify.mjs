// Verifies Standard Webhooks signatures with the specification's own
// JavaScript library (standardwebhooks on npm), as receivers written in
// JavaScript do: new Webhook(secret).verify(payload, headers), which
// checks the v1 (HMAC-SHA256) signatures of webhook-signature, skipping
// other versions, and the timestamp's tolerance, and parses the body as
// JSON.
//
// Each SECRET is a whsec_ secret. Reads one JSON object per line on
// stdin: headers (name: value) and body (base64 of the raw body). Prints
// one JSON object per request and secret: webhook-id, the secret's index,
// ok, and why not when not ok.
//
// usage: node standardwebhooks_verify.mjs SECRET... < requests.jsonl
import { Webhook } from "standardwebhooks";
import { createInterface } from "node:readline";

// Run from its file, argv[1] is the file; evaluated (testkit.RunClient),
// the arguments follow node at once.
const secrets = process.argv.slice(import.meta.filename?.endsWith(".mjs") ? 2 : 1);
if (secrets.length === 0) {
  console.error("usage: node standardwebhooks_verify.mjs SECRET... < requests.jsonl");
  process.exit(2);
}
const hooks = secrets.map((s) => new Webhook(s));
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const req = JSON.parse(line);
  const body = Buffer.from(req.body, "base64");
  hooks.forEach((hook, key) => {
    let error = null;
    try {
      hook.verify(body, req.headers);
    } catch (e) {
      error = `${e.name}: ${e.message}`;
    }
    console.log(JSON.stringify({ id: req.headers["webhook-id"] ?? null, key, ok: error === null, error }));
  });
}
