package deliver

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// markerTimeout bounds one write of done-markers.
const markerTimeout = 5 * time.Second

// markers writes a batch's done-markers as its events are delivered: the
// first marker goes to Redis at once, and the markers that come while a
// write is in flight go together in the next pipeline (a group commit),
// so a busy batch costs a round trip per write, not per event, and an
// idle one waits for nobody. wait returns once every marker added is
// written or failed, before the batch commits.
type markers struct {
	s    *store
	d    *destination
	bs   *batch
	mu   sync.Mutex
	cond *sync.Cond
	// pending are added and not yet taken by a write; writing says a
	// write is in flight.
	pending []string
	writing bool
}

func newMarkers(s *store, d *destination, bs *batch) *markers {
	m := &markers{s: s, d: d, bs: bs}
	m.cond = sync.NewCond(&m.mu)
	return m
}

// add writes the done-marker key, or leaves it to the write in flight.
func (m *markers) add(ctx context.Context, key string) {
	m.mu.Lock()
	m.pending = append(m.pending, key)
	if m.writing {
		m.mu.Unlock()
		return
	}
	m.writing = true
	for len(m.pending) > 0 {
		keys := m.pending
		m.pending = nil
		m.mu.Unlock()
		// The events were delivered: their markers are written even
		// when the stage is stopping.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markerTimeout)
		err := m.s.markDone(wctx, keys...)
		cancel()
		if err != nil {
			m.d.m.markers.WithLabelValues(m.d.cfg.ID).Add(float64(len(keys)))
			m.d.log.Warn("done-markers not written after a 2xx; a crash before the commit would send these events again",
				zap.Int("events", len(keys)), zap.Error(err))
			m.bs.mu.Lock()
			m.bs.unmarked = append(m.bs.unmarked, keys...)
			m.bs.mu.Unlock()
		}
		m.mu.Lock()
	}
	m.writing = false
	m.cond.Broadcast()
	m.mu.Unlock()
}

// wait waits until no marker is pending or being written.
func (m *markers) wait() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.writing || len(m.pending) > 0 {
		m.cond.Wait()
	}
}
