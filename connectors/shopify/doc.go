// Package shopify is sluice's knowledge of Shopify's webhooks.
//
// Shopify signs each delivery with the app's client secret and sends
// X-Shopify-Hmac-Sha256: the base64 HMAC-SHA256 of the raw body. The
// signature covers no timestamp, so the tolerance does not apply;
// X-Shopify-Triggered-At is not signed and is not trusted. The delivery id
// is X-Shopify-Webhook-Id, unique per delivery and kept across retries, or
// X-Shopify-Event-Id when the former is absent; the event type is
// X-Shopify-Topic. Shopify's newer event deliveries send the same headers
// without the "X-" prefix, and those are read too.
package shopify
