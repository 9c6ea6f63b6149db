package transform_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/consumers/transform/transformtest"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// exactlyOnce checks that every source event has exactly one canonical
// event, that events of one e-mail address share one canonical id, and
// that the identity topic binds every external id to the id its events
// carry.
func exactlyOnce(t *testing.T, e *transformtest.Env, evs []transformtest.Canonical, sources []transformtest.Fixture) {
	t.Helper()
	causes := byCause(evs)
	for _, f := range sources {
		if n := len(causes[f.Envelope.EventID]); n != 1 {
			t.Errorf("source event %s has %d canonical events, want 1", f.Envelope.EventID, n)
		}
	}
	if len(evs) != len(sources) {
		t.Errorf("%d canonical events for %d source events", len(evs), len(sources))
	}
	byEmail := map[string]string{}
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
			k := identity.Binding{Tenant: ev.Envelope.TenantID, Object: "contact", Kind: identity.KindExternal, System: x.System, ExternalID: x.ID}.Key()
			if bound[k] != ev.ID {
				t.Errorf("the identity topic binds %s to %q, its event says %s", k, bound[k], ev.ID)
			}
		}
	}
	for _, ev := range evs {
		k := ev.Envelope.TenantID + "/" + contactEmail(ev)
		if contactEmail(ev) == "" {
			continue
		}
		if id, ok := byEmail[k]; ok && id != ev.ID {
			t.Errorf("two ids for %s: %s and %s", k, id, ev.ID)
		}
		byEmail[k] = ev.ID
	}
}

func contactEmail(ev transformtest.Canonical) string {
	if c, ok := ev.Event.(canonical.ContactEvent); ok && c.Data.Email != nil {
		return *c.Data.Email
	}
	return ""
}

// contacts makes n contact events over two tenants; contacts i and i+n/2
// share an e-mail address, so they stitch to one canonical contact.
func contacts(n int) []transformtest.Fixture {
	fs := make([]transformtest.Fixture, n)
	for i := range n {
		tenant := "acme"
		if i%3 == 0 {
			tenant = "globex"
		}
		fs[i] = crmContact(tenant, i, fmt.Sprintf("person-%d@example.com", i%(n/2)))
	}
	return fs
}

// TestKillMidBatch cuts a member off the network while it holds a batch
// whose ids it has already resolved (its pending bindings are in Redis),
// lets another member take its partitions, then brings the first back as
// a zombie. Every source event has exactly one canonical event, one
// person one id, and the identity topic agrees with the events.
func TestKillMidBatch(t *testing.T) {
	t.Parallel()
	e := transformtest.NewEnv(t, transformtest.Config{Connectors: connectors()})
	const n = 300
	sources := contacts(n)
	// The two contacts of one e-mail land in different tenants' or the
	// same tenant's partitions; either way the batch boundaries differ.
	e.Produce(t, records(t, e, "crm", sources...)...)

	link := testkit.NewLink()
	blocked, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	block := func(next stage.Handler) stage.Handler {
		return stage.HandlerFunc(func(ctx context.Context, b *stage.Batch) error {
			err := next.Handle(ctx, b)
			for _, r := range b.Records {
				if r.EventID == sources[150].Envelope.EventID {
					once.Do(func() { close(blocked) })
					<-release
				}
			}
			return err
		})
	}
	recA, recB := transformtest.NewRecorder(), transformtest.NewRecorder()
	regA := prometheus.NewRegistry()
	session := stage.KafkaOpts(kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond))
	a := e.Runner(t, e.Stage(t, e.Identity(t)), e.Dedupe(t),
		stage.Registerer(regA), stage.MaxPollRecords(40), stage.Use(recA.Middleware(), block),
		session, stage.KafkaOpts(kgo.Dialer(link.Dial)))
	stagetest.Start(t, a)
	select {
	case <-blocked:
	case <-time.After(90 * time.Second):
		t.Fatal("the first member never reached its batch")
	}
	link.Cut()

	b := e.Runner(t, e.Stage(t, e.Identity(t)), e.Dedupe(t), stage.Use(recB.Middleware()), session)
	stagetest.Start(t, b)
	testkit.CheckFor(t, 2*time.Minute, 100*time.Millisecond, func() error {
		if got := recA.Count() + recB.Count(); got < n {
			return fmt.Errorf("%d of %d committed (%d by the cut member)", got, n, recA.Count())
		}
		return nil
	})

	link.Restore()
	close(release)
	testkit.CheckFor(t, time.Minute, 100*time.Millisecond, func() error {
		if testkit.Metric(t, regA, "sluice_stage_transactions_total", map[string]string{"result": "failed"})+
			testkit.Metric(t, regA, "sluice_stage_transactions_total", map[string]string{"result": "aborted"}) < 1 {
			return fmt.Errorf("the zombie's transaction has not ended")
		}
		return nil
	})
	if got := recA.Count() + recB.Count(); got != n {
		t.Errorf("%d records committed, want %d", got, n)
	}
	st := e.Stage(t, e.Identity(t))
	exactlyOnce(t, e, waitCanonical(t, e, st, n), sources)
}

// TestRebalanceUnderLoad adds a member, then stops the first, while
// source events keep coming: exactly one canonical event each.
func TestRebalanceUnderLoad(t *testing.T) {
	t.Parallel()
	// Records are keyed by tenant: enough tenants to fill six partitions.
	var tenants []string
	for i := range 24 {
		tenants = append(tenants, fmt.Sprintf("tenant-%d", i))
	}
	e := transformtest.NewEnv(t, transformtest.Config{
		Tenants:      tenants,
		Connectors:   connectors(),
		Integrations: []transformtest.Integration{{Source: "crm", Partitions: 6}},
	})
	var (
		mu       sync.Mutex
		produced []transformtest.Fixture
	)
	stop := make(chan struct{})
	done := make(chan error, 1)
	cl := e.Kafka.Client(t, kgo.ProducerLinger(2*time.Millisecond))
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i += 10 {
			select {
			case <-stop:
				done <- nil
				return
			case <-tick.C:
			}
			batch := make([]transformtest.Fixture, 10)
			for j := range batch {
				batch[j] = crmContact(tenants[(i+j)%len(tenants)], i+j, fmt.Sprintf("p-%d@example.com", (i+j)%500))
			}
			recs := make([]*kgo.Record, len(batch))
			for j, f := range batch {
				recs[j] = e.Encode(t, e.IDs["crm"], f.Record, mustNative(e, f))
			}
			if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				done <- err
				return
			}
			mu.Lock()
			produced = append(produced, batch...)
			mu.Unlock()
		}
	}()
	// No retry topics: the group balances partitions, not topics, and
	// the new member could be given only idle retry partitions.
	opts := []stage.Opt{
		stage.KafkaOpts(kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond)),
		stage.MaxPollRecords(50), stage.RetryDelays(),
	}
	recA, recB := transformtest.NewRecorder(), transformtest.NewRecorder()
	stopA := stagetest.Start(t, e.Runner(t, e.Stage(t, e.Identity(t)), e.Dedupe(t), append(opts, stage.Use(recA.Middleware()))...))
	recA.WaitCount(t, 200, time.Minute)
	stagetest.Start(t, e.Runner(t, e.Stage(t, e.Identity(t)), e.Dedupe(t), append(opts, stage.Use(recB.Middleware()))...))
	recB.WaitCount(t, 200, time.Minute)
	stopA()
	recB.WaitCount(t, recB.Count()+300, time.Minute)
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("producing: %v", err)
	}
	mu.Lock()
	sources := append([]transformtest.Fixture(nil), produced...)
	mu.Unlock()
	testkit.CheckFor(t, 2*time.Minute, 100*time.Millisecond, func() error {
		if got := recA.Count() + recB.Count(); got < len(sources) {
			return fmt.Errorf("%d of %d committed", got, len(sources))
		}
		return nil
	})
	if got := recA.Count() + recB.Count(); got != len(sources) {
		t.Errorf("%d records committed, want %d: one was committed twice", got, len(sources))
	}
	st := e.Stage(t, e.Identity(t))
	exactlyOnce(t, e, waitCanonical(t, e, st, len(sources)), sources)
	t.Logf("%d source events, %d committed by the first member, %d by the second", len(sources), recA.Count(), recB.Count())
}

func mustNative(e *transformtest.Env, f transformtest.Fixture) map[string]any {
	n, err := f.Native(e.Schemas, e.IDs["crm"], "crm")
	if err != nil {
		panic(err)
	}
	return n
}

// TestRedisFlushRebuildsIdentity loses Redis while the stage runs: the
// next batch rebuilds the identity map from the topic, and the shop's
// customers get the ids the CRM's contacts got before the flush.
func TestRedisFlushRebuildsIdentity(t *testing.T) {
	t.Parallel()
	e := transformtest.NewEnv(t, transformtest.Config{Connectors: connectors()})
	ids := e.Identity(t)
	st := e.Stage(t, ids)
	rec := transformtest.NewRecorder()
	stagetest.Start(t, e.Runner(t, st, e.Dedupe(t), stage.Use(rec.Middleware())))
	var crmSources, shopSources []transformtest.Fixture
	for i := range 20 {
		crmSources = append(crmSources, crmContact("acme", 500+i, fmt.Sprintf("buyer-%d@example.com", i)))
		shopSources = append(shopSources, commerceOrder("acme", 7000+i, 900+i, fmt.Sprintf("Buyer-%d@Example.com", i)))
	}
	e.Produce(t, records(t, e, "crm", crmSources...)...)
	rec.WaitCount(t, 20, time.Minute)
	before := ids.Stats().Rebuilds

	e.Redis.Flush(t)
	e.Produce(t, records(t, e, "commerce", shopSources...)...)
	rec.WaitCount(t, 40, time.Minute)
	if ids.Stats().Rebuilds <= before {
		t.Errorf("the map was not rebuilt after the flush (%d rebuilds)", ids.Stats().Rebuilds)
	}
	evs := waitCanonical(t, e, st, 60)
	idOf := map[string]string{} // e-mail → id
	for _, ev := range evs {
		email := contactEmail(ev)
		if email == "" {
			continue
		}
		if id, ok := idOf[email]; ok && id != ev.ID {
			t.Errorf("%s has two ids after the flush: %s, %s", email, id, ev.ID)
		}
		idOf[email] = ev.ID
	}
	if len(idOf) != 20 {
		t.Errorf("%d people, want 20", len(idOf))
	}
}

// importSchema registers schema under subject with a given id, as a
// registry that imports another's schemas does.
func importSchema(t *testing.T, url, subject string, schema string, id int) {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t, time.Minute)
	for _, r := range cl.SetMode(sr.WithParams(ctx, sr.Force), sr.ModeImport, subject) {
		if r.Err != nil {
			t.Fatalf("import mode: %v", r.Err)
		}
	}
	if _, err := cl.RegisterSchema(ctx, subject, sr.Schema{Schema: schema, Type: sr.TypeAvro}, id, 1); err != nil {
		t.Fatalf("import: %v", err)
	}
	for _, r := range cl.ResetMode(ctx, subject) {
		if r.Err != nil {
			t.Fatalf("reset mode: %v", r.Err)
		}
	}
}

// unknownSchema returns the record of f encoded against another registry
// and given schema id: the stage's registry does not know it.
func unknownSchema(t *testing.T, e *transformtest.Env, f transformtest.Fixture, id int) *kgo.Record {
	t.Helper()
	other := registrytest.Start(t, e.Kafka)
	cl, err := sr.NewClient(sr.URLs(other))
	if err != nil {
		t.Fatal(err)
	}
	serde, err := avro.NewSerde(cl, e.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	native, err := f.Native(e.Schemas, e.IDs["crm"], "crm")
	if err != nil {
		t.Fatal(err)
	}
	topic := kafka.InTopic(e.IDs["crm"])
	v, err := serde.EncodeNative(testkit.Context(t, time.Minute), avro.Subject(topic, f.Record), native)
	if err != nil {
		t.Fatal(err)
	}
	r := &kgo.Record{Topic: topic, Key: []byte(f.Envelope.TenantID), Value: v}
	kafka.SetHeader(r, kafka.HeaderTenantID, f.Envelope.TenantID)
	kafka.SetHeader(r, kafka.HeaderEventID, f.Envelope.EventID)
	kafka.SetHeader(r, kafka.HeaderEventType, f.Envelope.EventType)
	kafka.SetHeader(r, kafka.HeaderIntegration, e.IDs["crm"])
	kafka.SetHeader(r, kafka.HeaderReceivedAt, f.Envelope.ReceivedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	binary.BigEndian.PutUint32(r.Value[1:5], uint32(id))
	kafka.SetHeader(r, "x-partner-note", "kept as it came")
	kafka.SetHeader(r, kafka.HeaderTraceParent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	return r
}

// TestRetryThenSuccess sends an event whose schema the registry does not
// know yet: it goes to a retry topic, the schema arrives, and the retry
// succeeds.
func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	e := transformtest.NewEnv(t, transformtest.Config{Connectors: connectors()})
	f := crmContact("acme", 1, "late@example.com")
	const id = 9000
	in := unknownSchema(t, e, f, id)
	e.Produce(t, in)
	st := e.StageWith(t, e.NewSerde(t, avro.UnknownIDTTL(10*time.Millisecond)), e.Identity(t))
	rec := transformtest.NewRecorder()
	stagetest.Start(t, e.Runner(t, st, e.Dedupe(t), stage.Use(rec.Middleware()), stage.RetryDelays(time.Second, time.Second, time.Second)))
	rec.WaitCount(t, 1, time.Minute)
	if outs := rec.Of(f.Envelope.EventID); outs[0].Outcome != stage.OutcomeRetry || !strings.Contains(outs[0].Err, "unknown schema id") {
		t.Fatalf("first attempt: %+v; want a retry for the unknown schema id", outs)
	}
	sc, _ := e.Schemas.Lookup(f.Record)
	importSchema(t, e.RegistryURL, avro.Subject(in.Topic, f.Record), sc.Text(), id)
	evs := waitCanonical(t, e, st, 1)
	if *evs[0].Envelope.CausedBy != f.Envelope.EventID {
		t.Errorf("canonical event of %s, want %s", *evs[0].Envelope.CausedBy, f.Envelope.EventID)
	}
	outs := rec.Of(f.Envelope.EventID)
	if last := outs[len(outs)-1]; last.Outcome != stage.OutcomeDone {
		t.Errorf("outcomes %+v; want retries, then done", outs)
	}
	if dead := e.Kafka.Records(t, kafka.DLQTopic(e.Name)); len(dead) != 0 {
		t.Errorf("%d dead letters", len(dead))
	}
}

// TestRetriesExhaustedGoToTheDLQWithEveryHeader sends an event whose
// schema never becomes known: after the last retry it is dead-lettered,
// its key, value and every header as they came, with the reason.
func TestRetriesExhaustedGoToTheDLQWithEveryHeader(t *testing.T) {
	t.Parallel()
	e := transformtest.NewEnv(t, transformtest.Config{Connectors: connectors()})
	f := crmContact("globex", 2, "never@example.com")
	in := unknownSchema(t, e, f, 9999)
	e.Produce(t, in)
	orig := e.Kafka.Records(t, in.Topic)[0]
	st := e.StageWith(t, e.NewSerde(t, avro.UnknownIDTTL(10*time.Millisecond)), e.Identity(t))
	var attempts atomic.Int64
	count := func(next stage.Handler) stage.Handler {
		return stage.HandlerFunc(func(ctx context.Context, b *stage.Batch) error {
			attempts.Add(int64(len(b.Records)))
			return next.Handle(ctx, b)
		})
	}
	stagetest.Start(t, e.Runner(t, st, e.Dedupe(t), stage.Use(count)))
	d := stagetest.WaitRecords(t, e.Kafka, kafka.DLQTopic(e.Name), 1, time.Minute)[0]
	if string(d.Key) != string(orig.Key) || string(d.Value) != string(orig.Value) {
		t.Error("the dead letter's key or value differs from the event's")
	}
	for _, h := range orig.Headers {
		if got := kafka.Header(d, h.Key); got != string(h.Value) {
			t.Errorf("header %s = %q, want %q as it came", h.Key, got, h.Value)
		}
	}
	want := map[string]string{
		kafka.HeaderErrorStage:        e.Name,
		kafka.HeaderErrorClass:        string(stage.ClassRetryable),
		kafka.HeaderOriginalTopic:     orig.Topic,
		kafka.HeaderOriginalPartition: fmt.Sprint(orig.Partition),
		kafka.HeaderOriginalOffset:    fmt.Sprint(orig.Offset),
		kafka.HeaderAttempts:          "3",
	}
	for k, v := range want {
		if got := kafka.Header(d, k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if msg := kafka.Header(d, kafka.HeaderErrorMessage); !strings.Contains(msg, "unknown schema id") || strings.Contains(msg, "never@example.com") {
		t.Errorf("error-message %q", msg)
	}
	if kafka.Header(d, kafka.HeaderRetryAt) != "" {
		t.Error("a dead letter keeps retry-at")
	}
	if attempts.Load() != 3 {
		t.Errorf("%d attempts, want 3", attempts.Load())
	}
}
