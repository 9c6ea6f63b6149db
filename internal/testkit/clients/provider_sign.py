"""Signs webhooks with the providers' own SDKs, as their senders do.

Reads one JSON object per line on stdin: scheme (standard-webhooks, stripe
or slack), secret, id, timestamp (Unix seconds) and body (base64 of the raw
body). Signs each with the SDK of its scheme, with the SDK's public signing
call:

  standard-webhooks  standardwebhooks.Webhook(secret).sign
  stripe             stripe.WebhookSignature.generate_signature_header
  slack              slack_sdk.signature.SignatureVerifier(secret).generate_signature

and prints one JSON object per line: the headers a sender puts on the
request.

usage: provider_sign.py < messages.jsonl
"""

import base64
import datetime
import json
import sys

import stripe
from slack_sdk.signature import SignatureVerifier
from standardwebhooks import Webhook


def sign(m):
    body = base64.b64decode(m["body"]).decode("utf-8")
    ts = int(m["timestamp"])
    scheme = m["scheme"]
    if scheme == "standard-webhooks":
        at = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
        return {"webhook-id": m["id"], "webhook-timestamp": str(ts),
                "webhook-signature": Webhook(m["secret"]).sign(m["id"], at, body)}
    if scheme == "stripe":
        return {"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(body, m["secret"], timestamp=ts)}
    if scheme == "slack":
        return {"X-Slack-Request-Timestamp": str(ts),
                "X-Slack-Signature": SignatureVerifier(m["secret"]).generate_signature(timestamp=str(ts), body=body)}
    raise ValueError(f"no SDK for scheme {scheme}")


def main():
    for line in sys.stdin:
        print(json.dumps({"headers": sign(json.loads(line))}))


if __name__ == "__main__":
    if len(sys.argv) != 1:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main()
