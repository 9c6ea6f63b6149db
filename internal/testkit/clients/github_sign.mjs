// Signs webhooks with GitHub's own SDK, as GitHub's senders do.
//
// Reads one JSON object per line on stdin: secret and body (base64 of the
// raw body). Signs each with Octokit's webhook methods (sign from
// @octokit/webhooks-methods) and prints one JSON object per line: the
// headers GitHub puts on the request (X-Hub-Signature-256).
//
// usage: node github_sign.mjs < messages.jsonl
import { sign } from "@octokit/webhooks-methods";
import { createInterface } from "node:readline";

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const m = JSON.parse(line);
  const body = Buffer.from(m.body, "base64").toString("utf8");
  const signature = await sign(m.secret, body);
  console.log(JSON.stringify({ headers: { "X-Hub-Signature-256": signature } }));
}
