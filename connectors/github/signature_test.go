package github_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/github"
	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/signature/signaturetest"
)

// GitHub's published example ("Validating webhook deliveries").
const (
	vectorSecret    = "It's a Secret to Everybody"
	vectorBody      = "Hello, World!"
	vectorSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

const deliveryID = "72d3162e-cc78-11e3-81ab-4c9367dc0958"

func secret(i int) string { return fmt.Sprintf("gh-webhook-secret-%d-Zq81", i) }

// sign computes X-Hub-Signature-256 independently of the package.
func sign(secrets []string, _ time.Time, body []byte) http.Header {
	m := hmac.New(sha256.New, []byte(secrets[0]))
	m.Write(body)
	h := http.Header{}
	h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	h.Set("X-GitHub-Delivery", deliveryID)
	h.Set("X-GitHub-Event", "issues")
	h.Set("X-GitHub-Hook-ID", "292430182")
	return h
}

func scheme() signaturetest.Scheme {
	hex64 := strings.Repeat("0f", 32)
	return signaturetest.Scheme{
		Name: github.Name,
		New: func(secrets []string, opts ...signature.Opt) (signature.Verifier, error) {
			return github.New(secrets, opts...)
		},
		Secret:          secret,
		Sign:            sign,
		SignatureHeader: "X-Hub-Signature-256",
		Required:        []string{"X-Hub-Signature-256"},
		Malformed: map[string]string{
			"no prefix":           hex64,
			"sha1 prefix":         "sha1=" + strings.Repeat("0f", 20),
			"sha512 prefix":       "sha512=" + hex64,
			"upper-case prefix":   "SHA256=" + hex64,
			"empty after prefix":  "sha256=",
			"bad hex":             "sha256=" + strings.Repeat("zz", 32),
			"short":               "sha256=" + hex64[:62],
			"long":                "sha256=" + hex64 + "0f",
			"base64":              "sha256=dXEH6g6yUJ/CESIczphLijdXC211hsIsRvQ3nIsEPhc=",
			"two signatures":      "sha256=" + hex64 + ",sha256=" + hex64,
			"space before digest": "sha256= " + hex64,
		},
		BadSecrets: map[string]string{
			"trailing newline": "secret\n",
		},
		DeliveryID: deliveryID,
		EventType:  "issues",
	}
}

func TestConformance(t *testing.T) { signaturetest.Run(t, scheme()) }

func FuzzVerify(f *testing.F) { signaturetest.Fuzz(f, scheme()) }

func BenchmarkVerify(b *testing.B) { signaturetest.Benchmark(b, scheme()) }

func TestPublishedVector(t *testing.T) {
	if got := sign([]string{vectorSecret}, time.Time{}, []byte(vectorBody)).Get("X-Hub-Signature-256"); got != vectorSignature {
		t.Fatalf("the test signer gives %s; GitHub's example is %s", got, vectorSignature)
	}
	v, err := github.New([]string{"another secret", vectorSecret})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		sig  string
		body string
		want error
	}{
		{"as published", vectorSignature, vectorBody, nil},
		{"upper-case hex", "sha256=" + strings.ToUpper(strings.TrimPrefix(vectorSignature, "sha256=")), vectorBody, nil},
		{"body changed", vectorSignature, "Hello, World?", signature.ErrNoMatch},
		{"last digit changed", vectorSignature[:len(vectorSignature)-1] + "6", vectorBody, signature.ErrNoMatch},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"X-Hub-Signature-256": {tt.sig}}
			res, err := v.Verify(signature.Request{Header: h, Body: []byte(tt.body)}, time.Now())
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("error %v; want %v", err, tt.want)
			}
			if err == nil && (res.SecretIndex != 1 || res.DeliveryID != "" || !res.Timestamp.IsZero()) {
				t.Errorf("Result = %+v", res)
			}
		})
	}
}

// TestLegacyHeaderIgnored: a valid SHA-1 X-Hub-Signature alone is not
// accepted.
func TestLegacyHeaderIgnored(t *testing.T) {
	v, err := github.New([]string{vectorSecret})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"X-Hub-Signature": {"sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"}}
	_, err = v.Verify(signature.Request{Header: h, Body: []byte(vectorBody)}, time.Now())
	if !errors.Is(err, signature.ErrMissingHeader) || !strings.Contains(err.Error(), "X-Hub-Signature-256") {
		t.Fatalf("error %v; want the missing X-Hub-Signature-256", err)
	}
}
