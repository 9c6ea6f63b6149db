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
	// to share its write, unless markerBatch are pending first.
	markerLinger = time.Millisecond
	markerBatch  = 64
)

// markers writes a batch's done-markers as its events are delivered, in
// pipelines: a marker waits at most markerLinger for others to share its
// write (a group commit), so a busy batch costs a round trip per write,
// not per event. wait writes what is pending at once and returns once
// every marker added is written or failed, before the batch commits.
type markers struct {
	s    *store
	d    *destination
	bs   *batch
	ctx  context.Context
	kick chan struct{}
	mu   sync.Mutex
	cond *sync.Cond
	// pending are added and not yet taken by a write; writing says a
	// writer is lingering or writing.
	pending []string
	writing bool
}

func newMarkers(ctx context.Context, s *store, d *destination, bs *batch) *markers {
	// The events were delivered: their markers are written even when the
	// stage is stopping.
	m := &markers{s: s, d: d, bs: bs, ctx: context.WithoutCancel(ctx), kick: make(chan struct{}, 1)}
	m.cond = sync.NewCond(&m.mu)
	return m
}

// add has the done-marker key written soon.
func (m *markers) add(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = append(m.pending, key)
	switch {
	case !m.writing:
		m.writing = true
		go m.write()
	case len(m.pending) >= markerBatch:
		m.nudge()
	}
}

func (m *markers) nudge() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// write lingers, then writes what is pending until nothing is.
func (m *markers) write() {
	t := time.NewTimer(markerLinger)
	select {
	case <-t.C:
	case <-m.kick:
		t.Stop()
	}
	m.mu.Lock()
	for len(m.pending) > 0 {
		keys := m.pending
		m.pending = nil
		m.mu.Unlock()
		ctx, cancel := context.WithTimeout(m.ctx, markerTimeout)
		err := m.s.markDone(ctx, keys...)
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

// wait writes what is pending at once and waits until every marker is
// written or failed.
func (m *markers) wait() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.writing {
		m.nudge()
	}
	for m.writing || len(m.pending) > 0 {
		m.cond.Wait()
	}
}
