package stage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

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
