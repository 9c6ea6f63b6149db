package transform_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/consumers/transform"
	"github.com/sluicehq/sluice/consumers/transform/mapping"
	"github.com/sluicehq/sluice/consumers/transform/transformtest"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestStitchesOneCustomerFromTwoSources sends the same person through the
// CRM and the shop, and the same company through the CRM and the
// payments system: each gets one canonical id, which keeps every
// external id, and the orders refer to them.
func TestStitchesOneCustomerFromTwoSources(t *testing.T) {
	t.Parallel()
	e := transformtest.NewEnv(t, transformtest.Config{Connectors: connectors()})
	ids := e.Identity(t)
	st := e.Stage(t, ids)
	rec := transformtest.NewRecorder()
	stop := stagetest.Start(t, e.Runner(t, st, e.Dedupe(t), stage.Use(rec.Middleware())))

	crmFx, payFx := fixtures(t, "crm"), fixtures(t, "payments")
	e.Produce(t, records(t, e, "crm", crmFx["CompanyEvent/created"], crmFx["ContactEvent/updated-full"])...)
	rec.WaitCount(t, 2, time.Minute)
	e.Produce(t, records(t, e, "commerce", commerceOrder("acme", 9001, 777, " ADA@Analytical-Engines.example"))...)
	e.Produce(t, records(t, e, "payments", payFx["CustomerEvent/created-business"], payFx["InvoiceEvent/paid"])...)
	rec.WaitCount(t, 5, time.Minute)

	evs := waitCanonical(t, e, st, 6)
	var contacts, accounts []transformtest.Canonical
	var order, invoice *canonical.Order
	for _, ev := range evs {
		switch x := ev.Event.(type) {
		case canonical.ContactEvent:
			contacts = append(contacts, ev)
		case canonical.AccountEvent:
			accounts = append(accounts, ev)
		case canonical.OrderEvent:
			if x.Data.ExternalIDs[0].System == "commerce" {
				order = &x.Data
			} else {
				invoice = &x.Data
			}
		}
	}
	if len(contacts) != 2 || len(accounts) != 2 || order == nil || invoice == nil {
		t.Fatalf("%d contacts, %d accounts, order %v, invoice %v; want 2, 2, both", len(contacts), len(accounts), order != nil, invoice != nil)
	}
	if contacts[0].ID != contacts[1].ID {
		t.Errorf("the CRM contact and the shop's customer got two ids: %s, %s", contacts[0].ID, contacts[1].ID)
	}
	if accounts[0].ID != accounts[1].ID {
		t.Errorf("the CRM company and the payments customer got two ids: %s, %s", accounts[0].ID, accounts[1].ID)
	}
	systems := func(ev transformtest.Canonical) string {
		var s []string
		for _, x := range ev.ExternalIDs {
			s = append(s, x.System)
		}
		return strings.Join(s, ",")
	}
	for _, ev := range append(contacts, accounts...) {
		if ev.Envelope.Source != "crm" && systems(ev) != "commerce,crm" && systems(ev) != "crm,payments" {
			t.Errorf("%s from %s lists %s; the later event keeps both systems' ids", ev.Record, ev.Envelope.Source, systems(ev))
		}
	}
	if order.ContactID == nil || *order.ContactID != contacts[0].ID {
		t.Errorf("the order's contact_id %v is not the stitched contact %s", order.ContactID, contacts[0].ID)
	}
	if invoice.AccountID == nil || *invoice.AccountID != accounts[0].ID {
		t.Errorf("the invoice's account_id %v is not the stitched account %s", invoice.AccountID, accounts[0].ID)
	}
	// The identity topic holds every binding the events rely on.
	bound := map[string]string{}
	for _, r := range e.Kafka.Records(t, e.IdentityTopic) {
		b, _, err := identity.ParseBinding(r.Key, r.Value)
		if err != nil {
			t.Fatal(err)
		}
		bound[b.Key()] = b.ID
	}
	for _, ev := range evs {
		for _, x := range ev.ExternalIDs {
			k := identity.Binding{Tenant: "acme", Object: strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(ev.Record, "sluice.canonical."), "Event")), Kind: identity.KindExternal, System: x.System, ExternalID: x.ID}.Key()
			if bound[k] != ev.ID {
				t.Errorf("identity topic binds %s to %q, the event says %s", k, bound[k], ev.ID)
			}
		}
	}
	// Once the stage stopped, every binding is confirmed durable in
	// Redis: the confirms that run beside later batches are done.
	stop()
	ctx := testkit.Context(t, 10*time.Second)
	keys := e.Redis.Keys(t, e.Redis.Prefix+"identity:{acme}:*")
	bindings := 0
	for _, k := range keys {
		if strings.Contains(k, "}:extids:") || strings.Contains(k, "}:loaded") {
			continue
		}
		bindings++
		if v := e.Redis.Client.Get(ctx, k).Val(); !strings.HasPrefix(v, "d:") {
			t.Errorf("binding %s is %q after the stage stopped, want confirmed (d:)", k, v)
		}
	}
	if bindings < len(bound) {
		t.Errorf("%d bindings in Redis, fewer than the %d in the topic", bindings, len(bound))
	}
}

// TestDuplicatesAreDroppedAndReplaysKeepIDs sends a source event twice
// (a partner's resend): one canonical event. Then a second stage (a new
// group, as a replay does) handles the input again: the same canonical
// event ids and object ids.
func TestDuplicatesAreDroppedAndReplaysKeepIDs(t *testing.T) {
	t.Parallel()
	e := transformtest.NewEnv(t, transformtest.Config{Connectors: connectors()})
	reg := prometheus.NewRegistry()
	st := e.Stage(t, e.Identity(t), transform.Registerer(reg))
	fx := fixtures(t, "commerce")["OrderEvent/create"]
	e.Produce(t, records(t, e, "commerce", fx, fx)...)
	rec := transformtest.NewRecorder()
	stagetest.Start(t, e.Runner(t, st, e.Dedupe(t), stage.Use(rec.Middleware())))
	rec.WaitCount(t, 2, time.Minute)
	evs := waitCanonical(t, e, st, 2)
	if len(evs) != 2 {
		t.Fatalf("%d canonical events from one order sent twice, want 2 (the order and its customer)", len(evs))
	}
	outs := rec.Of(fx.Envelope.EventID)
	if len(outs) != 2 || outs[0].Outcome != stage.OutcomeDone || outs[1].Outcome != stage.OutcomeSkipped || outs[1].Reason != "duplicate" {
		t.Errorf("outcomes %+v; want done, then skipped as a duplicate", outs)
	}
	if got := testkit.Metric(t, reg, "sluice_transform_duplicates_total", map[string]string{"tenant": "acme"}); got != 1 {
		t.Errorf("duplicates counted %v, want 1", got)
	}

	// The replay: another stage name (so its own group and dedupe keys:
	// the first run's markers would drop every event), the same identity
	// map.
	replay := e.Stage(t, e.Identity(t), transform.Name(e.Name+"-replay"), transform.CanonicalTopics(func(object, lane string) string {
		return e.CanonicalTopic(object, lane) + ".replay"
	}))
	stagetest.Start(t, e.Runner(t, replay, e.Dedupe(t)))
	again := waitCanonical(t, e, replay, 2)
	key := func(ev transformtest.Canonical) string { return ev.Envelope.EventID + "/" + ev.ID }
	want := []string{key(evs[0]), key(evs[1])}
	got := []string{key(again[0]), key(again[1])}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("a replay gave events %v, the first run %v", got, want)
	}
}

// TestMappingErrorsAreDeadLettered sends an event the mapping cannot
// map: it is dead-lettered at once with the canonical field and source
// path in error-message, never the value, and the others go through.
func TestMappingErrorsAreDeadLettered(t *testing.T) {
	t.Parallel()
	e := transformtest.NewEnv(t, transformtest.Config{Connectors: connectors()})
	reg := prometheus.NewRegistry()
	st := e.Stage(t, e.Identity(t), transform.Registerer(reg))
	fx := fixtures(t, "commerce")
	bad, good := fx["OrderEvent/too-many-decimals"], fx["OrderEvent/guest-checkout"]
	e.Produce(t, records(t, e, "commerce", bad, good)...)
	stagetest.Start(t, e.Runner(t, st, e.Dedupe(t)))
	dead := stagetest.WaitRecords(t, e.Kafka, kafka.DLQTopic(e.Name), 1, time.Minute)
	waitCanonical(t, e, st, 1)
	d := dead[0]
	msg := kafka.Header(d, kafka.HeaderErrorMessage)
	if kafka.Header(d, kafka.HeaderErrorClass) != string(stage.ClassPermanent) || kafka.Header(d, kafka.HeaderEventID) != bad.Envelope.EventID {
		t.Errorf("dead letter %v", d.Headers)
	}
	if !strings.Contains(msg, "order.lines[0].unit_price.amount_minor (from item.price)") || strings.Contains(msg, "0.0025") {
		t.Errorf("error-message %q: want the field and path, not the value", msg)
	}
	if kafka.Header(d, kafka.HeaderAttempts) != "1" {
		t.Errorf("attempts %s, want 1: a mapping error is not retried", kafka.Header(d, kafka.HeaderAttempts))
	}
	if got := testkit.Metric(t, reg, "sluice_transform_mapping_errors_total", map[string]string{"tenant": "globex"}); got != 1 {
		t.Errorf("mapping errors counted %v, want 1", got)
	}
}

// TestPoisonIsDeadLettered sends records that are no source events: one
// not in the wire format, one whose envelope names another tenant than
// its header. They are dead-lettered as poison; a good one goes through.
func TestPoisonIsDeadLettered(t *testing.T) {
	t.Parallel()
	e := transformtest.NewEnv(t, transformtest.Config{Connectors: connectors()})
	st := e.Stage(t, e.Identity(t))
	garbage := &kgo.Record{Topic: kafka.InTopic(e.IDs["crm"]), Key: []byte("acme"), Value: []byte(`{"not": "avro"}`)}
	kafka.SetHeader(garbage, kafka.HeaderTenantID, "acme")
	kafka.SetHeader(garbage, kafka.HeaderEventID, "garbage-1")
	liar := e.Record(t, crmContact("acme", 1, "a@example.com"), "crm")
	kafka.SetHeader(liar, kafka.HeaderTenantID, "globex")
	kafka.SetHeader(liar, kafka.HeaderEventID, "liar-1")
	e.Produce(t, garbage, liar)
	e.Produce(t, records(t, e, "crm", crmContact("acme", 2, "b@example.com"))...)
	stagetest.Start(t, e.Runner(t, st, e.Dedupe(t)))
	dead := stagetest.WaitRecords(t, e.Kafka, kafka.DLQTopic(e.Name), 2, time.Minute)
	evs := waitCanonical(t, e, st, 1)
	for _, d := range dead {
		if kafka.Header(d, kafka.HeaderErrorClass) != string(stage.ClassPoison) {
			t.Errorf("dead letter %s: class %s, want poison (%s)", kafka.Header(d, kafka.HeaderEventID), kafka.Header(d, kafka.HeaderErrorClass), kafka.Header(d, kafka.HeaderErrorMessage))
		}
	}
	if len(evs) != 1 || evs[0].Envelope.TenantID != "acme" {
		t.Errorf("canonical events %d, want the good one", len(evs))
	}
}

// TestLanesHotTenantsAndHeaders checks where and how events are written:
// a batch integration's events go to the batch lane's topics with the
// lane header; a hot tenant's keys spread by canonical id; headers and
// envelope carry the source event's facts forward, trace context
// included.
func TestLanesHotTenantsAndHeaders(t *testing.T) {
	t.Parallel()
	e := transformtest.NewEnv(t, transformtest.Config{
		Tenants:      []string{"acme", "globex"},
		HotTenants:   []string{"globex"},
		Integrations: []transformtest.Integration{{Source: "crm", Lane: config.LaneBatch}},
		Connectors:   connectors(),
	})
	tp := sdktrace.NewTracerProvider()
	prop := propagation.TraceContext{}
	st := e.Stage(t, e.Identity(t))
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	var fs []transformtest.Fixture
	for i := range 20 {
		tenant := "acme"
		if i%2 == 1 {
			tenant = "globex"
		}
		f := crmContact(tenant, 100+i, "")
		p := parent
		f.Envelope.TraceParent = &p
		fs = append(fs, f)
	}
	e.Produce(t, records(t, e, "crm", fs...)...)
	stagetest.Start(t, e.Runner(t, st, e.Dedupe(t), stage.Tracing(tp, prop)))
	evs := waitCanonical(t, e, st, 20)
	subKeys := map[string]bool{}
	for _, ev := range evs {
		r := ev.Raw
		if r.Topic != e.CanonicalTopic("contact", config.LaneBatch) || kafka.Header(r, kafka.HeaderLane) != config.LaneBatch {
			t.Fatalf("topic %s, lane %s; want the batch lane", r.Topic, kafka.Header(r, kafka.HeaderLane))
		}
		tenant := ev.Envelope.TenantID
		switch {
		case tenant == "acme" && string(r.Key) != "acme":
			t.Errorf("acme's key is %q", r.Key)
		case tenant == "globex":
			if !strings.HasPrefix(string(r.Key), "globex#") {
				t.Errorf("a hot tenant's key %q has no sub-key", r.Key)
			}
			subKeys[string(r.Key)] = true
		}
		tp := kafka.Header(r, kafka.HeaderTraceParent)
		if !strings.HasPrefix(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-") || tp == parent {
			t.Errorf("traceparent %q: want the source's trace with the stage's span", tp)
		}
		if ev.Envelope.TraceParent == nil || *ev.Envelope.TraceParent != parent {
			t.Errorf("envelope trace_parent %v, want the source event's", ev.Envelope.TraceParent)
		}
		for _, h := range []string{kafka.HeaderTenantID, kafka.HeaderEventID, kafka.HeaderEventType, kafka.HeaderIntegration, kafka.HeaderReceivedAt} {
			if kafka.Header(r, h) == "" {
				t.Errorf("header %s missing", h)
			}
		}
		if kafka.Header(r, kafka.HeaderReceivedAt) != ev.Envelope.ReceivedAt.Format("2006-01-02T15:04:05.000Z07:00") {
			t.Errorf("received-at %s, envelope %v", kafka.Header(r, kafka.HeaderReceivedAt), ev.Envelope.ReceivedAt)
		}
	}
	if len(subKeys) < 2 {
		t.Errorf("a hot tenant's 10 contacts used %d sub-keys", len(subKeys))
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := transformtest.NewEnv(t, transformtest.Config{Connectors: connectors()})
	reg := prometheus.NewRegistry()
	st := e.Stage(t, e.Identity(t, identity.Registerer(reg)), transform.Registerer(reg))
	fx := fixtures(t, "payments")
	e.Produce(t, records(t, e, "payments", fx["CustomerEvent/created-business"], fx["ChargeEvent/succeeded-for-invoice"], fx["ChargeEvent/succeeded-standalone"])...)
	rec := transformtest.NewRecorder()
	stagetest.Start(t, e.Runner(t, st, e.Dedupe(t), stage.Use(rec.Middleware())))
	rec.WaitCount(t, 3, time.Minute)
	integ := e.IDs["payments"]
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sluice_transform_mapped_total", map[string]string{"integration": integ, "object": "account"}, 1},
		{"sluice_transform_mapped_total", map[string]string{"integration": integ, "object": "order"}, 1},
		{"sluice_transform_skipped_total", map[string]string{"integration": integ, "reason": "unmapped"}, 1},
		// The customer is new; the charge's account reference finds it.
		{"sluice_transform_stitched_total", map[string]string{"object": "account", "outcome": "new"}, 1},
		{"sluice_transform_stitched_total", map[string]string{"object": "order", "outcome": "new"}, 1},
		{"sluice_identity_resolutions_total", map[string]string{"object": "account", "outcome": "known"}, 1},
	}
	// The recorder's commit hook can run before the stage's, which counts.
	testkit.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		var errs []error
		for _, c := range checks {
			if got := testkit.Metric(t, reg, c.name, c.labels); got != c.want {
				errs = append(errs, fmt.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want))
			}
		}
		return errors.Join(errs...)
	})
	if got := testkit.Metric(t, reg, "sluice_transform_redis_round_trips", nil); got < 1 {
		t.Errorf("no batch observed its Redis round trips")
	}
	if got := testkit.Metric(t, reg, "sluice_stage_records_total", map[string]string{"outcome": "done"}); got != 2 {
		t.Errorf("stage counted %v done, want 2", got)
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	e := transformtest.NewEnv(t, transformtest.Config{Connectors: map[string][]byte{"crm": connectors()["crm"]}})
	ids := e.Identity(t)
	dir := t.TempDir()
	broken := "source: crm\nevents:\n  - record: sluice.source.crm.ContactEvent\n    objects:\n      - object: contact\n        external_id: data.data.idd\n        fields: {updated_at: data.data.updatedAt}\n"
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "payments.yaml"), connectors()["payments"], 0o644); err != nil {
		t.Fatal(err)
	}
	catalog := func(extra string) *config.Catalog {
		c, err := config.Parse([]byte(`version: 1
tenants: [{id: acme}]
integrations:
  - id: x1
    kind: sync
    contract: {events: [{type: "*", record: sluice.source.crm.ContactEvent}]}
`+extra), dir)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cases := []struct {
		name string
		cat  *config.Catalog
		want []string
	}{
		{"a source without a connector", catalog("    source: billing\n"), []string{"integration x1", "source billing has no connector mapping", "known: crm"}},
		{"a mapping file that does not compile", catalog("    source: crm\n    mapping: broken.yaml\n"), []string{"integration x1", "broken.yaml:6:", `has no field "idd"`}},
		{"a mapping of another source", catalog("    source: crm\n    mapping: payments.yaml\n"), []string{"is of source crm, its mapping payments.yaml is for payments"}},
		{"a mapping file that is missing", catalog("    source: crm\n    mapping: nowhere.yaml\n"), []string{"integration x1: mapping", "nowhere.yaml"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := transform.New(c.cat, e.Schemas, e.Serde, ids, transform.Connector("crm", connectors()["crm"]))
			if err == nil {
				t.Fatal("New accepted it")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if !errors.Is(err, transform.ErrConfig) && !errors.Is(err, mapping.ErrSpec) {
				t.Errorf("error matches neither ErrConfig nor mapping.ErrSpec: %v", err)
			}
		})
	}
	// A good override is used instead of the connector's.
	good := catalog("    source: payments\n    mapping: payments.yaml\n")
	st, err := transform.New(good, e.Schemas, e.Serde, ids)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Inputs(); len(got) != 1 || got[0] != "sluice.in.x1" {
		t.Errorf("inputs %v", got)
	}
	// In a namespace: the inputs and canonical topics are in it, and the
	// runner refuses a cluster config of another namespace.
	st, err = transform.New(good, e.Schemas, e.Serde, ids, transform.Namespace("staging"))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Inputs(); len(got) != 1 || got[0] != "staging.sluice.in.x1" {
		t.Errorf("inputs in namespace staging %v", got)
	}
	for _, spec := range st.Topics() {
		if !strings.HasPrefix(spec.Name, "staging.sluice.") {
			t.Errorf("topic %s is outside namespace staging", spec.Name)
		}
	}
	kc := kafka.Config{Brokers: []string{"127.0.0.1:1"}}
	if _, err := st.Runner(kc, e.Dedupe(t)); !errors.Is(err, transform.ErrConfig) || !strings.Contains(err.Error(), `namespace "staging", the cluster config is in ""`) {
		t.Errorf("runner of another namespace: %v", err)
	}
	kc.Namespace = "staging"
	if r, err := st.Runner(kc, e.Dedupe(t)); err != nil || r.Group() != "staging.sluice-transform" {
		t.Errorf("runner in namespace staging: %v", err)
	}
	if _, err := transform.New(good, e.Schemas, e.Serde, ids, transform.Namespace("stag ing")); !errors.Is(err, transform.ErrConfig) {
		t.Errorf("a bad namespace: %v", err)
	}
}

// TestLargeBatchesStitchEveryRecord sends 700 shop orders to one
// partition, so that batches of hundreds of records (several chunks of
// the stage's pipeline) are prepared and stitched together, with resends
// (which dedupe takes out of the batch after it was prepared) and an
// order the mapping cannot map among them. Every order has its order and
// contact once, one customer one contact id, each order refers to its
// customer's contact, and the bad order is dead-lettered alone.
//
// "redis fails mid-batch": the stage's second read of identities fails
// as a lost connection would (a read of a later chunk, or the one after
// the map was found unloaded). The batch comes again as a whole, and the
// outcome is the same.
func TestLargeBatchesStitchEveryRecord(t *testing.T) {
	t.Parallel()
	t.Run("steady", func(t *testing.T) { largeBatches(t, 0) })
	t.Run("redis fails mid-batch", func(t *testing.T) { largeBatches(t, 2) })
}

// failRead fails the nth Redis pipeline that reads identity keys (MGET),
// once, as a lost connection would.
type failRead struct {
	n    int
	mu   sync.Mutex
	seen int
}

func (h *failRead) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *failRead) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *failRead) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && cmds[0].Name() == "mget" {
			h.mu.Lock()
			h.seen++
			fail := h.seen == h.n
			h.mu.Unlock()
			if fail {
				err := errors.New("injected: connection reset by peer")
				for _, c := range cmds {
					c.SetErr(err)
				}
				return err
			}
		}
		return next(ctx, cmds)
	}
}

func (h *failRead) failed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen >= h.n
}

// largeBatches runs TestLargeBatchesStitchEveryRecord; with failAt > 0
// the failAt-th identity read fails.
func largeBatches(t *testing.T, failAt int) {
	const orders, customers = 700, 90
	e := transformtest.NewEnv(t, transformtest.Config{
		Connectors:   connectors(),
		Integrations: []transformtest.Integration{{Source: "commerce", Partitions: 1}},
	})
	ids := e.Identity(t)
	fault := &failRead{n: failAt}
	if failAt > 0 {
		// Added after the map loaded, so that the reads failed are the
		// stage's.
		e.Redis.Client.AddHook(fault)
	}
	st := e.Stage(t, ids)
	bad := fixtures(t, "commerce")["OrderEvent/too-many-decimals"]
	var sent, good []transformtest.Fixture
	for i := range orders {
		f := commerceOrder("acme", 5000+i, 100+i%customers, fmt.Sprintf("customer-%d@example.com", i%customers))
		sent = append(sent, f)
		good = append(good, f)
		if i%97 == 0 {
			sent = append(sent, f) // a resend, later in the same batch
		}
		if i == 450 {
			sent = append(sent, bad)
		}
	}
	e.Produce(t, records(t, e, "commerce", sent...)...)
	var largest atomic.Int64
	sizes := func(next stage.Handler) stage.Handler {
		return stage.HandlerFunc(func(ctx context.Context, b *stage.Batch) error {
			for n := int64(len(b.Records)); ; {
				old := largest.Load()
				if n <= old || largest.CompareAndSwap(old, n) {
					break
				}
			}
			return next.Handle(ctx, b)
		})
	}
	stagetest.Start(t, e.Runner(t, st, e.Dedupe(t), stage.Use(sizes)))
	dead := stagetest.WaitRecords(t, e.Kafka, kafka.DLQTopic(e.Name), 1, time.Minute)
	evs := waitCanonical(t, e, st, 2*orders)
	if got := largest.Load(); got < 300 {
		t.Fatalf("the largest batch held %d records; the test needs batches of hundreds", got)
	}
	if kafka.Header(dead[0], kafka.HeaderEventID) != bad.Envelope.EventID {
		t.Errorf("dead-lettered %s, want the bad order %s", kafka.Header(dead[0], kafka.HeaderEventID), bad.Envelope.EventID)
	}
	if len(evs) != 2*orders {
		t.Errorf("%d canonical events for %d orders, want an order and a contact each", len(evs), orders)
	}
	causes := byCause(evs)
	contactOf := map[string]string{} // by e-mail
	for _, f := range good {
		var order *canonical.Order
		var contact *canonical.Contact
		var contactID string
		for _, ev := range causes[f.Envelope.EventID] {
			switch x := ev.Event.(type) {
			case canonical.OrderEvent:
				order = &x.Data
			case canonical.ContactEvent:
				contact, contactID = &x.Data, ev.ID
			}
		}
		if n := len(causes[f.Envelope.EventID]); n != 2 || order == nil || contact == nil {
			t.Fatalf("order %s: %d canonical events, want its order and its contact", f.Envelope.EventID, n)
		}
		email := *contact.Email
		if id, ok := contactOf[email]; ok && id != contactID {
			t.Errorf("two contact ids for %s: %s and %s", email, id, contactID)
		}
		contactOf[email] = contactID
		if order.ContactID == nil || *order.ContactID != contactID {
			t.Errorf("order %s refers to contact %v, its customer is %s", f.Envelope.EventID, order.ContactID, contactID)
		}
	}
	if len(contactOf) != customers {
		t.Errorf("%d contacts, want %d", len(contactOf), customers)
	}
	if failAt > 0 && !fault.failed() {
		t.Fatalf("the stage read identities fewer than %d times: no failure was injected", failAt)
	}
	if dead := e.Kafka.Records(t, kafka.DLQTopic(e.Name)); len(dead) != 1 {
		t.Errorf("%d dead letters, want the bad order's alone", len(dead))
	}
}
