package stage

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafka"
)

// Outcome is what became of a record.
type Outcome uint8

// The outcomes of a record. A handler decides between done, skipped and
// failed; the runner turns a failure into retry or dead.
const (
	// OutcomeNone: the handler has not decided yet. A record still
	// undecided when its batch's handler returns nil is done.
	OutcomeNone Outcome = iota
	// OutcomeDone: processed; its outputs (maybe none) are produced.
	OutcomeDone
	// OutcomeSkipped: consumed on purpose with no output, for instance a
	// duplicate event.
	OutcomeSkipped
	// OutcomeFailed: the handler failed it; the runner routes it next.
	OutcomeFailed
	// OutcomeRetry: routed to one of the stage's retry topics.
	OutcomeRetry
	// OutcomeDead: routed to the stage's dead-letter topic.
	OutcomeDead
)

// String returns the outcome's name, as used in metric labels.
func (o Outcome) String() string {
	switch o {
	case OutcomeDone:
		return "done"
	case OutcomeSkipped:
		return "skipped"
	case OutcomeFailed:
		return "failed"
	case OutcomeRetry:
		return "retry"
	case OutcomeDead:
		return "dead"
	}
	return "none"
}

// Source is where a record first entered the stage: its own coordinates
// for a record of an input topic, the original-* headers for a record
// from a retry topic.
type Source struct {
	Topic     string
	Partition int32
	Offset    int64
}

// Record is one consumed record and what the handler decided about it.
// Emit, Fail and Skip are safe for concurrent use; the first decision
// between Fail and Skip wins, and a failed record emits nothing.
type Record struct {
	// Raw is the consumed record. Do not modify it.
	Raw *kgo.Record
	// Tenant is the tenant-id header.
	Tenant string
	// EventID is the event-id header ("" when missing).
	EventID string
	// Attempt is 1 on the first attempt at this record and counts up
	// through the retry topics.
	Attempt int
	// Lane is 0 for a record of an input topic and n for a record of the
	// stage's n-th retry topic.
	Lane int
	// Source is where the record first entered the stage.
	Source Source

	ctx     context.Context
	mu      sync.Mutex
	outcome Outcome
	err     error
	reason  string
	outputs []*kgo.Record
}

func newRecord(ctx context.Context, raw *kgo.Record, lane int) *Record {
	r := &Record{
		Raw:     raw,
		Tenant:  kafka.Header(raw, kafka.HeaderTenantID),
		EventID: kafka.Header(raw, kafka.HeaderEventID),
		Lane:    lane,
		ctx:     ctx,
		Attempt: 1,
		Source:  Source{Topic: raw.Topic, Partition: raw.Partition, Offset: raw.Offset},
	}
	if lane > 0 {
		r.Attempt = kafka.HeaderInt(raw, kafka.HeaderAttempts, 0) + 1
		if t := kafka.Header(raw, kafka.HeaderOriginalTopic); t != "" {
			r.Source = Source{
				Topic:     t,
				Partition: int32(kafka.HeaderInt(raw, kafka.HeaderOriginalPartition, int(raw.Partition))),
				Offset:    int64(kafka.HeaderInt(raw, kafka.HeaderOriginalOffset, int(raw.Offset))),
			}
		}
	}
	return r
}

// Context returns the record's context: the batch's context, carrying the
// record's span when tracing is on.
func (r *Record) Context() context.Context { return r.ctx }

// SetContext replaces the record's context; tracing middleware uses it to
// hand the record's span to the handler.
func (r *Record) SetContext(ctx context.Context) { r.ctx = ctx }

// Emit adds an output to produce, in the stage's transaction, if the record
// does not fail. The output gets the record's tenant-id, event-id and
// traceparent headers when it has none of its own. Emitting an output
// without a topic fails the record permanently.
func (r *Record) Emit(out *kgo.Record) {
	if out.Topic == "" {
		r.Fail(Permanent(ErrNoTopic))
		return
	}
	for _, k := range [...]string{kafka.HeaderTenantID, kafka.HeaderEventID, kafka.HeaderTraceParent} {
		if len(kafka.HeaderBytes(out, k)) == 0 {
			if v := kafka.HeaderBytes(r.Raw, k); len(v) > 0 {
				kafka.SetHeaderBytes(out, k, v) // shared: a consumed record's bytes do not change
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outcome == OutcomeNone {
		r.outcome = OutcomeDone
	}
	if r.outcome == OutcomeDone {
		r.outputs = append(r.outputs, out)
	}
}

// Fail fails the record with err, classified with Retryable, Permanent or
// Poison (an error without a class is retryable). Its outputs are dropped.
// err's message travels in the error-message header: it must not hold
// secrets or payload.
func (r *Record) Fail(err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outcome == OutcomeFailed || r.outcome == OutcomeSkipped || r.outcome >= OutcomeRetry {
		return
	}
	r.outcome, r.err, r.outputs = OutcomeFailed, err, nil
}

// Skip consumes the record with no output, for reason (a short constant
// such as "duplicate", used as a metric label). Its outputs are dropped.
func (r *Record) Skip(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outcome == OutcomeFailed || r.outcome == OutcomeSkipped || r.outcome >= OutcomeRetry {
		return
	}
	r.outcome, r.reason, r.outputs = OutcomeSkipped, reason, nil
}

// Outcome returns what became of the record so far. In AfterCommit and
// AfterAbort hooks it is final: done, skipped, retry or dead.
func (r *Record) Outcome() Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcome
}

// Err returns the error the record failed with, or nil.
func (r *Record) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// SkipReason returns the reason given to Skip.
func (r *Record) SkipReason() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reason
}

// Outputs returns the records emitted so far.
func (r *Record) Outputs() []*kgo.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*kgo.Record(nil), r.outputs...)
}

// reset forgets every decision, for handling the record again.
func (r *Record) reset(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcome, r.err, r.reason, r.outputs, r.ctx = OutcomeNone, nil, "", nil, ctx
}

// settle turns an undecided record into a done one and returns the
// outcome.
func (r *Record) settle() Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outcome == OutcomeNone {
		r.outcome = OutcomeDone
	}
	return r.outcome
}

func (r *Record) setRouted(o Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcome = o
}

// Batch is the records of one partition from one poll, in offset order.
// A handler sees the records of a partition in order, one batch at a time;
// batches of different partitions are handled concurrently. The hooks
// methods are safe for concurrent use.
type Batch struct {
	// Stage is the stage's name.
	Stage string
	// Topic and Partition are where the records come from.
	Topic     string
	Partition int32
	// Lane is 0 for an input topic and n for the stage's n-th retry topic.
	Lane int
	// HighWatermark is the partition's end offset when it was fetched.
	HighWatermark int64
	// Records of the batch, in offset order.
	Records []*Record

	hooks *hooks
	// end is the last offset polled of the partition, a transaction
	// marker after the last record included.
	end int64
	// prepared is what the handler's Prepare returned for the batch.
	prepared any
}

// Prepared returns what the handler's Prepare (see Preparer) returned for
// this batch, nil if the handler is no Preparer.
func (b *Batch) Prepared() any { return b.prepared }

type hooks struct {
	mu     sync.Mutex
	commit []func(context.Context)
	async  []func(context.Context)
	abort  []func(context.Context)
}

// Subset returns a batch of the same partition holding only rs, sharing
// this batch's hooks. Middleware uses it to pass on the records it did
// not settle itself.
func (b *Batch) Subset(rs []*Record) *Batch {
	s := *b
	s.Records = rs
	return &s
}

// AfterCommit registers fn to run once the transaction holding this batch's
// outputs and offsets committed. Hooks run before the next batch is
// handled (a Preparer may have begun on it; see AfterCommitAsync for hooks
// that need not), with a context that outlives shutdown by the shutdown
// timeout. Side effects outside Kafka are recorded here (a done-marker for
// a sent webhook).
func (b *Batch) AfterCommit(fn func(ctx context.Context)) {
	b.hooks.mu.Lock()
	defer b.hooks.mu.Unlock()
	b.hooks.commit = append(b.hooks.commit, fn)
}

// AfterCommitAsync registers fn to run once the transaction holding this
// batch's outputs and offsets committed, as AfterCommit does, but without
// holding up the next transaction: for work that no later batch depends
// on, such as marking what was committed as such in a cache. The runner
// runs a transaction's async hooks while it handles the next one, never
// those of more than one transaction at a time, and waits for them before
// it leaves the group; their context outlives shutdown by the shutdown
// timeout. They do not run if the batch does not commit.
func (b *Batch) AfterCommitAsync(fn func(ctx context.Context)) {
	b.hooks.mu.Lock()
	defer b.hooks.mu.Unlock()
	b.hooks.async = append(b.hooks.async, fn)
}

// AfterAbort registers fn to run when it is certain that nothing of this
// batch was committed: its transaction aborted, or the batch failed as a
// whole and was put back. Its records will be consumed again, here or by
// another member. When the outcome is unknown (ending the transaction
// failed) neither AfterCommit nor AfterAbort hooks run.
func (b *Batch) AfterAbort(fn func(ctx context.Context)) {
	b.hooks.mu.Lock()
	defer b.hooks.mu.Unlock()
	b.hooks.abort = append(b.hooks.abort, fn)
}

// run runs the commit or the abort hooks, and drops the others. The async
// hooks are the runner's to take (takeAsync) once the batch committed.
func (h *hooks) run(ctx context.Context, committed bool) {
	h.mu.Lock()
	fns := h.abort
	if committed {
		fns = h.commit
	}
	h.commit, h.abort = nil, nil
	h.mu.Unlock()
	for _, fn := range fns {
		fn(ctx)
	}
}

// takeAsync returns the async hooks and drops them.
func (h *hooks) takeAsync() []func(context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fns := h.async
	h.async = nil
	return fns
}

// Handler processes batches. For each record it emits outputs, skips it or
// fails it (see Record); a record left undecided is done with no output.
//
// Handle's own error concerns the whole batch. A classified error (from
// Retryable, Permanent or Poison) fails every record still undecided with
// it. An unclassified error means the batch could not be handled now (a
// dependency such as Redis is down): nothing of the batch is committed,
// the partition is rewound to the batch's first record and paused for a
// backoff, and the batch is handled again. A panic fails the record that
// caused it as poison (the runner finds it by handling halves of the
// batch again).
//
// Handle is called concurrently for batches of different partitions. It
// must return soon after ctx ends: the runner waits for every batch of a
// poll before it ends the poll's transaction, and on shutdown it aborts
// that transaction, whatever the handler decided.
type Handler interface {
	Handle(ctx context.Context, b *Batch) error
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, b *Batch) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, b *Batch) error { return f(ctx, b) }

// Preparer is a Handler that starts on a batch before it is handled, so
// that work overlaps the end of the transaction before: the runner polls
// the records already fetched while that transaction is still open, calls
// Prepare with them, and hands them to Handle in the next transaction.
// Prepare is called once for every batch, with the records Handle will be
// given (or a superset, when middleware settles some of them), and returns
// at once; what it returns is the batch's Prepared.
//
// Prepare may run before the commit hooks of the transaction before have
// run, and a prepared batch may never be handled (that transaction
// aborted, the partition was revoked): it must do nothing that a Handle
// of the same records, or none, could not live with. It must not emit.
// The runner recovers panics in Handle only: work a Preparer starts in
// goroutines of its own must recover its panics there, and fail the
// record that caused one with Poison(PanicError(v)).
type Preparer interface {
	Handler
	Prepare(ctx context.Context, b *Batch) any
}

// Middleware wraps a Handler with a cross-cutting concern.
type Middleware func(Handler) Handler

// Chain wraps h with mw, the first of mw outermost.
func Chain(h Handler, mw ...Middleware) Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}
