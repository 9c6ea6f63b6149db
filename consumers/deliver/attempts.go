package deliver

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/jsonenc"
	"github.com/sluicehq/sluice/internal/kafka"
)

// HeaderDestination names the destination on the records of the attempts
// topic, so Kafka UI can filter them without decoding the value.
const HeaderDestination = "destination"

// Results of an attempt.
const (
	// ResultDelivered: the destination answered 2xx.
	ResultDelivered = "delivered"
	// ResultProduced: the event was produced to a Kafka destination's
	// topic, in the transaction that commits its offset.
	ResultProduced = "produced"
	// ResultFailed: the attempt failed and may succeed later.
	ResultFailed = "failed"
	// ResultRejected: the destination refused the event for good.
	ResultRejected = "rejected"
	// ResultGone: the destination answered 410 Gone and was disabled.
	ResultGone = "gone"
)

// Attempt is one attempt to deliver one event to one destination, as
// recorded in the attempts topic (JSON, key = tenant). Its fields never
// hold the event's payload or a secret.
type Attempt struct {
	// Tenant, Destination, EventID and EventType say what was delivered
	// where.
	Tenant      string `json:"tenant_id"`
	Destination string `json:"destination"`
	EventID     string `json:"event_id"`
	EventType   string `json:"event_type,omitempty"`
	// MessageID is the webhook-id sent (the event id, or the id derived
	// from it).
	MessageID string `json:"message_id,omitempty"`
	// Lane is interactive or batch.
	Lane string `json:"lane"`
	// Attempt counts the attempts at this event, from 1.
	Attempt int `json:"attempt"`
	// At is when the attempt started.
	At time.Time `json:"at"`
	// Result is delivered, produced, failed, rejected or gone.
	Result string `json:"result"`
	// Status is the HTTP status, 0 when no answer came.
	Status int `json:"status"`
	// LatencyMS is how long the attempt took, in milliseconds.
	LatencyMS float64 `json:"latency_ms"`
	// Error says why it failed: the network error, or the status and the
	// start of the answer's body.
	Error string `json:"error,omitempty"`
	// RetryInMS is when a failed attempt is tried again, in milliseconds
	// (the delay of the retry topic chosen); 0 when it is not.
	RetryInMS int64 `json:"retry_in_ms,omitempty"`
	// Topic, Partition and Offset are where the event entered the stage.
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// record returns the Kafka record of a. Its key and header values share
// one allocation; the trace context is the input's own bytes.
func (a *Attempt) record(topic string, r *stage.Record) *kgo.Record {
	// The names, quotes, time and numbers take about 300 bytes.
	size := 320 + len(a.Tenant) + len(a.Destination) + len(a.EventID) + len(a.EventType) + len(a.MessageID) +
		len(a.Lane) + len(a.Result) + len(a.Error) + len(a.Topic)
	v, ok := a.appendJSON(make([]byte, 0, size))
	if !ok {
		v = nil // what encoding/json cannot write either
	}
	buf := make([]byte, 0, len(a.Tenant)+len(a.EventID)+len(a.Destination)+len(a.EventType))
	part := func(s string) []byte {
		start := len(buf)
		buf = append(buf, s...)
		return buf[start:len(buf):len(buf)]
	}
	tenant := part(a.Tenant)
	headers := make([]kgo.RecordHeader, 0, 5)
	headers = append(headers,
		kgo.RecordHeader{Key: kafka.HeaderTenantID, Value: tenant},
		kgo.RecordHeader{Key: kafka.HeaderEventID, Value: part(a.EventID)},
		kgo.RecordHeader{Key: HeaderDestination, Value: part(a.Destination)})
	if a.EventType != "" {
		headers = append(headers, kgo.RecordHeader{Key: kafka.HeaderEventType, Value: part(a.EventType)})
	}
	if tp := kafka.HeaderBytes(r.Raw, kafka.HeaderTraceParent); len(tp) > 0 {
		headers = append(headers, kgo.RecordHeader{Key: kafka.HeaderTraceParent, Value: tp})
	}
	return &kgo.Record{Topic: topic, Key: tenant, Value: v, Headers: headers}
}

// appendJSON appends the JSON encoding/json writes for a, without its
// reflection; ok is false where encoding/json would refuse a time or a
// latency (dst is then of no use).
func (a *Attempt) appendJSON(dst []byte) (_ []byte, ok bool) {
	dst = append(dst, '{')
	first := true
	field := func(name string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(append(append(dst, '"'), name...), '"', ':')
	}
	str := func(name, v string) {
		field(name)
		dst = jsonenc.String(dst, v)
	}
	num := func(name string, v int64) {
		field(name)
		dst = strconv.AppendInt(dst, v, 10)
	}
	str("tenant_id", a.Tenant)
	str("destination", a.Destination)
	str("event_id", a.EventID)
	if a.EventType != "" {
		str("event_type", a.EventType)
	}
	if a.MessageID != "" {
		str("message_id", a.MessageID)
	}
	str("lane", a.Lane)
	num("attempt", int64(a.Attempt))
	field("at")
	if dst, ok = jsonenc.Time(dst, a.At); !ok {
		return dst, false
	}
	str("result", a.Result)
	num("status", int64(a.Status))
	field("latency_ms")
	if dst, ok = jsonenc.Float(dst, a.LatencyMS); !ok {
		return dst, false
	}
	if a.Error != "" {
		str("error", a.Error)
	}
	if a.RetryInMS != 0 {
		num("retry_in_ms", a.RetryInMS)
	}
	str("topic", a.Topic)
	num("partition", int64(a.Partition))
	num("offset", a.Offset)
	return append(dst, '}'), true
}

// A batch gathers its attempt records and produces them together: when
// attemptsWindow has passed since the first one gathered, when
// attemptsBurst are gathered, and when the batch ends. The broker's work
// goes with the number of produce requests and record batches far more
// than with the number of records: attempts produced one by one as they
// happen (even lingering 2ms to share a request) cost the broker two to
// three times the CPU per attempt that attempts produced together every
// 10ms do (Kafka 4.4, 13k attempts/s), and on a machine where the broker
// shares the cores with the stage that CPU is the stage's.
// The price is a window: a process that dies loses the attempt records
// it has not produced yet, those of the last attemptsWindow at most (the
// events themselves are safe; see the package doc).
const (
	attemptsWindow = 10 * time.Millisecond
	attemptsBurst  = 256
)

// recorder produces the attempts of one batch with the stage's attempts
// client (which does not linger: a batch's records go out together
// already), and waits for the broker to take them.
type recorder struct {
	cl    *kgo.Client
	topic string
	// ctx is the batch's, without its cancellation: an attempt happened,
	// so it is recorded even when the stage is stopping, within the
	// client's delivery timeout.
	ctx context.Context
	// window and burst: attemptsWindow and attemptsBurst.
	window time.Duration
	burst  int
	wg     sync.WaitGroup

	mu      sync.Mutex
	pending []*kgo.Record
	timer   *time.Timer // produces pending when the window ends
	err     error
}

func newRecorder(ctx context.Context, cl *kgo.Client, topic string) *recorder {
	return &recorder{cl: cl, topic: topic, ctx: context.WithoutCancel(ctx), window: attemptsWindow, burst: attemptsBurst}
}

// add gathers the record of an attempt.
func (rc *recorder) add(a *Attempt, r *stage.Record) {
	out := a.record(rc.topic, r)
	rc.mu.Lock()
	rc.pending = append(rc.pending, out)
	var now []*kgo.Record
	switch {
	case len(rc.pending) >= rc.burst:
		now = rc.take()
	case len(rc.pending) == 1:
		rc.timer = time.AfterFunc(rc.window, rc.flush)
	}
	rc.mu.Unlock()
	rc.produce(now)
}

// take empties pending and counts its records as in flight; rc.mu is
// held.
func (rc *recorder) take() []*kgo.Record {
	if rc.timer != nil {
		rc.timer.Stop()
		rc.timer = nil
	}
	recs := rc.pending
	rc.pending = nil
	rc.wg.Add(len(recs))
	return recs
}

// flush produces what is gathered.
func (rc *recorder) flush() {
	rc.mu.Lock()
	recs := rc.take()
	rc.mu.Unlock()
	rc.produce(recs)
}

func (rc *recorder) produce(recs []*kgo.Record) {
	for _, out := range recs {
		rc.cl.Produce(rc.ctx, out, func(_ *kgo.Record, err error) {
			if err != nil {
				rc.mu.Lock()
				if rc.err == nil {
					rc.err = fmt.Errorf("deliver: record attempt: %w", err)
				}
				rc.mu.Unlock()
			}
			rc.wg.Done()
		})
	}
}

// wait produces what is gathered, waits until every attempt added is
// acknowledged, and returns the first failure.
func (rc *recorder) wait() error {
	rc.flush()
	rc.wg.Wait()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.err
}
