package stripe_test

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

	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/signature/signaturetest"
	"github.com/sluicehq/sluice/connectors/stripe"
)

// A vector computed outside Go, with Python's hmac module:
// hmac.new(secret, b"1767225600." + body, sha256).hexdigest().
const (
	vectorSecret = "whsec_test_secret_for_sluice"
	vectorTime   = 1767225600
	vectorBody   = `{"id":"evt_1PzSLUICE","object":"event","type":"invoice.paid"}`
	vectorV1     = "f7bb1c90b5950fdf379b36780f09cd79a7ca7e9be7c17020d5613297db316145"
)

func secret(i int) string { return fmt.Sprintf("whsec_sluiceStripeTest%02dKx9Lq2", i) }

// sign computes a v1 signature independently of the package.
func sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// header builds Stripe-Signature the way Stripe does: the timestamp, one
// v1 entry per secret, and a v0 entry receivers ignore.
func header(secrets []string, ts time.Time, body []byte) http.Header {
	parts := []string{fmt.Sprintf("t=%d", ts.Unix())}
	for _, s := range secrets {
		parts = append(parts, "v1="+sign(s, ts.Unix(), body))
	}
	parts = append(parts, "v0="+sign("legacy", ts.Unix(), body))
	h := http.Header{}
	h.Set("Stripe-Signature", strings.Join(parts, ","))
	return h
}

func scheme() signaturetest.Scheme {
	hex64 := strings.Repeat("ab", 32)
	return signaturetest.Scheme{
		Name: stripe.Name,
		New: func(secrets []string, opts ...signature.Opt) (signature.Verifier, error) {
			return stripe.New(secrets, opts...)
		},
		Secret:          secret,
		Sign:            header,
		SignatureHeader: "Stripe-Signature",
		Required:        []string{"Stripe-Signature"},
		HasTimestamp:    true,
		MultiSignature:  true,
		Malformed: map[string]string{
			"no timestamp":            "v1=" + hex64,
			"empty timestamp":         "t=,v1=" + hex64,
			"timestamp not a number":  "t=yesterday,v1=" + hex64,
			"negative timestamp":      "t=-1767225600,v1=" + hex64,
			"two timestamps":          "t=1767225600,t=1767225601,v1=" + hex64,
			"element without =":       "t=1767225600,v1",
			"bad hex":                 "t=1767225600,v1=" + strings.Repeat("zz", 32),
			"short v1":                "t=1767225600,v1=abcd",
			"long v1":                 "t=1767225600,v1=" + hex64 + "00",
			"empty v1":                "t=1767225600,v1=",
			"base64 v1":               "t=1767225600,v1=q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=",
			"too many v1":             "t=1767225600" + strings.Repeat(",v1="+hex64, stripe.MaxSignatures+1),
			"semicolons":              "t=1767225600;v1=" + hex64,
			"timestamp in ms":         "t=1767225600000,v1=" + hex64,
			"timestamp with fraction": "t=1767225600.5,v1=" + hex64,
		},
		BadSecrets: map[string]string{
			"trailing newline": secret(7) + "\n",
			"leading space":    " " + secret(7),
		},
		DeliveryID: "evt_1Nsluice",
		EventType:  "contact.created",
	}
}

func TestConformance(t *testing.T) { signaturetest.Run(t, scheme()) }

func FuzzVerify(f *testing.F) { signaturetest.Fuzz(f, scheme()) }

func BenchmarkVerify(b *testing.B) { signaturetest.Benchmark(b, scheme()) }

func TestVector(t *testing.T) {
	if got := sign(vectorSecret, vectorTime, []byte(vectorBody)); got != vectorV1 {
		t.Fatalf("the test signer gives %s; the outside vector is %s", got, vectorV1)
	}
	v, err := stripe.New([]string{vectorSecret})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Stripe-Signature": {fmt.Sprintf("t=%d,v1=%s", vectorTime, vectorV1)}}
	res, err := v.Verify(signature.Request{Header: h, Body: []byte(vectorBody)}, time.Unix(vectorTime+30, 0))
	if err != nil {
		t.Fatalf("vector refused: %v", err)
	}
	want := signature.Result{Scheme: "stripe", DeliveryID: "evt_1PzSLUICE", EventType: "invoice.paid", Timestamp: time.Unix(vectorTime, 0)}
	if res != want {
		t.Errorf("Result = %+v; want %+v", res, want)
	}
}

func TestHeaderForms(t *testing.T) {
	const ts = 1767225600
	body := []byte(`{"id":"evt_9","type":"charge.succeeded"}`)
	good := sign(secret(0), ts, body)
	other := sign(secret(5), ts, body)
	cases := []struct {
		name   string
		header string
		want   error
	}{
		{"as Stripe sends it", fmt.Sprintf("t=%d,v1=%s,v0=%s", ts, good, other), nil},
		{"timestamp last", fmt.Sprintf("v1=%s,t=%d", good, ts), nil},
		{"spaces after commas", fmt.Sprintf("t=%d, v1=%s", ts, good), nil},
		{"upper-case hex", fmt.Sprintf("t=%d,v1=%s", ts, strings.ToUpper(good)), nil},
		{"a malformed v1 before the match", fmt.Sprintf("t=%d,v1=xyz,v1=%s", ts, good), nil},
		{"an unknown scheme", fmt.Sprintf("t=%d,v9=%s,v1=%s", ts, other, good), nil},
		{"trailing comma", fmt.Sprintf("t=%d,v1=%s,", ts, good), nil},
		{"v0 only", fmt.Sprintf("t=%d,v0=%s", ts, good), signature.ErrNoMatch},
		{"timestamp only", fmt.Sprintf("t=%d", ts), signature.ErrNoMatch},
		{"the right signature as v0", fmt.Sprintf("t=%d,v1=%s,v0=%s", ts, other, good), signature.ErrNoMatch},
		{"a malformed v1 after a mismatch", fmt.Sprintf("t=%d,v1=%s,v1=xyz", ts, other), signature.ErrNoMatch},
		{"signed at another time", fmt.Sprintf("t=%d,v1=%s", ts+1, good), signature.ErrNoMatch},
		{"scheme name upper case", fmt.Sprintf("t=%d,V1=%s", ts, good), signature.ErrNoMatch},
	}
	v, err := stripe.New([]string{secret(0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Stripe-Signature": {tt.header}}
			res, err := v.Verify(signature.Request{Header: h, Body: body}, time.Unix(ts, 0))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if res.DeliveryID != "evt_9" || res.EventType != "charge.succeeded" {
					t.Errorf("Result = %+v", res)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v; want %v", err, tt.want)
			}
		})
	}
}

func TestEventFields(t *testing.T) {
	const ts = 1767225600
	cases := []struct {
		name, body, id, typ string
	}{
		{"event", `{"id":"evt_1","type":"a.b"}`, "evt_1", "a.b"},
		{"thin event", `{"id":"evt_2","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered"}`, "evt_2", "v1.billing.meter.error_report_triggered"},
		{"numeric id", `{"id":12,"type":"a.b"}`, "", "a.b"},
		{"not JSON", `id=evt_1`, "", ""},
		{"array", `[{"id":"evt_1"}]`, "", ""},
		{"empty", ``, "", ""},
	}
	v, err := stripe.New([]string{secret(0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			h := header([]string{secret(0)}, time.Unix(ts, 0), []byte(tt.body))
			res, err := v.Verify(signature.Request{Header: h, Body: []byte(tt.body)}, time.Unix(ts, 0))
			if err != nil {
				t.Fatal(err)
			}
			if res.DeliveryID != tt.id || res.EventType != tt.typ {
				t.Errorf("DeliveryID, EventType = %q, %q; want %q, %q", res.DeliveryID, res.EventType, tt.id, tt.typ)
			}
		})
	}
}
