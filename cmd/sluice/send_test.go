package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/connectors/hmac"
	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/signature/schemes"
	"github.com/sluicehq/sluice/connectors/standardwebhooks"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestSignForEveryScheme signs with send's signer and verifies with the
// scheme's verifier, for every scheme the catalog knows.
func TestSignForEveryScheme(t *testing.T) {
	t.Parallel()
	sk, _, err := standardwebhooks.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	whsec, err := standardwebhooks.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		signature string // the signature block of the catalog
		secret    string
		delivery  bool // the verifier reports the delivery id
	}{
		{"standard-webhooks v1", "{scheme: standard-webhooks, secrets: [file:s.secret]}", whsec, true},
		{"standard-webhooks v1a", "{scheme: standard-webhooks, secrets: [file:s.secret]}", sk, true},
		{"stripe", "{scheme: stripe, secrets: [file:s.secret]}", "whsec_stripe", false},
		{"github", "{scheme: github, secrets: [file:s.secret]}", "gh secret", true},
		{"shopify", "{scheme: shopify, secrets: [file:s.secret]}", "shpss_x", true},
		{"slack", "{scheme: slack, secrets: [file:s.secret]}", "8f742231b10e8888abcd99yyyzzz85a5", false},
		{"hmac hex", "{scheme: hmac, secrets: [file:s.secret], hmac: {header: X-Sig, prefix: 'sha256='}}", "k", false},
		{"hmac base64 sha512 with timestamp", "{scheme: hmac, secrets: [file:s.secret], hmac: {header: X-Sig, algorithm: sha512, encoding: base64, timestamp_header: X-Ts, separator: ''}}", "k", false},
	}
	if got := len(config.Schemes()); got != 6 {
		t.Fatalf("the catalog knows %d schemes; this test covers 6", got)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "s.secret"), []byte(tc.secret), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := config.Parse([]byte(`version: 1
tenants: [{id: demo}]
integrations:
  - id: x
    kind: webhook
    source: crm
    signature: `+tc.signature+`
    contract:
      event_id: {header: X-Event-Id}
      events: [{type: "*", record: sluice.source.crm.ContactEvent}]
`), dir)
			if err != nil {
				t.Fatal(err)
			}
			in, _ := c.Integration("x")
			body := []byte(`{"type":"contact.created"}`)
			now := time.Now()
			h, err := signFor(in, "msg_1", now, body, "contact.created")
			if err != nil {
				t.Fatal(err)
			}
			if h.Get("X-Event-Id") != "msg_1" {
				t.Errorf("the contract's event_id header is %q", h.Get("X-Event-Id"))
			}
			cfg := schemes.Config{Scheme: in.Signature.Scheme, Secrets: []string{tc.secret}}
			if hc := in.Signature.HMAC; hc != nil {
				cfg.HMAC = &hmac.Config{Header: hc.Header, Algorithm: hc.Algorithm, Encoding: hc.Encoding, Prefix: hc.Prefix, TimestampHeader: hc.TimestampHeader}
				if hc.TimestampHeader != "" {
					cfg.HMAC.Separator = hc.Separator
				}
			}
			v, err := schemes.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(signature.Request{Header: h, Body: body}, now)
			if err != nil {
				t.Fatalf("the verifier refuses what send signed: %v", err)
			}
			if tc.delivery && res.DeliveryID != "msg_1" {
				t.Errorf("delivery id %q; want msg_1", res.DeliveryID)
			}
			if _, err := v.Verify(signature.Request{Header: h, Body: append(body, ' ')}, now); !errors.Is(err, signature.ErrNoMatch) {
				t.Errorf("a changed body: %v; want no match", err)
			}
		})
	}

	t.Run("public key", func(t *testing.T) {
		_, pk, err := standardwebhooks.GenerateKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		_, err = sign(&config.Signature{Scheme: config.SchemeStandardWebhooks}, pk, "msg_1", time.Now(), nil, "")
		if err == nil || !strings.Contains(err.Error(), "cannot sign") {
			t.Fatalf("signing with a public key: %v; want a clear refusal", err)
		}
	})
}

// TestSampleLines checks what sluice dev prints for the example catalog:
// a send command and a curl line whose signature verifies.
func TestSampleLines(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "examples", "sluice.yaml")
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	lines := sampleLines(path, c, "http://127.0.0.1:8080", now)
	if len(lines) != 2 {
		t.Fatalf("%d lines: %v", len(lines), lines)
	}
	file := filepath.Join("..", "..", "examples", "events", "crm-contact.json")
	if want := "send --config " + path + " --url http://127.0.0.1:8080 --tenant demo --integration crm " + file; !strings.HasSuffix(lines[0].where, want) {
		t.Errorf("send line %q; want it to end in %q", lines[0].where, want)
	}
	curl := lines[1].where
	if !strings.HasPrefix(curl, "curl -sS -X POST http://127.0.0.1:8080/v1/webhooks/demo/crm ") || !strings.Contains(lines[1].note, "expires after 5m0s") {
		t.Fatalf("curl line %q (%s)", curl, lines[1].note)
	}
	h := http.Header{}
	for _, part := range strings.Split(curl, " -H '")[1:] {
		line := part[:strings.Index(part, "'")]
		k, v, _ := strings.Cut(line, ": ")
		h.Set(k, v)
	}
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := c.Integration("crm")
	secrets, err := config.ResolveAll(in.Signature.Secrets)
	if err != nil {
		t.Fatal(err)
	}
	v, err := schemes.New(schemes.Config{Scheme: in.Signature.Scheme, Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(signature.Request{Header: h, Body: body}, now); err != nil {
		t.Fatalf("the printed curl line is not signed right: %v (headers %v)", err, h)
	}
}

// TestIngressCommand runs sluice ingress on the test's Kafka, Redis and
// schema registry, sends it the example event with sluice send, twice
// with one delivery id, and stops it.
func TestIngressCommand(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	r := testkit.NewRedis(t)
	registryURL := registrytest.Start(t, k)
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		redisURL = r.URL
	}
	dir := t.TempDir()
	secret, err := os.ReadFile(filepath.Join("..", "..", "examples", "secrets", "crm-webhook.secret"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "crm.secret"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	integration := strings.ToLower(testkit.Name(t, "crm"))
	catalog := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(catalog, []byte(`version: 1
tenants: [{id: demo}]
integrations:
  - id: `+integration+`
    kind: webhook
    source: crm
    signature: {scheme: standard-webhooks, secrets: [file:crm.secret]}
    contract:
      event_type: {json: type}
      events: [{type: "contact.*", record: sluice.source.crm.ContactEvent}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, opsAddr := freeAddr(t), freeAddr(t)
	ns := testNamespace(t, r)
	outside := untouched(t, k, []string{kafka.InTopic(integration), kafka.InvalidTopic(integration)})
	env := map[string]string{
		"KAFKA_BROKERS":       strings.Join(k.Brokers, ","),
		"SCHEMA_REGISTRY_URL": registryURL,
		"REDIS_URL":           redisURL,
		"SLUICE_NAMESPACE":    string(ns),
	}
	getenv := func(key string) string { return env[key] }

	in := startRole(t, env, "ingress", "--config", catalog, "--addr", addr, "--ops-addr", opsAddr, "--log-level", "warn")
	waitReady(t, opsAddr)
	event := filepath.Join("..", "..", "examples", "events", "crm-contact.json")
	for i, want := range []string{"202 Accepted", "200 OK"} {
		var sent bytes.Buffer
		code := run([]string{"send", "--config", catalog, "--url", "http://" + addr, "--tenant", "demo", "--integration", integration, "--id", "msg_cmd", event},
			&sent, &sent, getenv)
		if code != 0 || !strings.Contains(sent.String(), want) {
			t.Fatalf("send %d: exit %d\n%s", i, code, sent.String())
		}
	}
	var refused bytes.Buffer
	if code := run([]string{"send", "--config", catalog, "--url", "http://" + addr, "--tenant", "nobody", "--integration", integration, event},
		&refused, &refused, getenv); code != 1 || !strings.Contains(refused.String(), "unknown_tenant") {
		t.Errorf("send to an unknown tenant: exit %d\n%s", code, refused.String())
	}
	in.stop(t)
	recs := k.Records(t, ns.Name(kafka.InTopic(integration)))
	if len(recs) != 1 || kafka.Header(recs[0], kafka.HeaderEventID) != "msg_cmd" {
		t.Fatalf("%d records; want the one event once", len(recs))
	}
	checkRedisIn(t, r, ns, "demo")
	outside()
	// The event's schema subject follows its topic into the namespace.
	cl, err := sr.NewClient(sr.URLs(registryURL))
	if err != nil {
		t.Fatal(err)
	}
	subjects, err := cl.Subjects(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := avro.Subject(ns.Name(kafka.InTopic(integration)), "sluice.source.crm.ContactEvent"); !slices.Contains(subjects, want) {
		t.Errorf("subjects %v, want %s", subjects, want)
	}
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
}
