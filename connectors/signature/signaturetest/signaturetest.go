// Package signaturetest is the conformance suite every webhook signature
// scheme passes with one line:
//
//	func TestConformance(t *testing.T) { signaturetest.Run(t, scheme()) }
//
// The suite signs requests with the scheme's own test signer, which must
// be written independently of the code under test (crypto/hmac directly),
// and checks the verifier against them: a valid request, a tampered body,
// a wrong secret, a rotation (either of two active secrets, and several
// signatures in one header), each required header missing or empty,
// malformed and oversized headers, timestamps just inside and just
// outside the tolerance in both directions, an empty body, an oversized
// body, bad secrets and options, concurrent use, and that no refusal's
// message carries a secret, a signature or the body. Fuzz and Benchmark
// give every scheme the same fuzz target and benchmarks.
package signaturetest

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
)

// Scheme describes the scheme under test to the suite.
type Scheme struct {
	// Name is the scheme's name, which Result.Scheme must carry.
	Name string
	// New builds the verifier under test.
	New func(secrets []string, opts ...signature.Opt) (signature.Verifier, error)
	// Secret returns distinct valid secrets in the scheme's configuration
	// format, the same for the same i.
	Secret func(i int) string
	// Sign returns the headers of a request carrying body, signed at ts
	// with each of secrets, computed independently of the code under test.
	// It is given several secrets only when MultiSignature is set.
	Sign func(secrets []string, ts time.Time, body []byte) http.Header
	// SignatureHeader names the header that carries the signature.
	SignatureHeader string
	// Required lists the headers without which a request is refused,
	// SignatureHeader included.
	Required []string
	// Signed lists headers other than SignatureHeader whose values the
	// signature covers, so that changing one must be refused.
	Signed []string
	// TimestampHeader names a header of its own that carries the signed
	// timestamp, or "" when the timestamp sits in SignatureHeader or the
	// scheme has none.
	TimestampHeader string
	// HasTimestamp says the signature covers a timestamp that the
	// tolerance applies to.
	HasTimestamp bool
	// MultiSignature says one request can carry several signatures.
	MultiSignature bool
	// Malformed are SignatureHeader values, by case name, that must be
	// refused as malformed. A garbage value and oversized values are
	// always tried.
	Malformed map[string]string
	// BadSecrets are configured secrets, by case name, that New must
	// refuse. An empty list is always tried.
	BadSecrets map[string]string
	// Body is the body of the signed requests. Default: a small JSON event
	// with an "id", a "type" and an "event_id".
	Body []byte
	// DeliveryID is the delivery id the verifier must report for a
	// request Sign made over Body; "" skips the check.
	DeliveryID string
	// EventType is the event type the verifier must report for a request
	// Sign made over Body; "" skips the check.
	EventType string
}

// defaultBody is the body of the suite's requests unless Scheme.Body is
// set.
const defaultBody = `{"id":"evt_1Nsluice","type":"contact.created","event_id":"Ev0SLUICE","data":{"name":"conformance-body"}}`

// DefaultBody returns the body the suite signs unless Scheme.Body is set:
// a JSON event whose "id" is "evt_1Nsluice", "type" "contact.created" and
// "event_id" "Ev0SLUICE".
func DefaultBody() []byte { return []byte(defaultBody) }

// Now returns the instant the suite verifies at: a fixed time with a
// fraction of a second, so tolerance boundaries are checked at
// whole-second precision.
func Now() time.Time { return time.Unix(1767225600, 750_000_000) }

func (s *Scheme) body() []byte {
	if s.Body != nil {
		return bytes.Clone(s.Body)
	}
	return DefaultBody()
}

func (s *Scheme) verifier(t testing.TB, secrets []string, opts ...signature.Opt) signature.Verifier {
	t.Helper()
	v, err := s.New(secrets, opts...)
	if err != nil {
		t.Fatalf("New with %d valid secrets: %v", len(secrets), err)
	}
	return v
}

// req builds a request signed with secrets at ts over body.
func (s *Scheme) req(secrets []string, ts time.Time, body []byte) signature.Request {
	return signature.Request{Header: s.Sign(secrets, ts, body), Body: body}
}

// Run runs the conformance suite against s.
func Run(t *testing.T, s Scheme) {
	t.Helper()
	if s.New == nil || s.Sign == nil || s.Secret == nil || s.SignatureHeader == "" {
		t.Fatal("signaturetest: Scheme needs New, Sign, Secret and SignatureHeader")
	}
	c := &checker{s: &s}
	t.Run("valid", c.valid)
	t.Run("tampered", c.tampered)
	t.Run("secrets", c.secrets)
	t.Run("missing", c.missing)
	t.Run("malformed", c.malformed)
	t.Run("timestamp", c.timestamp)
	t.Run("body", c.bodies)
	t.Run("construction", c.construction)
	t.Run("concurrent", c.concurrent)
}

type checker struct{ s *Scheme }

// refused asserts err wraps want and leaks nothing of req or secrets.
func (c *checker) refused(t *testing.T, err error, want error, req signature.Request, secrets []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want an error wrapping %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %q (code %s); want one wrapping %v", err, signature.Code(err), want)
	}
	if code := signature.Code(err); code == "unknown" || code == "" {
		t.Errorf("error %q has no stable code", err)
	}
	CheckNoLeak(t, err, req, secrets)
}

// accepted asserts a successful verification with the suite's checks of
// the result.
func (c *checker) accepted(t *testing.T, res signature.Result, err error, ts time.Time, index int) {
	t.Helper()
	if err != nil {
		t.Fatalf("refused a valid request: %v", err)
	}
	if res.Scheme != c.s.Name {
		t.Errorf("Result.Scheme = %q; want %q", res.Scheme, c.s.Name)
	}
	if res.SecretIndex != index {
		t.Errorf("Result.SecretIndex = %d; want %d", res.SecretIndex, index)
	}
	if c.s.HasTimestamp {
		if !res.Timestamp.Equal(ts.Truncate(time.Second)) {
			t.Errorf("Result.Timestamp = %v; want %v", res.Timestamp, ts.Truncate(time.Second))
		}
	} else if !res.Timestamp.IsZero() {
		t.Errorf("Result.Timestamp = %v; want zero for a scheme without a signed timestamp", res.Timestamp)
	}
}

func (c *checker) valid(t *testing.T) {
	now := Now()
	s := c.s
	secrets := []string{s.Secret(0)}
	v := c.verifier(t, secrets)
	body := s.body()
	req := s.req(secrets, now, body)
	sent := bytes.Clone(body)
	sentHeader := req.Header.Clone()
	res, err := v.Verify(req, now)
	c.accepted(t, res, err, now, 0)
	if s.DeliveryID != "" && res.DeliveryID != s.DeliveryID {
		t.Errorf("Result.DeliveryID = %q; want %q", res.DeliveryID, s.DeliveryID)
	}
	if s.EventType != "" && res.EventType != s.EventType {
		t.Errorf("Result.EventType = %q; want %q", res.EventType, s.EventType)
	}
	if !bytes.Equal(req.Body, sent) || fmt.Sprint(req.Header) != fmt.Sprint(sentHeader) {
		t.Error("Verify changed the request")
	}

	t.Run("again", func(t *testing.T) {
		res, err := v.Verify(req, now)
		c.accepted(t, res, err, now, 0)
	})
	t.Run("lower-case header names", func(t *testing.T) {
		h := http.Header{}
		for k, vs := range req.Header {
			h[strings.ToLower(k)] = vs
		}
		res, err := v.Verify(signature.Request{Header: h, Body: body}, now)
		c.accepted(t, res, err, now, 0)
	})
	t.Run("unrelated headers", func(t *testing.T) {
		h := req.Header.Clone()
		h.Set("X-Unrelated", "1")
		h.Set("Content-Type", "application/json")
		res, err := v.Verify(signature.Request{Header: h, Body: body}, now)
		c.accepted(t, res, err, now, 0)
	})
}

func (c *checker) verifier(t testing.TB, secrets []string, opts ...signature.Opt) signature.Verifier {
	t.Helper()
	return c.s.verifier(t, secrets, opts...)
}

func (c *checker) tampered(t *testing.T) {
	now := Now()
	s := c.s
	secrets := []string{s.Secret(0)}
	v := c.verifier(t, secrets)
	body := s.body()
	signed := s.Sign(secrets, now, body)
	flip := bytes.Clone(body)
	flip[len(flip)/2] ^= 0x01
	bodies := []struct {
		name string
		body []byte
	}{
		{"one bit flipped", flip},
		{"byte appended", append(bytes.Clone(body), ' ')},
		{"last byte removed", body[:len(body)-1]},
		{"empty", []byte{}},
		{"another body", []byte(`{"id":"evt_other","type":"contact.deleted"}`)},
	}
	for _, tt := range bodies {
		t.Run("body "+tt.name, func(t *testing.T) {
			req := signature.Request{Header: signed.Clone(), Body: tt.body}
			_, err := v.Verify(req, now)
			c.refused(t, err, signature.ErrNoMatch, req, secrets)
		})
	}
	for _, name := range s.Signed {
		t.Run("header "+name, func(t *testing.T) {
			h := signed.Clone()
			val, _ := signature.Lookup(h, name)
			if name == s.TimestampHeader {
				val = fmt.Sprint(now.Unix() + 1)
			} else {
				val += "0"
			}
			h.Set(name, val)
			req := signature.Request{Header: h, Body: body}
			_, err := v.Verify(req, now)
			c.refused(t, err, signature.ErrNoMatch, req, secrets)
		})
	}
}

func (c *checker) secrets(t *testing.T) {
	now := Now()
	s := c.s
	a, b, x := s.Secret(0), s.Secret(1), s.Secret(2)
	if a == b || b == x || a == x {
		t.Fatal("Scheme.Secret must return distinct secrets")
	}
	body := s.body()
	cases := []struct {
		name     string
		verifier []string
		signer   []string
		index    int // -1: refused
		multi    bool
	}{
		{"wrong secret", []string{a}, []string{b}, -1, false},
		{"rotation, signed with the new secret", []string{a, b}, []string{b}, 1, false},
		{"rotation, signed with the old secret", []string{a, b}, []string{a}, 0, false},
		{"rotation, three active secrets", []string{x, a, b}, []string{b}, 2, false},
		{"several signatures, the second matches", []string{b}, []string{a, b}, 0, true},
		{"several signatures, the first matches", []string{a}, []string{a, x}, 0, true},
		{"several signatures, both active", []string{a, b}, []string{b, a}, 0, true},
		{"several signatures, none matches", []string{x}, []string{a, b}, -1, true},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if tt.multi && !s.MultiSignature {
				t.Skip("the scheme carries one signature per request")
			}
			v := c.verifier(t, tt.verifier)
			req := s.req(tt.signer, now, body)
			res, err := v.Verify(req, now)
			if tt.index < 0 {
				c.refused(t, err, signature.ErrNoMatch, req, append(tt.verifier, tt.signer...))
				return
			}
			c.accepted(t, res, err, now, tt.index)
		})
	}
}

func (c *checker) missing(t *testing.T) {
	now := Now()
	s := c.s
	secrets := []string{s.Secret(0)}
	v := c.verifier(t, secrets)
	body := s.body()
	required := s.Required
	if len(required) == 0 {
		required = []string{s.SignatureHeader}
	}
	for _, name := range required {
		for _, mode := range []string{"absent", "empty", "blank"} {
			t.Run(name+" "+mode, func(t *testing.T) {
				h := s.Sign(secrets, now, body)
				switch mode {
				case "absent":
					h.Del(name)
				case "empty":
					h.Set(name, "")
				case "blank":
					h.Set(name, "  \t ")
				}
				req := signature.Request{Header: h, Body: body}
				_, err := v.Verify(req, now)
				c.refused(t, err, signature.ErrMissingHeader, req, secrets)
				if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(name)) {
					t.Errorf("error %q does not name the header %s", err, name)
				}
			})
		}
	}
	t.Run("no headers", func(t *testing.T) {
		req := signature.Request{Header: http.Header{}, Body: body}
		_, err := v.Verify(req, now)
		c.refused(t, err, signature.ErrMissingHeader, req, secrets)
	})
	t.Run("nil header", func(t *testing.T) {
		req := signature.Request{Body: body}
		_, err := v.Verify(req, now)
		c.refused(t, err, signature.ErrMissingHeader, req, secrets)
	})
}

func (c *checker) malformed(t *testing.T) {
	now := Now()
	s := c.s
	secrets := []string{s.Secret(0)}
	v := c.verifier(t, secrets)
	body := s.body()
	values := map[string]string{
		"garbage":             "garbage",
		"just over the limit": strings.Repeat("a", signature.MaxHeaderBytes+1),
		"huge":                strings.Repeat("v1=,", 1<<18),
		"control characters":  "\x00\x01\x02\x7f",
		"non-ASCII":           "ŝĩğñáŧűřè",
		"separators only":     ",,,===   ;;;",
	}
	for name, val := range s.Malformed {
		values[name] = val
	}
	for name, val := range values {
		t.Run(s.SignatureHeader+" "+name, func(t *testing.T) {
			h := s.Sign(secrets, now, body)
			h.Set(s.SignatureHeader, val)
			req := signature.Request{Header: h, Body: body}
			_, err := v.Verify(req, now)
			c.refused(t, err, signature.ErrMalformedHeader, req, secrets)
		})
	}
	if s.TimestampHeader == "" {
		return
	}
	stamps := map[string]string{
		"letters":            "yesterday",
		"negative":           "-1",
		"fraction":           fmt.Sprintf("%d.5", now.Unix()),
		"exponent":           "1.7e9",
		"milliseconds":       fmt.Sprint(now.UnixMilli()),
		"leading sign":       fmt.Sprintf("+%d", now.Unix()),
		"non-ASCII digits":   "١٧٦٧٢٢٥٦٠٠",
		"overflowing digits": strings.Repeat("9", 40),
		"over the limit":     strings.Repeat("1", signature.MaxHeaderBytes+1),
	}
	for name, val := range stamps {
		t.Run(s.TimestampHeader+" "+name, func(t *testing.T) {
			h := s.Sign(secrets, now, body)
			h.Set(s.TimestampHeader, val)
			req := signature.Request{Header: h, Body: body}
			_, err := v.Verify(req, now)
			c.refused(t, err, signature.ErrMalformedHeader, req, secrets)
		})
	}
}

func (c *checker) timestamp(t *testing.T) {
	now := Now()
	s := c.s
	secrets := []string{s.Secret(0)}
	body := s.body()
	whole := now.Truncate(time.Second)
	for _, tol := range []struct {
		name string
		d    time.Duration
		opts []signature.Opt
	}{
		{"default tolerance", signature.DefaultTolerance, nil},
		{"tolerance 30s", 30 * time.Second, []signature.Opt{signature.Tolerance(30 * time.Second)}},
		{"tolerance 1h", time.Hour, []signature.Opt{signature.Tolerance(time.Hour)}},
	} {
		v := c.verifier(t, secrets, tol.opts...)
		cases := []struct {
			name string
			ts   time.Time
			ok   bool
		}{
			{"now", now, true},
			{"just inside, past", whole.Add(-tol.d), true},
			{"just outside, past", whole.Add(-tol.d - time.Second), false},
			{"just inside, future", whole.Add(tol.d), true},
			{"just outside, future", whole.Add(tol.d + time.Second), false},
			{"a day old", whole.Add(-24*time.Hour - tol.d), false},
			{"epoch", time.Unix(0, 0), false},
			{"year 2200", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), false},
		}
		for _, tt := range cases {
			t.Run(tol.name+" "+tt.name, func(t *testing.T) {
				req := s.req(secrets, tt.ts, body)
				res, err := v.Verify(req, now)
				if tt.ok || !s.HasTimestamp {
					c.accepted(t, res, err, tt.ts, 0)
					return
				}
				c.refused(t, err, signature.ErrTimestampOutOfTolerance, req, secrets)
			})
		}
	}
}

func (c *checker) bodies(t *testing.T) {
	now := Now()
	s := c.s
	secrets := []string{s.Secret(0)}
	t.Run("empty", func(t *testing.T) {
		v := c.verifier(t, secrets)
		for _, body := range [][]byte{{}, nil} {
			req := s.req(secrets, now, body)
			res, err := v.Verify(req, now)
			c.accepted(t, res, err, now, 0)
		}
	})
	t.Run("binary", func(t *testing.T) {
		v := c.verifier(t, secrets)
		body := make([]byte, 256)
		for i := range body {
			body[i] = byte(i)
		}
		res, err := v.Verify(s.req(secrets, now, body), now)
		c.accepted(t, res, err, now, 0)
	})
	t.Run("at the limit", func(t *testing.T) {
		v := c.verifier(t, secrets, signature.MaxBody(64))
		body := bytes.Repeat([]byte("b"), 64)
		res, err := v.Verify(s.req(secrets, now, body), now)
		c.accepted(t, res, err, now, 0)
	})
	t.Run("over the limit", func(t *testing.T) {
		v := c.verifier(t, secrets, signature.MaxBody(64))
		body := bytes.Repeat([]byte("b"), 65)
		req := s.req(secrets, now, body)
		_, err := v.Verify(req, now)
		c.refused(t, err, signature.ErrBodyTooLarge, req, secrets)
	})
	t.Run("over the default limit", func(t *testing.T) {
		v := c.verifier(t, secrets)
		body := bytes.Repeat([]byte("b"), int(signature.DefaultMaxBody)+1)
		req := s.req(secrets, now, body)
		_, err := v.Verify(req, now)
		c.refused(t, err, signature.ErrBodyTooLarge, req, secrets)
	})
}

func (c *checker) construction(t *testing.T) {
	s := c.s
	bad := map[string][]string{
		"no secrets":   nil,
		"empty list":   {},
		"empty secret": {""},
	}
	for name, sec := range s.BadSecrets {
		bad[name] = []string{sec}
		bad[name+" after a good one"] = []string{s.Secret(0), sec}
	}
	for name, secrets := range bad {
		t.Run("secret "+name, func(t *testing.T) {
			v, err := s.New(secrets)
			if err == nil {
				t.Fatalf("New accepted %d bad secrets (verifier %T)", len(secrets), v)
			}
			if !errors.Is(err, signature.ErrBadSecret) {
				t.Fatalf("error %q; want one wrapping %v", err, signature.ErrBadSecret)
			}
			CheckNoLeak(t, err, signature.Request{}, secrets)
			var se *signature.SecretError
			if len(secrets) == 2 && (!errors.As(err, &se) || se.Index != 1) {
				t.Errorf("error %q does not point at secret 1", err)
			}
		})
	}
	opts := map[string]signature.Opt{
		"zero tolerance":     signature.Tolerance(0),
		"negative tolerance": signature.Tolerance(-time.Second),
		"tolerance of days":  signature.Tolerance(72 * time.Hour),
		"zero body limit":    signature.MaxBody(0),
	}
	for name, opt := range opts {
		t.Run("option "+name, func(t *testing.T) {
			_, err := s.New([]string{s.Secret(0)}, opt)
			if !errors.Is(err, signature.ErrBadConfig) {
				t.Fatalf("error %v; want one wrapping %v", err, signature.ErrBadConfig)
			}
		})
	}
	t.Run("nil option", func(t *testing.T) {
		if _, err := s.New([]string{s.Secret(0)}, nil); err != nil {
			t.Fatalf("a nil option: %v", err)
		}
	})
}

func (c *checker) concurrent(t *testing.T) {
	now := Now()
	s := c.s
	secrets := []string{s.Secret(0), s.Secret(1)}
	v := c.verifier(t, secrets)
	body := s.body()
	good := s.req(secrets[1:], now, body)
	bad := s.req([]string{s.Secret(2)}, now, body)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if res, err := v.Verify(good, now); err != nil || res.SecretIndex != 1 {
					errs <- fmt.Errorf("a valid request: index %d, error %v", res.SecretIndex, err)
					return
				}
				if _, err := v.Verify(bad, now); !errors.Is(err, signature.ErrNoMatch) {
					errs <- fmt.Errorf("a request signed with another secret: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// CheckNoLeak fails t when err's message holds one of secrets (or the
// part after a key prefix), the body, or a signature-like token of the
// request's headers.
func CheckNoLeak(t testing.TB, err error, req signature.Request, secrets []string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, sec := range secrets {
		if len(sec) < 4 {
			continue
		}
		if strings.Contains(msg, sec) {
			t.Errorf("error message holds a secret: %q", msg)
		}
		if _, after, ok := strings.Cut(sec, "_"); ok && len(after) >= 8 && strings.Contains(msg, after) {
			t.Errorf("error message holds a secret's key material: %q", msg)
		}
	}
	if len(req.Body) >= 8 && strings.Contains(msg, string(req.Body)) {
		t.Errorf("error message holds the body: %q", msg)
	}
	if len(req.Body) >= 24 && strings.Contains(msg, string(req.Body[:24])) {
		t.Errorf("error message holds the start of the body: %q", msg)
	}
	for name, vs := range req.Header {
		for _, val := range vs {
			if len(val) >= 16 && strings.Contains(msg, val) {
				t.Errorf("error message holds the value of %s: %q", name, msg)
			}
			for _, tok := range strings.FieldsFunc(val, func(r rune) bool { return strings.ContainsRune(" ,=;:", r) }) {
				if len(tok) >= 16 && strings.Contains(msg, tok) {
					t.Errorf("error message holds a token of %s: %q", name, msg)
				}
			}
		}
	}
}
