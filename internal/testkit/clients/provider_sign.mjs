// Signs webhooks with the providers' own JavaScript SDKs, as their
// senders do.
//
// Reads one JSON object per line on stdin: scheme (github or
// standard-webhooks), secret, id, timestamp (Unix seconds) and body (base64
// of the raw body). Signs each with the SDK of its scheme, with the SDK's
// public signing call:
//
//   github             sign from @octokit/webhooks-methods (Octokit)
//   standard-webhooks  new Webhook(secret).sign from standardwebhooks
//
// and prints one JSON object per line: the headers a sender puts on the
// request.
//
// usage: node provider_sign.mjs < messages.jsonl
import { sign as octokitSign } from "@octokit/webhooks-methods";
import { Webhook } from "standardwebhooks";
import { createInterface } from "node:readline";

async function sign(m) {
  const body = Buffer.from(m.body, "base64").toString("utf8");
  switch (m.scheme) {
    case "github":
      return { "X-Hub-Signature-256": await octokitSign(m.secret, body) };
    case "standard-webhooks": {
      const at = new Date(Number(m.timestamp) * 1000);
      return {
        "webhook-id": m.id,
        "webhook-timestamp": m.timestamp,
        "webhook-signature": new Webhook(m.secret).sign(m.id, at, body),
      };
    }
  }
  throw new Error(`no SDK for scheme ${m.scheme}`);
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  console.log(JSON.stringify({ headers: await sign(JSON.parse(line)) }));
}
