package transform

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/connectors/crm"
	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// BenchmarkPrepareBuild measures the stage's own work on one record, in
// process: prepare (decode and map), subjects, and build (stitch the
// resolved ids in, encode, set the headers) of CRM contact webhooks as
// BenchmarkTransformStage sends them (48 tenants, 4 events per person),
// with the identity map warm. One op is one record, so ns/op, B/op and
// allocs/op are per record. The schema registry is sluice's, on the
// test's Kafka (kfake unless KAFKA_BROKERS names one), asked only while
// the serde learns the schemas; the identity map is benchIdentities, a
// fake that returns fixed resolutions (Resolve's cost in Redis is not the
// stage's, and is not measured here).
func BenchmarkPrepareBuild(b *testing.B) {
	ctx := context.Background()
	s, ids, recs := benchStage(b)
	// one works on one record as Handle does, with its own resolutions.
	one := func(r *stage.Record) {
		it, err := s.prepare(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		res, err := ids.Resolve(ctx, s.subjects(it))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.build(ctx, it, res.Resolutions); err != nil {
			b.Fatal(err)
		}
		if len(it.outs) != 1 {
			b.Fatalf("%d events, want 1", len(it.outs))
		}
	}
	for _, r := range recs {
		one(r) // the serde registers the canonical subject once
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		one(recs[i%len(recs)])
	}
}

// benchStage returns a stage of one CRM integration over 48 tenants, its
// fake identity map, and the records of 1920 contact webhooks, 4 for
// each person.
func benchStage(tb testing.TB) (*Stage, *benchIdentities, []*stage.Record) {
	const (
		tenants = 48
		count   = 1920
	)
	ctx := context.Background()
	schemas, err := avro.LoadSchemas()
	if err != nil {
		tb.Fatal(err)
	}
	cl, err := sr.NewClient(sr.URLs(registrytest.Start(tb, testkit.NewKafka(tb))))
	if err != nil {
		tb.Fatal(err)
	}
	serde, err := avro.NewSerde(cl, schemas)
	if err != nil {
		tb.Fatal(err)
	}
	var y strings.Builder
	y.WriteString("version: 1\ntenants:\n")
	for i := range tenants {
		fmt.Fprintf(&y, "  - id: tenant-%02d\n", i)
	}
	y.WriteString("integrations:\n  - id: crm-bench\n    owner: bench\n    kind: sync\n    source: crm\n    lane: interactive\n    partitions: 6\n")
	y.WriteString("    contract:\n      events:\n        - {type: \"ContactEvent*\", record: sluice.source.crm.ContactEvent}\n")
	cat, err := config.Parse([]byte(y.String()), tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	ids := newBenchIdentities()
	s, err := New(cat, schemas, serde, ids, Connector(crm.Source, crm.Mapping()))
	if err != nil {
		tb.Fatal(err)
	}

	const record = "sluice.source.crm.ContactEvent"
	topic := kafka.InTopic("crm-bench")
	v, err := schemas.Validator(record)
	if err != nil {
		tb.Fatal(err)
	}
	recs := make([]*stage.Record, count)
	received := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i := range recs {
		tenant := fmt.Sprintf("tenant-%02d", i%tenants)
		email := fmt.Sprintf("person-%d@example.com", (i/tenants)%(count/tenants/4+1))
		body := fmt.Sprintf(`{"type": "contact.updated", "timestamp": "2026-03-02T09:00:00.000001Z", "data": {
			"id": "%d", "properties": {"email": %q, "firstname": "Person %d", "lifecyclestage": "lead"},
			"updatedAt": "2026-03-02T09:00:00.000Z"}}`, i, email, i)
		data, err := v.Validate([]byte(body))
		if err != nil {
			tb.Fatal(err)
		}
		env := canonical.Envelope{
			TenantID: tenant, EventID: fmt.Sprintf("msg_contact_%d", i), EventType: "contact.updated",
			Integration: "crm-bench", Source: crm.Source, ReceivedAt: received.Add(time.Duration(i) * time.Millisecond),
		}
		value, err := serde.EncodeNative(ctx, avro.Subject(topic, record), avro.NativeEvent(env, data))
		if err != nil {
			tb.Fatal(err)
		}
		raw := &kgo.Record{Topic: topic, Key: []byte(tenant), Value: value}
		kafka.SetHeader(raw, kafka.HeaderTenantID, tenant)
		kafka.SetHeader(raw, kafka.HeaderEventID, env.EventID)
		kafka.SetHeader(raw, kafka.HeaderEventType, env.EventType)
		kafka.SetHeader(raw, kafka.HeaderIntegration, env.Integration)
		kafka.SetHeader(raw, kafka.HeaderReceivedAt, env.ReceivedAt.UTC().Format(receivedAtLayout))
		recs[i] = &stage.Record{Raw: raw, Tenant: tenant, EventID: env.EventID, Attempt: 1, Source: stage.Source{Topic: topic}}
		ids.add(tenant, strconv.Itoa(i), email)
	}

	return s, ids, recs
}

// benchIdentities is a fake identity map for BenchmarkPrepareBuild: every
// contact is known, with the canonical id of its e-mail address and the
// external ids of every contact of that address, as a warm identity map
// answers. It is not safe for concurrent add.
type benchIdentities struct {
	byExternal map[string]*identity.Resolution // by tenant and external id
	byEmail    map[string]*identity.Resolution // by tenant and e-mail address
}

func newBenchIdentities() *benchIdentities {
	return &benchIdentities{byExternal: map[string]*identity.Resolution{}, byEmail: map[string]*identity.Resolution{}}
}

// add makes contact externalID of tenant known, bound with email.
func (m *benchIdentities) add(tenant, externalID, email string) {
	res, ok := m.byEmail[tenant+"|"+email]
	if !ok {
		res = &identity.Resolution{ID: identity.HashID("con", tenant, email), Outcome: identity.Known}
		m.byEmail[tenant+"|"+email] = res
	}
	integration := "crm-bench"
	res.ExternalIDs = append(res.ExternalIDs, canonical.ExternalID{System: crm.Source, ID: externalID, Integration: &integration})
	slices.SortFunc(res.ExternalIDs, func(a, b canonical.ExternalID) int { return strings.Compare(a.ID, b.ID) })
	m.byExternal[tenant+"|"+externalID] = res
}

// Resolve returns the resolutions add made.
func (m *benchIdentities) Resolve(_ context.Context, subjects []identity.Subject) (identity.Result, error) {
	out := make([]identity.Resolution, len(subjects))
	for i, sub := range subjects {
		res, ok := m.byExternal[sub.Tenant+"|"+sub.ExternalID]
		if !ok {
			return identity.Result{}, fmt.Errorf("bench: unknown subject %s %s", sub.Tenant, sub.ExternalID)
		}
		out[i] = *res
	}
	return identity.Result{Resolutions: out}, nil
}

// Confirm confirms nothing: nothing is pending.
func (m *benchIdentities) Confirm(context.Context, []identity.Binding) (int, error) { return 0, nil }

// Topic is a name; nothing is written to it.
func (m *benchIdentities) Topic() string { return "bench.identity" }
