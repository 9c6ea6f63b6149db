package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/connectors/standardwebhooks"
	"github.com/sluicehq/sluice/connectors/webhook"
	"github.com/sluicehq/sluice/consumers/deliver"
	"github.com/sluicehq/sluice/consumers/deliver/sink"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// lockedBuffer is an output that commands and the test use at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestDeliverLanes(t *testing.T) {
	for _, tc := range []struct {
		flag string
		want string
		bad  bool
	}{
		{"all", "[interactive batch]", false},
		{"", "[interactive batch]", false},
		{"interactive", "[interactive]", false},
		{"batch", "[batch]", false},
		{"bulk", "", true},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			got, err := deliverLanes(tc.flag)
			if (err != nil) != tc.bad || (!tc.bad && fmt.Sprint(got) != tc.want) {
				t.Errorf("deliverLanes(%q) = %v, %v", tc.flag, got, err)
			}
		})
	}
}

// writeCatalog writes a catalog of tenant demo with destinations and a
// secret file s.secret holding secret, and returns its path.
func writeCatalog(t *testing.T, secret, destinations string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s.secret"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(path, []byte("version: 1\ntenants: [{id: demo}, {id: other}]\ndestinations:\n"+destinations), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDeliverDestinations(t *testing.T) {
	secret, _ := standardwebhooks.GenerateSecret()
	path := writeCatalog(t, secret, `
  - {id: hooks, kind: webhook, url: "https://hooks.example.com/x", secrets: [file:s.secret]}
  - {id: off, kind: webhook, url: "https://off.example.com/x", secrets: [file:s.secret], enabled: false}
  - {id: stream, kind: kafka, topic: downstream.contacts}
`)
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ids  []string
		want string
		err  string
	}{
		{"every enabled one by default", nil, "hooks stream", ""},
		{"one by name", []string{"stream"}, "stream", ""},
		{"unknown", []string{"nope"}, "", "no such destination"},
		{"disabled in the catalog", []string{"off"}, "", "not enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := deliverDestinations(c, tc.ids)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range ds {
				got = append(got, d.Config.ID)
				if d.Config.Kind == config.DestinationWebhook && (len(d.Secrets) != 1 || d.Secrets[0] != secret) {
					t.Errorf("%s: secrets not resolved", d.Config.ID)
				}
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("destinations %v, want %s", got, tc.want)
			}
		})
	}
}

// TestSinkCommand runs sluice sink for a destination and sends it one
// webhook signed with the destination's secret and one signed with
// another.
func TestSinkCommand(t *testing.T) {
	t.Parallel()
	secret, _ := standardwebhooks.GenerateSecret()
	addr := freeAddr(t)
	path := writeCatalog(t, secret, `
  - {id: local, kind: webhook, url: "http://`+addr+`/hooks", allow_private_network: true, secrets: [file:s.secret]}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lockedBuffer{}
	root := newRootCmd(func(string) string { return "" })
	root.SetArgs([]string{"sink", "--config", path, "--log-level", "warn"})
	root.SetOut(out)
	root.SetErr(out)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	send := func(secret, id string) webhook.Result {
		c, err := webhook.New("http://"+addr+"/hooks", []string{secret}, webhook.AllowPrivateNetwork(true))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var res webhook.Result
		testkit.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
			res = c.Send(ctx, webhook.Message{ID: id, Body: []byte(`{"type":"contact.created","envelope":{"tenant_id":"demo"}}`)})
			return res.Err
		})
		return res
	}
	if res := send(secret, "msg_good"); res.Status != http.StatusOK {
		t.Errorf("a webhook signed with the destination's secret: %+v", res)
	}
	other, _ := standardwebhooks.GenerateSecret()
	if res := send(other, "msg_forged"); res.Status != http.StatusUnauthorized {
		t.Errorf("a webhook signed with another secret: %+v", res)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sink: %v\n%s", err, out)
	}
	printed := out.String()
	for _, want := range []string{"sink for destination local listening on http://" + addr, "msg_good", "contact.created", "tenant=demo", "signature ok", "msg_forged", "SIGNATURE REFUSED (no_match)"} {
		if !strings.Contains(printed, want) {
			t.Errorf("output does not say %q:\n%s", want, printed)
		}
	}
}

// TestDeliverCommand runs sluice deliver for a webhook destination and
// checks that a canonical event reaches its receiver as signed JSON.
func TestDeliverCommand(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	r := testkit.NewRedis(t)
	registryURL := registrytest.Start(t, k)
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		redisURL = r.URL
	}
	secret, _ := standardwebhooks.GenerateSecret()
	rcv, err := sink.NewFromSecrets([]string{secret})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	// In a namespace of its own: its canonical topic, group, attempts
	// topic and Redis keys.
	ns := testNamespace(t, r)
	id := strings.ToLower(testkit.Name(t, "dest"))
	tenant := "t" + id[len(id)-8:]
	path := writeCatalog(t, secret, `
  - id: `+id+`
    kind: webhook
    url: "`+srv.URL+`/hooks"
    allow_private_network: true
    secrets: [file:s.secret]
    subscribe: {objects: [contact], tenants: [`+tenant+`]}
`)
	if err := os.WriteFile(path, []byte(strings.Replace(mustRead(t, path), "tenants: [{id: demo}, {id: other}]", "tenants: [{id: "+tenant+"}]", 1)), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	cl, err := sr.NewClient(sr.URLs(registryURL))
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := avro.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	serde, err := avro.NewSerde(cl, schemas)
	if err != nil {
		t.Fatal(err)
	}
	topic := ns.Name(kafka.CanonicalTopic(canonical.ObjectContact))
	outside := untouched(t, k, defaultTopics("deliver."+id, ""))
	now := time.Now().UTC().Truncate(time.Millisecond)
	ev := canonical.ContactEvent{
		Envelope: canonical.Envelope{TenantID: tenant, EventID: "evt_cmd_1", EventType: "contact.created", Integration: "crm", Source: "crm", ReceivedAt: now},
		Data:     canonical.Contact{TenantID: tenant, ID: "ct_9", LifecycleStage: canonical.LifecycleLead, UpdatedAt: now, ExternalIDs: []canonical.ExternalID{}, Attributes: map[string]string{}},
	}
	value, err := serde.Encode(ctx, avro.Subject(topic, canonical.RecordContactEvent), ev)
	if err != nil {
		t.Fatal(err)
	}
	rec := &kgo.Record{Topic: topic, Key: []byte(tenant), Value: value}
	for _, h := range [][2]string{{kafka.HeaderTenantID, tenant}, {kafka.HeaderEventID, "evt_cmd_1"}, {kafka.HeaderEventType, "contact.created"}} {
		kafka.SetHeader(rec, h[0], h[1])
	}
	if err := kafka.EnsureTopics(ctx, k.Admin(t), kafka.TopicSpec{Name: topic, Partitions: 3}); err != nil {
		t.Fatal(err)
	}
	if err := k.Client(t).ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}

	env := map[string]string{
		"KAFKA_BROKERS":       strings.Join(k.Brokers, ","),
		"SCHEMA_REGISTRY_URL": registryURL,
		"REDIS_URL":           redisURL,
		"SLUICE_NAMESPACE":    string(ns),
	}
	opsAddr := freeAddr(t)
	dl := startRole(t, env, "deliver", "--config", path, "--ops-addr", opsAddr, "--lane", "interactive", "--log-level", "warn")

	testkit.CheckFor(t, 90*time.Second, 100*time.Millisecond, func() error {
		if rcv.Delivered()["evt_cmd_1"] == 0 {
			return fmt.Errorf("not delivered yet")
		}
		return nil
	})
	req := rcv.Requests()[0]
	if !req.Verified || req.Tenant != tenant || req.EventType != "contact.created" || !strings.Contains(string(req.Body), `"id":"ct_9"`) {
		t.Errorf("received %+v: %s", req, req.Body)
	}
	checkGroupIn(t, k, ns, deliver.Group(id, config.LaneInteractive))
	resp, err := http.Get("http://" + opsAddr + "/admin/v1/destinations")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("admin API: %s", resp.Status)
	}
	dl.stop(t)
	if n := recordsOf(t, k, ns.Name(kafka.DeliveryAttemptsTopic), tenant); n != 1 {
		t.Errorf("%d attempt records of %s in %s, want 1", n, tenant, ns.Name(kafka.DeliveryAttemptsTopic))
	}
	checkRedisIn(t, r, ns, tenant)
	outside()
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
