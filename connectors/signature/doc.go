// Package signature is the contract every webhook signature scheme keeps.
//
// A scheme (Standard Webhooks, Stripe, GitHub, Shopify, Slack, a generic
// HMAC) lives in its own package under connectors/ and gives a Verifier:
// built once per integration from the integration's active secrets, it
// checks one Request (the headers and the raw body bytes exactly as
// received) against the time now and returns a Result or an error.
//
// # Secrets and rotation
//
// A verifier holds every active secret of an integration, as the raw
// strings of the configuration (already resolved from their env: or file:
// references). Each scheme decodes its own format, such as Standard
// Webhooks' whsec_ base64, and refuses a malformed secret when it is built,
// with an error that says which secret (by position) and what was wrong.
// A request is accepted when any active secret produced any one of the
// signatures it carries, so adding the new secret before the sender
// switches and removing the old one after never drops a request.
// Result.SecretIndex says which secret matched, so an operator can see when
// the old one stops being used. The schemes that use their secrets as
// HMAC-SHA256 keys as they are (Stripe, GitHub, Shopify, Slack) hold them
// as Keys, whose Match tries every secret against every signature sent.
//
// # Refusals
//
// A request without a valid signature is refused with an error that wraps
// exactly one of ErrMissingHeader, ErrMalformedHeader,
// ErrTimestampOutOfTolerance, ErrNoMatch or ErrBodyTooLarge; Code gives
// its stable name for error bodies and metric labels. Messages name the
// header and what was wrong with it and never carry a secret, a signature
// value or the body, so they are safe to log and to return to the sender.
//
// Signatures are compared in constant time. Schemes whose signature covers
// a timestamp refuse one further than the tolerance (default 5 minutes)
// from now, in the past or in the future. Header values longer than
// MaxHeaderBytes are refused before they are parsed, so parsing costs at
// most linear time in a bounded input.
//
// # Delivery ids
//
// Each scheme knows where its provider puts a unique delivery id (a header
// such as webhook-id or X-GitHub-Delivery, or a field of the signed JSON
// body); Result.DeliveryID carries it, read only after the signature
// matched, so ingress can use it as the event id.
package signature
