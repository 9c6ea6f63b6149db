package signaturetest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/connectors/signature"
)

// Fuzz runs a fuzz target over the scheme's header parsing and
// verification: the signature header, the timestamp header (when the
// scheme has one of its own) and the body of a validly signed request are
// replaced with the fuzzer's values. Verify must not panic; a refusal must
// wrap one of the package's sentinels and leak nothing; an acceptance
// needs the body and the timestamp header that were signed.
//
//	func FuzzVerify(f *testing.F) { signaturetest.Fuzz(f, scheme()) }
func Fuzz(f *testing.F, s Scheme) {
	now := Now()
	secrets := []string{s.Secret(0)}
	v, err := s.New(append(secrets, s.Secret(1)))
	if err != nil {
		f.Fatalf("New: %v", err)
	}
	body := s.body()
	signed := s.Sign(secrets, now, body)
	sig, _ := signature.Lookup(signed, s.SignatureHeader)
	ts := ""
	if s.TimestampHeader != "" {
		ts, _ = signature.Lookup(signed, s.TimestampHeader)
	}
	f.Add(sig, ts, body)
	f.Add(sig, ts, []byte{})
	f.Add(sig+" "+sig, ts, body)
	f.Add("", "", []byte(nil))
	f.Add("garbage", "yesterday", []byte("{}"))
	for _, m := range s.Malformed {
		f.Add(m, ts, body)
	}
	f.Fuzz(func(t *testing.T, sigValue, tsValue string, b []byte) {
		h := signed.Clone()
		h.Set(s.SignatureHeader, sigValue)
		if s.TimestampHeader != "" {
			h.Set(s.TimestampHeader, tsValue)
		}
		req := signature.Request{Header: h, Body: b}
		res, err := v.Verify(req, now)
		if err != nil {
			if signature.Code(err) == "unknown" {
				t.Fatalf("error %q wraps none of the package's sentinels", err)
			}
			CheckNoLeak(t, err, req, append(secrets, s.Secret(1)))
			return
		}
		if !bytes.Equal(b, body) {
			t.Fatalf("accepted a body that was not signed: %q", b)
		}
		if s.TimestampHeader != "" && tsValue != ts {
			t.Fatalf("accepted a timestamp that was not signed: %q", tsValue)
		}
		if res.Scheme != s.Name {
			t.Fatalf("Result.Scheme = %q", res.Scheme)
		}
	})
}

// Benchmark measures Verify of a valid request and of one signed with
// another secret, over a 1 KiB body, beside a baseline: one HMAC-SHA256 of
// the same body, the least any HMAC scheme must spend.
func Benchmark(b *testing.B, s Scheme) {
	now := Now()
	body := bytes.Repeat([]byte("x"), 1024)
	secrets := []string{s.Secret(0)}
	v, err := s.New(secrets)
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	good := signature.Request{Header: s.Sign(secrets, now, body), Body: body}
	bad := signature.Request{Header: s.Sign([]string{s.Secret(1)}, now, body), Body: body}
	b.Run("baseline-hmac-sha256", func(b *testing.B) {
		key := []byte(s.Secret(0))
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			m := hmac.New(sha256.New, key)
			m.Write(body)
			m.Sum(nil)
		}
	})
	b.Run("valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(good, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wrong-secret", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(bad, now); !errors.Is(err, signature.ErrNoMatch) {
				b.Fatal(err)
			}
		}
	})
}
