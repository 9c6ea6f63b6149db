// Package github verifies GitHub's webhook signatures.
//
// GitHub signs each delivery with the webhook's secret and sends
// X-Hub-Signature-256: "sha256=" and the hex HMAC-SHA256 of the raw body.
// The signature covers no timestamp, so the tolerance does not apply;
// replays are caught downstream by the delivery id, X-GitHub-Delivery (a
// GUID that stays the same when a delivery is redelivered). The legacy
// SHA-1 X-Hub-Signature header is never trusted.
package github

import (
	"crypto/sha256"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
)

// Name is the scheme's name in configuration.
const Name = "github"

// Headers GitHub sends.
const (
	// HeaderSignature carries "sha256=<hex>".
	HeaderSignature = "X-Hub-Signature-256"
	// HeaderDelivery carries the delivery's GUID.
	HeaderDelivery = "X-GitHub-Delivery"
	// HeaderEvent carries the event name, e.g. "push".
	HeaderEvent = "X-GitHub-Event"
)

const prefix = "sha256="

// Verifier checks X-Hub-Signature-256. It is safe for concurrent use.
type Verifier struct{ keys signature.Keys }

var _ signature.Verifier = (*Verifier)(nil)

// New returns a verifier accepting requests signed with any of secrets,
// the webhook secrets as configured on GitHub. Options: MaxBody (default
// 1 MiB); Tolerance is checked but unused, as GitHub signs no timestamp.
func New(secrets []string, opts ...signature.Opt) (*Verifier, error) {
	keys, err := signature.NewKeys(secrets, opts...)
	if err != nil {
		return nil, err
	}
	return &Verifier{keys: keys}, nil
}

// Verify checks that X-Hub-Signature-256 is the HMAC-SHA256 of the body
// with one of the secrets. The result carries X-GitHub-Delivery as
// DeliveryID and X-GitHub-Event as EventType.
func (v *Verifier) Verify(req signature.Request, _ time.Time) (signature.Result, error) {
	if err := signature.CheckBody(req.Body, v.keys.Options.MaxBody); err != nil {
		return signature.Result{}, err
	}
	value, err := signature.Value(req.Header, HeaderSignature)
	if err != nil {
		return signature.Result{}, err
	}
	digest, ok := strings.CutPrefix(value, prefix)
	if !ok {
		return signature.Result{}, signature.Malformed(HeaderSignature, `does not start with "sha256="`)
	}
	sig, ok := signature.HexSHA256(digest)
	if !ok {
		return signature.Result{}, signature.Malformed(HeaderSignature, "the signature is not 64 hex digits")
	}
	if i := v.keys.Match([][sha256.Size]byte{sig}, req.Body); i >= 0 {
		return signature.Result{
			Scheme:      Name,
			DeliveryID:  signature.Optional(req.Header, HeaderDelivery),
			EventType:   signature.Optional(req.Header, HeaderEvent),
			SecretIndex: i,
		}, nil
	}
	return signature.Result{}, signature.NoMatch(HeaderSignature, v.keys.Len())
}
