"""Verifies Standard Webhooks signatures as receivers do.

Each KEY is either
  - a whsec_ secret: the request is verified with the Standard Webhooks
    Python library, standardwebhooks.Webhook(secret).verify (v1, HMAC),
    which also checks the timestamp's tolerance; or
  - a whpk_ public key: the request's v1a signatures are verified from the
    specification alone, with pyca/cryptography (OpenSSL's Ed25519), as a
    receiver without a v1a-capable SDK does: a v1a signature is "v1a," and
    the base64 of the Ed25519 signature of
    "<webhook-id>.<webhook-timestamp>.<body>", webhook-signature holds
    space-separated signatures, a whpk_ key is "whpk_" and the base64 of
    the 32-byte public key, and the timestamp must be within five minutes.

Reads one JSON object per line on stdin: headers (name: value) and body
(base64 of the raw body). Prints one JSON object per request and key:
webhook-id, the key's index, ok, and why not when not ok.

usage: standardwebhooks_verify.py KEY... < requests.jsonl
"""

import base64
import json
import sys
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks import Webhook

TOLERANCE = 5 * 60


def library(secret):
    hook = Webhook(secret)

    def verify(headers, body):
        try:
            hook.verify(body, headers)
            return None
        except Exception as e:  # the library's refusal, reported as data
            return f"{type(e).__name__}: {e}"

    return verify


def ed25519(public):
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public[len("whpk_"):]))

    def verify(headers, body):
        msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
        if abs(time.time() - int(ts)) > TOLERANCE:
            return "timestamp outside the tolerance"
        content = f"{msg_id}.{ts}.".encode() + body
        signatures = [s for s in headers["webhook-signature"].split(" ") if s.startswith("v1a,")]
        if not signatures:
            return "no v1a signature"
        for s in signatures:
            try:
                key.verify(base64.b64decode(s[len("v1a,"):]), content)
                return None
            except InvalidSignature:
                continue
        return "no v1a signature verifies"

    return verify


def verifier(k):
    if k.startswith("whsec_"):
        return library(k)
    if k.startswith("whpk_"):
        return ed25519(k)
    raise ValueError(f"not a whsec_ secret or a whpk_ key: {k[:6]}...")


def main(*keys):
    verifiers = [verifier(k) for k in keys]
    for line in sys.stdin:
        req = json.loads(line)
        body = base64.b64decode(req["body"])
        for i, verify in enumerate(verifiers):
            err = verify(req["headers"], body)
            print(json.dumps({"id": req["headers"].get("webhook-id"), "key": i, "ok": err is None, "error": err}))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
