package schemes_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/signature/schemes"
	"github.com/sluicehq/sluice/internal/testkit"
)

// sdkBody is what the SDKs sign: non-ASCII text, signed as the UTF-8
// bytes sent.
var sdkBody = []byte(`{"id":"evt_1","type":"contact.updated","data":{"name":"Zoë Ångström","note":"café ☕","amount":1999}}`)

// sdkCase is a message for an SDK to sign with a scheme's secret.
type sdkCase struct{ scheme, secret string }

// checkSDK has script sign sdkBody once per case, as the provider's SDK
// does, and verifies each answer with sluice's verifier of the case's
// scheme: it verifies, and the same headers over a changed body do not.
func checkSDK(t *testing.T, script string, cases []sdkCase) {
	t.Helper()
	now := time.Now()
	in := make([]map[string]string, len(cases))
	for i, c := range cases {
		in[i] = map[string]string{
			"scheme": c.scheme, "secret": c.secret, "id": "msg_sdk_" + c.scheme,
			"timestamp": strconv.FormatInt(now.Unix(), 10), "body": base64.StdEncoding.EncodeToString(sdkBody),
		}
	}
	out := testkit.RunClient(t, time.Minute, testkit.JSONLines(t, in...), script)
	answers := testkit.ReadJSONLines[struct {
		Headers map[string]string `json:"headers"`
	}](t, "the signer", out)
	if len(answers) != len(cases) {
		t.Fatalf("the signer answered %d of %d messages", len(answers), len(cases))
	}
	for i, signed := range answers {
		c := cases[i]
		h := http.Header{}
		for k, v := range signed.Headers {
			h.Set(k, v)
		}
		v, err := schemes.New(schemes.Config{Scheme: c.scheme, Secrets: []string{c.secret}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(signature.Request{Header: h, Body: sdkBody}, now); err != nil {
			t.Errorf("%s: sluice refuses the SDK's signature %v: %v", c.scheme, signed.Headers, err)
		}
		changed := bytes.Replace(sdkBody, []byte("1999"), []byte("1990"), 1)
		if _, err := v.Verify(signature.Request{Header: h, Body: changed}, now); err == nil {
			t.Errorf("%s: sluice accepts the SDK's signature over a changed body", c.scheme)
		}
	}
}

// TestProvidersPythonSDKSignaturesVerify signs webhooks with the
// providers' own Python SDKs, as their senders do: the Standard Webhooks
// library, Stripe's and Slack's SDKs. Needs SLUICE_PYTHON
// (deploy/local/clients.sh; CI sets it).
func TestProvidersPythonSDKSignaturesVerify(t *testing.T) {
	t.Parallel()
	testkit.Python(t)
	checkSDK(t, "provider_sign.py", []sdkCase{
		{"standard-webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		{"stripe", "whsec_sluiceStripeSDKcheck0123456789"},
		{"slack", "8f742231b10e8888abcd99yyyzzz85a5"},
	})
}

// TestProvidersNodeSDKSignaturesVerify signs webhooks with the providers'
// own JavaScript SDKs, as their senders do: GitHub's (Octokit's webhook
// methods, X-Hub-Signature-256) and the Standard Webhooks library. Needs
// SLUICE_NODE_CLIENTS (deploy/local/clients.sh; CI sets it).
func TestProvidersNodeSDKSignaturesVerify(t *testing.T) {
	t.Parallel()
	testkit.NodeClients(t)
	checkSDK(t, "provider_sign.mjs", []sdkCase{
		{"github", "It's a Secret to Everybody"},
		{"standard-webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
	})
}
