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
// received during a secret rotation (see deliverDuringRotation) to
// receivers written in Python: every request verifies with the Standard
// Webhooks Python library under the old secret and under the new one,
// and its v1a signature with pyca/cryptography's Ed25519 under the whpk_
// public key; a request whose body was changed on the way verifies with
// none of them. Needs SLUICE_PYTHON (deploy/local/clients.sh; CI sets
// it).
func TestStandardWebhooksPythonLibraryVerifies(t *testing.T) {
	t.Parallel()
	testkit.Python(t)
	r := deliverDuringRotation(t)
	// The library verifies v1 (HMAC) only; the v1a signatures are checked
	// with OpenSSL's Ed25519 and the whpk_ public key alone.
	r.check(t, "standardwebhooks_verify.py", []receiver{
		{r.cur, "the Standard Webhooks Python library with the new secret"},
		{r.old, "the Standard Webhooks Python library with the old secret"},
		{r.pk, "pyca/cryptography's Ed25519 with the whpk_ key"},
	})
}

// TestStandardWebhooksJavaScriptLibraryVerifies does the same with the
// specification's JavaScript library (standardwebhooks on npm), an
// implementation of its own (HMAC and base64 in JavaScript): every
// request verifies under the old secret and under the new one, skipping
// the v1a signatures beside the v1 ones, and the changed one under
// neither. Needs SLUICE_NODE_CLIENTS (deploy/local/clients.sh; CI sets
// it).
func TestStandardWebhooksJavaScriptLibraryVerifies(t *testing.T) {
	t.Parallel()
	testkit.NodeClients(t)
	r := deliverDuringRotation(t)
	r.check(t, "standardwebhooks_verify.mjs", []receiver{
		{r.cur, "the Standard Webhooks JavaScript library with the new secret"},
		{r.old, "the Standard Webhooks JavaScript library with the old secret"},
	})
}

// rotation is what a destination signing with two whsec_ secrets and an
// Ed25519 key received: its requests, as JSON lines for a receiver
// program, the last one a copy of the first whose body was changed on
// the way.
type rotation struct {
	lines    []map[string]any
	requests int
	// cur and old are the new and the old whsec_ secret; pk is the whpk_
	// public key of the Ed25519 key.
	cur, old, pk string
}

// receiver is a key a receiver program verifies with, and who that is.
type receiver struct{ key, name string }

// deliverDuringRotation delivers events of two tenants through a
// destination in the middle of a secret rotation: the new and the old
// whsec_ secret and an Ed25519 key, so that each request carries three
// signatures, v1 and v1a.
func deliverDuringRotation(t *testing.T) rotation {
	t.Helper()
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

	r := rotation{cur: cur, old: old, pk: pk}
	write := func(h map[string]string, body []byte) {
		r.lines = append(r.lines, map[string]any{"headers": h, "body": base64.StdEncoding.EncodeToString(body)})
	}
	reqs := k.Requests()
	for _, req := range reqs {
		h := map[string]string{}
		for name := range req.Header {
			h[strings.ToLower(name)] = req.Header.Get(name)
		}
		write(h, req.Body)
	}
	r.requests = len(reqs)
	tampered := reqs[0]
	if !bytes.Contains(tampered.Body, []byte(`"type"`)) {
		t.Fatalf("the body has no type to change: %s", tampered.Body)
	}
	write(map[string]string{
		"webhook-id":        tampered.Header.Get("webhook-id"),
		"webhook-timestamp": tampered.Header.Get("webhook-timestamp"),
		"webhook-signature": tampered.Header.Get("webhook-signature"),
	}, bytes.Replace(tampered.Body, []byte(`"type"`), []byte(`"Type"`), 1))
	return r
}

// check runs the receiver program script over r's requests with the
// receivers' keys, and checks that every request verifies with each key
// and the changed one with none.
func (r rotation) check(t *testing.T, script string, receivers []receiver) {
	t.Helper()
	keys := make([]string, len(receivers))
	for i, rc := range receivers {
		keys[i] = rc.key
	}
	out := testkit.RunClient(t, time.Minute, testkit.JSONLines(t, r.lines...), script, keys...)
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
	if want := n * (r.requests + 1); len(verdicts) != want {
		t.Fatalf("%d verdicts, want %d (%d keys × %d requests and a tampered one)", len(verdicts), want, n, r.requests)
	}
	for i, v := range verdicts[:n*r.requests] {
		if !v.OK {
			t.Errorf("request %d (%s) refused by %s: %s", i/n, v.ID, receivers[v.Key].name, v.Error)
		}
	}
	for _, v := range verdicts[n*r.requests:] {
		if v.OK {
			t.Errorf("%s accepts a changed body", receivers[v.Key].name)
		}
	}
}
