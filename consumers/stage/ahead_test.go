package stage_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/testkit"
)

// aheadHandler copies records to out and records, for each batch it is
// asked to prepare, whether the batch before had committed yet; the
// handling of a batch starting at block or later waits for the runner to
// stop.
type aheadHandler struct {
	out       string
	block     int64
	committed atomic.Int64 // the end of the committed batches
	mu        sync.Mutex
	prepared  map[int64]int64 // first offset: committed end when prepared
	blocked   chan struct{}
	once      sync.Once
}

func (h *aheadHandler) Prepare(_ context.Context, b *stage.Batch) any {
	h.mu.Lock()
	defer h.mu.Unlock()
	first := b.Records[0].Raw.Offset
	h.prepared[first] = h.committed.Load()
	return first
}

func (h *aheadHandler) Handle(ctx context.Context, b *stage.Batch) error {
	first := b.Records[0].Raw.Offset
	if got, _ := b.Prepared().(int64); got != first {
		panic("a batch was handled without being prepared")
	}
	if first >= h.block {
		h.once.Do(func() { close(h.blocked) })
		<-ctx.Done()
		return ctx.Err()
	}
	for _, r := range b.Records {
		r.Emit(&kgo.Record{Topic: h.out, Key: r.Raw.Key, Value: r.Raw.Value})
	}
	end := b.Records[len(b.Records)-1].Raw.Offset + 1
	b.AfterCommit(func(context.Context) { h.committed.Store(end) })
	return nil
}

// TestPollAheadCommitsOnlyItsOwnOffsets has a Preparer stage take a second
// batch ahead, while the first one's transaction ends, and stops it while
// it handles that second batch. The first transaction must have committed
// the first batch's offsets only: a new runner then copies the second
// batch, and every record is in the output once.
func TestPollAheadCommitsOnlyItsOwnOffsets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	const n, poll = 10, 5
	stagetest.Produce(t, e.k, e.in, inputs(n, "acme")...)
	h := &aheadHandler{out: e.out, block: poll, prepared: map[int64]int64{}, blocked: make(chan struct{})}
	stop := stagetest.Start(t, e.runner(t, h, stage.MaxPollRecords(poll)))
	select {
	case <-h.blocked:
	case <-time.After(time.Minute):
		t.Fatal("the second batch was not handled")
	}
	stop()
	h.mu.Lock()
	if at, ok := h.prepared[poll]; !ok || at != 0 {
		t.Errorf("the second batch was prepared with %d of the first committed (prepared: %v), want before the first committed", at, ok)
	}
	h.mu.Unlock()

	// The commit's offsets show once its markers are written, which may
	// be a little after End returned (on a broker just started, some
	// 200ms): wait for them to show, then they must be the first batch's.
	ctx := testkit.Context(t, 30*time.Second)
	adm := e.k.Admin(t)
	var committed kadm.OffsetResponse
	testkit.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		offsets, err := adm.FetchOffsets(ctx, e.name)
		if err != nil {
			return err
		}
		var ok bool
		if committed, ok = offsets.Lookup(e.in, 0); !ok {
			return fmt.Errorf("no offset committed")
		}
		return nil
	})
	if committed.At != poll {
		t.Fatalf("committed offset %d, want %d: the first transaction committed the records taken ahead", committed.At, poll)
	}
	stagetest.Start(t, e.runner(t, copyTo(e.out)))
	outs := stagetest.WaitRecords(t, e.k, e.out, n, time.Minute)
	if err := exactlyOnce(outs, n); err != nil {
		t.Fatal(err)
	}
}
