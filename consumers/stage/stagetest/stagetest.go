// Package stagetest helps test and benchmark stages built on the stage
// runner: input records with sluice's headers, a runner started for the
// length of a test, a meter of committed records, the baseline every
// stage benchmark is compared with (a bare franz-go transactional
// consume→produce loop over the same input), and the rounds of a paired
// benchmark (Pairs).
package stagetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/gctune"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// Record returns input record i of tenant: key tenant, value "v-<i>",
// headers tenant-id and event-id "e-<i>".
func Record(tenant string, i int) *kgo.Record {
	r := &kgo.Record{Key: []byte(tenant), Value: []byte("v-" + strconv.Itoa(i))}
	kafka.SetHeader(r, kafka.HeaderTenantID, tenant)
	kafka.SetHeader(r, kafka.HeaderEventID, "e-"+strconv.Itoa(i))
	return r
}

// Produce writes records to topic and waits for the broker to take them;
// it fails the test if it cannot.
func Produce(t testing.TB, k *testkit.Kafka, topic string, recs ...*kgo.Record) {
	t.Helper()
	cl := k.Client(t, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(5*time.Millisecond))
	ctx := testkit.Context(t, 60*time.Second)
	for _, r := range recs {
		r.Topic = topic
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("stagetest: produce to %s: %v", topic, err)
	}
}

// Config returns the Kafka config of k.
func Config(k *testkit.Kafka) kafka.Config { return kafka.Config{Brokers: k.Brokers} }

// Start runs r until the test ends or the returned stop is called, which
// cancels Run and waits for it to return. Run failing fails the test.
func Start(t testing.TB, r *stage.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("stagetest: %s: Run: %v", r.Name(), err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// WaitRecords waits until topic holds at least n committed records and
// returns them all.
func WaitRecords(t testing.TB, k *testkit.Kafka, topic string, n int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	var recs []*kgo.Record
	testkit.CheckFor(t, timeout, 100*time.Millisecond, func() error {
		recs = k.Records(t, topic)
		if len(recs) < n {
			return fmt.Errorf("%s holds %d records, want %d", topic, len(recs), n)
		}
		return nil
	})
	return recs
}

// Meter is middleware that times a run over a known number of records:
// from the first batch handed to the handler to the commit that brings
// the committed records to the expected count. It is safe for concurrent
// use.
type Meter struct {
	want    int
	mu      sync.Mutex
	first   time.Time
	last    time.Time
	count   int
	batches int
	done    chan struct{}
}

// NewMeter returns a meter expecting want records.
func NewMeter(want int) *Meter { return &Meter{want: want, done: make(chan struct{})} }

// Middleware counts the records of each committed batch.
func (m *Meter) Middleware() stage.Middleware {
	return func(next stage.Handler) stage.Handler {
		return stage.HandlerFunc(func(ctx context.Context, b *stage.Batch) error {
			m.mu.Lock()
			if m.first.IsZero() {
				m.first = time.Now()
			}
			m.mu.Unlock()
			n := len(b.Records)
			b.AfterCommit(func(context.Context) {
				m.mu.Lock()
				defer m.mu.Unlock()
				m.count += n
				m.batches++
				if m.count >= m.want && m.last.IsZero() {
					m.last = time.Now()
					close(m.done)
				}
			})
			return next.Handle(ctx, b)
		})
	}
}

// Wait waits until the expected records are committed or timeout passes,
// and returns the time they took.
func (m *Meter) Wait(timeout time.Duration) (time.Duration, error) {
	select {
	case <-m.done:
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.last.Sub(m.first), nil
	case <-time.After(timeout):
		m.mu.Lock()
		defer m.mu.Unlock()
		return 0, fmt.Errorf("stagetest: %d of %d records committed after %v", m.count, m.want, timeout)
	}
}

// Batches returns how many committed batches the meter counted.
func (m *Meter) Batches() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.batches
}

// Input is a topic filled with records for a benchmark.
type Input struct {
	Topic      string
	Records    int
	Partitions int32
}

// NewInput creates a topic of partitions partitions holding n records of
// about size bytes each, spread over tenants tenants, and returns it.
func NewInput(t testing.TB, k *testkit.Kafka, n, size int, partitions int32, tenants int) Input {
	t.Helper()
	topic := testkit.Name(t, "bench-in")
	k.CreateTopic(t, topic, partitions, nil)
	pad := make([]byte, max(size-16, 0))
	for i := range pad {
		pad[i] = 'x'
	}
	const chunk = 5000
	for start := 0; start < n; start += chunk {
		recs := make([]*kgo.Record, 0, chunk)
		for i := start; i < min(start+chunk, n); i++ {
			r := Record("tenant-"+strconv.Itoa(i%tenants), i)
			r.Value = append(r.Value, pad...)
			recs = append(recs, r)
		}
		Produce(t, k, topic, recs...)
	}
	return Input{Topic: topic, Records: n, Partitions: partitions}
}

// BareTransactLoop consumes in with a kgo.GroupTransactSession in a new
// group and produces every record, unchanged, to out, one transaction per
// poll of up to maxPoll records: the least any transactional stage must
// do. Its client refreshes metadata as often as sluice's own
// (kafka.MetadataMinAge), so neither side of a comparison waits out
// franz-go's 5 s default after a retriable produce error. opts come last.
func BareTransactLoop(t testing.TB, k *testkit.Kafka, in Input, out string, maxPoll int, opts ...kgo.Opt) (BareRun, error) {
	t.Helper()
	group := testkit.Name(t, "bare")
	s, err := kgo.NewGroupTransactSession(append([]kgo.Opt{
		kgo.SeedBrokers(k.Brokers...),
		kgo.MetadataMinAge(kafka.MetadataMinAge),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(in.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.TransactionalID(group),
		kgo.TransactionTimeout(30 * time.Second),
		kgo.FetchMaxWait(500 * time.Millisecond),
	}, opts...)...)
	if err != nil {
		return BareRun{}, err
	}
	defer s.Close()
	ctx := testkit.Context(t, 10*time.Minute)
	var run BareRun
	var first time.Time
	done := 0
	for done < in.Records {
		fs := s.PollRecords(ctx, maxPoll)
		if err := ctx.Err(); err != nil {
			return BareRun{}, err
		}
		if err := fs.Err0(); err != nil && !errors.Is(err, context.Canceled) {
			return BareRun{}, err
		}
		if fs.Empty() {
			continue
		}
		if first.IsZero() {
			first = time.Now()
		}
		if err := s.Begin(); err != nil {
			return BareRun{}, err
		}
		n := 0
		var perr error
		var mu sync.Mutex
		fs.EachRecord(func(r *kgo.Record) {
			n++
			o := &kgo.Record{Topic: out, Key: r.Key, Value: r.Value, Headers: r.Headers}
			s.Produce(ctx, o, func(_ *kgo.Record, err error) {
				if err != nil {
					mu.Lock()
					perr = err
					mu.Unlock()
				}
			})
		})
		began := time.Now()
		if err := s.Client().Flush(ctx); err != nil {
			return BareRun{}, err
		}
		mu.Lock()
		commit := perr == nil
		mu.Unlock()
		committed, err := s.End(ctx, kgo.TransactionEndTry(commit))
		if err != nil {
			return BareRun{}, err
		}
		run.Commit += time.Since(began)
		run.Transactions++
		if committed {
			done += n
		}
	}
	run.Took = time.Since(first)
	return run, nil
}

// BareRun is what one BareTransactLoop measured.
type BareRun struct {
	// Took is the time from the first poll that returned records to the
	// commit of the last one.
	Took time.Duration
	// Commit is the time spent flushing and ending transactions (as
	// sluice_stage_commit_seconds measures a stage's), over Transactions
	// transactions.
	Commit       time.Duration
	Transactions int
}

// DeployedGC runs the rest of the benchmark with the garbage collector
// set up as the sluice binary sets it (gctune.Apply: GOGC=400 unless GOGC
// is set, the container's memory limit), for the stage and its baseline
// alike, and puts the test process's settings back when b ends. It
// returns the GOGC in effect; `GOGC=100 make bench` measures with Go's
// default.
func DeployedGC(b testing.TB) int {
	b.Helper()
	b.Cleanup(gctune.Saved())
	s, err := gctune.Apply()
	if err != nil {
		b.Logf("stagetest: %v", err)
	}
	return s.GCPercent
}
