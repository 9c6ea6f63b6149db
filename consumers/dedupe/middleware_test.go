package dedupe_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/consumers/dedupe"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

type env struct {
	k       *testkit.Kafka
	r       *testkit.Redis
	name    string
	in, out string
}

func newEnv(t *testing.T, parts int32) *env {
	t.Helper()
	e := &env{k: testkit.NewKafka(t), r: testkit.NewRedis(t), name: testkit.Name(t, "dd")}
	e.in, e.out = e.name+".in", e.name+".out"
	e.k.CreateTopic(t, e.in, parts, nil)
	e.k.CreateTopic(t, e.out, parts, nil)
	return e
}

func (e *env) runner(t *testing.T, h stage.Handler, opts ...stage.Opt) *stage.Runner {
	t.Helper()
	base := []stage.Opt{
		stage.Consume(e.in),
		stage.Group(e.name),
		stage.Logger(testkit.Logger(t)),
		stage.RetryDelays(200*time.Millisecond, 500*time.Millisecond),
		stage.Backoff(50*time.Millisecond, 500*time.Millisecond),
		stage.TransactionTimeout(10 * time.Second),
		stage.ShutdownTimeout(5 * time.Second),
		stage.KafkaOpts(kgo.FetchMaxWait(100 * time.Millisecond)),
	}
	r, err := stage.New(e.name, stagetest.Config(e.k), h, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func copyTo(topic string) stage.Handler {
	return stage.HandlerFunc(func(_ context.Context, b *stage.Batch) error {
		for _, r := range b.Records {
			r.Emit(&kgo.Record{Topic: topic, Key: r.Raw.Key, Value: r.Raw.Value})
		}
		return nil
	})
}

// event returns an input record of event id, with value v.
func event(tenant, key, id, v string) *kgo.Record {
	r := &kgo.Record{Key: []byte(key), Value: []byte(v)}
	kafka.SetHeader(r, kafka.HeaderTenantID, tenant)
	kafka.SetHeader(r, kafka.HeaderEventID, id)
	return r
}

// perEvent counts the outputs of each event id.
func perEvent(outs []*kgo.Record) map[string]int {
	n := map[string]int{}
	for _, o := range outs {
		n[kafka.Header(o, kafka.HeaderEventID)]++
	}
	return n
}

func TestDuplicateEventsAreEmittedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	s, err := dedupe.New(e.r.Client, dedupe.Prefix(e.r.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	stagetest.Start(t, e.runner(t, copyTo(e.out), stage.Use(s.Middleware())))

	// A first wave with a duplicate inside one batch and one under
	// another key (another partition), then a late resend of an event
	// that is done by then.
	first := []*kgo.Record{
		event("acme", "acme", "e-1", "a"),
		event("acme", "acme", "e-2", "b"),
		event("acme", "acme", "e-1", "c"),
		event("globex", "globex", "e-1", "d"), // another tenant: another event
		event("acme", "acme-2", "e-2", "e"),
	}
	stagetest.Produce(t, e.k, e.in, first...)
	outs := stagetest.WaitRecords(t, e.k, e.out, 3, 60*time.Second)
	stagetest.Produce(t, e.k, e.in, event("acme", "acme", "e-2", "f"), event("acme", "acme", "e-3", "g"))
	outs = stagetest.WaitRecords(t, e.k, e.out, 4, 60*time.Second)
	byTenant := map[string]int{}
	for _, o := range outs {
		byTenant[kafka.Header(o, kafka.HeaderTenantID)+"/"+kafka.Header(o, kafka.HeaderEventID)]++
	}
	for _, k := range []string{"acme/e-1", "acme/e-2", "acme/e-3", "globex/e-1"} {
		if byTenant[k] != 1 {
			t.Errorf("%s emitted %d times, want once (all: %v)", k, byTenant[k], byTenant)
		}
	}
	if len(outs) != 4 {
		t.Errorf("%d outputs, want 4", len(outs))
	}
	// Every copy is accounted for: skipped as a duplicate, or retried as
	// busy and then skipped.
	testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		st := s.Stats()
		if st.Duplicates < 3 {
			return fmt.Errorf("%d duplicates counted, want 3 (%+v)", st.Duplicates, st)
		}
		return nil
	})
	if dls := e.k.Records(t, kafka.DLQTopic(e.name)); len(dls) != 0 {
		t.Errorf("%d dead letters, want none", len(dls))
	}
}

// TestMarkersFollowTheTransaction checks that an event is never marked
// done before its transaction committed: claimed in a group not committed
// while the handler runs, in a committed group once the commit hooks run.
func TestMarkersFollowTheTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	s, err := dedupe.New(e.r.Client, dedupe.Prefix(e.r.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	key := s.Key(e.name, "acme", "e-1")
	var mu sync.Mutex
	var during, after []string
	var failOnce sync.Once
	// state reads the marker and whether its group committed.
	state := func(ctx context.Context) string {
		v, _ := e.r.Client.Get(ctx, key).Result()
		g, _, ok := strings.Cut(strings.TrimPrefix(v, "g:"), ":")
		if !ok || !strings.HasPrefix(v, "g:") {
			return "marker " + v
		}
		if e.r.Client.Exists(ctx, s.CommitKey(dedupe.Group(g))).Val() == 1 {
			return "committed"
		}
		return "claimed"
	}
	h := stage.HandlerFunc(func(ctx context.Context, b *stage.Batch) error {
		v := state(ctx)
		mu.Lock()
		during = append(during, v)
		mu.Unlock()
		b.AfterCommit(func(ctx context.Context) {
			v := state(ctx)
			mu.Lock()
			after = append(after, v)
			mu.Unlock()
		})
		var err error
		failOnce.Do(func() { err = errors.New("downstream lookup failed") })
		if err != nil {
			return err // the batch is put back: the claim is released
		}
		return copyTo(e.out).Handle(ctx, b)
	})
	stagetest.Start(t, e.runner(t, h, stage.Use(s.Middleware())))
	stagetest.Produce(t, e.k, e.in, event("acme", "acme", "e-1", "a"))
	stagetest.WaitRecords(t, e.k, e.out, 1, 60*time.Second)
	testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(after) == 0 {
			return errors.New("no commit hook ran yet")
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if len(during) != 2 {
		t.Fatalf("handled %d times, want 2 (a failed batch, then a good one)", len(during))
	}
	for i, v := range during {
		if v != "claimed" {
			t.Errorf("while handling (try %d): %s, want claimed (its group not committed)", i+1, v)
		}
	}
	// The hook above is the handler's, added after dedupe's: it runs
	// after dedupe's settle.
	if len(after) != 1 || after[0] != "committed" {
		t.Errorf("after the commit: %q, want committed", after)
	}
}

// TestRedisDownLosesNothing cuts the stage off Redis: batches fail as a
// whole and back off, nothing is committed, nothing is dropped, and once
// Redis is back every event is emitted once.
func TestRedisDownLosesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	link := testkit.NewLink()
	s, err := dedupe.New(e.r.Dialing(t, link.Dial, -1), dedupe.Prefix(e.r.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	stagetest.Start(t, e.runner(t, copyTo(e.out), stage.Use(s.Middleware()), stage.Registerer(reg)))

	link.Cut()
	const n = 30
	recs := make([]*kgo.Record, n)
	for i := range recs {
		tenant := []string{"acme", "globex"}[i%2]
		recs[i] = event(tenant, tenant, fmt.Sprintf("e-%d", i), fmt.Sprintf("v-%d", i))
	}
	stagetest.Produce(t, e.k, e.in, recs...)
	testkit.CheckFor(t, 60*time.Second, 50*time.Millisecond, func() error {
		if got := testkit.Metric(t, reg, "sluice_stage_pauses_total", map[string]string{"reason": "backoff"}); got < 3 {
			return fmt.Errorf("%v backoffs so far", got)
		}
		return nil
	})
	if outs := e.k.Records(t, e.out); len(outs) != 0 {
		t.Fatalf("%d outputs while Redis was down", len(outs))
	}
	link.Restore()
	outs := stagetest.WaitRecords(t, e.k, e.out, n, 60*time.Second)
	counts := perEvent(outs)
	for i := range n {
		if id := fmt.Sprintf("e-%d", i); counts[id] != 1 {
			t.Errorf("%s emitted %d times", id, counts[id])
		}
	}
	if len(outs) != n {
		t.Errorf("%d outputs, want %d", len(outs), n)
	}
	if dls := e.k.Records(t, kafka.DLQTopic(e.name)); len(dls) != 0 {
		t.Errorf("%d dead letters, want none", len(dls))
	}
}

func TestMissingEventIDIsDeadLettered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	s, err := dedupe.New(e.r.Client, dedupe.Prefix(e.r.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	stagetest.Start(t, e.runner(t, copyTo(e.out), stage.Use(s.Middleware())))
	bad := event("acme", "acme", "", "no-id")
	bad.Headers = bad.Headers[:1]
	stagetest.Produce(t, e.k, e.in, bad, event("acme", "acme", "e-1", "a"))
	dls := stagetest.WaitRecords(t, e.k, kafka.DLQTopic(e.name), 1, 60*time.Second)
	if got := kafka.Header(dls[0], kafka.HeaderErrorClass); got != "permanent" {
		t.Errorf("error-class %q, want permanent", got)
	}
	if got := kafka.Header(dls[0], kafka.HeaderErrorMessage); !strings.Contains(got, "event-id") {
		t.Errorf("error-message %q does not name the missing header", got)
	}
	outs := stagetest.WaitRecords(t, e.k, e.out, 1, 30*time.Second)
	if len(outs) != 1 || string(outs[0].Value) != "a" {
		t.Errorf("outputs %v, want the one record with an event id", outs)
	}
}

// TestRoundTripsPerBatch measures the Redis round trips a stage makes per
// batch with dedupe on: one to claim, one to settle.
func TestRoundTripsPerBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	rec := &recorder{}
	e.r.Client.AddHook(rec)
	s, err := dedupe.New(e.r.Client, dedupe.Prefix(e.r.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	const n = 600
	recs := make([]*kgo.Record, n)
	for i := range recs {
		tenant := fmt.Sprintf("t%d", i%5)
		recs[i] = event(tenant, tenant, fmt.Sprintf("e-%d", i), fmt.Sprintf("v-%d", i))
	}
	stagetest.Produce(t, e.k, e.in, recs...)
	// The meter sits inside dedupe: its commit hook runs after dedupe's
	// settle of the same batch, so when it has seen every record every
	// settle is done.
	meter := stagetest.NewMeter(n)
	stagetest.Start(t, e.runner(t, copyTo(e.out), stage.Use(s.Middleware(), meter.Middleware()), stage.MaxPollRecords(100)))
	if _, err := meter.Wait(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	// Connection handshakes (HELLO, CLIENT SETINFO) are not the store's.
	trips := 0
	for _, trip := range rec.reset() {
		if name := strings.ToLower(fmt.Sprint(trip[0].Args()[0])); name != "hello" && name != "client" {
			trips++
		}
	}
	st := s.Stats()
	batches := meter.Batches()
	perBatch := float64(st.RoundTrips) / float64(batches)
	t.Logf("%d batches of %.1f records on average, %d Redis round trips: %.2f per batch", batches, float64(n)/float64(batches), st.RoundTrips, perBatch)
	// One to claim and one to settle each batch, plus at most one per
	// script the first time a server has not seen it. A transaction may
	// abort (kfake has refused a produce with OUT_OF_ORDER_SEQUENCE_NUMBER):
	// its batch is claimed and released, then claimed again with its keys
	// renewed by the script, three more.
	if st.Batches < int64(batches) {
		t.Fatalf("%d claim calls for %d committed batches", st.Batches, batches)
	}
	again := st.Batches - int64(batches)
	if again > 0 {
		t.Logf("%d batches were handled again after an aborted transaction", again)
	}
	if limit := int64(2*batches) + 3*again + 2; st.RoundTrips > limit {
		t.Errorf("%d round trips for %d batches (%d handled again), want at most %d", st.RoundTrips, batches, again, limit)
	}
	if int64(trips) != st.RoundTrips {
		t.Errorf("the client saw %d round trips, the store counted %d", trips, st.RoundTrips)
	}
}

// failGets fails every pipeline of GET commands while on: the round trip
// in which Claim reads the commit keys of the groups it found.
type failGets struct{ on *atomic.Bool }

func (failGets) DialHook(next redis.DialHook) redis.DialHook { return next }

func (failGets) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (f failGets) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if f.on.Load() && len(cmds) > 0 && cmds[0].Name() == "get" {
			err := errors.New("redis: connection reset (test)")
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}
}

// TestClaimFailingPartWayReleasesWhatItTook fails Claim after its first
// round trip took an event's key (another event of the batch, claimed by
// a group not committed, needs a second): the batch fails as a whole, and
// the key it took is released rather than held until its lease ends.
func TestClaimFailingPartWayReleasesWhatItTook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	var failing atomic.Bool
	failing.Store(true)
	e.r.Client.AddHook(failGets{&failing})
	s, err := dedupe.New(e.r.Client, dedupe.Prefix(e.r.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t, time.Minute)
	// e-2 is claimed by another record's transaction, not committed.
	if _, err := s.Claim(ctx, dedupe.NewGroup(), []dedupe.Claim{{Stage: e.name, Tenant: "acme", EventID: "e-2", Owner: "elsewhere/0/7"}}); err != nil {
		t.Fatal(err)
	}
	stagetest.Start(t, e.runner(t, copyTo(e.out), stage.Use(s.Middleware())))
	stagetest.Produce(t, e.k, e.in, event("acme", "acme", "e-1", "v-1"), event("acme", "acme", "e-2", "v-2"))
	// The batch is handled again and again: each try takes e-1's key in
	// its first round trip and fails in its second; released, the key is
	// absent between tries.
	key := s.Key(e.name, "acme", "e-1")
	for _, held := range []bool{true, false} {
		testkit.CheckFor(t, 30*time.Second, 2*time.Millisecond, func() error {
			n, err := e.r.Client.Exists(ctx, key).Result()
			if err != nil || (n == 1) != held {
				return fmt.Errorf("e-1's key exists: %d (%v), want %v", n, err, held)
			}
			return nil
		})
	}
	failing.Store(false)
	outs := stagetest.WaitRecords(t, e.k, e.out, 1, 30*time.Second)
	if c := perEvent(outs); c["e-1"] != 1 || c["e-2"] != 0 {
		t.Errorf("outputs by event %v, want e-1 once (e-2 is busy elsewhere)", c)
	}
}
