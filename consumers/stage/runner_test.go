package stage_test

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
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// env is one test's stage: a unique stage name, input and output topics.
type env struct {
	k     *testkit.Kafka
	name  string
	in    string
	out   string
	parts int32
}

func newEnv(t *testing.T, parts int32) *env {
	t.Helper()
	k := testkit.NewKafka(t)
	e := &env{k: k, name: testkit.Name(t, "st"), parts: parts}
	e.in = e.name + ".in"
	e.out = e.name + ".out"
	k.CreateTopic(t, e.in, parts, nil)
	k.CreateTopic(t, e.out, parts, nil)
	return e
}

// runner returns a runner of the env's stage with test-friendly timings;
// opts come last and win.
func (e *env) runner(t *testing.T, h stage.Handler, opts ...stage.Opt) *stage.Runner {
	t.Helper()
	base := []stage.Opt{
		stage.Consume(e.in),
		stage.Group(e.name),
		stage.Logger(testkit.Logger(t)),
		stage.RetryDelays(200*time.Millisecond, 500*time.Millisecond),
		stage.Backoff(50*time.Millisecond, time.Second),
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

// copyTo is a handler that emits every record's value to topic.
func copyTo(topic string) stage.Handler {
	return stage.HandlerFunc(func(_ context.Context, b *stage.Batch) error {
		for _, r := range b.Records {
			r.Emit(&kgo.Record{Topic: topic, Key: r.Raw.Key, Value: r.Raw.Value})
		}
		return nil
	})
}

func inputs(n int, tenants ...string) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = stagetest.Record(tenants[i%len(tenants)], i)
	}
	return recs
}

// exactlyOnce checks that outs hold each of the n input values once.
func exactlyOnce(outs []*kgo.Record, n int) error {
	seen := map[string]int{}
	for _, r := range outs {
		seen[string(r.Value)]++
	}
	for i := range n {
		v := fmt.Sprintf("v-%d", i)
		if seen[v] != 1 {
			return fmt.Errorf("%s is in the output %d times", v, seen[v])
		}
		delete(seen, v)
	}
	if len(seen) > 0 {
		return fmt.Errorf("unexpected outputs: %v", seen)
	}
	return nil
}

func TestRunnerCopiesEveryRecordOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	const n = 300
	stagetest.Produce(t, e.k, e.in, inputs(n, "acme", "globex", "initech")...)
	stagetest.Start(t, e.runner(t, copyTo(e.out)))
	outs := stagetest.WaitRecords(t, e.k, e.out, n, 60*time.Second)
	if err := exactlyOnce(outs, n); err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if kafka.Header(o, kafka.HeaderTenantID) == "" || kafka.Header(o, kafka.HeaderEventID) == "" {
			t.Fatalf("output %s lacks the input's tenant-id or event-id: %v", o.Value, o.Headers)
		}
	}
}

// TestHooksAreTimed: the time a transaction's commit hooks take, which
// the next poll waits for, is in sluice_stage_hooks_seconds, observed once
// per transaction ended, as sluice_stage_commit_seconds is.
// TestEnsureTopicsBeforeRun: EnsureTopics creates the retry and
// dead-letter topics, and those given with the EnsureTopics option, with
// the input's partitions, before the runner runs; a second call finds
// them and changes nothing.
func TestEnsureTopicsBeforeRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	extra := e.name + ".extra"
	r := e.runner(t, copyTo(e.out), stage.EnsureTopics(kafka.TopicSpec{Name: extra, Partitions: 2}))
	ctx := testkit.Context(t, time.Minute)
	want := map[string]int{
		kafka.RetryTopic(e.name, 1): 3,
		kafka.RetryTopic(e.name, 2): 3,
		kafka.DLQTopic(e.name):      3,
		extra:                       2,
	}
	for try := range 2 {
		if err := r.EnsureTopics(ctx); err != nil {
			t.Fatalf("call %d: %v", try+1, err)
		}
		for topic, parts := range want {
			details, err := e.k.Admin(t).ListTopics(ctx, topic)
			if err != nil {
				t.Fatal(err)
			}
			if d := details[topic]; d.Err != nil || len(d.Partitions) != parts {
				t.Errorf("call %d: %s: %d partitions (%v), want %d", try+1, topic, len(d.Partitions), d.Err, parts)
			}
		}
	}
}

func TestHooksAreTimed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	const n, hook = 50, 20 * time.Millisecond
	stagetest.Produce(t, e.k, e.in, inputs(n, "acme")...)
	reg := prometheus.NewRegistry()
	h := stage.HandlerFunc(func(ctx context.Context, b *stage.Batch) error {
		b.AfterCommit(func(context.Context) { time.Sleep(hook) })
		return copyTo(e.out).Handle(ctx, b)
	})
	stagetest.Start(t, e.runner(t, h, stage.Registerer(reg)))
	stagetest.WaitRecords(t, e.k, e.out, n, 60*time.Second)
	labels := map[string]string{"stage": e.name}
	testkit.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		ended := testkit.Metric(t, reg, "sluice_stage_commit_seconds", labels)
		timed := testkit.Metric(t, reg, "sluice_stage_hooks_seconds", labels)
		if ended == 0 || timed != ended {
			return fmt.Errorf("%v transactions ended, %v hook runs timed", ended, timed)
		}
		return nil
	})
	if got := testkit.HistogramSum(t, reg, "sluice_stage_hooks_seconds", labels); got < hook.Seconds() {
		t.Fatalf("hooks took %.3fs in all, want at least the %v one of them sleeps", got, hook)
	}
}

// TestAsyncHooks: a transaction's AfterCommitAsync hooks run while the
// next transaction is handled, never those of two transactions at once,
// never for a batch that did not commit, and all of them before Run
// returns.
func TestAsyncHooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1) // one partition: one batch per transaction
	const n = 40
	stagetest.Produce(t, e.k, e.in, inputs(n, "acme")...)
	var running, most, ranFor atomic.Int64
	var failed, failedRan atomic.Bool
	// The async hook of the first batch that commits waits until a later
	// batch is handled: if the runner held up its polls for async hooks,
	// none would be, and the hook would give up.
	var waitAfter atomic.Int64 // the last offset of that batch; -1: none yet
	waitAfter.Store(-1)
	later := make(chan struct{})
	var laterOnce sync.Once
	var waited, heldUp atomic.Bool
	h := stage.HandlerFunc(func(ctx context.Context, b *stage.Batch) error {
		first, last := b.Records[0].Raw.Offset, b.Records[len(b.Records)-1].Raw.Offset
		if w := waitAfter.Load(); w >= 0 && first > w {
			laterOnce.Do(func() { close(later) })
		}
		// The first batch holding offset 10 fails as a whole: it does not
		// commit, and comes again.
		fail := false
		for _, r := range b.Records {
			if r.Raw.Offset == 10 {
				fail = failed.CompareAndSwap(false, true)
			}
		}
		waits := !fail && waitAfter.CompareAndSwap(-1, last)
		b.AfterCommitAsync(func(context.Context) {
			if fail {
				failedRan.Store(true)
			}
			now := running.Add(1)
			for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
			}
			if waits {
				select {
				case <-later:
					waited.Store(true)
				case <-time.After(10 * time.Second):
					heldUp.Store(true)
				}
			}
			time.Sleep(50 * time.Millisecond)
			running.Add(-1)
			ranFor.Add(int64(len(b.Records)))
		})
		if fail {
			return errors.New("a dependency is down")
		}
		return copyTo(e.out).Handle(ctx, b)
	})
	stop := stagetest.Start(t, e.runner(t, h, stage.MaxPollRecords(5)))
	stagetest.WaitRecords(t, e.k, e.out, n, 60*time.Second)
	stop()
	if got := ranFor.Load(); got != n {
		t.Errorf("async hooks ran for %d records by the time Run returned, want each of the %d committed once", got, n)
	}
	if failedRan.Load() {
		t.Error("the async hook of a batch that failed as a whole ran")
	}
	if !failed.Load() {
		t.Error("no batch failed: the test did not test that")
	}
	if got := most.Load(); got != 1 {
		t.Errorf("%d transactions' async hooks ran at once, want 1", got)
	}
	if heldUp.Load() || !waited.Load() {
		t.Error("no later batch was handled while the first async hook ran: async hooks held up the polls")
	}
}

// checkDeadLetter checks the headers of a dead letter of input in.
func checkDeadLetter(t *testing.T, stageName string, dl, in *kgo.Record, class, attempts, message string) {
	t.Helper()
	if string(dl.Key) != string(in.Key) || string(dl.Value) != string(in.Value) {
		t.Errorf("dead letter key/value %q/%q, want %q/%q", dl.Key, dl.Value, in.Key, in.Value)
	}
	want := map[string]string{
		kafka.HeaderTenantID:          kafka.Header(in, kafka.HeaderTenantID),
		kafka.HeaderEventID:           kafka.Header(in, kafka.HeaderEventID),
		kafka.HeaderErrorStage:        stageName,
		kafka.HeaderErrorClass:        class,
		kafka.HeaderOriginalTopic:     in.Topic,
		kafka.HeaderOriginalPartition: fmt.Sprint(in.Partition),
		kafka.HeaderOriginalOffset:    fmt.Sprint(in.Offset),
		kafka.HeaderAttempts:          attempts,
		kafka.HeaderRetryAt:           "",
	}
	for k, v := range want {
		if got := kafka.Header(dl, k); got != v {
			t.Errorf("dead letter header %s = %q, want %q", k, got, v)
		}
	}
	if got := kafka.Header(dl, kafka.HeaderErrorMessage); !strings.Contains(got, message) {
		t.Errorf("dead letter error-message %q does not say %q", got, message)
	}
}

// find returns the record of recs whose value is v.
func find(t *testing.T, recs []*kgo.Record, v string) *kgo.Record {
	t.Helper()
	for _, r := range recs {
		if string(r.Value) == v {
			return r
		}
	}
	t.Fatalf("no record with value %s", v)
	return nil
}

func TestPoisonGoesToDeadLetterAtOnce(t *testing.T) {
	t.Parallel()
	const n, bad = 20, 5
	for _, tc := range []struct {
		name    string
		input   func(i int) *kgo.Record
		handle  func(r *stage.Record)
		message string
	}{
		{
			name:    "handler panics",
			input:   func(i int) *kgo.Record { return stagetest.Record("acme", i) },
			handle:  func(r *stage.Record) { panic("cannot handle " + string(r.Raw.Value)) },
			message: "handler panicked",
		},
		{
			name:    "record does not decode",
			input:   func(i int) *kgo.Record { return stagetest.Record("acme", i) },
			handle:  func(r *stage.Record) { r.Fail(stage.Poison(errors.New("avro: unknown schema id 99"))) },
			message: "unknown schema id 99",
		},
		{
			name: "no tenant-id header",
			input: func(i int) *kgo.Record {
				r := stagetest.Record("acme", i)
				if i == bad {
					r.Headers = r.Headers[1:]
					kafka.SetHeader(r, kafka.HeaderTenantID, "")
				}
				return r
			},
			handle:  func(r *stage.Record) { panic("the handler must not see a record without tenant") },
			message: "no tenant-id",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			recs := make([]*kgo.Record, n)
			for i := range recs {
				recs[i] = tc.input(i)
			}
			stagetest.Produce(t, e.k, e.in, recs...)
			badValue := fmt.Sprintf("v-%d", bad)
			var mu sync.Mutex
			seen := 0
			h := stage.HandlerFunc(func(_ context.Context, b *stage.Batch) error {
				for _, r := range b.Records {
					if string(r.Raw.Value) == badValue {
						mu.Lock()
						seen++
						mu.Unlock()
						tc.handle(r)
						continue
					}
					r.Emit(&kgo.Record{Topic: e.out, Key: r.Raw.Key, Value: r.Raw.Value})
				}
				return nil
			})
			stagetest.Start(t, e.runner(t, h))
			outs := stagetest.WaitRecords(t, e.k, e.out, n-1, 60*time.Second)
			dls := stagetest.WaitRecords(t, e.k, kafka.DLQTopic(e.name), 1, 30*time.Second)
			if len(dls) != 1 {
				t.Fatalf("%d dead letters, want 1", len(dls))
			}
			in := find(t, e.k.Records(t, e.in), badValue)
			checkDeadLetter(t, e.name, dls[0], in, "poison", "1", tc.message)
			if kafka.Header(dls[0], kafka.HeaderTenantID) == "" && tc.name != "no tenant-id header" {
				t.Error("dead letter lost its tenant")
			}
			for _, o := range outs {
				if string(o.Value) == badValue {
					t.Errorf("the poison record has an output")
				}
			}
			if got := len(outs); got != n-1 {
				t.Errorf("%d outputs, want %d", got, n-1)
			}
			if retries := e.k.Records(t, kafka.RetryTopic(e.name, 1)); len(retries) != 0 {
				t.Errorf("poison went to a retry topic: %d records", len(retries))
			}
		})
	}
}

func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	const n = 10
	stagetest.Produce(t, e.k, e.in, inputs(n, "acme", "globex")...)
	type attempt struct {
		attempt, lane int
		at            time.Time
		source        stage.Source
	}
	var mu sync.Mutex
	var attempts []attempt
	h := stage.HandlerFunc(func(_ context.Context, b *stage.Batch) error {
		for _, r := range b.Records {
			if string(r.Raw.Value) == "v-3" {
				mu.Lock()
				attempts = append(attempts, attempt{r.Attempt, r.Lane, time.Now(), r.Source})
				mu.Unlock()
				if r.Attempt < 3 {
					r.Fail(errors.New("upstream 503"))
					continue
				}
			}
			r.Emit(&kgo.Record{Topic: e.out, Key: r.Raw.Key, Value: r.Raw.Value})
		}
		return nil
	})
	stagetest.Start(t, e.runner(t, h))
	outs := stagetest.WaitRecords(t, e.k, e.out, n, 60*time.Second)
	if err := exactlyOnce(outs, n); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) != 3 {
		t.Fatalf("v-3 was tried %d times, want 3: %+v", len(attempts), attempts)
	}
	in := find(t, e.k.Records(t, e.in), "v-3")
	for i, a := range attempts {
		if a.attempt != i+1 || a.lane != i {
			t.Errorf("try %d: attempt %d from lane %d, want attempt %d from lane %d", i+1, a.attempt, a.lane, i+1, i)
		}
		if a.source != (stage.Source{Topic: in.Topic, Partition: in.Partition, Offset: in.Offset}) {
			t.Errorf("try %d: source %+v, want the input's coordinates", i+1, a.source)
		}
	}
	if gap := attempts[1].at.Sub(attempts[0].at); gap < 200*time.Millisecond {
		t.Errorf("lane 1 ran %v after the failure, before its 200ms delay", gap)
	}
	if gap := attempts[2].at.Sub(attempts[1].at); gap < 500*time.Millisecond {
		t.Errorf("lane 2 ran %v after the failure, before its 500ms delay", gap)
	}
	if dls := e.k.Records(t, kafka.DLQTopic(e.name)); len(dls) != 0 {
		t.Errorf("%d dead letters, want none", len(dls))
	}
}

func TestFailuresEndInDeadLetterWithEveryHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		err      error
		class    string
		attempts string
		tries    int
	}{
		{"retries exhausted", errors.New("upstream 503"), "retryable", "3", 3},
		{"explicitly retryable, exhausted", stage.Retryable(errors.New("upstream 503")), "retryable", "3", 3},
		{"permanent at once", stage.Permanent(errors.New("upstream 503: no such account")), "permanent", "1", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 2)
			const n = 6
			stagetest.Produce(t, e.k, e.in, inputs(n, "acme", "globex")...)
			var mu sync.Mutex
			tries := 0
			h := stage.HandlerFunc(func(_ context.Context, b *stage.Batch) error {
				for _, r := range b.Records {
					if string(r.Raw.Value) == "v-4" {
						mu.Lock()
						tries++
						mu.Unlock()
						r.Fail(tc.err)
						continue
					}
					r.Emit(&kgo.Record{Topic: e.out, Key: r.Raw.Key, Value: r.Raw.Value})
				}
				return nil
			})
			stagetest.Start(t, e.runner(t, h))
			dls := stagetest.WaitRecords(t, e.k, kafka.DLQTopic(e.name), 1, 60*time.Second)
			if len(dls) != 1 {
				t.Fatalf("%d dead letters, want 1", len(dls))
			}
			checkDeadLetter(t, e.name, dls[0], find(t, e.k.Records(t, e.in), "v-4"), tc.class, tc.attempts, "upstream 503")
			outs := stagetest.WaitRecords(t, e.k, e.out, n-1, 30*time.Second)
			if len(outs) != n-1 {
				t.Errorf("%d outputs, want %d", len(outs), n-1)
			}
			mu.Lock()
			defer mu.Unlock()
			if tries != tc.tries {
				t.Errorf("tried %d times, want %d", tries, tc.tries)
			}
		})
	}
}

// TestRetryNotDueDoesNotBlock checks that a retry record waiting for its
// due time holds up neither the input topic nor the CPU: its partition is
// paused once, not polled in a loop.
func TestRetryNotDueDoesNotBlock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	reg := prometheus.NewRegistry()
	var mu sync.Mutex
	tries := 0
	h := stage.HandlerFunc(func(_ context.Context, b *stage.Batch) error {
		for _, r := range b.Records {
			if string(r.Raw.Value) == "v-0" {
				mu.Lock()
				tries++
				mu.Unlock()
				r.Fail(errors.New("not yet"))
				continue
			}
			r.Emit(&kgo.Record{Topic: e.out, Key: r.Raw.Key, Value: r.Raw.Value})
		}
		return nil
	})
	stagetest.Start(t, e.runner(t, h, stage.RetryDelays(time.Hour), stage.Registerer(reg)))
	stagetest.Produce(t, e.k, e.in, stagetest.Record("acme", 0))
	stagetest.WaitRecords(t, e.k, kafka.RetryTopic(e.name, 1), 1, 30*time.Second)
	// The runner polls the retry record, finds it not due and pauses its
	// partition; input keeps flowing.
	testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if got := testkit.Metric(t, reg, "sluice_stage_pauses_total", map[string]string{"stage": e.name, "reason": "not_due"}); got < 1 {
			return fmt.Errorf("the retry record has not been polled yet")
		}
		return nil
	})
	const n = 50
	recs := inputs(n, "acme", "globex")
	stagetest.Produce(t, e.k, e.in, recs[1:]...)
	outs := stagetest.WaitRecords(t, e.k, e.out, n-1, 30*time.Second)
	if len(outs) != n-1 {
		t.Errorf("%d outputs, want %d", len(outs), n-1)
	}
	// A transaction that aborts (a rebalance as the group forms) hands its
	// records to the handler again, so the handler may see v-0 twice; what
	// must hold is that it went to the retry lane once and was not handled
	// again while waiting there.
	if retried := e.k.Records(t, kafka.RetryTopic(e.name, 1)); len(retried) != 1 {
		t.Errorf("%d records in the retry lane, want 1", len(retried))
	}
	// Handled again before it was due, it would have failed its last
	// attempt and been dead-lettered.
	if dead := e.k.Records(t, kafka.DLQTopic(e.name)); len(dead) != 0 {
		t.Errorf("%d dead letters: the waiting record was handled before it was due", len(dead))
	}
	mu.Lock()
	defer mu.Unlock()
	if tries < 1 || tries > 2 {
		t.Errorf("the waiting record was handled %d times, want 1 (2 after an aborted first transaction)", tries)
	}
	if got := testkit.Metric(t, reg, "sluice_stage_pauses_total", map[string]string{"stage": e.name, "reason": "not_due"}); got > 2 {
		t.Errorf("the retry partition was paused %v times while waiting: the runner polls it in a loop", got)
	}
}

// TestAbortDoesNotHoldDueRetries checks that a due retry record whose
// transaction aborts comes again at once, not when the record behind it,
// not due for an hour, is due: the poll paused its partition at that
// record, and the abort took the partition back before the due one.
func TestAbortDoesNotHoldDueRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	var tries atomic.Int32
	h := stage.HandlerFunc(func(_ context.Context, b *stage.Batch) error {
		for _, r := range b.Records {
			if string(r.Raw.Value) == "v-0" && tries.Add(1) == 1 {
				// Too large to produce: the transaction aborts.
				r.Emit(&kgo.Record{Topic: e.out, Value: make([]byte, 3<<20)})
				continue
			}
			r.Emit(&kgo.Record{Topic: e.out, Key: r.Raw.Key, Value: r.Raw.Value})
		}
		return nil
	})
	rn := e.runner(t, h, stage.RetryDelays(time.Hour))
	if err := rn.EnsureTopics(testkit.Context(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	due, later := stagetest.Record("acme", 0), stagetest.Record("acme", 1)
	kafka.SetHeader(due, kafka.HeaderRetryAt, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano))
	kafka.SetHeader(later, kafka.HeaderRetryAt, time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano))
	stagetest.Produce(t, e.k, kafka.RetryTopic(e.name, 1), due, later)
	stagetest.Start(t, rn)
	outs := stagetest.WaitRecords(t, e.k, e.out, 1, 30*time.Second)
	if len(outs) != 1 || string(outs[0].Value) != "v-0" {
		t.Errorf("outputs %v, want v-0 alone", outs)
	}
	if n := tries.Load(); n < 2 {
		t.Errorf("v-0 handled %d times, want again after the abort", n)
	}
}

// TestBatchErrorBacksOffAndComesBack checks that a batch failing as a whole
// (a dependency down) commits nothing, backs off, and is handled again.
func TestBatchErrorBacksOffAndComesBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	reg := prometheus.NewRegistry()
	const n, failures = 40, 3
	stagetest.Produce(t, e.k, e.in, inputs(n, "acme", "globex")...)
	var mu sync.Mutex
	calls, aborts, commits := 0, 0, 0
	h := stage.HandlerFunc(func(_ context.Context, b *stage.Batch) error {
		mu.Lock()
		calls++
		fail := calls <= failures
		mu.Unlock()
		b.AfterAbort(func(context.Context) { mu.Lock(); aborts++; mu.Unlock() })
		b.AfterCommit(func(context.Context) { mu.Lock(); commits++; mu.Unlock() })
		for _, r := range b.Records {
			r.Emit(&kgo.Record{Topic: e.out, Key: r.Raw.Key, Value: r.Raw.Value})
		}
		if fail {
			return errors.New("redis: connection refused")
		}
		return nil
	})
	stagetest.Start(t, e.runner(t, h, stage.Registerer(reg)))
	outs := stagetest.WaitRecords(t, e.k, e.out, n, 60*time.Second)
	if err := exactlyOnce(outs, n); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if aborts < failures || commits == 0 {
		t.Errorf("%d abort hooks and %d commit hooks; want at least %d aborts and some commits", aborts, commits, failures)
	}
	if got := testkit.Metric(t, reg, "sluice_stage_pauses_total", map[string]string{"stage": e.name, "reason": "backoff"}); got < failures {
		t.Errorf("%v backoff pauses, want at least %d", got, failures)
	}
	if dls := e.k.Records(t, kafka.DLQTopic(e.name)); len(dls) != 0 {
		t.Errorf("a failed batch was dead-lettered: %d records", len(dls))
	}
}

// The committed offsets of a transactional input step over the marker
// that ends each partition, as the Java consumer's do: a caught-up
// partition shows no lag in Kafka's tools, nor in the stage's gauge. A
// partition whose last transaction aborted (only its marker is left to
// read) is committed to its end too.
func TestCaughtUpTransactionalInputShowsNoLag(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := testkit.Context(t, 2*time.Minute)
	p := e.k.Client(t, kgo.TransactionalID(testkit.Name(t, "txn")), kgo.DefaultProduceTopic(e.in), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	const n = 12
	recs := inputs(n, "acme", "globex")
	txn := func(rs []*kgo.Record, commit kgo.TransactionEndTry) {
		t.Helper()
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := p.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	for i := range recs {
		recs[i].Partition = int32(i % 2)
	}
	txn(recs[:n/2], kgo.TryCommit)
	txn(recs[n/2:], kgo.TryCommit)

	reg := prometheus.NewRegistry()
	stagetest.Start(t, e.runner(t, copyTo(e.out), stage.Registerer(reg)))
	outs := stagetest.WaitRecords(t, e.k, e.out, n, 60*time.Second)
	if err := exactlyOnce(outs, n); err != nil {
		t.Fatal(err)
	}
	adm := e.k.Admin(t)
	caughtUp := func() error {
		ends, err := adm.ListEndOffsets(ctx, e.in)
		if err != nil {
			return err
		}
		committed, err := adm.FetchOffsets(ctx, e.name)
		if err != nil {
			return err
		}
		for part := range e.parts {
			end, _ := ends.Lookup(e.in, part)
			c, ok := committed.Lookup(e.in, part)
			if !ok || c.At != end.Offset {
				return fmt.Errorf("partition %d: committed %v (found %v), end %d", part, c.At, ok, end.Offset)
			}
			lag := testkit.Metric(t, reg, "sluice_stage_lag_records", map[string]string{"topic": e.in, "partition": fmt.Sprint(part)})
			if lag != 0 {
				return fmt.Errorf("partition %d: sluice_stage_lag_records %v, want 0", part, lag)
			}
		}
		return nil
	}
	testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, caughtUp)

	// An aborted transaction on partition 0, once the stage has caught
	// up: its record is never read, and a poll brings only its marker.
	txn([]*kgo.Record{{Partition: 0, Value: []byte("aborted")}}, kgo.TryAbort)
	testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, caughtUp)
	if outs := e.k.Records(t, e.out); len(outs) != n {
		t.Fatalf("%d outputs after the aborted transaction, want %d", len(outs), n)
	}
}
