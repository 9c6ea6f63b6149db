package slack_test

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
	"github.com/sluicehq/sluice/connectors/slack"
)

// Slack's published example ("Verifying requests from Slack").
const (
	vectorSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	vectorTimestamp = 1531420618
	vectorBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	vectorSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func secret(i int) string { return fmt.Sprintf("%032x", uint64(i)*0x9e3779b97f4a7c15+42) }

// sign computes X-Slack-Signature independently of the package.
func sign(secrets []string, ts time.Time, body []byte) http.Header {
	m := hmac.New(sha256.New, []byte(secrets[0]))
	fmt.Fprintf(m, "v0:%d:%s", ts.Unix(), body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", fmt.Sprint(ts.Unix()))
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	return h
}

func scheme() signaturetest.Scheme {
	hex64 := strings.Repeat("5a", 32)
	return signaturetest.Scheme{
		Name: slack.Name,
		New: func(secrets []string, opts ...signature.Opt) (signature.Verifier, error) {
			return slack.New(secrets, opts...)
		},
		Secret:          secret,
		Sign:            sign,
		SignatureHeader: "X-Slack-Signature",
		Required:        []string{"X-Slack-Signature", "X-Slack-Request-Timestamp"},
		Signed:          []string{"X-Slack-Request-Timestamp"},
		TimestampHeader: "X-Slack-Request-Timestamp",
		HasTimestamp:    true,
		Malformed: map[string]string{
			"no prefix":         hex64,
			"v1 prefix":         "v1=" + hex64,
			"upper-case prefix": "V0=" + hex64,
			"empty digest":      "v0=",
			"bad hex":           "v0=" + strings.Repeat("xy", 32),
			"short":             "v0=" + hex64[:60],
			"long":              "v0=" + hex64 + "00",
			"two signatures":    "v0=" + hex64 + ",v0=" + hex64,
			"colon form":        "v0:" + hex64,
		},
		BadSecrets: map[string]string{
			"trailing newline": secret(4) + "\n",
		},
		DeliveryID: "Ev0SLUICE",
		EventType:  "contact.created",
	}
}

func TestConformance(t *testing.T) { signaturetest.Run(t, scheme()) }

func FuzzVerify(f *testing.F) { signaturetest.Fuzz(f, scheme()) }

func BenchmarkVerify(b *testing.B) { signaturetest.Benchmark(b, scheme()) }

func TestPublishedVector(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	if got := sign([]string{vectorSecret}, at, []byte(vectorBody)).Get("X-Slack-Signature"); got != vectorSignature {
		t.Fatalf("the test signer gives %s; Slack's example is %s", got, vectorSignature)
	}
	v, err := slack.New([]string{vectorSecret})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{
		"X-Slack-Request-Timestamp": {fmt.Sprint(vectorTimestamp)},
		"X-Slack-Signature":         {vectorSignature},
	}
	res, err := v.Verify(signature.Request{Header: h, Body: []byte(vectorBody)}, at.Add(90*time.Second))
	if err != nil {
		t.Fatalf("Slack's example refused: %v", err)
	}
	if res.DeliveryID != "" || res.EventType != "" || !res.Timestamp.Equal(at) {
		t.Errorf("Result = %+v; a slash command carries no id", res)
	}
	_, err = v.Verify(signature.Request{Header: h, Body: []byte(vectorBody)}, at.Add(6*time.Minute))
	if !errors.Is(err, signature.ErrTimestampOutOfTolerance) {
		t.Errorf("Slack's example six minutes later: %v; want ErrTimestampOutOfTolerance", err)
	}
}

func TestEventFields(t *testing.T) {
	at := time.Unix(1767225600, 0)
	cases := []struct {
		name, body, id, typ string
	}{
		{"event callback", `{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"app_mention","text":"hi"}}`, "Ev08MFMKH6", "app_mention"},
		{"url verification", `{"token":"t","challenge":"c","type":"url_verification"}`, "", "url_verification"},
		{"event callback without an inner type", `{"type":"event_callback","event_id":"Ev1"}`, "Ev1", "event_callback"},
		{"interactivity form", `payload=%7B%22type%22%3A%22block_actions%22%7D`, "", ""},
		{"broken JSON", `{"event_id":"Ev1"`, "", ""},
	}
	v, err := slack.New([]string{secret(0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			h := sign([]string{secret(0)}, at, []byte(tt.body))
			h.Set("X-Slack-Retry-Num", "1")
			res, err := v.Verify(signature.Request{Header: h, Body: []byte(tt.body)}, at)
			if err != nil {
				t.Fatal(err)
			}
			if res.DeliveryID != tt.id || res.EventType != tt.typ {
				t.Errorf("DeliveryID, EventType = %q, %q; want %q, %q", res.DeliveryID, res.EventType, tt.id, tt.typ)
			}
		})
	}
}
