// Package stripe verifies Stripe's webhook signatures.
//
// Stripe signs each delivery with the endpoint's signing secret (whsec_...,
// used as is, not decoded) and sends Stripe-Signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...][,v0=...]", where the
// signed payload is "{t}.{body}" over the raw body bytes. While a secret
// is being rolled Stripe sends one v1 entry per active secret; a request
// is accepted when any v1 entry matches any configured secret. Entries of
// other schemes (v0, test-mode schemes) are ignored, as Stripe's own
// libraries do.
//
// The delivery id is the event's "id" in the signed JSON body (evt_...),
// the same across Stripe's retries; the event type is its "type".
package stripe
