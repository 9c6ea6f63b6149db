package stage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/kafka"
)

func TestClassOf(t *testing.T) {
	base := errors.New("boom")
	for _, tc := range []struct {
		name string
		err  error
		want Class
	}{
		{"unclassified", base, ClassRetryable},
		{"retryable", Retryable(base), ClassRetryable},
		{"permanent", Permanent(base), ClassPermanent},
		{"poison", Poison(base), ClassPoison},
		{"wrapped permanent", fmt.Errorf("mapping: %w", Permanent(base)), ClassPermanent},
		{"outermost class wins", Poison(Retryable(base)), ClassPoison},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClassOf(tc.err); got != tc.want {
				t.Errorf("ClassOf(%v) = %s, want %s", tc.err, got, tc.want)
			}
			if !errors.Is(tc.err, base) {
				t.Errorf("%v does not wrap its cause", tc.err)
			}
		})
	}
	if Retryable(nil) != nil || Permanent(nil) != nil || Poison(nil) != nil {
		t.Error("classifying nil must give nil")
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		n    int
	}{
		{"short", "abc", 10},
		{"exact", "abcdefghij", 10},
		{"long ascii", strings.Repeat("a", 100), 20},
		{"cut inside a rune", strings.Repeat("é", 50), 21},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := truncate(tc.in, tc.n)
			if len(got) > tc.n {
				t.Errorf("len %d > %d", len(got), tc.n)
			}
			if !utf8.ValidString(got) {
				t.Errorf("%q is not valid UTF-8", got)
			}
			if len(tc.in) <= tc.n && got != tc.in {
				t.Errorf("a short message changed: %q", got)
			}
			if len(tc.in) > tc.n && !strings.HasSuffix(got, "…") {
				t.Errorf("a cut message is not marked: %q", got)
			}
		})
	}
}

func TestRoute(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	rt := router{stage: "transform", delays: []time.Duration{time.Minute, time.Hour}, maxAttempts: 3, msgSize: 64}
	input := func() *kgo.Record {
		r := &kgo.Record{Topic: "sluice.in.crm", Partition: 2, Offset: 41, Key: []byte("acme"), Value: []byte{0, 1, 2, 255}}
		kafka.SetHeader(r, kafka.HeaderTenantID, "acme")
		kafka.SetHeader(r, kafka.HeaderEventID, "e-1")
		return r
	}
	retried := func(attempts int) *kgo.Record {
		r := input()
		r.Topic, r.Partition, r.Offset = kafka.RetryTopic("transform", 1), 0, 7
		kafka.SetHeader(r, kafka.HeaderOriginalTopic, "sluice.in.crm")
		kafka.SetHeader(r, kafka.HeaderOriginalPartition, "2")
		kafka.SetHeader(r, kafka.HeaderOriginalOffset, "41")
		kafka.SetHeader(r, kafka.HeaderAttempts, fmt.Sprint(attempts))
		kafka.SetHeader(r, kafka.HeaderRetryAt, now.Format(time.RFC3339Nano))
		return r
	}
	for _, tc := range []struct {
		name       string
		raw        *kgo.Record
		lane       int
		err        error
		topic      string
		outcome    Outcome
		class      string
		attempts   string
		retryAt    string
		messageHas string
	}{
		{"first failure to lane 1", input(), 0, errors.New("timeout"), "sluice.retry.transform.1", OutcomeRetry, "retryable", "1", now.Add(time.Minute).Format(time.RFC3339Nano), "timeout"},
		{"second failure to lane 2", retried(1), 1, Retryable(errors.New("503")), "sluice.retry.transform.2", OutcomeRetry, "retryable", "2", now.Add(time.Hour).Format(time.RFC3339Nano), "503"},
		{"attempts exhausted", retried(2), 2, errors.New("503"), "sluice.dlq.transform", OutcomeDead, "retryable", "3", "", "503"},
		{"permanent at once", input(), 0, Permanent(errors.New("no mapping")), "sluice.dlq.transform", OutcomeDead, "permanent", "1", "", "no mapping"},
		{"poison at once from a retry", retried(1), 1, Poison(errors.New("bad bytes")), "sluice.dlq.transform", OutcomeDead, "poison", "2", "", "bad bytes"},
		{"long message cut", input(), 0, Permanent(errors.New(strings.Repeat("x", 500))), "sluice.dlq.transform", OutcomeDead, "permanent", "1", "", "xxx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecord(context.Background(), tc.raw, tc.lane)
			out, o := rt.route(r, tc.err, now)
			if out.Topic != tc.topic || o != tc.outcome {
				t.Fatalf("routed to %s as %s, want %s as %s", out.Topic, o, tc.topic, tc.outcome)
			}
			if string(out.Key) != "acme" || string(out.Value) != string([]byte{0, 1, 2, 255}) {
				t.Errorf("key/value changed: %q %q", out.Key, out.Value)
			}
			want := map[string]string{
				kafka.HeaderTenantID:          "acme",
				kafka.HeaderEventID:           "e-1",
				kafka.HeaderErrorStage:        "transform",
				kafka.HeaderErrorClass:        tc.class,
				kafka.HeaderOriginalTopic:     "sluice.in.crm",
				kafka.HeaderOriginalPartition: "2",
				kafka.HeaderOriginalOffset:    "41",
				kafka.HeaderAttempts:          tc.attempts,
				kafka.HeaderRetryAt:           tc.retryAt,
			}
			for k, v := range want {
				if got := kafka.Header(out, k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			msg := kafka.Header(out, kafka.HeaderErrorMessage)
			if !strings.Contains(msg, tc.messageHas) || len(msg) > 64 {
				t.Errorf("error-message %q (len %d)", msg, len(msg))
			}
			seen := map[string]bool{}
			for _, h := range out.Headers {
				if seen[h.Key] {
					t.Errorf("header %s twice", h.Key)
				}
				seen[h.Key] = true
			}
		})
	}
}

func TestRecordDecisions(t *testing.T) {
	raw := &kgo.Record{Topic: "in", Value: []byte("v")}
	kafka.SetHeader(raw, kafka.HeaderTenantID, "acme")
	out := func() *kgo.Record { return &kgo.Record{Topic: "out"} }
	for _, tc := range []struct {
		name    string
		do      func(r *Record)
		outcome Outcome
		outputs int
	}{
		{"undecided is done", func(r *Record) {}, OutcomeDone, 0},
		{"emit twice", func(r *Record) { r.Emit(out()); r.Emit(out()) }, OutcomeDone, 2},
		{"fail drops outputs", func(r *Record) { r.Emit(out()); r.Fail(errors.New("x")) }, OutcomeFailed, 0},
		{"emit after fail is ignored", func(r *Record) { r.Fail(errors.New("x")); r.Emit(out()) }, OutcomeFailed, 0},
		{"skip drops outputs", func(r *Record) { r.Emit(out()); r.Skip("filtered") }, OutcomeSkipped, 0},
		{"first decision wins", func(r *Record) { r.Skip("dup"); r.Fail(errors.New("x")) }, OutcomeSkipped, 0},
		{"output without topic fails", func(r *Record) { r.Emit(&kgo.Record{}) }, OutcomeFailed, 0},
		{"nil error is no failure", func(r *Record) { r.Fail(nil) }, OutcomeDone, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecord(context.Background(), raw, 0)
			tc.do(r)
			if got := r.settle(); got != tc.outcome {
				t.Errorf("outcome %s, want %s", got, tc.outcome)
			}
			if got := len(r.Outputs()); got != tc.outputs {
				t.Errorf("%d outputs, want %d", got, tc.outputs)
			}
			for _, o := range r.Outputs() {
				if kafka.Header(o, kafka.HeaderTenantID) != "acme" {
					t.Errorf("output lacks the tenant-id: %v", o.Headers)
				}
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	rn := &Runner{cfg: config{backoffMin: 100 * time.Millisecond, backoffMax: time.Second}}
	for fails, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 50: time.Second} {
		if got := rn.backoff(fails); got != want {
			t.Errorf("backoff(%d) = %v, want %v", fails, got, want)
		}
	}
}

func TestChainOrder(t *testing.T) {
	var trail []string
	mw := func(name string) Middleware {
		return func(next Handler) Handler {
			return HandlerFunc(func(ctx context.Context, b *Batch) error {
				trail = append(trail, name)
				return next.Handle(ctx, b)
			})
		}
	}
	h := Chain(HandlerFunc(func(context.Context, *Batch) error { trail = append(trail, "handler"); return nil }), mw("a"), mw("b"))
	if err := h.Handle(context.Background(), &Batch{hooks: &hooks{}}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(trail, ","); got != "a,b,handler" {
		t.Errorf("order %s", got)
	}
}

// TestPanicBisection checks that a panic poisons exactly the records that
// cause it, that the others keep their outputs, and that hooks registered
// by an attempt that panicked are forgotten, its abort hooks run at once
// (nothing it decided commits).
func TestPanicBisection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		poison map[int]bool
	}{
		{"one record", 1, map[int]bool{0: true}},
		{"first of many", 9, map[int]bool{0: true}},
		{"last of many", 9, map[int]bool{8: true}},
		{"two apart", 16, map[int]bool{3: true, 11: true}},
		{"all", 4, map[int]bool{0: true, 1: true, 2: true, 3: true}},
		{"none", 5, map[int]bool{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newMetrics(nil)
			rn := &Runner{name: "s", log: zapNop(), metrics: m}
			b := &Batch{Stage: "s", hooks: &hooks{}}
			for i := range tc.n {
				raw := &kgo.Record{Topic: "in", Offset: int64(i), Value: []byte(fmt.Sprint(i))}
				b.Records = append(b.Records, newRecord(context.Background(), raw, 0))
			}
			aborted := map[int64]int{} // by offset: abort hooks run
			h := HandlerFunc(func(_ context.Context, b *Batch) error {
				for _, r := range b.Records {
					b.AfterCommit(func(context.Context) {})
					b.AfterCommitAsync(func(context.Context) {})
					b.AfterAbort(func(context.Context) { aborted[r.Raw.Offset]++ })
					r.Emit(&kgo.Record{Topic: "out", Value: r.Raw.Value})
				}
				for _, r := range b.Records {
					if tc.poison[int(r.Raw.Offset)] {
						var a []int
						_ = a[len(r.Raw.Value)+5] // index out of range
					}
				}
				return nil
			})
			if err := rn.handle(context.Background(), h, b); err != nil {
				t.Fatal(err)
			}
			for i, r := range b.Records {
				o := r.settle()
				if tc.poison[i] {
					if o != OutcomeFailed || ClassOf(r.Err()) != ClassPoison || !errors.Is(r.Err(), ErrPanic) {
						t.Errorf("record %d: %s %v, want poison", i, o, r.Err())
					}
					if !strings.Contains(r.Err().Error(), "index out of range") {
						t.Errorf("record %d: message %q does not name the runtime error", i, r.Err())
					}
				} else if o != OutcomeDone || len(r.Outputs()) != 1 {
					t.Errorf("record %d: %s with %d outputs, want done with 1", i, o, len(r.Outputs()))
				}
			}
			good := tc.n - len(tc.poison)
			if got := len(b.hooks.commit); got != good {
				t.Errorf("%d commit hooks kept, want %d (one per record handled without a panic)", got, good)
			}
			if got := len(b.hooks.async); got != good {
				t.Errorf("%d async commit hooks kept, want %d (one per record handled without a panic)", got, good)
			}
			if got := len(b.hooks.abort); got != good {
				t.Errorf("%d abort hooks kept, want %d (one per record handled without a panic)", got, good)
			}
			for i := range tc.poison {
				if aborted[int64(i)] == 0 {
					t.Errorf("record %d: the abort hooks of the attempts that panicked did not run", i)
				}
			}
		})
	}
}

// TestPanicThenBatchErrorKeepsTheHooks checks that when a half of a batch
// that panicked fails as a whole, the hooks it registered stay the
// batch's, so that its abort hooks run when the batch is put back.
func TestPanicThenBatchErrorKeepsTheHooks(t *testing.T) {
	m, _ := newMetrics(nil)
	rn := &Runner{name: "s", log: zapNop(), metrics: m}
	b := &Batch{Stage: "s", hooks: &hooks{}}
	for i := range 4 {
		raw := &kgo.Record{Topic: "in", Offset: int64(i), Value: []byte(fmt.Sprint(i))}
		b.Records = append(b.Records, newRecord(context.Background(), raw, 0))
	}
	h := HandlerFunc(func(_ context.Context, b *Batch) error {
		for range b.Records {
			b.AfterAbort(func(context.Context) {})
		}
		switch {
		case b.Records[0].Raw.Offset == 0:
			panic("record 0") // the batch, then its first half, then record 0
		case len(b.Records) == 2:
			return errors.New("redis: connection refused") // the second half
		}
		return nil
	})
	if err := rn.handle(context.Background(), h, b); err == nil {
		t.Fatal("the second half's error was lost")
	}
	// Record 1's attempt, and the second half's two: the panicked
	// attempts' were run and dropped.
	if got := len(b.hooks.abort); got != 3 {
		t.Errorf("%d abort hooks kept, want 3", got)
	}
}

func TestDescribePanicHidesValues(t *testing.T) {
	if got := describePanic("secret-token-123"); strings.Contains(got, "secret") {
		t.Errorf("panic description leaks the value: %q", got)
	}
	if got := describePanic(errors.New("card 4111")); strings.Contains(got, "4111") {
		t.Errorf("panic description leaks the error: %q", got)
	}
}

func zapNop() *zap.Logger { return zap.NewNop() }

func TestTolerantRegisterer(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr := tolerant{reg}
	c1 := prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})
	c2 := prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})
	tr.MustRegister(c1)
	tr.MustRegister(c2) // must not panic
	bad := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_total", Help: "other help"})
	if err := tr.Register(bad); err == nil {
		t.Error("an inconsistent collector was accepted")
	}
}

func TestMetricsSharedByStages(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newMetrics(reg)
	if err != nil {
		t.Fatalf("a second stage on the same registry: %v", err)
	}
	a.batches.WithLabelValues("a").Inc()
	b.batches.WithLabelValues("b").Inc()
	if a.batches != b.batches {
		t.Error("the second stage did not reuse the registered collector")
	}
}

func TestCommitOnly(t *testing.T) {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	for _, topic := range []string{"in", "retry"} {
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic = topic
		for p := range int32(3) {
			rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch = p, 100+int64(p), 7
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	// What was uncommitted before polling ahead: partition 1 of "in" had
	// not been polled, nor had "retry".
	commitOnly(req, map[string]map[int32]kgo.EpochOffset{
		"in":    {0: {Epoch: 5, Offset: 40}, 2: {Epoch: 6, Offset: 60}},
		"other": {0: {Epoch: 1, Offset: 1}},
	})
	var got []string
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			got = append(got, fmt.Sprintf("%s/%d@%d(%d)", rt.Topic, rp.Partition, rp.Offset, rp.LeaderEpoch))
		}
	}
	if want := "in/0@40(5) in/2@60(6)"; strings.Join(got, " ") != want {
		t.Errorf("commits %v, want %s", got, want)
	}
}
