// Package slack verifies Slack's request signatures.
//
// Slack signs each request with the app's signing secret and sends
// X-Slack-Request-Timestamp (Unix seconds) and X-Slack-Signature: "v0="
// and the hex HMAC-SHA256 of "v0:{timestamp}:{body}" over the raw body
// bytes. A request further than the tolerance (default 5 minutes, as
// Slack recommends) from now is refused.
//
// The delivery id is the Events API's "event_id" in the signed JSON body,
// the same across Slack's retries (which add X-Slack-Retry-Num); slash
// commands and interactivity payloads carry none. The event type is the
// inner event's "type" for an event_callback, else the body's "type"
// (e.g. "url_verification"). The verifier checks form-encoded bodies as
// well, but sluice's ingress takes JSON events only: it refuses slash
// commands and interactivity payloads (form posts) with 415 before they
// reach a verifier.
package slack

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
)

// Name is the scheme's name in configuration.
const Name = "slack"

// Headers Slack sends.
const (
	// HeaderSignature carries "v0=<hex>".
	HeaderSignature = "X-Slack-Signature"
	// HeaderTimestamp carries the Unix time of the request.
	HeaderTimestamp = "X-Slack-Request-Timestamp"
)

const prefix = "v0="

// Verifier checks X-Slack-Signature. It is safe for concurrent use.
type Verifier struct{ keys signature.Keys }

var _ signature.Verifier = (*Verifier)(nil)

// New returns a verifier accepting requests signed with any of secrets,
// the app's signing secrets (the old and the new one while it is
// regenerated). Options: Tolerance (default 5 minutes) and MaxBody
// (default 1 MiB).
func New(secrets []string, opts ...signature.Opt) (*Verifier, error) {
	keys, err := signature.NewKeys(secrets, opts...)
	if err != nil {
		return nil, err
	}
	return &Verifier{keys: keys}, nil
}

// Verify checks both headers, the timestamp within the tolerance of now,
// and the signature made with one of the secrets.
func (v *Verifier) Verify(req signature.Request, now time.Time) (signature.Result, error) {
	if err := signature.CheckBody(req.Body, v.keys.Options.MaxBody); err != nil {
		return signature.Result{}, err
	}
	tsText, err := signature.Value(req.Header, HeaderTimestamp)
	if err != nil {
		return signature.Result{}, err
	}
	value, err := signature.Value(req.Header, HeaderSignature)
	if err != nil {
		return signature.Result{}, err
	}
	ts, err := signature.ParseUnix(HeaderTimestamp, tsText)
	if err != nil {
		return signature.Result{}, err
	}
	digest, ok := strings.CutPrefix(value, prefix)
	if !ok {
		return signature.Result{}, signature.Malformed(HeaderSignature, `does not start with "v0="`)
	}
	sig, ok := signature.HexSHA256(digest)
	if !ok {
		return signature.Result{}, signature.Malformed(HeaderSignature, "the signature is not 64 hex digits")
	}
	if err := signature.CheckTimestamp(HeaderTimestamp, ts, now, v.keys.Options.Tolerance); err != nil {
		return signature.Result{}, err
	}
	if i := v.keys.Match([][sha256.Size]byte{sig}, []byte("v0:"+tsText+":"), req.Body); i >= 0 {
		res := signature.Result{Scheme: Name, Timestamp: ts, SecretIndex: i}
		res.DeliveryID, res.EventType = event(req.Body)
		return res, nil
	}
	return signature.Result{}, signature.NoMatch(HeaderSignature, v.keys.Len())
}

// event returns the event_id and the event type of an Events API body,
// or "" for each it cannot find.
func event(body []byte) (id, typ string) {
	if len(body) == 0 || body[0] != '{' {
		return "", "" // a form-encoded slash command or interaction
	}
	var e struct {
		EventID json.RawMessage `json:"event_id"`
		Type    json.RawMessage `json:"type"`
		Event   struct {
			Type json.RawMessage `json:"type"`
		} `json:"event"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	typ = signature.JSONString(e.Type)
	if typ == "event_callback" {
		if inner := signature.JSONString(e.Event.Type); inner != "" {
			typ = inner
		}
	}
	return signature.JSONString(e.EventID), typ
}
