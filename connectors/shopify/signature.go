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

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
)

// Name is the scheme's name in configuration.
const Name = "shopify"

// Headers Shopify sends; each is also read without its "X-" prefix.
const (
	// HeaderSignature carries the base64 HMAC-SHA256 of the body.
	HeaderSignature = "X-Shopify-Hmac-Sha256"
	// HeaderWebhookID identifies one delivery, the same across retries.
	HeaderWebhookID = "X-Shopify-Webhook-Id"
	// HeaderEventID is shared by every delivery of one merchant action.
	HeaderEventID = "X-Shopify-Event-Id"
	// HeaderTopic carries the topic, e.g. "orders/create".
	HeaderTopic = "X-Shopify-Topic"
)

// Verifier checks X-Shopify-Hmac-Sha256. It is safe for concurrent use.
type Verifier struct{ keys signature.Keys }

var _ signature.Verifier = (*Verifier)(nil)

// New returns a verifier accepting requests signed with any of secrets,
// the app's client secrets (the old and the new one while a secret is
// rotated). Options: MaxBody (default 1 MiB); Tolerance is checked but
// unused, as Shopify signs no timestamp.
func New(secrets []string, opts ...signature.Opt) (*Verifier, error) {
	keys, err := signature.NewKeys(secrets, opts...)
	if err != nil {
		return nil, err
	}
	return &Verifier{keys: keys}, nil
}

// Verify checks that X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of
// the body with one of the secrets.
func (v *Verifier) Verify(req signature.Request, _ time.Time) (signature.Result, error) {
	if err := signature.CheckBody(req.Body, v.keys.Options.MaxBody); err != nil {
		return signature.Result{}, err
	}
	name := HeaderSignature
	if _, ok := signature.Lookup(req.Header, name); !ok {
		if _, ok := signature.Lookup(req.Header, name[2:]); ok {
			name = name[2:]
		}
	}
	value, err := signature.Value(req.Header, name)
	if err != nil {
		return signature.Result{}, err
	}
	var sig [sha256.Size]byte
	if len(value) != base64.StdEncoding.EncodedLen(sha256.Size) || !decode(sig[:], value) {
		return signature.Result{}, signature.Malformed(name, "the signature is not the base64 of 32 bytes")
	}
	if i := v.keys.Match([][sha256.Size]byte{sig}, req.Body); i >= 0 {
		id := header(req.Header, HeaderWebhookID)
		if id == "" {
			id = header(req.Header, HeaderEventID)
		}
		return signature.Result{
			Scheme:      Name,
			DeliveryID:  id,
			EventType:   header(req.Header, HeaderTopic),
			SecretIndex: i,
		}, nil
	}
	return signature.Result{}, signature.NoMatch(name, v.keys.Len())
}

// decode decodes canonical padded base64 of exactly len(dst) bytes.
func decode(dst []byte, s string) bool {
	var buf [sha256.Size + 2]byte
	n, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(s))
	if err != nil || n != len(dst) {
		return false
	}
	copy(dst, buf[:n])
	return true
}

// header reads an optional header by its X- name, then without the X-.
func header(h http.Header, name string) string {
	if v := signature.Optional(h, name); v != "" {
		return v
	}
	return signature.Optional(h, name[2:])
}
