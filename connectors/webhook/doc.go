// Package webhook is sluice's outbound HTTP webhook destination: it sends
// one canonical event to one endpoint, signed the Standard Webhooks way,
// and says what the answer means for delivery.
//
// # A request
//
//	POST <destination url>
//	content-type:       application/json
//	user-agent:         sluice-webhooks/1
//	webhook-id:         <message id>        same on every attempt (the idempotency key)
//	webhook-timestamp:  <unix seconds>      of this attempt
//	webhook-signature:  v1,<base64 HMAC-SHA256> [v1a,<base64 Ed25519>] ...
//	idempotency-key:    <message id>
//
// The message id is the event id (MessageID derives a safe one when the
// event id holds characters the specification forbids). The signature
// header carries one entry per configured secret, so during a rotation
// receivers holding either the old or the new whsec_ secret accept every
// message, and a whsk_ secret key adds a v1a entry that receivers verify
// with the matching whpk_ public key alone.
//
// # What an answer means
//
//	answer                                   Verdict    delivery stage
//	2xx                                      Delivered  done
//	3xx (redirects are never followed)       Retry      retried later
//	408, 425, 429, 5xx                       Retry      retried later, after Retry-After when given
//	network error, timeout, reset            Retry      retried later
//	410 Gone                                 Gone       the destination is disabled
//	any other 4xx                            Reject     dead-lettered with status and body
//	refused address (see below), bad id      Reject     dead-lettered
//
// Result.Body holds the first bytes of the answer (ResponseBodyLimit) with
// control characters replaced, so a refusal can say why in a dead letter;
// the rest of the body is read and dropped so the connection is reused.
//
// # Private networks (SSRF)
//
// Unless AllowPrivateNetwork is set, the client refuses to connect to
// loopback, private (RFC 1918, fc00::/7), link-local (169.254.0.0/16,
// fe80::/10, where cloud metadata services live), carrier-grade NAT
// (100.64.0.0/10), unspecified, multicast, broadcast and reserved
// addresses, and IPv6 forms that embed one of those (IPv4-mapped,
// NAT64, 6to4) or may (IPv4-compatible, local-use NAT64, Teredo). The
// check runs in the dialer on the address actually being connected to,
// after name resolution, so a name that resolves to a private address,
// or changes its answer between a check and the connection (DNS
// rebinding), is refused all the same. Proxies from the
// environment are not used, and redirects are not followed, so nothing
// leads the request elsewhere.
//
// A Client is safe for concurrent use; it keeps a pool of connections to
// its endpoint.
package webhook
