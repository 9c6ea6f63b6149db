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

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
)

// Name is the scheme's name in configuration.
const Name = "stripe"

// HeaderSignature carries the timestamp and the signatures.
const HeaderSignature = "Stripe-Signature"

// MaxSignatures is the most v1 entries a Stripe-Signature header may
// carry; more are refused as malformed.
const MaxSignatures = 16

// Verifier checks Stripe-Signature headers. It is safe for concurrent
// use.
type Verifier struct{ keys signature.Keys }

var _ signature.Verifier = (*Verifier)(nil)

// New returns a verifier accepting requests signed with any of secrets,
// the endpoints' signing secrets exactly as Stripe shows them (whsec_...).
// Options: Tolerance (default 5 minutes) and MaxBody (default 1 MiB).
func New(secrets []string, opts ...signature.Opt) (*Verifier, error) {
	keys, err := signature.NewKeys(secrets, opts...)
	if err != nil {
		return nil, err
	}
	return &Verifier{keys: keys}, nil
}

// header is a parsed Stripe-Signature value.
type header struct {
	t    string // the timestamp as sent, which is what was signed
	ts   time.Time
	sigs [MaxSignatures][sha256.Size]byte
	n    int
}

// parse reads "t=...,v1=...,...". Elements other than t and v1 are
// skipped; a v1 entry that is not 64 hex digits is skipped too, but when
// no v1 entry is well formed the header is refused as malformed.
func parse(v string) (*header, error) {
	h := &header{}
	malformed := ""
	for rest := v; rest != ""; {
		var elem string
		elem, rest, _ = strings.Cut(rest, ",")
		elem = strings.Trim(elem, " \t")
		if elem == "" {
			continue
		}
		key, val, ok := strings.Cut(elem, "=")
		if !ok {
			return nil, signature.Malformed(HeaderSignature, `an element is not "key=value"`)
		}
		switch key {
		case "t":
			if h.t != "" {
				return nil, signature.Malformed(HeaderSignature, "more than one t= timestamp")
			}
			ts, err := signature.ParseUnix(HeaderSignature, val)
			if err != nil {
				return nil, signature.Malformed(HeaderSignature, "t= is not a Unix time in seconds")
			}
			h.t, h.ts = val, ts
		case "v1":
			sig, ok := signature.HexSHA256(val)
			if !ok {
				malformed = "a v1 signature is not 64 hex digits"
				continue
			}
			if h.n == MaxSignatures {
				return nil, signature.Malformed(HeaderSignature, fmt.Sprintf("more than %d v1 signatures", MaxSignatures))
			}
			h.sigs[h.n] = sig
			h.n++
		}
	}
	if h.t == "" {
		return nil, signature.Malformed(HeaderSignature, "no t= timestamp")
	}
	if h.n == 0 && malformed != "" {
		return nil, signature.Malformed(HeaderSignature, malformed)
	}
	return h, nil
}

// Verify checks req: Stripe-Signature present and well formed, its
// timestamp within the tolerance of now, and one v1 entry made with one of
// the secrets over "{t}.{body}". The result carries the body's "id" as
// DeliveryID and "type" as EventType when the body is a JSON object
// holding them.
func (v *Verifier) Verify(req signature.Request, now time.Time) (signature.Result, error) {
	if err := signature.CheckBody(req.Body, v.keys.Options.MaxBody); err != nil {
		return signature.Result{}, err
	}
	value, err := signature.Value(req.Header, HeaderSignature)
	if err != nil {
		return signature.Result{}, err
	}
	h, err := parse(value)
	if err != nil {
		return signature.Result{}, err
	}
	if err := signature.CheckTimestamp(HeaderSignature, h.ts, now, v.keys.Options.Tolerance); err != nil {
		return signature.Result{}, err
	}
	if h.n == 0 {
		return signature.Result{}, &signature.HeaderError{Err: signature.ErrNoMatch, Header: HeaderSignature, Reason: "no v1 signature"}
	}
	if i := v.keys.Match(h.sigs[:h.n], []byte(h.t+"."), req.Body); i >= 0 {
		res := signature.Result{Scheme: Name, Timestamp: h.ts, SecretIndex: i}
		res.DeliveryID, res.EventType = event(req.Body)
		return res, nil
	}
	return signature.Result{}, signature.NoMatch(HeaderSignature, v.keys.Len())
}

// event returns the "id" and "type" of a JSON event body, or "" for each
// that is absent or not a string.
func event(body []byte) (id, typ string) {
	var e struct {
		ID   json.RawMessage `json:"id"`
		Type json.RawMessage `json:"type"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	return signature.JSONString(e.ID), signature.JSONString(e.Type)
}
