package shopify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/shopify"
	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/signature/signaturetest"
)

// A vector computed outside Go, with Python's hmac and base64 modules.
const (
	vectorSecret = "shpss_sluice_test_secret"
	vectorBody   = `{"id":820982911946154508,"email":"jon@example.com"}`
	vectorHMAC   = "sMUzsHgEDKo80L6NAFEK4+DvlhYvcb+5FHHcaj3EuxI="
)

const webhookID = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"

func secret(i int) string { return fmt.Sprintf("shpss_%032x", i*7919+1) }

// sign computes X-Shopify-Hmac-Sha256 independently of the package.
func sign(secrets []string, _ time.Time, body []byte) http.Header {
	m := hmac.New(sha256.New, []byte(secrets[0]))
	m.Write(body)
	h := http.Header{}
	h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	h.Set("X-Shopify-Webhook-Id", webhookID)
	h.Set("X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5")
	h.Set("X-Shopify-Topic", "orders/create")
	h.Set("X-Shopify-Shop-Domain", "example.myshopify.com")
	h.Set("X-Shopify-Triggered-At", "2026-01-01T00:00:00.000Z")
	return h
}

func scheme() signaturetest.Scheme {
	zero := base64.StdEncoding.EncodeToString(make([]byte, 32))
	return signaturetest.Scheme{
		Name: shopify.Name,
		New: func(secrets []string, opts ...signature.Opt) (signature.Verifier, error) {
			return shopify.New(secrets, opts...)
		},
		Secret:          secret,
		Sign:            sign,
		SignatureHeader: "X-Shopify-Hmac-Sha256",
		Required:        []string{"X-Shopify-Hmac-Sha256"},
		Malformed: map[string]string{
			"hex":             strings.Repeat("0f", 32),
			"unpadded":        strings.TrimRight(zero, "="),
			"url-safe":        strings.Repeat("_", 43) + "=",
			"short":           base64.StdEncoding.EncodeToString(make([]byte, 31)),
			"long":            base64.StdEncoding.EncodeToString(make([]byte, 33)),
			"prefixed":        "sha256=" + zero,
			"two signatures":  zero + " " + zero,
			"bad padding":     zero[:42] + "==",
			"non-zero bits":   zero[:42] + "B=",
			"space inside":    zero[:20] + " " + zero[21:],
			"only padding":    strings.Repeat("=", 44),
			"newline inside":  zero[:20] + "\n" + zero[21:],
			"padding missing": zero[:43] + "A",
		},
		BadSecrets: map[string]string{
			"trailing newline": secret(3) + "\n",
		},
		DeliveryID: webhookID,
		EventType:  "orders/create",
	}
}

func TestConformance(t *testing.T) { signaturetest.Run(t, scheme()) }

func FuzzVerify(f *testing.F) { signaturetest.Fuzz(f, scheme()) }

func BenchmarkVerify(b *testing.B) { signaturetest.Benchmark(b, scheme()) }

func TestVector(t *testing.T) {
	if got := sign([]string{vectorSecret}, time.Time{}, []byte(vectorBody)).Get("X-Shopify-Hmac-Sha256"); got != vectorHMAC {
		t.Fatalf("the test signer gives %s; the outside vector is %s", got, vectorHMAC)
	}
	v, err := shopify.New([]string{vectorSecret})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"X-Shopify-Hmac-Sha256": {vectorHMAC}}
	if _, err := v.Verify(signature.Request{Header: h, Body: []byte(vectorBody)}, time.Now()); err != nil {
		t.Fatalf("vector refused: %v", err)
	}
	if _, err := v.Verify(signature.Request{Header: h, Body: []byte(vectorBody + "\n")}, time.Now()); !errors.Is(err, signature.ErrNoMatch) {
		t.Fatalf("changed body: %v; want ErrNoMatch", err)
	}
}

func TestHeaders(t *testing.T) {
	body := []byte(`{"id":1}`)
	full := sign([]string{secret(0)}, time.Time{}, body)
	sig := full.Get("X-Shopify-Hmac-Sha256")
	cases := []struct {
		name   string
		header http.Header
		id     string
		topic  string
		want   error
	}{
		{"webhook id preferred", full, webhookID, "orders/create", nil},
		{"event id without a webhook id", http.Header{
			"X-Shopify-Hmac-Sha256": {sig},
			"X-Shopify-Event-Id":    {"ev-1"},
		}, "ev-1", "", nil},
		{"headers without the X- prefix", http.Header{
			"Shopify-Hmac-Sha256": {sig},
			"Shopify-Webhook-Id":  {"wh-2"},
			"Shopify-Topic":       {"products/update"},
		}, "wh-2", "products/update", nil},
		{"lower-case names, as over HTTP/2", http.Header{
			"x-shopify-hmac-sha256": {sig},
			"x-shopify-webhook-id":  {"wh-3"},
		}, "wh-3", "", nil},
		{"unprefixed signature malformed", http.Header{"Shopify-Hmac-Sha256": {"abc"}}, "", "", signature.ErrMalformedHeader},
		{"neither signature header", http.Header{"X-Shopify-Webhook-Id": {"wh-4"}}, "", "", signature.ErrMissingHeader},
	}
	v, err := shopify.New([]string{secret(0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			res, err := v.Verify(signature.Request{Header: tt.header, Body: body}, time.Now())
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("error %v; want %v", err, tt.want)
			}
			if err == nil && (res.DeliveryID != tt.id || res.EventType != tt.topic) {
				t.Errorf("DeliveryID, EventType = %q, %q; want %q, %q", res.DeliveryID, res.EventType, tt.id, tt.topic)
			}
		})
	}
}
