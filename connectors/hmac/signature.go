// Package hmac verifies webhooks signed with a configurable HMAC, for
// providers without a scheme of their own.
//
// The configuration says which header carries the signature, the hash
// (SHA-256 or SHA-512), the encoding (hex or base64), a prefix to strip
// (such as "sha256="), and optionally a header carrying a Unix timestamp
// that is signed with the body as "<timestamp><separator><body>". Without
// a timestamp header the raw body alone is signed. Signatures are
// compared in constant time; a signed timestamp further than the
// tolerance from now is refused.
package hmac

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
)

// Name is the scheme's name in configuration.
const Name = "hmac"

// Algorithms and encodings.
const (
	SHA256 = "sha256"
	SHA512 = "sha512"
	Hex    = "hex"
	Base64 = "base64"
)

// DefaultSeparator joins a signed timestamp and the body.
const DefaultSeparator = "."

// Limits of the configuration.
const (
	maxPrefix    = 64
	maxSeparator = 16
)

// Config describes the signature.
type Config struct {
	// Header carries the signature. Required.
	Header string
	// Algorithm is SHA256 (default) or SHA512, in any case.
	Algorithm string
	// Encoding of the signature: Hex (default; either case accepted) or
	// Base64 (standard alphabet, padded).
	Encoding string
	// Prefix must start the header value and is stripped before
	// decoding, e.g. "sha256=". Default: none.
	Prefix string
	// TimestampHeader, when set, carries a Unix timestamp in seconds that
	// is signed with the body as "<timestamp><separator><body>" and must
	// be within the tolerance of now. Default: none, the body alone is
	// signed.
	TimestampHeader string
	// Separator joins the timestamp and the body. Default
	// DefaultSeparator when nil; an empty string joins them directly.
	Separator *string
	// DeliveryIDHeader names a header carrying the provider's delivery
	// id, reported as Result.DeliveryID. Default: none.
	DeliveryIDHeader string
	// EventTypeHeader names a header carrying the event type, reported
	// as Result.EventType. Default: none.
	EventTypeHeader string
}

// Verifier checks a configured HMAC signature. It is safe for concurrent
// use.
type Verifier struct {
	cfg     Config
	sep     string
	newHash func() hash.Hash
	size    int
	secrets [][]byte
	opts    signature.Options
}

var _ signature.Verifier = (*Verifier)(nil)

// New returns a verifier of the signature cfg describes, accepting
// requests signed with any of secrets (used as HMAC keys exactly as
// configured). Options: Tolerance (default 5 minutes, when cfg has a
// timestamp header) and MaxBody (default 1 MiB). A bad cfg gives an error
// wrapping signature.ErrBadConfig.
func New(cfg Config, secrets []string, opts ...signature.Opt) (*Verifier, error) {
	o, err := signature.NewOptions(opts...)
	if err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg, opts: o, sep: DefaultSeparator}
	if err := v.configure(); err != nil {
		return nil, err
	}
	if v.secrets, err = signature.RawSecrets(secrets); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *Verifier) configure() error {
	c := &v.cfg
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: hmac: "+format, append([]any{signature.ErrBadConfig}, args...)...)
	}
	if !isToken(c.Header) {
		return bad("header must be an HTTP header name; got %q", c.Header)
	}
	for _, h := range []struct{ field, name string }{
		{"timestamp header", c.TimestampHeader},
		{"delivery id header", c.DeliveryIDHeader},
		{"event type header", c.EventTypeHeader},
	} {
		if h.name != "" && !isToken(h.name) {
			return bad("%s must be an HTTP header name; got %q", h.field, h.name)
		}
	}
	if c.TimestampHeader != "" && strings.EqualFold(c.TimestampHeader, c.Header) {
		return bad("the timestamp header must differ from the signature header")
	}
	switch strings.ToLower(c.Algorithm) {
	case "", SHA256:
		c.Algorithm, v.newHash, v.size = SHA256, sha256.New, sha256.Size
	case SHA512:
		c.Algorithm, v.newHash, v.size = SHA512, sha512.New, sha512.Size
	default:
		return bad("algorithm must be %s or %s; got %q", SHA256, SHA512, c.Algorithm)
	}
	switch strings.ToLower(c.Encoding) {
	case "", Hex:
		c.Encoding = Hex
	case Base64:
		c.Encoding = Base64
	default:
		return bad("encoding must be %s or %s; got %q", Hex, Base64, c.Encoding)
	}
	if len(c.Prefix) > maxPrefix || !printable(c.Prefix) {
		return bad("prefix must be at most %d printable ASCII characters", maxPrefix)
	}
	if c.Separator != nil {
		if c.TimestampHeader == "" {
			return bad("a separator needs a timestamp header")
		}
		if len(*c.Separator) > maxSeparator || !printable(*c.Separator) {
			return bad("separator must be at most %d printable ASCII characters", maxSeparator)
		}
		v.sep = *c.Separator
	}
	return nil
}

// Verify checks req against the configured signature.
func (v *Verifier) Verify(req signature.Request, now time.Time) (signature.Result, error) {
	if err := signature.CheckBody(req.Body, v.opts.MaxBody); err != nil {
		return signature.Result{}, err
	}
	var (
		tsText string
		ts     time.Time
		err    error
	)
	if v.cfg.TimestampHeader != "" {
		if tsText, err = signature.Value(req.Header, v.cfg.TimestampHeader); err != nil {
			return signature.Result{}, err
		}
		if ts, err = signature.ParseUnix(v.cfg.TimestampHeader, tsText); err != nil {
			return signature.Result{}, err
		}
	}
	value, err := signature.Value(req.Header, v.cfg.Header)
	if err != nil {
		return signature.Result{}, err
	}
	encoded, ok := strings.CutPrefix(value, v.cfg.Prefix)
	if !ok {
		return signature.Result{}, signature.Malformed(v.cfg.Header, fmt.Sprintf("does not start with %q", v.cfg.Prefix))
	}
	var buf [sha512.Size + 2]byte
	sig, ok := v.decode(buf[:], encoded)
	if !ok {
		return signature.Result{}, signature.Malformed(v.cfg.Header, fmt.Sprintf("the signature is not the %s of %d bytes", v.cfg.Encoding, v.size))
	}
	if v.cfg.TimestampHeader != "" {
		if err := signature.CheckTimestamp(v.cfg.TimestampHeader, ts, now, v.opts.Tolerance); err != nil {
			return signature.Result{}, err
		}
	}
	for i, key := range v.secrets {
		m := hmac.New(v.newHash, key)
		if v.cfg.TimestampHeader != "" {
			m.Write([]byte(tsText))
			m.Write([]byte(v.sep))
		}
		m.Write(req.Body)
		if hmac.Equal(m.Sum(nil), sig) {
			res := signature.Result{Scheme: Name, Timestamp: ts, SecretIndex: i}
			if v.cfg.DeliveryIDHeader != "" {
				res.DeliveryID = signature.Optional(req.Header, v.cfg.DeliveryIDHeader)
			}
			if v.cfg.EventTypeHeader != "" {
				res.EventType = signature.Optional(req.Header, v.cfg.EventTypeHeader)
			}
			return res, nil
		}
	}
	return signature.Result{}, signature.NoMatch(v.cfg.Header, len(v.secrets))
}

// decode decodes s, which must encode exactly v.size bytes, into buf.
func (v *Verifier) decode(buf []byte, s string) ([]byte, bool) {
	switch v.cfg.Encoding {
	case Base64:
		if len(s) != base64.StdEncoding.EncodedLen(v.size) {
			return nil, false
		}
		n, err := base64.StdEncoding.Strict().Decode(buf, []byte(s))
		return buf[:n], err == nil && n == v.size
	default:
		if len(s) != hex.EncodedLen(v.size) {
			return nil, false
		}
		n, err := hex.Decode(buf, []byte(s))
		return buf[:n], err == nil && n == v.size
	}
}

// isToken reports whether s is a valid HTTP header name.
func isToken(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// printable reports whether s holds only printable ASCII.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
