package deliver_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/standardwebhooks"
	"github.com/sluicehq/sluice/consumers/deliver"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestStandardWebhooksPythonLibraryVerifies hands what a destination
// received, during a secret rotation (the new and the old whsec_ secret
// and an Ed25519 key), to receivers written in Python: every request
// verifies with the Standard Webhooks Python library under the old secret
// and under the new one, and its v1a signature with pyca/cryptography's
// Ed25519 under the whpk_ public key; a request whose body was changed on
// the way verifies with none of them. Needs SLUICE_PYTHON
// (deploy/local/clients.sh; CI sets it).
func TestStandardWebhooksPythonLibraryVerifies(t *testing.T) {
	t.Parallel()
	testkit.Python(t)
	e := newEnv(t, 3)
	d, old := e.dest(t, "")
	cur, err := standardwebhooks.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	sk, pk, err := standardwebhooks.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	d.Secrets = []string{cur, old, sk}
	k, url := newSink(t, []string{cur})
	d.Config.URL = url
	in := events(20, "acme", "globex")
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
	start(t, e.stageOf(t, []deliver.Destination{d}))
	waitDelivered(t, k, ids(in), time.Minute)

	var lines []map[string]any
	write := func(h map[string]string, body []byte) {
		lines = append(lines, map[string]any{"headers": h, "body": base64.StdEncoding.EncodeToString(body)})
	}
	reqs := k.Requests()
	for _, r := range reqs {
		h := map[string]string{}
		for name := range r.Header {
			h[strings.ToLower(name)] = r.Header.Get(name)
		}
		write(h, r.Body)
	}
	tampered := reqs[0]
	if !bytes.Contains(tampered.Body, []byte(`"type"`)) {
		t.Fatalf("the body has no type to change: %s", tampered.Body)
	}
	write(map[string]string{
		"webhook-id":        tampered.Header.Get("webhook-id"),
		"webhook-timestamp": tampered.Header.Get("webhook-timestamp"),
		"webhook-signature": tampered.Header.Get("webhook-signature"),
	}, bytes.Replace(tampered.Body, []byte(`"type"`), []byte(`"Type"`), 1))

	// Every request verifies with each secret or key, and the tampered
	// one with none. The library verifies v1 (HMAC) only; the v1a
	// signatures are checked with OpenSSL's Ed25519 and the whpk_ public
	// key alone.
	keys := []string{cur, old, pk}
	receivers := []string{
		"the Standard Webhooks Python library with the new secret",
		"the Standard Webhooks Python library with the old secret",
		"pyca/cryptography's Ed25519 with the whpk_ key",
	}
	out := testkit.RunClient(t, time.Minute, testkit.JSONLines(t, lines...), "standardwebhooks_verify.py", keys...)
	verdicts := testkit.ReadJSONLines[struct {
		ID    string `json:"id"`
		Key   int    `json:"key"`
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}](t, "the verifier", out)
	for _, v := range verdicts {
		if v.Key < 0 || v.Key >= len(keys) {
			t.Fatalf("the verifier answered for key %d of %d", v.Key, len(keys))
		}
	}
	n := len(keys)
	if want := n * (len(reqs) + 1); len(verdicts) != want {
		t.Fatalf("%d verdicts, want %d (%d keys × %d requests and a tampered one)", len(verdicts), want, n, len(reqs))
	}
	for i, v := range verdicts[:n*len(reqs)] {
		if !v.OK {
			t.Errorf("request %d (%s) refused by %s: %s", i/n, v.ID, receivers[v.Key], v.Error)
		}
	}
	for _, v := range verdicts[n*len(reqs):] {
		if v.OK {
			t.Errorf("%s accepts a changed body", receivers[v.Key])
		}
	}
}
