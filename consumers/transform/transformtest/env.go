package transformtest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/consumers/dedupe"
	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/consumers/transform"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// Integration declares one integration of an environment.
type Integration struct {
	// Source is the source system; its connector mapping must be given
	// in Config.Connectors.
	Source string
	// Lane is interactive (default) or batch.
	Lane string
	// Partitions of its input topic. Default 3.
	Partitions int32
}

// Config describes an environment.
type Config struct {
	// Tenants of the catalog. Default "acme" and "globex".
	Tenants []string
	// HotTenants are tenants spread over 4 sub-keys.
	HotTenants []string
	// Integrations of the catalog, one per source by default: one for
	// each connector.
	Integrations []Integration
	// Connectors are the mappings by source system.
	Connectors map[string][]byte
}

// Env is a test's own slice of Kafka, Redis and a schema registry, with a
// catalog whose integrations, topics, group and keys are unique to the
// test, so tests run in parallel on one shared broker and Redis.
type Env struct {
	Kafka       *testkit.Kafka
	Redis       *testkit.Redis
	RegistryURL string
	Schemas     *avro.Schemas
	// Serde is a producer's serde, on the same registry as the stage's.
	Serde *avro.Serde
	// Name is unique to the test: the stage's name (and so its retry and
	// dead-letter topics) and the prefix of its canonical topics.
	Name string
	// Catalog holds the tenants and integrations.
	Catalog *config.Catalog
	// IDs maps each source to its integration id.
	IDs map[string]string
	// IdentityTopic is the test's identity topic.
	IdentityTopic string

	cfg Config

	mu         sync.Mutex
	validators map[string]*avro.Validator // by record
}

// validator returns the validator of record, compiled once.
func (e *Env) validator(record string) (*avro.Validator, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v, ok := e.validators[record]; ok {
		return v, nil
	}
	v, err := e.Schemas.Validator(record)
	if err != nil {
		return nil, err
	}
	if e.validators == nil {
		e.validators = map[string]*avro.Validator{}
	}
	e.validators[record] = v
	return v, nil
}

// NewEnv starts an environment for t.
func NewEnv(t testing.TB, cfg Config) *Env {
	t.Helper()
	if len(cfg.Tenants) == 0 {
		cfg.Tenants = []string{"acme", "globex"}
	}
	if len(cfg.Integrations) == 0 {
		for _, src := range slices.Sorted(maps.Keys(cfg.Connectors)) {
			cfg.Integrations = append(cfg.Integrations, Integration{Source: src})
		}
	}
	k := testkit.NewKafka(t)
	e := &Env{
		Kafka:   k,
		Redis:   testkit.NewRedis(t),
		Name:    testkit.Name(t, "tf"),
		IDs:     map[string]string{},
		cfg:     cfg,
		Schemas: mustSchemas(t),
	}
	e.IdentityTopic = e.Name + ".identity"
	e.RegistryURL = registrytest.Start(t, k)
	e.Serde = e.NewSerde(t)

	var y strings.Builder
	y.WriteString("version: 1\ntenants:\n")
	for _, tn := range cfg.Tenants {
		fmt.Fprintf(&y, "  - id: %s\n", tn)
		if slices.Contains(cfg.HotTenants, tn) {
			y.WriteString("    hot_sub_keys: 4\n")
		}
	}
	y.WriteString("integrations:\n")
	run := testkit.Token(t)
	for i, in := range cfg.Integrations {
		id := fmt.Sprintf("%s-%s-%d", in.Source, run, i)
		if _, ok := e.IDs[in.Source]; !ok {
			e.IDs[in.Source] = id
		}
		lane := in.Lane
		if lane == "" {
			lane = config.LaneInteractive
		}
		parts := in.Partitions
		if parts == 0 {
			parts = 3
		}
		fmt.Fprintf(&y, "  - id: %s\n    owner: tests\n    kind: sync\n    source: %s\n    lane: %s\n    partitions: %d\n", id, in.Source, lane, parts)
		// The stage does not read the contract; the catalog needs one.
		y.WriteString("    contract:\n      events:\n")
		for _, sc := range e.Schemas.Events() {
			if sc.Source == in.Source {
				short := sc.Name[strings.LastIndexByte(sc.Name, '.')+1:]
				fmt.Fprintf(&y, "        - {type: %q, record: %s}\n", short+"*", sc.Name)
			}
		}
	}
	c, err := config.Parse([]byte(y.String()), t.TempDir())
	if err != nil {
		t.Fatalf("transformtest: catalog: %v", err)
	}
	e.Catalog = c
	for _, in := range c.Integrations {
		k.CreateTopic(t, kafka.InTopic(in.ID), in.Partitions, nil)
	}
	return e
}

func mustSchemas(t testing.TB) *avro.Schemas {
	t.Helper()
	s, err := avro.LoadSchemas()
	if err != nil {
		t.Fatalf("transformtest: %v", err)
	}
	return s
}

// NewSerde returns a new serde on the environment's registry; opts come
// last.
func (e *Env) NewSerde(t testing.TB, opts ...avro.SerdeOpt) *avro.Serde {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(e.RegistryURL))
	if err != nil {
		t.Fatalf("transformtest: registry client: %v", err)
	}
	s, err := avro.NewSerde(cl, e.Schemas, append([]avro.SerdeOpt{avro.Logger(testkit.Logger(t))}, opts...)...)
	if err != nil {
		t.Fatalf("transformtest: serde: %v", err)
	}
	return s
}

// CanonicalTopic names the environment's canonical topics: the test's
// name, then the object, then ".batch" for the batch lane.
func (e *Env) CanonicalTopic(object, lane string) string {
	t := e.Name + ".canonical." + object
	if lane == config.LaneBatch {
		t += ".batch"
	}
	return t
}

// Identity returns an identity map on the environment's topic and Redis
// prefix, loaded. opts come last.
func (e *Env) Identity(t testing.TB, opts ...identity.Opt) *identity.Map {
	t.Helper()
	m, err := identity.New(e.Redis.Client, stagetest.Config(e.Kafka), append([]identity.Opt{
		identity.Topic(e.IdentityTopic),
		identity.Prefix(e.Redis.Prefix),
		identity.TopicPartitions(3),
		identity.Logger(testkit.Logger(t)),
		identity.LoadTimeout(time.Minute),
	}, opts...)...)
	if err != nil {
		t.Fatalf("transformtest: identity: %v", err)
	}
	if err := m.Load(testkit.Context(t, time.Minute)); err != nil {
		t.Fatalf("transformtest: identity load: %v", err)
	}
	return m
}

// Stage returns the transform stage of the environment's catalog, with
// its own serde. opts come last.
func (e *Env) Stage(t testing.TB, ids transform.Identities, opts ...transform.Opt) *transform.Stage {
	t.Helper()
	return e.StageWith(t, e.NewSerde(t), ids, opts...)
}

// StageWith returns the transform stage of the environment's catalog with
// the given serde. opts come last.
func (e *Env) StageWith(t testing.TB, serde *avro.Serde, ids transform.Identities, opts ...transform.Opt) *transform.Stage {
	t.Helper()
	base := []transform.Opt{
		transform.Name(e.Name),
		transform.Logger(testkit.Logger(t)),
		transform.CanonicalTopics(e.CanonicalTopic),
		transform.TopicPartitions(3),
	}
	for src, m := range e.cfg.Connectors {
		base = append(base, transform.Connector(src, m))
	}
	s, err := transform.New(e.Catalog, e.Schemas, serde, ids, append(base, opts...)...)
	if err != nil {
		t.Fatalf("transformtest: stage: %v", err)
	}
	return s
}

// Dedupe returns a dedupe store under the environment's Redis prefix.
func (e *Env) Dedupe(t testing.TB) *dedupe.Store {
	t.Helper()
	d, err := dedupe.New(e.Redis.Client, dedupe.Prefix(e.Redis.Prefix), dedupe.Lease(30*time.Second))
	if err != nil {
		t.Fatalf("transformtest: dedupe: %v", err)
	}
	return d
}

// Runner returns a runner of st with test timings (short retry delays and
// backoff, a 10 s transaction timeout); opts come last.
func (e *Env) Runner(t testing.TB, st *transform.Stage, dd *dedupe.Store, opts ...stage.Opt) *stage.Runner {
	t.Helper()
	base := []stage.Opt{
		stage.Logger(testkit.Logger(t)),
		stage.RetryDelays(200*time.Millisecond, 400*time.Millisecond),
		stage.Backoff(50*time.Millisecond, time.Second),
		stage.TransactionTimeout(10 * time.Second),
		stage.ShutdownTimeout(5 * time.Second),
		stage.TopicPartitions(3),
		stage.KafkaOpts(kgo.FetchMaxWait(100*time.Millisecond), kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond)),
	}
	r, err := st.Runner(stagetest.Config(e.Kafka), dd, append(base, opts...)...)
	if err != nil {
		t.Fatalf("transformtest: runner: %v", err)
	}
	return r
}

// Record returns the Kafka record of a fixture as the ingress writes it to
// the integration of the fixture's source: the event encoded under its
// subject, keyed by tenant, with sluice's headers.
func (e *Env) Record(t testing.TB, f Fixture, source string) *kgo.Record {
	t.Helper()
	id, ok := e.IDs[source]
	if !ok {
		t.Fatalf("transformtest: no integration of source %s", source)
	}
	v, err := e.validator(f.Record)
	if err != nil {
		t.Fatalf("transformtest: %v", err)
	}
	native, err := f.NativeWith(v, id, source)
	if err != nil {
		t.Fatalf("transformtest: %v", err)
	}
	return e.Encode(t, id, f.Record, native)
}

// Encode encodes a native source event for integration and returns its
// record, with the headers taken from its envelope.
func (e *Env) Encode(t testing.TB, integration, record string, native map[string]any) *kgo.Record {
	t.Helper()
	topic := kafka.InTopic(integration)
	ctx := testkit.Context(t, time.Minute)
	v, err := e.Serde.EncodeNative(ctx, avro.Subject(topic, record), native)
	if err != nil {
		t.Fatalf("transformtest: encode %s: %v", record, err)
	}
	env, err := avro.EnvelopeOf(native)
	if err != nil {
		t.Fatalf("transformtest: %v", err)
	}
	r := &kgo.Record{Topic: topic, Key: []byte(env.TenantID), Value: v}
	kafka.SetHeader(r, kafka.HeaderTenantID, env.TenantID)
	kafka.SetHeader(r, kafka.HeaderEventID, env.EventID)
	kafka.SetHeader(r, kafka.HeaderEventType, env.EventType)
	kafka.SetHeader(r, kafka.HeaderIntegration, integration)
	kafka.SetHeader(r, kafka.HeaderReceivedAt, env.ReceivedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	if env.TraceParent != nil {
		kafka.SetHeader(r, kafka.HeaderTraceParent, *env.TraceParent)
	}
	return r
}

// Produce writes records to their topics and waits for the broker.
func (e *Env) Produce(t testing.TB, recs ...*kgo.Record) {
	t.Helper()
	cl := e.Kafka.Client(t, kgo.ProducerLinger(5*time.Millisecond))
	if err := cl.ProduceSync(testkit.Context(t, time.Minute), recs...).FirstErr(); err != nil {
		t.Fatalf("transformtest: produce: %v", err)
	}
}

// Canonical is a canonical event read back from its topic.
type Canonical struct {
	Raw *kgo.Record
	// Record is the event record's full name.
	Record string
	// Event is the decoded event: a canonical.AccountEvent,
	// ContactEvent, OrderEvent or TicketEvent.
	Event any
	// Envelope is the event's envelope.
	Envelope canonical.Envelope
	// ID is the canonical object's id, ExternalIDs its external ids.
	ID          string
	ExternalIDs []canonical.ExternalID
}

// CanonicalEvents reads every committed event of the stage's canonical
// topics and decodes it.
func (e *Env) CanonicalEvents(t testing.TB, st *transform.Stage) []Canonical {
	t.Helper()
	var out []Canonical
	for _, spec := range st.Topics() {
		if strings.HasPrefix(spec.Name, "sluice.in.") {
			continue
		}
		for _, r := range e.Kafka.Records(t, spec.Name) {
			out = append(out, e.Decode(t, r))
		}
	}
	return out
}

// Decode decodes a canonical event record.
func (e *Env) Decode(t testing.TB, r *kgo.Record) Canonical {
	t.Helper()
	ctx := testkit.Context(t, time.Minute)
	name, err := e.Serde.Record(ctx, r.Value)
	if err != nil {
		t.Fatalf("transformtest: canonical record in %s: %v", r.Topic, err)
	}
	c := Canonical{Raw: r, Record: name}
	decode := func(v any) {
		if err := e.Serde.Decode(ctx, r.Value, v); err != nil {
			t.Fatalf("transformtest: decode %s: %v", name, err)
		}
	}
	switch name {
	case canonical.RecordAccountEvent:
		var ev canonical.AccountEvent
		decode(&ev)
		c.Event, c.Envelope, c.ID, c.ExternalIDs = ev, ev.Envelope, ev.Data.ID, ev.Data.ExternalIDs
	case canonical.RecordContactEvent:
		var ev canonical.ContactEvent
		decode(&ev)
		c.Event, c.Envelope, c.ID, c.ExternalIDs = ev, ev.Envelope, ev.Data.ID, ev.Data.ExternalIDs
	case canonical.RecordOrderEvent:
		var ev canonical.OrderEvent
		decode(&ev)
		c.Event, c.Envelope, c.ID, c.ExternalIDs = ev, ev.Envelope, ev.Data.ID, ev.Data.ExternalIDs
	case canonical.RecordTicketEvent:
		var ev canonical.TicketEvent
		decode(&ev)
		c.Event, c.Envelope, c.ID, c.ExternalIDs = ev, ev.Envelope, ev.Data.ID, ev.Data.ExternalIDs
	default:
		t.Fatalf("transformtest: %s holds a %s, not a canonical event", r.Topic, name)
	}
	return c
}

// Outcome is what became of one input record, as committed.
type Outcome struct {
	Outcome stage.Outcome
	Reason  string // skip reason
	Err     string // error of a record routed to a retry or dead-letter topic
}

// Recorder is middleware that records the committed outcome of every
// record by its source event id. It is safe for concurrent use.
type Recorder struct {
	mu       sync.Mutex
	outcomes map[string][]Outcome
	count    int
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{outcomes: map[string][]Outcome{}} }

// Middleware records outcomes once their batch committed.
func (rc *Recorder) Middleware() stage.Middleware {
	return func(next stage.Handler) stage.Handler {
		return stage.HandlerFunc(func(ctx context.Context, b *stage.Batch) error {
			b.AfterCommit(func(context.Context) {
				rc.mu.Lock()
				defer rc.mu.Unlock()
				for _, r := range b.Records {
					o := Outcome{Outcome: r.Outcome(), Reason: r.SkipReason()}
					if err := r.Err(); err != nil {
						o.Err = err.Error()
					}
					rc.outcomes[r.EventID] = append(rc.outcomes[r.EventID], o)
					rc.count++
				}
			})
			return next.Handle(ctx, b)
		})
	}
}

// Count returns the number of records committed.
func (rc *Recorder) Count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.count
}

// Of returns the outcomes recorded for a source event id, in commit order.
func (rc *Recorder) Of(eventID string) []Outcome {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.outcomes[eventID])
}

// WaitCount waits until at least n records committed.
func (rc *Recorder) WaitCount(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	testkit.CheckFor(t, timeout, 50*time.Millisecond, func() error {
		if got := rc.Count(); got < n {
			return fmt.Errorf("%d of %d records committed", got, n)
		}
		return nil
	})
}
