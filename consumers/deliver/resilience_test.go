package deliver_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/consumers/deliver"
	"github.com/sluicehq/sluice/consumers/deliver/sink"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestBreakerOpensAndCloses takes a destination down: after a few failed
// attempts the breaker opens and the events wait in the retry topics
// instead of being sent; when the destination is back a probe closes the
// breaker and every event is delivered once.
func TestBreakerOpensAndCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	d, secret := e.dest(t, "")
	var down atomic.Bool
	down.Store(true)
	k, url := newSink(t, []string{secret}, sink.WithScript(func(sink.Request) sink.Answer {
		if down.Load() {
			return sink.Answer{Status: http.StatusServiceUnavailable}
		}
		return sink.Answer{}
	}))
	d.Config.URL = url
	const n = 40
	in := events(n, "acme", "globex")
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
	reg := prometheus.NewRegistry()
	s := e.stageOf(t, []deliver.Destination{d}, deliver.Registerer(reg),
		deliver.Breaker(deliver.BreakerSettings{ConsecutiveFailures: 3, OpenFor: 500 * time.Millisecond, Probes: 1}))
	mux := http.NewServeMux()
	s.RegisterAdmin(mux)
	admin := httptest.NewServer(mux)
	t.Cleanup(admin.Close)
	start(t, s)

	state := map[string]string{"destination": d.Config.ID}
	testkit.CheckFor(t, 60*time.Second, 20*time.Millisecond, func() error {
		if got := testkit.Metric(t, reg, "sluice_deliver_breaker_state", state); got != 2 {
			return fmt.Errorf("breaker state %v, want 2 (open)", got)
		}
		return nil
	})
	if st := destinationStatus(t, admin.URL, d.Config.ID); st.Breaker != "open" && st.Breaker != "half-open" {
		t.Errorf("admin API says the breaker is %q while it is open", st.Breaker)
	}
	// Down long enough for every event to come back from the retry topics
	// more than once.
	deferred := map[string]string{"destination": d.Config.ID, "reason": "circuit_open"}
	testkit.CheckFor(t, 60*time.Second, 50*time.Millisecond, func() error {
		if got := testkit.Metric(t, reg, "sluice_deliver_deferred_total", deferred); got < 2*n {
			return fmt.Errorf("%v events deferred by the open breaker, want %d", got, 2*n)
		}
		return nil
	})
	whileDown := len(k.Requests())
	if whileDown >= n {
		t.Errorf("the destination got %d requests while down, for %d events: the breaker did not hold them back", whileDown, n)
	}

	down.Store(false)
	waitDelivered(t, k, ids(in), 60*time.Second)
	testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if got := testkit.Metric(t, reg, "sluice_deliver_breaker_state", state); got != 0 {
			return fmt.Errorf("breaker state %v, want 0 (closed)", got)
		}
		return nil
	})
	checkDeliveredOnce(t, k)
	if st := destinationStatus(t, admin.URL, d.Config.ID); st.Breaker != "closed" {
		t.Errorf("admin API says the breaker is %q after recovery", st.Breaker)
	}
}

// TestCrashBetweenSendAndCommit cuts an instance off Kafka right after the
// destination took an event and before the batch could commit, and lets
// another instance take over: the done-marker stops the event from being
// sent again, and no event is lost.
func TestCrashBetweenSendAndCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	d, secret := e.dest(t, "")
	link := testkit.NewLink()
	const victim = "acme-6"
	var cut atomic.Bool
	k, url := newSink(t, []string{secret}, sink.WithScript(func(r sink.Request) sink.Answer {
		if r.ID == victim && cut.CompareAndSwap(false, true) {
			link.Cut() // the first instance dies as the destination answers 200
		}
		return sink.Answer{}
	}))
	d.Config.URL = url
	const n = 30
	in := events(n, "acme", "globex", "initech")
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
	group := []kgo.Opt{kgo.SessionTimeout(6 * time.Second), kgo.HeartbeatInterval(500 * time.Millisecond)}
	a := e.stageOf(t, []deliver.Destination{d},
		deliver.KafkaOpts(append([]kgo.Opt{kgo.Dialer(link.Dial)}, group...)...),
		deliver.StageOpts(stage.MaxPollRecords(8)))
	stopA := start(t, a)
	testkit.CheckFor(t, 60*time.Second, 20*time.Millisecond, func() error {
		if !cut.Load() {
			return fmt.Errorf("%s not sent yet", victim)
		}
		return nil
	})

	b := e.stageOf(t, []deliver.Destination{d}, deliver.KafkaOpts(group...))
	start(t, b)
	waitDelivered(t, k, ids(in), 120*time.Second)
	link.Restore()
	stopA()

	checkDeliveredOnce(t, k)
	sent := 0
	for _, r := range k.Requests() {
		if r.ID == victim {
			sent++
		}
	}
	if sent != 1 {
		t.Errorf("%s was sent %d times, want once: the done-marker did not stop the second instance", victim, sent)
	}
}

// TestBatchBudgetBoundsTheWaitForASlot runs three partitions' batches
// at once against a slow destination that takes one request at a time:
// a batch whose event would get the slot only after its budget defers
// the event instead of starting the request late.
func TestBatchBudgetBoundsTheWaitForASlot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	d, secret := e.dest(t, "")
	k, url := newSink(t, []string{secret}, sink.WithScript(func(sink.Request) sink.Answer {
		return sink.Answer{Delay: 500 * time.Millisecond}
	}))
	d.Config.URL, d.Config.MaxConcurrency = url, 1
	// One event in each partition, so each batch has one: a deferral
	// can only come from the wait for the slot.
	var in []*kgo.Record
	hash := kgo.StickyKeyPartitioner(nil).ForTopic("")
	taken := map[int]bool{}
	for i := 0; len(in) < 3; i++ {
		r := event(fmt.Sprintf("tenant-%d", i), i, "contact.updated")
		if p := hash.Partition(r, 3); !taken[p] {
			taken[p] = true
			in = append(in, r)
		}
	}
	reg := e.deliverLive(t, d, in, deliver.BatchBudget(300*time.Millisecond))
	waitDelivered(t, k, ids(in), 60*time.Second)
	checkDeferred(t, reg, "batch_budget", "no event was deferred while its batch waited past the budget for a request slot")
	checkDeliveredOnce(t, k)
}

// TestDestinationLimitSparesTenantBudgets holds a batch back by the
// destination's limit: the events after the first it refuses wait
// without charging their tenant's limit, so a tenant with a small budget
// is not left with none by requests that were never made.
func TestDestinationLimitSparesTenantBudgets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	d, secret := e.dest(t, "")
	k, url := newSink(t, []string{secret})
	d.Config.URL, d.Config.MaxConcurrency = url, 1 // one after the other, in order
	d.Config.RateLimit = &config.RateLimit{Rate: 4, Per: time.Second, Burst: 1}
	// Two requests a minute per tenant: one charged for nothing costs
	// half a minute.
	d.Config.TenantRateLimit = &config.RateLimit{Rate: 2, Per: time.Minute, Burst: 2}
	in := []*kgo.Record{
		event("noisy", 0, "contact.updated"), event("noisy", 1, "contact.updated"),
		event("quiet", 2, "contact.updated"), event("quiet", 3, "contact.updated"),
	}
	reg := e.deliverLive(t, d, in, deliver.RateLimitWait(0))
	// Each of quiet's events has its request of its tenant's two: had
	// the destination's refusals been charged, they would wait for the
	// next in 30s.
	waitDelivered(t, k, ids(in[2:]), 20*time.Second)
	checkDeferred(t, reg, "rate_limit_destination", "no event was deferred by the destination limit")
	checkDeliveredOnce(t, k)
}

// TestShutdownAfterA2xxKeepsItsMarker stops an instance after the
// destination answered 2xx to an event but before the client read the
// rest of the answer: the event counts as delivered, its done-marker is
// written though the stage is stopping, and the next instance does not
// send it again.
func TestShutdownAfterA2xxKeepsItsMarker(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	d, secret := e.dest(t, "")
	k, err := sink.NewFromSecrets([]string{secret})
	if err != nil {
		t.Fatal(err)
	}
	const victim = "acme-0" // first in the only partition
	var sent atomic.Int32
	stopA := make(chan func(), 1) // the first instance's stop, once it runs
	stopped := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-id") != victim {
			k.ServeHTTP(w, r)
			return
		}
		if sent.Add(1) > 1 {
			k.ServeHTTP(w, r) // sent again: the sink counts it
			return
		}
		// The answer's status goes out; the instance is stopped while
		// the rest of it is on its way.
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		go func() {
			(<-stopA)()
			close(stopped)
		}()
		time.Sleep(300 * time.Millisecond)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	d.Config.URL = srv.URL + "/hooks"
	in := events(12, "acme")
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
	stopA <- start(t, e.stageOf(t, []deliver.Destination{d}, deliver.StageOpts(stage.MaxPollRecords(4))))
	select {
	case <-stopped:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s was not sent", victim)
	}

	start(t, e.stageOf(t, []deliver.Destination{d}))
	// The victim is first in the partition: once every later event is
	// delivered, the second instance has handled it too.
	waitDelivered(t, k, ids(in)[1:], 60*time.Second)
	if n := sent.Load(); n != 1 {
		t.Errorf("%s was sent %d times, want once: a 2xx read during shutdown left no done-marker", victim, n)
	}
	checkDeliveredOnce(t, k)
}

// TestSlowDestinationDoesNotSlowAnother runs a slow destination for one
// tenant beside a fast one for another, fed from the same topic: the fast
// one delivers everything while the slow one is still at its first few.
func TestSlowDestinationDoesNotSlowAnother(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	slow, slowSecret := e.dest(t, "")
	fast, fastSecret := e.dest(t, "")
	slowSink, slowURL := newSink(t, []string{slowSecret}, sink.WithScript(func(sink.Request) sink.Answer {
		return sink.Answer{Delay: time.Second}
	}))
	fastSink, fastURL := newSink(t, []string{fastSecret})
	slow.Config.URL, slow.Config.MaxConcurrency = slowURL, 2
	slow.Config.Subscribe.Tenants = []string{"slowco"}
	fast.Config.URL = fastURL
	fast.Config.Subscribe.Tenants = []string{"fastco"}
	const n = 40
	in := events(n, "slowco", "fastco")
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
	start(t, e.stageOf(t, []deliver.Destination{slow, fast}))

	var fastIDs []string
	for _, id := range ids(in) {
		if id[:4] == "fast" {
			fastIDs = append(fastIDs, id)
		}
	}
	waitDelivered(t, fastSink, fastIDs, 60*time.Second)
	if got := len(slowSink.Delivered()); got >= n/2 {
		t.Errorf("the slow destination delivered all its %d events before the fast one finished: nothing was slow", got)
	}
	for _, r := range fastSink.Requests() {
		if r.Tenant != "fastco" {
			t.Errorf("the fast destination got an event of %s", r.Tenant)
		}
	}
}

// TestBackfillDoesNotDelayInteractive fills the batch lane with a
// backfill and then sends interactive events to the same, slowish,
// destination: they are all delivered while most of the backfill waits.
func TestBackfillDoesNotDelayInteractive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	d, secret := e.dest(t, "")
	k, url := newSink(t, []string{secret}, sink.WithScript(func(sink.Request) sink.Answer {
		return sink.Answer{Delay: 100 * time.Millisecond}
	}))
	d.Config.URL, d.Config.MaxConcurrency = url, 4
	const backfill, live = 200, 10
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneBatch), events(backfill, "bulkco")...)
	start(t, e.stageOf(t, []deliver.Destination{d}, deliver.Lanes(config.LaneInteractive, config.LaneBatch)))
	testkit.CheckFor(t, 60*time.Second, 20*time.Millisecond, func() error {
		if len(k.Delivered()) < 10 {
			return fmt.Errorf("the backfill has not started")
		}
		return nil
	})
	in := make([]*kgo.Record, live)
	for i := range in {
		in[i] = event("liveco", i, "contact.updated")
	}
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
	waitDelivered(t, k, ids(in), 60*time.Second)
	if got := len(k.Delivered()) - live; got >= backfill {
		t.Errorf("the whole backfill (%d) went before the interactive events", got)
	}
}

// TestRateLimitHoldsAcrossInstances runs two instances of the stage, in two
// processes as far as they know (one delivers the interactive lane of a
// destination, the other its batch lane), against one destination limit:
// together they never go past it, because it is held in Redis. Events
// held back are delivered later, not lost.
func TestRateLimitHoldsAcrossInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	d, secret := e.dest(t, "")
	k, url := newSink(t, []string{secret})
	d.Config.URL = url
	const rate = 4
	d.Config.RateLimit = &config.RateLimit{Rate: rate, Per: time.Second, Burst: 1}
	const n = 12
	var in []*kgo.Record
	for _, lane := range []string{config.LaneInteractive, config.LaneBatch} {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			recs[i] = event("acme-"+lane, i, "contact.updated")
		}
		stagetest.Produce(t, e.k, e.topic("contact", lane), recs...)
		in = append(in, recs...)
	}
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	start(t, e.stageOf(t, []deliver.Destination{d}, deliver.Lanes(config.LaneInteractive), deliver.Registerer(regA)))
	start(t, e.stageOf(t, []deliver.Destination{d}, deliver.Lanes(config.LaneBatch), deliver.Registerer(regB)))
	waitDelivered(t, k, ids(in), 90*time.Second)

	var at []time.Time
	for _, r := range k.Requests() {
		at = append(at, r.At)
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	worst := 0
	for i := range at {
		j := i
		for j < len(at) && at[j].Sub(at[i]) < time.Second {
			j++
		}
		worst = max(worst, j-i)
	}
	// GCRA lets through the burst and then one per 1/rate: in any second,
	// at most burst+rate (and a little for the clocks).
	if worst > 1+rate+1 {
		t.Errorf("%d requests within one second, limit %d/s with a burst of 1", worst, rate)
	}
	for name, reg := range map[string]*prometheus.Registry{"interactive": regA, "batch": regB} {
		if got := testkit.Metric(t, reg, "sluice_deliver_attempts_total", map[string]string{"result": deliver.ResultDelivered}); got != n {
			t.Errorf("the %s instance delivered %v events, want %d", name, got, n)
		}
	}
	checkDeliveredOnce(t, k)
}

// TestTenantRateLimitDoesNotHoldOthers limits every tenant of a
// destination: a noisy tenant's events wait for its own limit while a
// quiet tenant's go through.
func TestTenantRateLimitDoesNotHoldOthers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	d, secret := e.dest(t, "")
	k, url := newSink(t, []string{secret})
	d.Config.URL = url
	d.Config.TenantRateLimit = &config.RateLimit{Rate: 2, Per: time.Second, Burst: 1}
	var in, quiet []*kgo.Record
	for i := range 24 {
		r := event("noisy", i, "contact.updated")
		if i%8 == 3 {
			r = event("quiet", i, "contact.updated")
			quiet = append(quiet, r)
		}
		in = append(in, r)
	}
	reg := e.deliverLive(t, d, in)
	waitDelivered(t, k, ids(quiet), 60*time.Second)
	if got := len(k.Delivered()) - len(quiet); got >= len(in)-len(quiet) {
		t.Errorf("the noisy tenant's %d events all went before the quiet tenant's %d", got, len(quiet))
	}
	waitDelivered(t, k, ids(in), 90*time.Second)
	checkDeferred(t, reg, "rate_limit_tenant", "no event was deferred by the tenant limit")
}

// TestBatchBudgetBoundsSlowBatches gives a slow destination a small batch
// budget: what a batch cannot start in time is deferred, not held in an
// open transaction, and delivered later.
func TestBatchBudgetBoundsSlowBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	d, secret := e.dest(t, "")
	k, url := newSink(t, []string{secret}, sink.WithScript(func(sink.Request) sink.Answer {
		return sink.Answer{Delay: 300 * time.Millisecond}
	}))
	d.Config.URL, d.Config.MaxConcurrency = url, 1
	in := events(6, "acme")
	reg := e.deliverLive(t, d, in, deliver.BatchBudget(200*time.Millisecond))
	waitDelivered(t, k, ids(in), 60*time.Second)
	checkDeferred(t, reg, "batch_budget", "no event was deferred past the batch budget")
	checkDeliveredOnce(t, k)
}
