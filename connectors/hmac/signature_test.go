package hmac_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"testing"
	"time"

	sighmac "github.com/sluicehq/sluice/connectors/hmac"
	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/signature/signaturetest"
)

// Vectors computed outside Go, with Python's hmac, hashlib and base64.
const (
	vectorSecret    = "hmac-sluice-secret"
	vectorTimestamp = 1767225600
	vectorBody      = `{"event":"ping"}`
	// sha512, hex, over "1767225600." + body.
	vectorSHA512Hex = "e1243e93330e6e3c13895d70aad7e49c5986bb81b7530c3ce288e34133cee3578053e5cefdd97c85356e8f02f86ea20579b1af885a73a3286934db158f5f1a1e"
	// sha256, base64, over the body.
	vectorSHA256Base64 = "AngY5lOPn5APG/Sv6RnaAVhMTfD5l7UnCyMHOL70HuY="
)

func ptr(s string) *string { return &s }

func secret(i int) string { return fmt.Sprintf("generic-secret-%d-%x", i, i*104729+7) }

// signer signs independently of the package, as cfg describes.
func signer(cfg sighmac.Config) func([]string, time.Time, []byte) http.Header {
	return func(secrets []string, ts time.Time, body []byte) http.Header {
		newHash := sha256.New
		if cfg.Algorithm == "sha512" || cfg.Algorithm == "SHA512" {
			newHash = func() hash.Hash { return sha512.New() }
		}
		m := hmac.New(newHash, []byte(secrets[0]))
		h := http.Header{}
		if cfg.TimestampHeader != "" {
			sep := "."
			if cfg.Separator != nil {
				sep = *cfg.Separator
			}
			fmt.Fprintf(m, "%d%s", ts.Unix(), sep)
			h.Set(cfg.TimestampHeader, fmt.Sprint(ts.Unix()))
		}
		m.Write(body)
		enc := hex.EncodeToString(m.Sum(nil))
		if cfg.Encoding == "base64" {
			enc = base64.StdEncoding.EncodeToString(m.Sum(nil))
		}
		h.Set(cfg.Header, cfg.Prefix+enc)
		if cfg.DeliveryIDHeader != "" {
			h.Set(cfg.DeliveryIDHeader, "dlv_77")
		}
		if cfg.EventTypeHeader != "" {
			h.Set(cfg.EventTypeHeader, "ping")
		}
		return h
	}
}

func scheme(cfg sighmac.Config) signaturetest.Scheme {
	size := sha256.Size
	if strings.EqualFold(cfg.Algorithm, "sha512") {
		size = sha512.Size
	}
	s := signaturetest.Scheme{
		Name: sighmac.Name,
		New: func(secrets []string, opts ...signature.Opt) (signature.Verifier, error) {
			return sighmac.New(cfg, secrets, opts...)
		},
		Secret:          secret,
		Sign:            signer(cfg),
		SignatureHeader: cfg.Header,
		Required:        []string{cfg.Header},
		Malformed: map[string]string{
			"hex of the other size":    cfg.Prefix + strings.Repeat("ab", 96-size),
			"base64 of the other size": cfg.Prefix + base64.StdEncoding.EncodeToString(make([]byte, 96-size)),
			"one byte short":           cfg.Prefix + strings.Repeat("ab", size-1),
		},
		BadSecrets: map[string]string{
			"trailing newline": "s3cret\n",
		},
	}
	if cfg.Encoding == "base64" {
		s.Malformed["hex of the size"] = cfg.Prefix + strings.Repeat("ab", size)
		s.Malformed["unpadded"] = cfg.Prefix + strings.TrimRight(base64.StdEncoding.EncodeToString(make([]byte, size)), "=")
	} else {
		s.Malformed["base64 of the size"] = cfg.Prefix + base64.StdEncoding.EncodeToString(make([]byte, size))
		s.Malformed["bad hex"] = cfg.Prefix + strings.Repeat("g", 2*size)
	}
	if cfg.Prefix != "" {
		s.Malformed["no prefix"] = strings.Repeat("ab", size)
	}
	if cfg.TimestampHeader != "" {
		s.Required = append(s.Required, cfg.TimestampHeader)
		s.Signed = []string{cfg.TimestampHeader}
		s.TimestampHeader = cfg.TimestampHeader
		s.HasTimestamp = true
	}
	if cfg.DeliveryIDHeader != "" {
		s.DeliveryID = "dlv_77"
	}
	if cfg.EventTypeHeader != "" {
		s.EventType = "ping"
	}
	return s
}

func configs() map[string]sighmac.Config {
	return map[string]sighmac.Config{
		"sha256 hex body with prefix": {Header: "X-Signature", Prefix: "sha256=", DeliveryIDHeader: "X-Delivery", EventTypeHeader: "X-Event"},
		"sha512 base64 timestamped":   {Header: "X-Signature", Algorithm: "sha512", Encoding: "base64", TimestampHeader: "X-Timestamp"},
		"sha256 base64, no separator": {Header: "Webhook-Sig", Encoding: "base64", TimestampHeader: "Webhook-Time", Separator: ptr("")},
		"SHA512 hex, colon, prefixed": {Header: "X-Sig", Algorithm: "SHA512", Prefix: "v1=", TimestampHeader: "X-Sig-Time", Separator: ptr(":")},
	}
}

func TestConformance(t *testing.T) {
	for name, cfg := range configs() {
		t.Run(name, func(t *testing.T) { signaturetest.Run(t, scheme(cfg)) })
	}
}

func FuzzVerify(f *testing.F) {
	signaturetest.Fuzz(f, scheme(configs()["sha512 base64 timestamped"]))
}

func BenchmarkVerify(b *testing.B) {
	b.Run("sha256-hex", func(b *testing.B) { signaturetest.Benchmark(b, scheme(configs()["sha256 hex body with prefix"])) })
	b.Run("sha512-base64-timestamp", func(b *testing.B) { signaturetest.Benchmark(b, scheme(configs()["sha512 base64 timestamped"])) })
}

func TestVectors(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	cases := []struct {
		name   string
		cfg    sighmac.Config
		header http.Header
		body   string
	}{
		{"sha512 hex over timestamp.body",
			sighmac.Config{Header: "X-Sig", Algorithm: "sha512", TimestampHeader: "X-Ts"},
			http.Header{"X-Sig": {vectorSHA512Hex}, "X-Ts": {fmt.Sprint(vectorTimestamp)}}, vectorBody},
		{"sha256 base64 over the body",
			sighmac.Config{Header: "X-Sig", Encoding: "base64"},
			http.Header{"X-Sig": {vectorSHA256Base64}}, vectorBody},
		{"GitHub's published example as a generic HMAC",
			sighmac.Config{Header: "X-Hub-Signature-256", Prefix: "sha256="},
			http.Header{"X-Hub-Signature-256": {"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}}, "Hello, World!"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			secret := vectorSecret
			if strings.HasPrefix(tt.name, "GitHub") {
				secret = "It's a Secret to Everybody"
			}
			if got := signer(tt.cfg)([]string{secret}, at, []byte(tt.body)).Get(tt.cfg.Header); got != tt.header.Get(tt.cfg.Header) {
				t.Fatalf("the test signer gives %s; the vector is %s", got, tt.header.Get(tt.cfg.Header))
			}
			v, err := sighmac.New(tt.cfg, []string{secret})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(signature.Request{Header: tt.header, Body: []byte(tt.body)}, at); err != nil {
				t.Fatalf("vector refused: %v", err)
			}
			if _, err := v.Verify(signature.Request{Header: tt.header, Body: []byte(tt.body + "x")}, at); !errors.Is(err, signature.ErrNoMatch) {
				t.Fatalf("changed body: %v; want ErrNoMatch", err)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  sighmac.Config
		want string // in the error; "" for a valid config
	}{
		{"minimal", sighmac.Config{Header: "X-Sig"}, ""},
		{"every field", sighmac.Config{Header: "X-Sig", Algorithm: "Sha512", Encoding: "BASE64", Prefix: "v1=", TimestampHeader: "X-Ts", Separator: ptr("::"), DeliveryIDHeader: "X-Id", EventTypeHeader: "X-Type"}, ""},
		{"no header", sighmac.Config{}, "header must be an HTTP header name"},
		{"header with a space", sighmac.Config{Header: "X Sig"}, "header must be an HTTP header name"},
		{"header with a colon", sighmac.Config{Header: "X-Sig:"}, "header must be an HTTP header name"},
		{"md5", sighmac.Config{Header: "X-Sig", Algorithm: "md5"}, `algorithm must be sha256 or sha512; got "md5"`},
		{"sha1", sighmac.Config{Header: "X-Sig", Algorithm: "sha1"}, "algorithm must be"},
		{"base32", sighmac.Config{Header: "X-Sig", Encoding: "base32"}, "encoding must be hex or base64"},
		{"timestamp header is the signature header", sighmac.Config{Header: "X-Sig", TimestampHeader: "x-sig"}, "must differ"},
		{"bad timestamp header", sighmac.Config{Header: "X-Sig", TimestampHeader: "X Ts"}, "timestamp header must be"},
		{"bad delivery id header", sighmac.Config{Header: "X-Sig", DeliveryIDHeader: "X\nId"}, "delivery id header must be"},
		{"bad event type header", sighmac.Config{Header: "X-Sig", EventTypeHeader: "é"}, "event type header must be"},
		{"separator without a timestamp", sighmac.Config{Header: "X-Sig", Separator: ptr(".")}, "a separator needs a timestamp header"},
		{"long separator", sighmac.Config{Header: "X-Sig", TimestampHeader: "X-Ts", Separator: ptr(strings.Repeat(".", 17))}, "separator must be"},
		{"control character in the prefix", sighmac.Config{Header: "X-Sig", Prefix: "v1\n"}, "prefix must be"},
		{"long prefix", sighmac.Config{Header: "X-Sig", Prefix: strings.Repeat("p", 65)}, "prefix must be"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sighmac.New(tt.cfg, []string{"s3cret"})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				return
			}
			if !errors.Is(err, signature.ErrBadConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want ErrBadConfig saying %q", err, tt.want)
			}
		})
	}
}
