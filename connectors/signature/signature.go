package signature

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// MaxHeaderBytes is the longest header value a scheme reads. Longer values
// are refused as malformed before any parsing.
const MaxHeaderBytes = 4096

// Request is what a verifier checks: the request headers and the raw body
// bytes exactly as received (never re-encoded JSON).
type Request struct {
	// Header holds the request's headers. Names are looked up in their
	// canonical form, then as given and in lower case, so headers built by
	// hand with lower-case keys work too.
	Header http.Header
	// Body is the raw request body.
	Body []byte
}

// Result is what a verifier learned from an accepted request.
type Result struct {
	// Scheme is the name of the scheme that verified the request, e.g.
	// "stripe".
	Scheme string
	// DeliveryID is the provider's unique id of the delivery (the same
	// across the provider's retries), or "" when the request carries none.
	DeliveryID string
	// EventType is the provider's event type when the scheme knows where
	// to find it (X-GitHub-Event, X-Shopify-Topic, Stripe's "type"), or "".
	EventType string
	// Timestamp is the signed timestamp, or the zero time for schemes
	// whose signature carries none.
	Timestamp time.Time
	// SecretIndex is the position of the secret that matched in the list
	// the verifier was built with, from 0.
	SecretIndex int
}

// Verifier checks a request's signature. Implementations are safe for
// concurrent use.
type Verifier interface {
	// Verify checks req against the time now. It returns an error
	// wrapping one of ErrMissingHeader, ErrMalformedHeader,
	// ErrTimestampOutOfTolerance, ErrNoMatch or ErrBodyTooLarge when the
	// request must be refused.
	Verify(req Request, now time.Time) (Result, error)
}

// ReadRequest reads r's body, up to limit bytes, into a Request. A longer
// body gives an error wrapping ErrBodyTooLarge; limit <= 0 means
// DefaultMaxBody.
func ReadRequest(r *http.Request, limit int64) (Request, error) {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	if r.ContentLength > limit {
		return Request{}, tooLarge(r.ContentLength, limit)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return Request{}, fmt.Errorf("signature: read body: %w", err)
	}
	if n > limit {
		return Request{}, tooLarge(n, limit)
	}
	return Request{Header: r.Header, Body: buf.Bytes()}, nil
}

// CheckBody refuses a body longer than limit bytes.
func CheckBody(body []byte, limit int64) error {
	if int64(len(body)) > limit {
		return tooLarge(int64(len(body)), limit)
	}
	return nil
}

func tooLarge(n, limit int64) error {
	return fmt.Errorf("%w: at least %d bytes, the limit is %d", ErrBodyTooLarge, n, limit)
}

// Lookup returns the first value of header name in h, trimmed of spaces
// and tabs, and whether it is present and non-empty. It does not bound the
// value's length; see Value.
func Lookup(h http.Header, name string) (string, bool) {
	vs := h.Values(name)
	if len(vs) == 0 {
		vs = h[name]
	}
	if len(vs) == 0 {
		vs = h[strings.ToLower(name)]
	}
	if len(vs) == 0 {
		return "", false
	}
	v := strings.Trim(vs[0], " \t")
	return v, v != ""
}

// Value returns the first value of the required header name: an error
// wrapping ErrMissingHeader when it is absent or empty, or
// ErrMalformedHeader when it is longer than MaxHeaderBytes.
func Value(h http.Header, name string) (string, error) {
	v, ok := Lookup(h, name)
	if !ok {
		return "", Missing(name)
	}
	if len(v) > MaxHeaderBytes {
		return "", Malformed(name, fmt.Sprintf("longer than %d bytes", MaxHeaderBytes))
	}
	return v, nil
}

// Optional returns the first value of header name, or "" when it is
// absent, empty or longer than MaxHeaderBytes.
func Optional(h http.Header, name string) string {
	v, ok := Lookup(h, name)
	if !ok || len(v) > MaxHeaderBytes {
		return ""
	}
	return v
}

// maxTimestampDigits bounds a Unix timestamp in seconds: 12 digits reach
// far past any plausible clock and keep the arithmetic far from overflow.
const maxTimestampDigits = 12

// ParseUnix parses a Unix time in whole seconds, as decimal digits only.
// header names the header (or header field) it came from, for the error.
func ParseUnix(header, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, Malformed(header, "empty timestamp")
	}
	if len(v) > maxTimestampDigits {
		return time.Time{}, Malformed(header, "timestamp is not a Unix time in seconds")
	}
	var sec int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return time.Time{}, Malformed(header, "timestamp is not a Unix time in seconds")
		}
		sec = sec*10 + int64(c-'0')
	}
	return time.Unix(sec, 0), nil
}

// CheckTimestamp refuses ts when it is more than tolerance before or after
// now. now is taken at whole-second precision, as the timestamp is, so a
// timestamp exactly tolerance away is accepted whatever now's fraction of
// a second.
func CheckTimestamp(header string, ts, now time.Time, tolerance time.Duration) error {
	d := now.Truncate(time.Second).Sub(ts)
	switch {
	case d > tolerance:
		return &HeaderError{Err: ErrTimestampOutOfTolerance, Header: header,
			Reason: fmt.Sprintf("%s in the past, beyond the tolerance of %s", d, tolerance)}
	case d < -tolerance:
		return &HeaderError{Err: ErrTimestampOutOfTolerance, Header: header,
			Reason: fmt.Sprintf("%s in the future, beyond the tolerance of %s", -d, tolerance)}
	}
	return nil
}
