package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestTransformCommand runs sluice transform in a namespace on a catalog
// with a CRM integration and checks that a CRM contact webhook comes out
// as a canonical contact, that readiness waited for the identity map and
// checks the schema registry, and
// that every topic, group, transactional id and Redis key it used is in
// the namespace.
func TestTransformCommand(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	r := testkit.NewRedis(t)
	registryURL := registrytest.Start(t, k)
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		redisURL = r.URL
	}
	// The namespace keeps its topics, group and Redis keys its own.
	ns := testNamespace(t, r)
	integration := testkit.Token(t)
	tenant := "t" + integration
	dir := t.TempDir()
	path := filepath.Join(dir, "sluice.yaml")
	catalog := fmt.Sprintf(`version: 1
tenants: [{id: %s}]
integrations:
  - id: crm-%s
    kind: sync
    source: crm
    contract: {events: [{type: "contact.*", record: sluice.source.crm.ContactEvent}, {type: "company.*", record: sluice.source.crm.CompanyEvent}]}
`, tenant, integration)
	if err := os.WriteFile(path, []byte(catalog), 0o600); err != nil {
		t.Fatal(err)
	}
	in := ns.Name(kafka.InTopic("crm-" + integration))
	group := testkit.Name(t, "group")
	outside := untouched(t, k, defaultTopics("transform", "crm-"+integration))
	ops := freeAddr(t)
	env := map[string]string{
		"KAFKA_BROKERS":       strings.Join(k.Brokers, ","),
		"SCHEMA_REGISTRY_URL": registryURL,
		"REDIS_URL":           redisURL,
		"SLUICE_NAMESPACE":    string(ns),
	}
	tr := startRole(t, env, "transform", "--config", path, "--log-level", "warn", "--ops-addr", ops, "--group", group, "--instance-id", "pod-0")
	waitReady(t, ops)
	// It cannot decode without the registry: readiness says it answers.
	if c := readyChecks(t, ops); c["schema-registry"] != "ok" || c["identity"] != "ok" {
		t.Errorf("readyz checks %v, want schema-registry and identity ok", c)
	}
	ctx := context.Background()

	// A CRM contact webhook as the ingress writes it.
	schemas, err := avro.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	v, err := schemas.Validator("sluice.source.crm.ContactEvent")
	if err != nil {
		t.Fatal(err)
	}
	data, err := v.Validate([]byte(`{"type": "contact.created", "timestamp": "2026-03-02T09:00:00Z",
		"data": {"id": "51", "properties": {"email": "ada@example.com"}, "updatedAt": "2026-03-02T09:00:00Z"}}`))
	if err != nil {
		t.Fatal(err)
	}
	eventID := testkit.Name(t, "msg")
	event := avro.NativeEvent(canonical.Envelope{TenantID: tenant, EventID: eventID, EventType: "contact.created",
		Integration: "crm-" + integration, Source: "crm", ReceivedAt: time.Now()}, data)
	cl, err := sr.NewClient(sr.URLs(registryURL))
	if err != nil {
		t.Fatal(err)
	}
	serde, err := avro.NewSerde(cl, schemas)
	if err != nil {
		t.Fatal(err)
	}
	value, err := serde.EncodeNative(ctx, avro.Subject(in, "sluice.source.crm.ContactEvent"), event)
	if err != nil {
		t.Fatal(err)
	}
	rec := &kgo.Record{Topic: in, Key: []byte(tenant), Value: value}
	kafka.SetHeader(rec, kafka.HeaderTenantID, tenant)
	kafka.SetHeader(rec, kafka.HeaderEventID, eventID)
	kafka.SetHeader(rec, kafka.HeaderEventType, "contact.created")
	if err := k.Client(t).ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}

	testkit.CheckFor(t, time.Minute, 200*time.Millisecond, func() error {
		for _, r := range k.Records(t, ns.Name(kafka.CanonicalTopic("contact"))) {
			var ev canonical.ContactEvent
			if err := serde.Decode(ctx, r.Value, &ev); err != nil {
				return err
			}
			if ev.Envelope.CausedBy != nil && *ev.Envelope.CausedBy == eventID {
				if ev.Data.Email == nil || *ev.Data.Email != "ada@example.com" || !strings.HasPrefix(ev.Data.ID, "con_") {
					return fmt.Errorf("canonical contact %+v", ev.Data)
				}
				return nil
			}
		}
		return fmt.Errorf("no canonical contact of %s yet", eventID)
	})
	checkGroupIn(t, k, ns, group)
	tr.stop(t)
	// The instance id makes the stage's transactional id stable.
	txns, err := k.Admin(t).ListTransactions(testkit.Context(t, 30*time.Second), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id := ns.Name(group) + "-pod-0"; !slices.Contains(txns.TransactionalIDs(), id) {
		t.Errorf("the broker lists no transactional id %s", id)
	}
	if n := recordsOf(t, k, ns.Name(kafka.IdentityTopic), tenant); n == 0 {
		t.Errorf("no identity binding of %s in %s", tenant, ns.Name(kafka.IdentityTopic))
	}
	checkRedisIn(t, r, ns, tenant)
	outside()
}

func TestTransformCommandNeedsItsServices(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sluice.yaml")
	catalog := "version: 1\ntenants: [{id: demo}]\nintegrations:\n  - {id: crm, kind: sync, source: crm, contract: {events: [{type: \"*\", record: sluice.source.crm.ContactEvent}]}}\n"
	if err := os.WriteFile(path, []byte(catalog), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
		args []string
	}{
		{map[string]string{}, "KAFKA_BROKERS is not set", nil},
		{map[string]string{"KAFKA_BROKERS": "127.0.0.1:1"}, "REDIS_URL is not set", nil},
		{map[string]string{"KAFKA_BROKERS": "127.0.0.1:1", "REDIS_URL": "redis://127.0.0.1:1/0"}, "SCHEMA_REGISTRY_URL is not set", nil},
		{map[string]string{"SLUICE_IDENTITY_CACHE": "lots"}, `SLUICE_IDENTITY_CACHE: "lots" is not a number`, nil},
		{map[string]string{"SLUICE_IDENTITY_CACHE": "-1"}, `SLUICE_IDENTITY_CACHE: "-1" is not a number of bindings (0 or more)`, nil},
		// The flag wins over the variable.
		{map[string]string{"SLUICE_IDENTITY_CACHE": "lots"}, "KAFKA_BROKERS is not set", []string{"--identity-cache", "10"}},
		{map[string]string{}, "--identity-cache -5: the number of bindings must be 0 or more", []string{"--identity-cache=-5"}},
	} {
		root := newRootCmd(func(key string) string { return tc.env[key] })
		root.SetArgs(append([]string{"transform", "--config", path, "--ops-addr", "127.0.0.1:0"}, tc.args...))
		out := &lockedBuffer{}
		root.SetOut(out)
		root.SetErr(out)
		err := root.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("with %v: %v, want an error saying %q", tc.env, err, tc.want)
		}
	}
}

// TestNormalizerOf checks that the catalog's identity section adds to the
// default match-key rules rather than replacing them.
func TestNormalizerOf(t *testing.T) {
	n := normalizerOf(config.Identity{FreeMailDomains: []string{"mail.example-isp.net"}, SharedHosts: []string{"pages.example.com"}, StripPlusTags: true})
	for _, in := range []string{"ada@mail.example-isp.net", "ada@gmail.com", "https://pages.example.com/acme", "https://www.linkedin.com/company/acme"} {
		if d, ok := n.Domain(in); ok {
			t.Errorf("Domain(%q) = %q, want no key", in, d)
		}
	}
	if d, ok := n.Domain("https://acme.example/about"); !ok || d != "acme.example" {
		t.Errorf("Domain of a company's website = %q, %v", d, ok)
	}
	if e, ok := n.Email("ada+news@example.com"); !ok || e != "ada@example.com" {
		t.Errorf("Email = %q, %v; want the +tag stripped", e, ok)
	}
}
