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
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// counting copies every record to topic and counts, in committed, the
// records whose transaction committed.
func counting(topic string, committed *atomic.Int64) stage.Handler {
	return stage.HandlerFunc(func(_ context.Context, b *stage.Batch) error {
		for _, r := range b.Records {
			r.Emit(&kgo.Record{Topic: topic, Key: r.Raw.Key, Value: r.Raw.Value})
		}
		n := int64(len(b.Records))
		b.AfterCommit(func(context.Context) { committed.Add(n) })
		return nil
	})
}

func atLeast(c *atomic.Int64, n int64, what string) func() error {
	return func() error {
		if got := c.Load(); got < n {
			return fmt.Errorf("%s committed %d records, want %d", what, got, n)
		}
		return nil
	}
}

// TestKillMidBatch cuts a member off the network while its handler is
// stuck in the middle of a batch, with part of the transaction's outputs
// already sent, and lets another member take over. When the first comes
// back as a zombie and tries to finish its transaction, it must fail:
// every input has exactly one output.
func TestKillMidBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	const n = 300
	stagetest.Produce(t, e.k, e.in, inputs(n, "acme", "globex", "initech")...)

	link := testkit.NewLink()
	blocked, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var committedA, committedB atomic.Int64
	regA := prometheus.NewRegistry()
	a := e.runner(t, stage.HandlerFunc(func(_ context.Context, b *stage.Batch) error {
		for _, r := range b.Records {
			r.Emit(&kgo.Record{Topic: e.out, Key: r.Raw.Key, Value: r.Raw.Value})
			if string(r.Raw.Value) == "v-150" {
				once.Do(func() { close(blocked) })
				<-release
			}
		}
		n := int64(len(b.Records))
		b.AfterCommit(func(context.Context) { committedA.Add(n) })
		return nil
	}),
		stage.Registerer(regA),
		stage.MaxPollRecords(40),
		stage.KafkaOpts(kgo.Dialer(link.Dial), kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond)),
	)
	stagetest.Start(t, a)
	select {
	case <-blocked:
	case <-time.After(60 * time.Second):
		t.Fatal("the first member never reached v-150")
	}
	link.Cut()

	b := e.runner(t, counting(e.out, &committedB), stage.KafkaOpts(kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond)))
	stagetest.Start(t, b)
	testkit.CheckFor(t, 90*time.Second, 100*time.Millisecond, func() error {
		if got := committedA.Load() + committedB.Load(); got < n {
			return fmt.Errorf("%d of %d records committed (%d by the cut member)", got, n, committedA.Load())
		}
		return nil
	})

	// The cut member comes back and its stuck handler returns: it holds a
	// transaction from a generation that is gone.
	link.Restore()
	close(release)
	testkit.CheckFor(t, 60*time.Second, 100*time.Millisecond, func() error {
		ended := testkit.Metric(t, regA, "sluice_stage_transactions_total", map[string]string{"result": "failed"}) +
			testkit.Metric(t, regA, "sluice_stage_transactions_total", map[string]string{"result": "aborted"})
		if ended < 1 {
			return errors.New("the zombie's transaction has not ended yet")
		}
		return nil
	})
	if got := committedA.Load() + committedB.Load(); got != n {
		t.Errorf("%d records committed (%d by the cut member), want %d", got, committedA.Load(), n)
	}
	outs := stagetest.WaitRecords(t, e.k, e.out, n, 60*time.Second)
	if err := exactlyOnce(outs, n); err != nil {
		t.Fatal(err)
	}
}

// TestRebalanceUnderLoad adds a member and then stops the first while
// records keep arriving: every input has exactly one output, and the
// committed batches add up to the inputs.
func TestRebalanceUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 6)
	tenants := []string{"acme", "globex", "initech", "umbrella", "hooli", "stark"}

	stop := make(chan struct{})
	produced := make(chan int, 1)
	perr := make(chan error, 1)
	go func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(e.k.Brokers...), kgo.DefaultProduceTopic(e.in))
		if err != nil {
			perr <- err
			produced <- 0
			return
		}
		defer cl.Close()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		i := 0
		for {
			select {
			case <-stop:
				produced <- i
				return
			case <-tick.C:
			}
			recs := make([]*kgo.Record, 10)
			for j := range recs {
				recs[j] = stagetest.Record(tenants[(i+j)%len(tenants)], i+j)
			}
			if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				perr <- err
				produced <- i
				return
			}
			i += len(recs)
		}
	}()

	var committedA, committedB atomic.Int64
	opts := stage.KafkaOpts(kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond))
	stopA := stagetest.Start(t, e.runner(t, counting(e.out, &committedA), stage.MaxPollRecords(50), opts))
	testkit.CheckFor(t, 60*time.Second, 50*time.Millisecond, atLeast(&committedA, 200, "the first member"))
	stagetest.Start(t, e.runner(t, counting(e.out, &committedB), stage.MaxPollRecords(50), opts))
	testkit.CheckFor(t, 60*time.Second, 50*time.Millisecond, atLeast(&committedB, 200, "the second member"))
	stopA()
	after := committedB.Load()
	testkit.CheckFor(t, 60*time.Second, 50*time.Millisecond, atLeast(&committedB, after+300, "the remaining member"))
	close(stop)
	n := <-produced
	select {
	case err := <-perr:
		t.Fatalf("producing: %v", err)
	default:
	}
	testkit.CheckFor(t, 60*time.Second, 50*time.Millisecond, func() error {
		if got := committedA.Load() + committedB.Load(); got < int64(n) {
			return fmt.Errorf("%d of %d records committed", got, n)
		}
		return nil
	})
	if got := committedA.Load() + committedB.Load(); got != int64(n) {
		t.Errorf("%d records committed, want %d: a record was committed twice", got, n)
	}
	outs := stagetest.WaitRecords(t, e.k, e.out, n, 60*time.Second)
	if err := exactlyOnce(outs, n); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records, %d committed by the first member, %d by the second", n, committedA.Load(), committedB.Load())
}

// TestShutdownAbortsTheOpenTransaction stops a runner while its handler is
// busy: Run returns, nothing of the batch is committed, no commit hook
// runs, and a new runner of the group picks every record up.
func TestShutdownAbortsTheOpenTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	const n = 20
	stagetest.Produce(t, e.k, e.in, inputs(n, "acme")...)
	entered := make(chan struct{})
	var once sync.Once
	var commits, aborts atomic.Int64
	r := e.runner(t, stage.HandlerFunc(func(ctx context.Context, b *stage.Batch) error {
		b.AfterCommit(func(context.Context) { commits.Add(1) })
		b.AfterAbort(func(context.Context) { aborts.Add(1) })
		for _, r := range b.Records {
			r.Emit(&kgo.Record{Topic: e.out, Key: r.Raw.Key, Value: r.Raw.Value})
		}
		once.Do(func() { close(entered) })
		<-ctx.Done()
		return ctx.Err()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-entered:
	case <-time.After(60 * time.Second):
		t.Fatal("the handler was never called")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if commits.Load() != 0 || aborts.Load() == 0 {
		t.Errorf("%d commit hooks and %d abort hooks ran; want none and some", commits.Load(), aborts.Load())
	}
	if outs := e.k.Records(t, e.out); len(outs) != 0 {
		t.Fatalf("%d outputs committed by a stopped runner", len(outs))
	}
	stagetest.Start(t, e.runner(t, copyTo(e.out)))
	outs := stagetest.WaitRecords(t, e.k, e.out, n, 60*time.Second)
	if err := exactlyOnce(outs, n); err != nil {
		t.Fatal(err)
	}
}

func TestTracingContinuesTheRecordsTrace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	const parent = "00-" + traceID + "-00f067aa0ba902b7-01"
	in := stagetest.Record("acme", 0)
	kafka.SetHeader(in, kafka.HeaderTraceParent, parent)
	stagetest.Produce(t, e.k, e.in, in)
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	stagetest.Start(t, e.runner(t, copyTo(e.out), stage.Tracing(tp, propagation.TraceContext{})))
	outs := stagetest.WaitRecords(t, e.k, e.out, 1, 60*time.Second)
	got := kafka.Header(outs[0], kafka.HeaderTraceParent)
	if !strings.Contains(got, traceID) {
		t.Fatalf("output traceparent %q is not in trace %s", got, traceID)
	}
	if got == parent {
		t.Errorf("output traceparent is the input's: no span was made for the record")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	h := copyTo("out")
	kc := kafka.Config{Brokers: []string{"127.0.0.1:1"}}
	for _, tc := range []struct {
		name string
		stg  string
		kc   kafka.Config
		h    stage.Handler
		opts []stage.Opt
	}{
		{"no name", "", kc, h, []stage.Opt{stage.Consume("in")}},
		{"no topics", "s", kc, h, nil},
		{"no handler", "s", kc, nil, []stage.Opt{stage.Consume("in")}},
		{"no brokers", "s", kafka.Config{}, h, []stage.Opt{stage.Consume("in")}},
		{"bad namespace", "s", kafka.Config{Brokers: kc.Brokers, Namespace: "stag ing"}, h, []stage.Opt{stage.Consume("in")}},
		{"zero delay", "s", kc, h, []stage.Opt{stage.Consume("in"), stage.RetryDelays(time.Second, 0)}},
		{"zero attempts", "s", kc, h, []stage.Opt{stage.Consume("in"), stage.MaxAttempts(0)}},
		{"zero concurrency", "s", kc, h, []stage.Opt{stage.Consume("in"), stage.Concurrency(0)}},
		{"backoff upside down", "s", kc, h, []stage.Opt{stage.Consume("in"), stage.Backoff(time.Minute, time.Second)}},
		{"own retry topic as input", "s", kc, h, []stage.Opt{stage.Consume("in", kafka.RetryTopic("s", 1))}},
		{"topic twice", "s", kc, h, []stage.Opt{stage.Consume("in", "in")}},
		{"tracing without propagator", "s", kc, h, []stage.Opt{stage.Consume("in"), stage.Tracing(sdktrace.NewTracerProvider(), nil)}},
		{"instance id with a space", "s", kc, h, []stage.Opt{stage.Consume("in"), stage.InstanceID("pod 0")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stage.New(tc.stg, tc.kc, tc.h, tc.opts...)
			if !errors.Is(err, stage.ErrConfig) {
				t.Errorf("New: %v, want ErrConfig", err)
			}
		})
	}
	r, err := stage.New("s", kc, h, stage.Consume("in"), stage.RetryDelays(time.Second, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Topics(), ","); got != "in,sluice.retry.s.1,sluice.retry.s.2" {
		t.Errorf("topics %s", got)
	}
	if r.Group() != "sluice-s" || !strings.HasPrefix(r.TransactionalID(), "sluice-s-") {
		t.Errorf("group %s, transactional id %s", r.Group(), r.TransactionalID())
	}
	other, _ := stage.New("s", kc, h, stage.Consume("in"))
	if other.TransactionalID() == r.TransactionalID() {
		t.Error("two runners got the same transactional id")
	}
	// A stable instance id gives each runner, one per group, a stable
	// transactional id, in the namespace.
	nkc := kafka.Config{Brokers: kc.Brokers, Namespace: "staging"}
	for group, want := range map[string]string{"sluice-transform": "staging.sluice-transform-pod-0", "sluice-deliver-d": "staging.sluice-deliver-d-pod-0"} {
		r, err := stage.New("s", nkc, h, stage.Consume("in"), stage.Group(group), stage.InstanceID("pod-0"))
		if err != nil {
			t.Fatal(err)
		}
		if r.TransactionalID() != want {
			t.Errorf("transactional id %s, want %s", r.TransactionalID(), want)
		}
	}
	if r, _ := stage.New("s", kc, h, stage.Consume("in"), stage.InstanceID("pod-0"), stage.TransactionalID("given")); r.TransactionalID() != "given" {
		t.Errorf("transactional id %s, want the one given", r.TransactionalID())
	}
}
