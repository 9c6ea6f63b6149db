package deliver

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

const (
	// markerTimeout bounds one write of done-markers.
	markerTimeout = 5 * time.Second
	// markerLinger is how long the first pending marker waits for others
	// to share its write, unless markerBatch are pending first (see the
	// package doc for the trade-off).
	markerLinger = 5 * time.Millisecond
	markerBatch  = 256
)

// markWriter writes the done-markers of one destination as its events are
// delivered, in pipelines shared by every batch of the destination (the
// partitions handled at once, both lanes): a group commit. A marker waits
// at most markerLinger for others to share its write; while a write is
// out, the markers that come meanwhile gather for the next. So a busy
// destination costs a round trip per write, not per event, and the
// concurrent batches do not each pay their own.
type markWriter struct {
	s    *store
	d    *destination
	kick chan struct{}
	mu   sync.Mutex
	cond *sync.Cond
	// pending are added and not yet taken by a write; writing says a
	// writer is lingering or writing.
	pending []mark
	writing bool
}

// mark is one done-marker to write, for the batch that added it.
type mark struct {
	key string
	b   *markers
}

func newMarkWriter(s *store, d *destination) *markWriter {
	w := &markWriter{s: s, d: d, kick: make(chan struct{}, 1)}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// markers is one batch's share of its destination's markWriter: add has
// a marker written soon, wait returns once every marker the batch added
// is written or failed (before the batch commits). A marker that failed
// is kept in the batch's unmarked, to be tried again if the batch
// aborts.
type markers struct {
	w  *markWriter
	bs *batch
	// added and settled count the batch's markers added and written or
	// failed; guarded by w.mu.
	added, settled int
}

// batch returns the markers of one batch, bs.
func (w *markWriter) batch(bs *batch) *markers { return &markers{w: w, bs: bs} }

// add has the done-marker key written soon.
func (b *markers) add(key string) {
	w := b.w
	w.mu.Lock()
	defer w.mu.Unlock()
	b.added++
	w.pending = append(w.pending, mark{key: key, b: b})
	switch {
	case !w.writing:
		w.writing = true
		go w.write()
	case len(w.pending) >= markerBatch:
		w.nudge()
	}
}

// wait has what is pending written at once and waits until every marker
// the batch added is written or failed.
func (b *markers) wait() {
	w := b.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if b.settled < b.added {
		w.nudge()
	}
	for b.settled < b.added {
		w.cond.Wait()
	}
}

func (w *markWriter) nudge() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// write lingers, then writes what is pending until nothing is. The
// events were delivered: their markers are written even when the stage
// is stopping.
func (w *markWriter) write() {
	t := time.NewTimer(markerLinger)
	select {
	case <-t.C:
	case <-w.kick:
		t.Stop()
	}
	w.mu.Lock()
	for len(w.pending) > 0 {
		marks := w.pending
		w.pending = nil
		w.mu.Unlock()
		keys := make([]string, len(marks))
		for i, m := range marks {
			keys[i] = m.key
		}
		ctx, cancel := context.WithTimeout(context.Background(), markerTimeout)
		err := w.s.markDone(ctx, keys...)
		cancel()
		if err != nil {
			w.d.m.markers.WithLabelValues(w.d.cfg.ID).Add(float64(len(keys)))
			w.d.log.Warn("done-markers not written after a 2xx; a crash before the commit would send these events again",
				zap.Int("events", len(keys)), zap.Error(err))
			for _, m := range marks {
				m.b.bs.mu.Lock()
				m.b.bs.unmarked = append(m.b.bs.unmarked, m.key)
				m.b.bs.mu.Unlock()
			}
		}
		w.mu.Lock()
		for _, m := range marks {
			m.b.settled++
		}
		w.cond.Broadcast()
	}
	w.writing = false
	w.mu.Unlock()
}
