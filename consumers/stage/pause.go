package stage

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type topicPartition struct {
	topic     string
	partition int32
}

// pauser pauses partitions until a time: a retry partition until its next
// record is due, a partition whose batch failed until its backoff ends.
// A paused partition is not fetched, so waiting costs nothing, and the
// rest of the stage goes on. It is safe for concurrent use: the poll loop
// pauses, timers resume and rebalance callbacks drop.
type pauser struct {
	clock Clock
	mu    sync.Mutex
	cl    *kgo.Client
	waits map[topicPartition]*wait
}

type wait struct {
	until time.Time
	// notDue says the partition waits for a record not yet due, found
	// past the offset the partition was rewound to; else it backs off.
	notDue bool
	stop   func() bool
}

func newPauser(clock Clock) *pauser {
	return &pauser{clock: clock, waits: map[topicPartition]*wait{}}
}

// bind sets the client whose partitions are paused.
func (p *pauser) bind(cl *kgo.Client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cl = cl
}

// pause stops fetching tp until until, replacing an earlier pause of tp;
// notDue says why (see wait).
func (p *pauser) pause(tp topicPartition, until time.Time, notDue bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cl == nil {
		return
	}
	if w := p.waits[tp]; w != nil {
		w.stop()
	}
	p.cl.PauseFetchPartitions(map[string][]int32{tp.topic: {tp.partition}})
	w := &wait{until: until, notDue: notDue}
	p.waits[tp] = w
	w.stop = p.clock.AfterFunc(until.Sub(p.clock.Now()), func() { p.resume(tp, w) })
}

// resume resumes tp if w is still its pause.
func (p *pauser) resume(tp topicPartition, w *wait) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waits[tp] != w || p.cl == nil {
		return
	}
	delete(p.waits, tp)
	p.cl.ResumeFetchPartitions(map[string][]int32{tp.topic: {tp.partition}})
}

// drop forgets the pauses of the given partitions and resumes them: they
// were revoked, lost or newly assigned, and a pause from an earlier
// ownership must not outlive it.
func (p *pauser) drop(parts map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	resume := map[string][]int32{}
	for t, ps := range parts {
		for _, part := range ps {
			tp := topicPartition{t, part}
			if w := p.waits[tp]; w != nil {
				w.stop()
				delete(p.waits, tp)
				resume[t] = append(resume[t], part)
			}
		}
	}
	if p.cl != nil && len(resume) > 0 {
		p.cl.ResumeFetchPartitions(resume)
	}
}

// resumeNotDue resumes the partitions waiting for a record not yet due.
// After a transaction that did not commit the client goes back to the
// committed offsets, before the due records the poll cut off at the one
// not due: paused, they would wait for it too.
func (p *pauser) resumeNotDue() {
	p.mu.Lock()
	defer p.mu.Unlock()
	resume := map[string][]int32{}
	for tp, w := range p.waits {
		if w.notDue {
			w.stop()
			delete(p.waits, tp)
			resume[tp.topic] = append(resume[tp.topic], tp.partition)
		}
	}
	if p.cl != nil && len(resume) > 0 {
		p.cl.ResumeFetchPartitions(resume)
	}
}

// close stops every timer and unbinds the client.
func (p *pauser) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for tp, w := range p.waits {
		w.stop()
		delete(p.waits, tp)
	}
	p.cl = nil
}
