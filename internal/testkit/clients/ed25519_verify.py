"""Verifies v1a (Ed25519) Standard Webhooks signatures as a receiver does,
with the pyca/cryptography library (OpenSSL's Ed25519), from nothing but
the specification and a whpk_ public key.

The specification: a v1a signature is "v1a," and the base64 of the
Ed25519 signature of "<webhook-id>.<webhook-timestamp>.<body>";
webhook-signature holds space-separated signatures; a whpk_ key is
"whpk_" and the base64 of the 32-byte public key. A receiver accepts a
request if any v1a signature verifies and its timestamp is within five
minutes of its clock.

Reads one JSON object per line on stdin: headers (name: value) and body
(base64 of the raw body). Prints one JSON object per request and key:
webhook-id, the key's index, ok, and why not when not ok.

usage: ed25519_verify.py WHPK_KEY... < requests.jsonl
"""

import base64
import json
import sys
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TOLERANCE = 5 * 60


def public_key(text):
    if not text.startswith("whpk_"):
        raise ValueError(f"not a whpk_ key: {text[:8]}...")
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text[len("whpk_"):]))


def verify(key, headers, body):
    msg_id = headers["webhook-id"]
    ts = headers["webhook-timestamp"]
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


def main(*keys):
    pubs = [public_key(k) for k in keys]
    for line in sys.stdin:
        req = json.loads(line)
        body = base64.b64decode(req["body"])
        for i, key in enumerate(pubs):
            err = verify(key, req["headers"], body)
            print(json.dumps({"id": req["headers"].get("webhook-id"), "key": i, "ok": err is None, "error": err}))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
