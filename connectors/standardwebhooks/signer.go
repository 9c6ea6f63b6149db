package standardwebhooks

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
)

// ErrBadID is returned by Sign for a message id the specification does not
// allow: empty, longer than MaxIDBytes, or holding a full stop, a space or
// a character outside printable ASCII.
var ErrBadID = errors.New("standardwebhooks: bad message id")

// MaxIDBytes is the longest message id Sign accepts.
const MaxIDBytes = 256

// Signer signs outbound webhooks. It is safe for concurrent use.
type Signer struct {
	keys []key
}

// NewSigner returns a signer that signs with every one of secrets, in
// order: whsec_ symmetric secrets give v1 signatures and whsk_ secret keys
// give v1a signatures. During a rotation configure the new secret and the
// old one: every message then carries a signature each receiver can check.
// A whpk_ public key cannot sign and is refused.
func NewSigner(secrets []string) (*Signer, error) {
	if len(secrets) == 0 {
		return nil, signature.NoSecrets()
	}
	s := &Signer{keys: make([]key, 0, len(secrets))}
	for i, sec := range secrets {
		k, err := decodeKey(i, sec)
		if err != nil {
			return nil, err
		}
		if k.kind == publicKey {
			return nil, signature.BadSecret(i, "a whpk_ public key verifies but cannot sign; configure the whsk_ secret key")
		}
		s.keys = append(s.keys, k)
	}
	return s, nil
}

// Signed holds the values of the three headers of a signed message.
type Signed struct {
	// ID is the webhook-id value.
	ID string
	// Timestamp is the webhook-timestamp value, Unix seconds.
	Timestamp string
	// Signature is the webhook-signature value: one "<version>,<base64>"
	// entry per key, space-separated.
	Signature string
}

// The three headers' names as http.Header.Set keys them
// (http.CanonicalHeaderKey).
const (
	canonicalID        = "Webhook-Id"
	canonicalTimestamp = "Webhook-Timestamp"
	canonicalSignature = "Webhook-Signature"
)

// Set sets the three headers on h, as h.Set would, in one allocation: it
// runs once per webhook sent.
func (s Signed) Set(h http.Header) {
	v := []string{s.ID, s.Timestamp, s.Signature}
	h[canonicalID] = v[0:1:1]
	h[canonicalTimestamp] = v[1:2:2]
	h[canonicalSignature] = v[2:3:3]
}

// Header returns a new header holding the three headers.
func (s Signed) Header() http.Header {
	h := make(http.Header, 3)
	s.Set(h)
	return h
}

// Sign signs body as message id at time ts (whole seconds). id is the
// event id, the same on every retry; ts is the time of this attempt. It
// returns an error wrapping ErrBadID for an id the specification does not
// allow.
func (s *Signer) Sign(id string, ts time.Time, body []byte) (Signed, error) {
	if err := checkID(id); err != nil {
		return Signed{}, err
	}
	if ts.Unix() < 0 {
		return Signed{}, fmt.Errorf("standardwebhooks: timestamp before 1970")
	}
	tsText := formatTimestamp(ts)
	var content []byte // for Ed25519, which signs the whole content
	var b strings.Builder
	b.Grow(len(s.keys) * (len(VersionAsymmetric) + 2 + base64.StdEncoding.EncodedLen(ed25519.SignatureSize)))
	var enc [88]byte // base64 of the longest signature, Ed25519's 64 bytes
	for i := range s.keys {
		k := &s.keys[i]
		if i > 0 {
			b.WriteByte(' ')
		}
		switch k.kind {
		case symmetric:
			sum := k.sum(id, tsText, body)
			b.WriteString(VersionSymmetric + ",")
			n := base64.StdEncoding.EncodedLen(len(sum))
			base64.StdEncoding.Encode(enc[:n], sum[:])
			b.Write(enc[:n])
		case secretKey:
			if content == nil {
				content = signedContent(id, tsText, body)
			}
			b.WriteString(VersionAsymmetric + ",")
			base64.StdEncoding.Encode(enc[:], ed25519.Sign(k.priv, content))
			b.Write(enc[:])
		}
	}
	return Signed{ID: id, Timestamp: tsText, Signature: b.String()}, nil
}

func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty", ErrBadID)
	}
	if len(id) > MaxIDBytes {
		return fmt.Errorf("%w: longer than %d bytes", ErrBadID, MaxIDBytes)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c == '.' {
			return fmt.Errorf("%w: holds a full stop, which would make the signed content ambiguous", ErrBadID)
		}
		if c <= ' ' || c > '~' {
			return fmt.Errorf("%w: holds a space, a control character or a character outside ASCII", ErrBadID)
		}
	}
	return nil
}
