package deliver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/connectors/webhook"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
)

// Skip reasons.
const (
	// SkipNotSubscribed: the destination does not take the event's tenant
	// or event type.
	SkipNotSubscribed = "not_subscribed"
	// SkipDelivered: a done-marker says the event was delivered already.
	SkipDelivered = "delivered"
	// SkipDuplicate: the same event came twice in one batch; the first
	// copy carries it.
	SkipDuplicate = "duplicate"
)

// fate is what became of one event in the handler.
type fate uint8

const (
	fateDelivered fate = iota + 1
	fateWaiting        // in a retry topic, due at the returned time
	fateDead           // dead-lettered
	fateUnknown        // not decided: the stage is stopping
)

// handler delivers one lane of one destination.
type handler struct {
	s    *Stage
	d    *destination
	lane string
}

// batch is what one Handle call keeps.
type batch struct {
	rec *recorder
	mu  sync.Mutex
	// unmarked are the done-markers that could not be written after a
	// 2xx; written again if the batch aborts.
	unmarked []string
	// destUntil holds back the rest of the batch once the destination's
	// own limit said wait, without asking Redis again for each event.
	destUntil time.Time
	// deferUntil holds back the rest of a tenant's events once one of
	// them was rate limited.
	deferUntil map[string]time.Time
	// err fails the batch as a whole (Redis unreachable).
	err error
	// deadline is when the batch stops starting requests.
	deadline time.Time
	markers  *markers
	// slot is the stage's context ended at deadline too: the wait for a
	// request slot, shared with the destination's other batches, ends
	// with the batch's budget, as a slot got later would start a request
	// the transaction may not outlive.
	slot context.Context
	// send is the context of the batch's requests and of what records
	// their outcome: it outlives the stage's by stopGrace, so that a stop
	// lets the requests in flight be answered and settled (a 2xx's
	// done-marker written) rather than cut off, and sent again by the
	// next instance. No request starts once the stage's context ended.
	send context.Context
}

// stopGrace is how long the requests in flight when the stage stops have
// to be answered.
const stopGrace = 5 * time.Second

func (bs *batch) fail(err error) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.err == nil {
		bs.err = err
	}
}

// Handle delivers the batch's events.
func (h *handler) Handle(ctx context.Context, b *stage.Batch) error {
	recs := make([]*stage.Record, 0, len(b.Records))
	for _, r := range b.Records {
		if r.EventID == "" {
			r.Fail(stage.Poison(ErrNoEventID))
			continue
		}
		if !h.d.subscribed(r.Tenant, kafka.Header(r.Raw, kafka.HeaderEventType)) {
			h.s.metrics.skipped.WithLabelValues(h.d.cfg.ID, SkipNotSubscribed).Inc()
			r.Skip(SkipNotSubscribed)
			continue
		}
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		return nil
	}
	if h.d.client == nil {
		h.produce(b, recs)
		return nil
	}
	return h.deliver(ctx, b, recs)
}

// produce copies the events to a kafka destination's topic, in the
// runner's transaction, with their attempt records.
func (h *handler) produce(b *stage.Batch, recs []*stage.Record) {
	now := time.Now()
	for _, r := range recs {
		out := &kgo.Record{Topic: h.d.cfg.Topic, Key: r.Raw.Key, Value: r.Raw.Value}
		out.Headers = append([]kgo.RecordHeader(nil), r.Raw.Headers...)
		r.Emit(out)
		a := h.attempt(r, now)
		a.Result = ResultProduced
		r.Emit(a.record(h.s.opts.attemptsTopic, r))
	}
	b.AfterCommit(func(context.Context) {
		for _, r := range recs {
			if r.Outcome() == stage.OutcomeDone {
				h.s.metrics.attempts.WithLabelValues(h.d.cfg.ID, r.Tenant, ResultProduced).Inc()
			}
		}
	})
}

// deliver sends the events to a webhook destination.
func (h *handler) deliver(ctx context.Context, b *stage.Batch, recs []*stage.Record) error {
	tenants := make([]string, len(recs))
	ids := make([]string, len(recs))
	for i, r := range recs {
		tenants[i], ids[i] = r.Tenant, r.EventID
	}
	dis, done, err := h.s.store.check(ctx, h.d.cfg.ID, true, tenants, ids)
	if err != nil {
		return err
	}
	h.d.setDisabled(dis)
	bs := &batch{
		rec:        newRecorder(ctx, h.s.attempts, h.s.opts.attemptsTopic),
		deferUntil: map[string]time.Time{},
		deadline:   time.Now().Add(h.s.opts.batchBudget),
	}
	bs.markers = h.d.marks.batch(bs)
	send, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(stopGrace, cancelSend) })()
	bs.send = send
	slot, cancelSlot := context.WithDeadline(ctx, bs.deadline)
	defer cancelSlot()
	bs.slot = slot
	todo := recs[:0:0]
	seen := make(map[[2]string]struct{}, len(recs))
	for i, r := range recs {
		if _, dup := seen[[2]string{r.Tenant, r.EventID}]; dup {
			// A second copy of an event in the batch: the first carries it.
			h.s.metrics.skipped.WithLabelValues(h.d.cfg.ID, SkipDuplicate).Inc()
			r.Skip(SkipDuplicate)
			continue
		}
		seen[[2]string{r.Tenant, r.EventID}] = struct{}{}
		if done[i] {
			h.s.metrics.skipped.WithLabelValues(h.d.cfg.ID, SkipDelivered).Inc()
			r.Skip(SkipDelivered)
			if h.d.cfg.Ordered {
				// It may still head its key's queue if the process died
				// between the marker and the release.
				if err := h.s.store.release(ctx, h.orderKeys(r), r.EventID); err != nil {
					return err
				}
			}
			continue
		}
		todo = append(todo, r)
	}
	b.AfterAbort(func(ctx context.Context) {
		bs.mu.Lock()
		keys := bs.unmarked
		bs.mu.Unlock()
		if len(keys) == 0 {
			return
		}
		if err := h.s.store.markDone(ctx, keys...); err != nil {
			h.d.log.Error("done-markers still not written; these events will be sent again", zap.Int("events", len(keys)), zap.Error(err))
		}
	})
	if h.d.cfg.Ordered {
		h.deliverOrdered(ctx, bs, todo)
	} else {
		h.deliverAll(ctx, bs, todo)
	}
	bs.markers.wait()
	werr := bs.rec.wait()
	if bs.err != nil {
		return bs.err
	}
	if werr != nil && ctx.Err() == nil {
		return werr
	}
	return nil
}

// deliverAll sends the events concurrently, up to the destination's
// concurrency.
func (h *handler) deliverAll(ctx context.Context, bs *batch, recs []*stage.Record) {
	workers := min(len(recs), cap(h.d.sem))
	if h.lane == config.LaneBatch {
		workers = min(workers, cap(h.d.batchSem))
	}
	next := make(chan *stage.Record)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				h.one(ctx, bs, r)
			}
		}()
	}
	for _, r := range recs {
		next <- r
	}
	close(next)
	wg.Wait()
}

// deliverOrdered sends the events of each key one after the other, in
// order, and the keys concurrently. An event whose key has an earlier
// event waiting in a retry topic waits behind it.
func (h *handler) deliverOrdered(ctx context.Context, bs *batch, recs []*stage.Record) {
	var order []string
	groups := map[string][]*stage.Record{}
	for _, r := range recs {
		k := r.Tenant + "\x00" + string(r.Raw.Key)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	sem := make(chan struct{}, cap(h.d.sem))
	var wg sync.WaitGroup
	for _, k := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(group []*stage.Record) {
			defer func() { <-sem; wg.Done() }()
			h.key(ctx, bs, group)
		}(groups[k])
	}
	wg.Wait()
}

// key delivers the events of one ordered key in order.
func (h *handler) key(ctx context.Context, bs *batch, group []*stage.Record) {
	ttl := h.d.cfg.Retry.MaxAge + h.d.cfg.Retry.MaxBackoff + h.s.opts.orderStale
	for _, r := range group {
		keys := h.orderKeys(r)
		admitted, wait, err := h.s.store.admit(ctx, keys, r.EventID, time.Now(), h.s.opts.orderStale, ttl, h.d.lanes)
		if err != nil {
			bs.fail(err)
			return
		}
		if !admitted {
			// admit queued it behind the key's head; dead-lettered now
			// (too old to wait), it must not become a head that never
			// comes back.
			if f, _ := h.hold(r, fmt.Errorf("%w", ErrHeldBack), wait, "ordered"); f == fateDead {
				if err := h.s.store.release(ctx, keys, r.EventID); err != nil {
					bs.fail(err)
					return
				}
			}
			continue
		}
		switch f, due := h.one(ctx, bs, r); f {
		case fateDelivered, fateDead:
			if err := h.s.store.release(bs.send, keys, r.EventID); err != nil {
				bs.fail(err)
				return
			}
		case fateWaiting:
			if err := h.s.store.block(bs.send, keys, r.EventID, due, ttl); err != nil {
				bs.fail(err)
				return
			}
		case fateUnknown:
			return
		}
	}
}

func (h *handler) orderKeys(r *stage.Record) []string {
	return h.s.store.orderKeys(h.d.cfg.ID, r.Tenant, r.Raw.Key)
}

// one makes one attempt at one event, or holds it back.
func (h *handler) one(ctx context.Context, bs *batch, r *stage.Record) (fate, time.Time) {
	d := h.d
	if dis := d.disabled.Load(); dis != nil {
		r.Fail(stage.Permanent(fmt.Errorf("%w: %s since %s", ErrDisabled, dis.Reason, dis.At.UTC().Format(time.RFC3339))))
		return fateDead, time.Time{}
	}
	if time.Now().After(bs.deadline) {
		return h.hold(r, fmt.Errorf("%w: the batch ran out of time (a slow destination)", ErrBudget), 0, "batch_budget")
	}
	bs.mu.Lock()
	until, held := bs.deferUntil[r.Tenant]
	destUntil := bs.destUntil
	bs.mu.Unlock()
	if held {
		return h.hold(r, fmt.Errorf("%w: an earlier event of the tenant was", ErrRateLimited), time.Until(until), "rate_limit_tenant")
	}
	if wait := time.Until(destUntil); wait > 0 {
		return h.hold(r, fmt.Errorf("%w: an earlier event was, by the destination limit", ErrRateLimited), wait, "rate_limit_destination")
	}
	done, err := d.breaker.Allow()
	if err != nil {
		wait := d.lanes[0]
		if errors.Is(err, gobreaker.ErrOpenState) {
			wait = d.openRemaining(time.Now())
		}
		return h.hold(r, fmt.Errorf("%w: the destination failed too often", ErrCircuitOpen), wait, "circuit_open")
	}
	if wait, scope, err := h.limit(ctx, r); err != nil {
		done(errNotSent)
		if ctx.Err() != nil {
			return fateUnknown, time.Time{}
		}
		bs.fail(err)
		return fateUnknown, time.Time{}
	} else if wait > 0 {
		done(errNotSent)
		bs.mu.Lock()
		if scope == "tenant" {
			bs.deferUntil[r.Tenant] = time.Now().Add(wait)
		} else {
			bs.destUntil = time.Now().Add(wait)
		}
		bs.mu.Unlock()
		return h.hold(r, fmt.Errorf("%w: %s limit", ErrRateLimited, scope), wait, "rate_limit_"+scope)
	}
	release, err := d.acquire(bs.slot, h.lane == config.LaneBatch)
	if err == nil && ctx.Err() != nil {
		release() // stopping: a free slot starts no request
		err = ctx.Err()
	}
	if err != nil {
		done(errNotSent)
		if ctx.Err() == nil {
			return h.hold(r, fmt.Errorf("%w: the batch ran out of time waiting for a request slot (a slow destination)", ErrBudget), 0, "batch_budget")
		}
		return fateUnknown, time.Time{}
	}
	body, err := h.s.opts.body.Encode(ctx, r.Raw)
	if err != nil {
		release()
		done(errNotSent)
		if stage.ClassOf(err) == stage.ClassRetryable && errors.As(err, new(*stage.Error)) {
			r.Fail(err)
			return fateWaiting, time.Now().Add(d.lanes[0])
		}
		r.Fail(stage.Poison(err))
		return fateDead, time.Time{}
	}
	var hdr http.Header
	if p := h.s.opts.propagator; p != nil {
		hdr = http.Header{}
		p.Inject(r.Context(), headerCarrier(hdr))
	}
	began := time.Now()
	msgID := webhook.MessageID(r.EventID)
	res := d.client.Send(bs.send, webhook.Message{ID: msgID, Body: body, Header: hdr})
	release()
	if ctx.Err() != nil && res.Verdict != webhook.Delivered {
		// Stopping: a failure may be the stop's (a request cut off after
		// stopGrace). A 2xx is settled as any other, so that its
		// done-marker is written and the next instance does not send it
		// again.
		done(errNotSent)
		return fateUnknown, time.Time{}
	}
	if res.Verdict == webhook.Retry {
		done(errUnhealthy)
	} else {
		done(nil)
	}
	a := h.attempt(r, began)
	a.MessageID = msgID
	a.Status = res.Status
	a.LatencyMS = float64(res.Latency.Microseconds()) / 1000
	f, due := h.settle(bs.send, bs, r, res, a)
	h.s.metrics.attempts.WithLabelValues(d.cfg.ID, r.Tenant, a.Result).Inc()
	h.s.metrics.latency.WithLabelValues(d.cfg.ID, a.Result).Observe(res.Latency.Seconds())
	bs.rec.add(a, r)
	return f, due
}

// settle decides what becomes of an event after an attempt, and fills in
// the attempt's result.
func (h *handler) settle(ctx context.Context, bs *batch, r *stage.Record, res webhook.Result, a *Attempt) (fate, time.Time) {
	d := h.d
	switch res.Verdict {
	case webhook.Delivered:
		a.Result = ResultDelivered
		bs.markers.add(h.s.store.doneKey(d.cfg.ID, r.Tenant, r.EventID))
		return fateDelivered, time.Time{}

	case webhook.Gone:
		a.Result = ResultGone
		a.Error = "410 Gone"
		reason := fmt.Sprintf("410 Gone from %s", d.client.Host())
		if err := h.s.Disable(ctx, d.cfg.ID, reason); err != nil {
			d.log.Error("could not store the disabled flag; other instances keep sending", zap.Error(err))
		}
		r.Fail(stage.Permanent(fmt.Errorf("%w: %s; re-enable with POST /admin/v1/destinations/%s/enable", ErrGone, reason, d.cfg.ID)))
		return fateDead, time.Time{}

	case webhook.Reject:
		a.Result = ResultRejected
		err := fmt.Errorf("%w: %s", ErrRejected, describe(res))
		a.Error = err.Error()
		r.Fail(stage.Permanent(err))
		return fateDead, time.Time{}
	}

	a.Result = ResultFailed
	wish := backoff(d.cfg.Retry, r.Attempt)
	if res.RetryAfter > 0 {
		wish = clampRetryAfter(res.RetryAfter, h.s.opts.retryAfterMin, h.s.opts.retryAfterMax, d.cfg.Retry.MaxBackoff)
	}
	lane := laneDelay(d.lanes, wish)
	err := fmt.Errorf("%w: %s", ErrFailed, describe(res))
	a.Error = err.Error()
	if t, ok := eventTime(r); ok && time.Since(t)+lane > d.cfg.Retry.MaxAge {
		r.Fail(stage.Permanent(fmt.Errorf("%w (%v): %w", ErrExpired, d.cfg.Retry.MaxAge, err)))
		return fateDead, time.Time{}
	}
	if r.Attempt >= d.cfg.Retry.MaxAttempts {
		r.Fail(stage.Retryable(err)) // the runner dead-letters it: attempts exhausted
		return fateDead, time.Time{}
	}
	a.RetryInMS = lane.Milliseconds()
	r.Fail(stage.RetryAfter(err, wish))
	return fateWaiting, time.Now().Add(lane)
}

// hold defers an event that was not tried, for about wait, without using
// an attempt; an event older than the max age is dead-lettered instead,
// and one whose age is unknown uses an attempt, so that it cannot be held
// forever.
func (h *handler) hold(r *stage.Record, err error, wait time.Duration, reason string) (fate, time.Time) {
	d := h.d
	lane := laneDelay(d.lanes, wait)
	h.s.metrics.deferred.WithLabelValues(d.cfg.ID, reason).Inc()
	t, known := eventTime(r)
	switch {
	case known && time.Since(t)+lane > d.cfg.Retry.MaxAge:
		r.Fail(stage.Permanent(fmt.Errorf("%w (%v): %w", ErrExpired, d.cfg.Retry.MaxAge, err)))
		return fateDead, time.Time{}
	case known:
		r.Fail(stage.Defer(err, wait))
	case r.Attempt >= d.cfg.Retry.MaxAttempts:
		r.Fail(stage.Retryable(err))
		return fateDead, time.Time{}
	default:
		r.Fail(stage.RetryAfter(err, wait))
	}
	return fateWaiting, time.Now().Add(lane)
}

// limit asks the rate limits of the destination and of the event's tenant
// for one request, waiting up to the stage's RateLimitWait. It returns how
// long to hold the event back and which limit said so, or 0.
func (h *handler) limit(ctx context.Context, r *stage.Record) (time.Duration, string, error) {
	d := h.d
	if d.cfg.RateLimit == nil && d.cfg.TenantRateLimit == nil {
		return 0, "", nil
	}
	deadline := time.Now().Add(h.s.opts.limitWait)
	for _, l := range [...]struct {
		scope string
		key   string
		limit *config.RateLimit
	}{
		// The destination's first: a request it refuses must not cost the
		// tenant's budget, which would then hold the tenant back for
		// congestion others made. One the tenant's refuses costs a
		// request of the destination's, once per batch (deferUntil).
		{"destination", "deliver:" + d.cfg.ID, d.cfg.RateLimit},
		{"tenant", "deliver:" + d.cfg.ID + ":tenant:" + r.Tenant, d.cfg.TenantRateLimit},
	} {
		if l.limit == nil {
			continue
		}
		for {
			dec, err := h.s.limiter.Allow(ctx, l.key, l.limit, 1)
			if err != nil {
				return 0, "", err
			}
			if dec.Allowed {
				break
			}
			if time.Now().Add(dec.RetryAfter).After(deadline) {
				return dec.RetryAfter, l.scope, nil
			}
			t := time.NewTimer(dec.RetryAfter)
			select {
			case <-ctx.Done():
				t.Stop()
				return 0, "", ctx.Err()
			case <-t.C:
			}
		}
	}
	return 0, "", nil
}

// attempt starts the attempt record of r.
func (h *handler) attempt(r *stage.Record, at time.Time) *Attempt {
	return &Attempt{
		Tenant:      r.Tenant,
		Destination: h.d.cfg.ID,
		EventID:     r.EventID,
		EventType:   kafka.Header(r.Raw, kafka.HeaderEventType),
		Lane:        h.lane,
		Attempt:     r.Attempt,
		At:          at.UTC(),
		Topic:       r.Source.Topic,
		Partition:   r.Source.Partition,
		Offset:      r.Source.Offset,
	}
}

// describe says what an attempt's answer was: the status and the start of
// the body, or the network error.
func describe(res webhook.Result) string {
	switch {
	case res.Err != nil:
		return res.Err.Error()
	case res.Body != "":
		return fmt.Sprintf("status %d: %s", res.Status, res.Body)
	}
	return fmt.Sprintf("status %d", res.Status)
}

// headerCarrier lets a propagator write trace context into HTTP headers.
type headerCarrier http.Header

func (c headerCarrier) Get(key string) string { return http.Header(c).Get(key) }
func (c headerCarrier) Set(key, value string) { http.Header(c).Set(key, value) }
func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
