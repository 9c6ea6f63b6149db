// Package github verifies GitHub's webhook signatures.
//
// GitHub signs each delivery with the webhook's secret and sends
// X-Hub-Signature-256: "sha256=" and the hex HMAC-SHA256 of the raw body.
// The signature covers no timestamp, so the tolerance does not apply;
// replays are caught downstream by the delivery id, X-GitHub-Delivery (a
// GUID that stays the same when a delivery is redelivered). The legacy
// SHA-1 X-Hub-Signature header is never trusted.
package github
