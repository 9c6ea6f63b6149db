"""Verifies webhooks with the Standard Webhooks Python library, as a receiver does.

Reads one JSON object per line on stdin: headers (name: value) and body
(base64 of the raw body). Verifies each with every secret given (whsec_...)
using standardwebhooks.Webhook(secret).verify, which also checks the
timestamp's tolerance. Prints one JSON object per request and secret:
webhook-id, the secret's index, ok, and the library's error when not ok.

usage: standardwebhooks_verify.py SECRET... < requests.jsonl
"""

import base64
import json
import sys

from standardwebhooks import Webhook


def main(*secrets):
    hooks = [Webhook(s) for s in secrets]
    for line in sys.stdin:
        req = json.loads(line)
        body = base64.b64decode(req["body"])
        for i, hook in enumerate(hooks):
            try:
                hook.verify(body, req["headers"])
                ok, err = True, None
            except Exception as e:  # the library's refusal, reported as data
                ok, err = False, f"{type(e).__name__}: {e}"
            print(json.dumps({"id": req["headers"].get("webhook-id"), "secret": i, "ok": ok, "error": err}))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
