package deliver_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
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
// and an Ed25519 key), to the Standard Webhooks Python library, as a
// receiver written in Python checks it: every request verifies with the
// old secret and with the new one, and a request whose body was changed
// on the way verifies with neither. Needs SLUICE_PYTHON
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
	sk, _, err := standardwebhooks.GenerateKeyPair()
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

	var lines bytes.Buffer
	write := func(h map[string]string, body []byte) {
		line, err := json.Marshal(map[string]any{"headers": h, "body": base64.StdEncoding.EncodeToString(body)})
		if err != nil {
			t.Fatal(err)
		}
		lines.Write(append(line, '\n'))
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

	out := testkit.RunClient(t, time.Minute, lines.Bytes(), "standardwebhooks_verify.py", cur, old)
	type result struct {
		ID     string `json:"id"`
		Secret int    `json:"secret"`
		OK     bool   `json:"ok"`
		Error  string `json:"error"`
	}
	var results []result
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("the verifier printed %q: %v", sc.Bytes(), err)
		}
		results = append(results, r)
	}
	if want := 2 * (len(reqs) + 1); len(results) != want {
		t.Fatalf("%d verdicts, want %d (2 secrets × %d requests and a tampered one)", len(results), want, len(reqs))
	}
	for i, r := range results[:2*len(reqs)] {
		if !r.OK {
			t.Errorf("request %d (%s) refused by the Python library with secret %d: %s", i/2, r.ID, r.Secret, r.Error)
		}
	}
	for _, r := range results[2*len(reqs):] {
		if r.OK {
			t.Errorf("the Python library accepts a changed body with secret %d", r.Secret)
		}
	}
}
