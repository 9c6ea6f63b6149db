// Package standardwebhooks signs and verifies webhooks the Standard
// Webhooks way (standardwebhooks.com, specification 1.0.0).
//
// A request carries three headers: webhook-id (the message id, the same
// across retries), webhook-timestamp (Unix seconds of the attempt) and
// webhook-signature, a space-separated list of "<version>,<base64>"
// entries. The signed content is "{id}.{timestamp}.{body}" over the raw
// body bytes. Version v1 is HMAC-SHA256 with a symmetric secret serialized
// as "whsec_" + base64; version v1a is Ed25519 with a key pair serialized
// as "whsk_" + base64 (the secret key, a 32-byte seed, or the 64-byte
// seed-and-public-key form) and "whpk_" + base64 (the 32-byte public key).
//
// Verifier accepts a request when any entry of a version it holds a key
// for matches any of its keys; entries of other versions are ignored, as
// the specification asks, so a sender can add signatures during a
// rotation. Signer is the sending side: it signs with every configured key
// and puts all the signatures in one header, so receivers that hold either
// the old or the new secret accept the message during a rotation.
// GenerateSecret and GenerateKeyPair make new keys.
package standardwebhooks
