package webhook_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/producers/webhook"
)

// TestNewRefuses checks what New refuses before serving anything: a
// producer that could lose or double records, a catalog it cannot serve,
// bad options. Nothing here needs a running service.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	schemas, err := avro.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	src, err := sr.NewClient(sr.URLs("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	serde, err := avro.NewSerde(src, schemas)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	const okCatalog = `version: 1
tenants: [{id: acme}]
integrations:
  - id: crm
    kind: webhook
    source: crm
    signature: {scheme: SCHEME, secrets: [SECRET]}
    contract: {events: [{type: "*", record: RECORD}]}
`
	dir := t.TempDir()
	catalog := func(scheme, secret, record string) *config.Catalog {
		src := strings.NewReplacer("SCHEME", scheme, "SECRET", secret, "RECORD", record).Replace(okCatalog)
		c, err := config.Parse([]byte(src), dir)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	client := func(opts ...kgo.Opt) *kgo.Client {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	good := catalog("github", "env:PATH", "sluice.source.crm.ContactEvent")
	cases := []struct {
		name     string
		catalog  *config.Catalog
		producer *kgo.Client
		opts     []webhook.Opt
		want     error
		text     string
	}{
		{"acks from the leader only", good, client(kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()), nil, webhook.ErrProducer, "acks"},
		{"no idempotence", good, client(kgo.DisableIdempotentWrite()), nil, webhook.ErrProducer, "idempotent"},
		{"transactional", good, client(kgo.TransactionalID("x")), nil, webhook.ErrProducer, "transactional"},
		{"unset secret", catalog("github", "env:SLUICE_TEST_NEVER_SET", "sluice.source.crm.ContactEvent"), client(), nil, webhook.ErrConfig, "SLUICE_TEST_NEVER_SET"},
		{"undecodable secret", catalog("standard-webhooks", "env:PATH", "sluice.source.crm.ContactEvent"), client(), nil, webhook.ErrConfig, "secret 0"},
		{"not an event record", catalog("github", "env:PATH", "sluice.source.crm.Contact"), client(), nil, webhook.ErrConfig, "not an event record"},
		{"unknown record", catalog("github", "env:PATH", "sluice.source.crm.Nothing"), client(), nil, webhook.ErrConfig, "unknown record"},
		{"short lease", good, client(), []webhook.Opt{webhook.Lease(time.Millisecond)}, webhook.ErrConfig, "lease"},
		{"no produce wait", good, client(), []webhook.Opt{webhook.ProduceWait(0)}, webhook.ErrConfig, "produce wait"},
		{"accepted", good, client(), nil, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := webhook.New(tc.catalog, tc.producer, rdb, schemas, serde, tc.opts...)
			if tc.want == nil {
				if err != nil || in == nil {
					t.Fatalf("New: %v", err)
				}
				if in.Ready() {
					t.Error("ready before Prepare")
				}
				req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/acme/crm", strings.NewReader("{}"))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				in.ServeHTTP(rec, req)
				if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"code":"not_ready"`) || rec.Header().Get("Retry-After") != "5" {
					t.Errorf("before Prepare: %d %s (Retry-After %q); want 503 not_ready", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error %v; want %v saying %q", err, tc.want, tc.text)
			}
		})
	}
}
