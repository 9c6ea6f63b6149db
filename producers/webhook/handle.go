package webhook

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/ratelimit"
	"github.com/sluicehq/sluice/internal/telemetry"
	"github.com/sluicehq/sluice/internal/tenant"
)

// Media types.
const (
	mediaJSON    = "application/json"
	mediaNDJSON  = "application/x-ndjson"
	mediaProblem = "application/problem+json"
)

// receivedAtLayout is the received-at header: RFC 3339 in UTC with
// milliseconds.
const receivedAtLayout = "2006-01-02T15:04:05.000Z07:00"

// exchange is one request on its way to an answer.
type exchange struct {
	in    *Ingress
	w     http.ResponseWriter
	r     *http.Request
	ctx   context.Context
	span  trace.Span
	start time.Time
	batch bool

	tenantID, integrationID string // as the path says them
	tenantL, integrationL   string // metric labels: catalog ids or "unknown"
	tenant                  *config.Tenant
	rt                      *route
	traceID                 string
	traceparent             string
	tracestate              string
	received                time.Time
	res                     signature.Result
	header                  http.Header
}

// event is one event of a request.
type event struct {
	index      int
	raw        []byte
	doc        jsonDoc
	eventType  string
	id         string
	providerID string // the provider's id when id was derived from it
	entity     string
	c          *contract
	data       map[string]any
	breach     *breach

	value   []byte
	key     string // idempotency marker key
	token   string // pending marker, when claimed
	claimed bool
	dupOf   int // index of an earlier event of the batch with the same id, or -1

	// Set by the produce promise; read by the request after done is
	// closed.
	done      chan struct{}
	err       error
	partition int32
	offset    int64
	// state is the write's state (writeWaiting, ...).
	state atomic.Int32

	outcome string // an Outcome or a problem code
}

func (in *Ingress) notFound(w http.ResponseWriter, r *http.Request) {
	x := in.newExchange(w, r, "", "", false)
	defer x.span.End()
	x.fail(CodeNotFound, "webhooks are sent to POST /v1/webhooks/{tenant}/{integration}, or /v1/webhooks/{tenant}/{integration}/batch for many", 0)
}

func (in *Ingress) newExchange(w http.ResponseWriter, r *http.Request, tenantID, integrationID string, batch bool) *exchange {
	x := &exchange{in: in, w: w, r: r, batch: batch, tenantID: tenantID, integrationID: integrationID, start: time.Now(), tenantL: unknownLabel, integrationL: unknownLabel, header: r.Header}
	prop := in.cfg.tracing.Propagator
	ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	x.ctx, x.span = in.tracer.Start(ctx, "webhook.receive", trace.WithSpanKind(trace.SpanKindServer))
	if sc := x.span.SpanContext(); sc.IsValid() {
		x.traceID = sc.TraceID().String()
		carrier := propagation.MapCarrier{}
		prop.Inject(x.ctx, carrier)
		x.traceparent, x.tracestate = carrier.Get("traceparent"), carrier.Get("tracestate")
	}
	return x
}

func (in *Ingress) serve(w http.ResponseWriter, r *http.Request, tenantID, integrationID string, batch bool) {
	x := in.newExchange(w, r, tenantID, integrationID, batch)
	defer x.span.End()
	x.handle()
}

// handle runs the checks in their order: route, tenant and integration,
// method and content type, readiness and concurrency, body size,
// signature, rate limit, contract, idempotency, produce.
func (x *exchange) handle() {
	in := x.in
	t, err := in.tenants.Resolve(x.tenantID)
	if err != nil {
		// A disabled tenant is not told apart from an unknown one: the
		// sender has not proven who it is yet.
		x.fail(CodeUnknownTenant, "no tenant of that id takes webhooks here", 0, zap.String("requested_tenant", clip(x.tenantID)))
		return
	}
	x.tenant, x.tenantL = t, t.ID
	rt := in.routes[x.integrationID]
	if rt == nil || !rt.in.AllowsTenant(t.ID) {
		x.fail(CodeUnknownIntegration, "no integration of that id takes webhooks for this tenant", 0,
			zap.String("requested_integration", clip(x.integrationID)))
		return
	}
	x.rt, x.integrationL = rt, rt.in.ID
	x.span.SetAttributes(attribute.String("sluice.tenant", t.ID), attribute.String("sluice.integration", rt.in.ID), attribute.Bool("sluice.batch", x.batch))
	if !rt.in.IsEnabled() {
		reason := rt.in.DisabledReason
		if reason == "" {
			reason = "the integration is turned off"
		}
		x.fail(CodeIntegrationDisabled, reason, 0)
		return
	}
	if x.r.Method != http.MethodPost {
		x.w.Header().Set("Allow", http.MethodPost)
		x.fail(CodeMethodNotAllowed, "webhooks are sent with POST", 0)
		return
	}
	ndjson, detail := x.mediaType()
	if detail != "" {
		x.fail(CodeUnsupportedMediaType, detail, 0)
		return
	}
	if !in.Ready() {
		x.fail(CodeNotReady, "the ingress is starting or stopping", in.cfg.retryAfter)
		return
	}
	select {
	case in.sem <- struct{}{}:
		defer func() { <-in.sem }()
	default:
		x.fail(CodeBackpressure, "too many requests are being handled at once", in.cfg.retryAfter)
		return
	}

	limit := rt.in.Limits.MaxBodyBytes
	if x.batch {
		limit = rt.in.Limits.MaxBatchBytes
	}
	_ = http.NewResponseController(x.w).SetReadDeadline(time.Now().Add(in.cfg.readTimeout))
	req, err := signature.ReadRequest(x.r, limit)
	switch {
	case errors.Is(err, signature.ErrBodyTooLarge):
		x.fail(CodeBodyTooLarge, fmt.Sprintf("the body is larger than the limit of %d bytes", limit), 0)
		return
	case err != nil:
		x.fail(CodeBadRequest, "the body could not be read to its end", 0)
		return
	}

	x.received = in.cfg.now()
	x.res, err = rt.verifier.Verify(req, x.received)
	if err != nil {
		reason := signature.Code(err)
		if signature.HTTPStatus(err) == http.StatusRequestEntityTooLarge {
			x.fail(CodeBodyTooLarge, fmt.Sprintf("the body is larger than the limit of %d bytes", limit), 0)
			return
		}
		in.metrics.signatures.WithLabelValues(x.tenantL, x.integrationL, reason).Inc()
		x.problem(problemBody{Code: CodeInvalidSignature, Detail: err.Error(), Reason: reason}, 0, zap.String("reason", reason))
		return
	}
	if rt.slack && !x.batch {
		doc := jsonDoc{raw: req.Body}
		if typ, _ := doc.lookup("type"); typ == "url_verification" {
			challenge, _ := doc.lookup("challenge")
			x.respond(http.StatusOK, OutcomeChallenge, mediaJSON, map[string]string{"challenge": challenge}, 0)
			return
		}
	}

	items := [][]byte{req.Body}
	if x.batch {
		split := splitArray
		if ndjson {
			split = splitLines
		}
		items, err = split(req.Body, rt.in.Limits.MaxBatchEvents)
		switch {
		case errors.Is(err, errTooMany):
			x.fail(CodeTooManyEvents, fmt.Sprintf("a batch holds at most %d events", rt.in.Limits.MaxBatchEvents), 0)
			return
		case err != nil:
			x.fail(CodeMalformedBatch, err.Error(), 0)
			return
		}
	}
	if !x.rateLimit(len(items)) {
		return
	}
	events := make([]*event, len(items))
	for i, raw := range items {
		events[i] = x.prepare(i, raw)
	}
	if len(events) == 1 && !x.batch {
		x.span.SetAttributes(attribute.String("sluice.event_id", events[0].id))
	}
	x.process(events)
}

// mediaType checks the content type and encoding: application/json (a
// batch: a JSON array), or application/x-ndjson for a batch, with no
// charset but UTF-8 and no content encoding. It returns whether the body
// is NDJSON, or why the request is refused.
func (x *exchange) mediaType() (ndjson bool, refused string) {
	if ce := x.r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return false, "content encodings are not accepted: send the body as it was signed"
	}
	want := "application/json"
	if x.batch {
		want = "application/json (an array of events) or application/x-ndjson"
	}
	mt, params, err := mime.ParseMediaType(x.r.Header.Get("Content-Type"))
	if err != nil {
		return false, "the content type must be " + want
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return false, "the charset must be UTF-8"
	}
	switch {
	case mt == mediaJSON:
		return false, ""
	case mt == mediaNDJSON && x.batch:
		return true, ""
	}
	return false, "the content type must be " + want
}

// rateLimit takes one decision for n events under the integration's limit
// for the tenant, then under the tenant's own limit. It answers and
// returns false when the request may not go on.
func (x *exchange) rateLimit(n int) bool {
	in := x.in
	limits := []struct {
		which, key string
		limit      *config.RateLimit
	}{
		{"integration", "ingress:" + x.tenant.ID + ":" + x.rt.in.ID, x.rt.in.RateLimit},
		{"tenant", "ingress:" + x.tenant.ID, x.tenant.RateLimit},
	}
	for _, l := range limits {
		if l.limit == nil {
			continue
		}
		if burst := ratelimit.Burst(l.limit); n > burst {
			x.fail(CodeTooManyEvents, fmt.Sprintf("the %s rate limit lets at most %d events in at once; send smaller batches", l.which, burst), 0)
			return false
		}
		d, err := in.limiter.Allow(x.ctx, l.key, l.limit, n)
		if err != nil {
			x.fail(CodeRedisUnavailable, "the rate limit could not be checked; nothing was written", in.cfg.retryAfter, zap.Error(err))
			return false
		}
		if !d.Allowed {
			in.metrics.rateLimited.WithLabelValues(x.tenantL, x.integrationL, l.which).Inc()
			wait := time.Duration(ratelimit.RetryAfterSeconds(d.RetryAfter)) * time.Second
			x.fail(CodeRateLimited, fmt.Sprintf("the %s rate limit is reached", l.which), wait, zap.String("limit", l.which))
			return false
		}
	}
	return true
}

// prepare finds an event's type, id and entity, and checks it against
// its contract.
func (x *exchange) prepare(i int, raw []byte) *event {
	ct := &x.rt.in.Contract
	ev := &event{index: i, raw: raw, doc: jsonDoc{raw: raw}, dupOf: -1}
	if v, ok := field(ct.EventType, x.header, &ev.doc); ok {
		ev.eventType = v
	} else if x.res.EventType != "" {
		ev.eventType = x.res.EventType
	} else if x.batch && ct.EventType == nil {
		ev.eventType, _ = ev.doc.lookup("type")
	}
	var provider string
	if ct.EventID != nil && !(x.batch && ct.EventID.Header != "") {
		provider, _ = field(ct.EventID, x.header, &ev.doc)
	}
	if provider == "" && !x.batch {
		provider = x.res.DeliveryID
	}
	if provider != "" {
		ev.id, ev.providerID = eventID(provider)
	} else {
		ev.id = hashID(x.tenant.ID, x.rt.in.ID, ev.eventType, raw)
	}
	ev.entity, _ = field(ct.EntityID, x.header, &ev.doc)
	ev.key = x.in.markers.key(x.tenant.ID, x.rt.in.ID, ev.id)

	if !ev.doc.valid() {
		ev.breach = &breach{code: CodeSchemaViolation, detail: "the event is not JSON", issues: []avro.Issue{{
			Path: "$", Code: avro.CodeInvalidJSON, Expected: "a JSON object", Got: "invalid JSON",
		}}}
		return ev
	}
	if ev.c = x.rt.match(ev.eventType); ev.c == nil {
		ev.breach = x.unknownType(ev.eventType)
		return ev
	}
	data, err := ev.c.validator.Validate(raw)
	if err != nil {
		b := &breach{code: CodeSchemaViolation, detail: "the event breaks its contract " + ev.c.record}
		var ve *avro.ValidationError
		if errors.As(err, &ve) {
			b.issues, b.truncated = ve.Issues, ve.Truncated
		}
		ev.breach = b
		return ev
	}
	ev.data = data
	return ev
}

// unknownType is the breach of an event whose type no contract covers.
func (x *exchange) unknownType(eventType string) *breach {
	where := "$.type"
	if ref := x.rt.in.Contract.EventType; ref != nil && ref.JSON != "" {
		where = "$." + ref.JSON
	} else if ref != nil {
		where = "header " + ref.Header
	}
	var known []string
	for _, c := range x.rt.contracts {
		known = append(known, c.pattern)
	}
	b := &breach{code: CodeUnknownEventType}
	if eventType == "" {
		b.detail = "the event has no type"
		b.issues = []avro.Issue{{Path: where, Code: avro.CodeRequired}}
	} else {
		b.detail = fmt.Sprintf("no contract of the integration covers the event type; it covers %s", strings.Join(known, ", "))
		b.issues = []avro.Issue{{Path: where, Code: CodeUnknownEventType, Expected: "one of " + strings.Join(known, ", "), Got: "another event type"}}
	}
	return b
}

// process writes the events and answers. Valid events are encoded first,
// then every event that is to be remembered (valid, or quarantined) is
// claimed in one round trip, then the events claimed and the rejected
// ones are produced, and the answer waits for the broker.
func (x *exchange) process(events []*event) {
	in := x.in
	for _, ev := range events {
		if ev.breach != nil {
			continue
		}
		env := canonical.Envelope{
			TenantID:    x.tenant.ID,
			EventID:     ev.id,
			EventType:   ev.eventType,
			Integration: x.rt.in.ID,
			Source:      x.rt.in.Source,
			OccurredAt:  occurredAt(ev.data, x.res.Timestamp),
			ReceivedAt:  x.received,
		}
		if x.traceparent != "" {
			env.TraceParent = &x.traceparent
		}
		v, err := in.enc.EncodeNative(x.ctx, ev.c.subject, avro.NativeEvent(env, ev.data))
		if err != nil {
			if errors.Is(err, avro.ErrRegistry) {
				x.fail(CodeRegistryUnavailable, "the contract's schema could not be resolved; nothing was written", in.cfg.retryAfter, zap.Error(err))
				return
			}
			x.fail(CodeInternal, "the event could not be encoded", 0, zap.Error(err), zap.String(telemetry.FieldEventID, ev.id))
			return
		}
		ev.value = v
	}

	// Claim, once per event id of the request.
	var keys, tokens []string
	var claiming []*event
	first := map[string]int{}
	for _, ev := range events {
		if ev.breach != nil && !x.rt.quarantine {
			continue
		}
		if j, ok := first[ev.id]; ok {
			ev.dupOf = j
			continue
		}
		first[ev.id] = ev.index
		ev.token = in.markers.token()
		keys, tokens = append(keys, ev.key), append(tokens, ev.token)
		claiming = append(claiming, ev)
	}
	if len(keys) > 0 {
		claims, err := in.markers.claimAll(x.ctx, keys, tokens)
		if err != nil {
			x.fail(CodeRedisUnavailable, "the event ids could not be claimed; nothing was written", in.cfg.retryAfter, zap.Error(err))
			return
		}
		for i, ev := range claiming {
			switch claims[i] {
			case claimed:
				ev.claimed = true
			case claimDone:
				ev.outcome = OutcomeDuplicate
			case claimInUse:
				ev.outcome = CodeInProgress
			}
		}
	}

	// Produce.
	var writing []*event
	for _, ev := range events {
		switch {
		case ev.dupOf >= 0 || ev.outcome != "":
			continue
		case ev.breach == nil && ev.claimed:
			x.produce(ev, x.validRecord(ev))
		case ev.breach != nil && (ev.claimed || !x.rt.quarantine):
			x.produce(ev, x.invalidRecord(ev))
		default:
			continue
		}
		writing = append(writing, ev)
	}
	x.wait(writing)
	for _, ev := range events {
		if ev.dupOf >= 0 {
			switch o := events[ev.dupOf].outcome; o {
			case OutcomeAccepted, OutcomeDuplicate, OutcomeQuarantined:
				ev.outcome = OutcomeDuplicate
			default:
				ev.outcome = o
			}
		}
		x.count(ev)
	}
	if x.batch {
		x.answerBatch(events)
	} else {
		x.answerOne(events[0])
	}
}

// validRecord is an event for sluice.in.<integration>.
func (x *exchange) validRecord(ev *event) *kgo.Record {
	h := make([]kgo.RecordHeader, 0, 9)
	h = append(h,
		kgo.RecordHeader{Key: kafka.HeaderTenantID, Value: []byte(x.tenant.ID)},
		kgo.RecordHeader{Key: kafka.HeaderEventID, Value: []byte(ev.id)},
		kgo.RecordHeader{Key: kafka.HeaderEventType, Value: []byte(ev.eventType)},
		kgo.RecordHeader{Key: kafka.HeaderIntegration, Value: []byte(x.rt.in.ID)},
		kgo.RecordHeader{Key: kafka.HeaderReceivedAt, Value: []byte(x.received.UTC().Format(receivedAtLayout))},
		kgo.RecordHeader{Key: kafka.HeaderLane, Value: []byte(x.rt.in.Lane)},
	)
	h = x.traceHeaders(h)
	if ev.providerID != "" {
		h = append(h, kgo.RecordHeader{Key: kafka.HeaderProviderEventID, Value: []byte(ev.providerID)})
	}
	return &kgo.Record{Topic: x.rt.inTopic, Key: tenant.Key(x.tenant, ev.entity), Value: ev.value, Headers: h}
}

// invalidRecord is an event that broke its contract, raw as it came, for
// sluice.in.<integration>.invalid, with the reason in its headers.
func (x *exchange) invalidRecord(ev *event) *kgo.Record {
	h := make([]kgo.RecordHeader, 0, 12)
	h = append(h,
		kgo.RecordHeader{Key: kafka.HeaderTenantID, Value: []byte(x.tenant.ID)},
		kgo.RecordHeader{Key: kafka.HeaderIntegration, Value: []byte(x.rt.in.ID)},
		kgo.RecordHeader{Key: kafka.HeaderEventID, Value: []byte(ev.id)},
	)
	if ev.eventType != "" {
		h = append(h, kgo.RecordHeader{Key: kafka.HeaderEventType, Value: []byte(ev.eventType)})
	}
	h = append(h,
		kgo.RecordHeader{Key: kafka.HeaderReceivedAt, Value: []byte(x.received.UTC().Format(receivedAtLayout))},
		kgo.RecordHeader{Key: kafka.HeaderErrorStage, Value: []byte("ingress")},
		kgo.RecordHeader{Key: kafka.HeaderErrorClass, Value: []byte("contract")},
		kgo.RecordHeader{Key: kafka.HeaderErrorCode, Value: []byte(ev.breach.code)},
		kgo.RecordHeader{Key: kafka.HeaderErrorMessage, Value: []byte(ev.breach.headerMessage())},
	)
	h = x.traceHeaders(h)
	if ev.providerID != "" {
		h = append(h, kgo.RecordHeader{Key: kafka.HeaderProviderEventID, Value: []byte(ev.providerID)})
	}
	return &kgo.Record{Topic: x.rt.invalidTopic, Key: tenant.Key(x.tenant, ev.entity), Value: ev.raw, Headers: h}
}

func (x *exchange) traceHeaders(h []kgo.RecordHeader) []kgo.RecordHeader {
	if x.traceparent != "" {
		h = append(h, kgo.RecordHeader{Key: kafka.HeaderTraceParent, Value: []byte(x.traceparent)})
	}
	if x.tracestate != "" {
		h = append(h, kgo.RecordHeader{Key: kafka.HeaderTraceState, Value: []byte(x.tracestate)})
	}
	return h
}

// Write states of an event: the promise and the waiting request race to
// move it out of writeWaiting, and whoever loses leaves the markers to the
// other.
const (
	writeWaiting   int32 = iota // produced, the request waits
	writeSettled                // the broker answered while the request waited: the request finishes it
	writeAbandoned              // the request stopped waiting: the promise finishes it
)

// produce hands the record to the producer without blocking. When the
// broker answers while the request waits, the request finishes the write
// (finish); when the request has stopped waiting, the promise does
// (finishAbandoned).
func (x *exchange) produce(ev *event, rec *kgo.Record) {
	ev.done = make(chan struct{})
	x.in.settling.Add(1)
	// The record outlives the request when the broker is slow: its
	// context keeps the trace but is never cancelled.
	x.in.cl.TryProduce(context.WithoutCancel(x.ctx), rec, func(r *kgo.Record, err error) {
		ev.err, ev.partition, ev.offset = err, r.Partition, r.Offset
		if ev.state.CompareAndSwap(writeWaiting, writeSettled) {
			close(ev.done)
			return
		}
		// Promises must not block the producer: finishing talks to
		// Redis.
		go x.finishAbandoned(ev, r, err)
	})
}

// wait waits for the events' writes up to the produce wait, sets their
// outcomes and finishes the writes that settled: in one round trip, their
// ids are marked done, or released when the write failed. A write not
// settled by then is abandoned: it is answered 503 and finishes on its
// own.
func (x *exchange) wait(events []*event) {
	timer := time.NewTimer(x.in.cfg.produceWait)
	defer timer.Stop()
	expired := false
	settled := events[:0:0]
	for _, ev := range events {
		if !expired {
			select {
			case <-ev.done:
			case <-timer.C:
				expired = true
			case <-x.r.Context().Done():
				expired = true
			}
		}
		if expired && ev.state.CompareAndSwap(writeWaiting, writeAbandoned) {
			ev.outcome = CodeKafkaUnavailable
			continue
		}
		<-ev.done // closed, or about to be: the promise won the race
		settled = append(settled, ev)
		switch {
		case ev.err == nil && ev.breach == nil:
			ev.outcome = OutcomeAccepted
		case ev.err == nil && x.rt.quarantine:
			ev.outcome = OutcomeQuarantined
		case ev.err == nil:
			ev.outcome = ev.breach.code
		case errors.Is(ev.err, kgo.ErrMaxBuffered):
			ev.outcome = CodeBackpressure
		case errors.Is(ev.err, kerr.MessageTooLarge):
			ev.outcome = CodeRecordTooLarge
		default:
			ev.outcome = CodeKafkaUnavailable
		}
	}
	x.finish(settled)
}

// finish updates the markers of settled writes in one round trip.
func (x *exchange) finish(events []*event) {
	in := x.in
	var done []string
	var release [][2]string
	for _, ev := range events {
		switch {
		case !ev.claimed:
		case ev.err == nil:
			done = append(done, ev.key)
		default:
			release = append(release, [2]string{ev.key, ev.token})
		}
	}
	if len(done)+len(release) > 0 {
		if err := in.markers.finish(context.WithoutCancel(x.ctx), done, release); err != nil {
			in.metrics.markerErrors.WithLabelValues(x.tenantL, x.integrationL).Add(float64(len(done) + len(release)))
			in.log.Warn("webhook: idempotency markers not updated after writes", zap.String(telemetry.FieldTenant, x.tenantL),
				zap.String(telemetry.FieldIntegration, x.integrationL), zap.String(telemetry.FieldTraceID, x.traceID),
				zap.Int("written", len(done)), zap.Int("failed", len(release)), zap.Error(err))
		}
	}
	for range events {
		in.settling.Done()
	}
}

// finishAbandoned finishes a write the request stopped waiting for: its
// id is marked done, or released when the write failed, so the sender's
// retry is answered as a duplicate or writes it.
func (x *exchange) finishAbandoned(ev *event, r *kgo.Record, err error) {
	in := x.in
	defer in.settling.Done()
	fields := x.eventFields(ev, zap.String(telemetry.FieldTopic, r.Topic))
	if ev.claimed {
		var done []string
		var release [][2]string
		if err == nil {
			done = []string{ev.key}
		} else {
			release = [][2]string{{ev.key, ev.token}}
		}
		if merr := in.markers.finish(context.WithoutCancel(x.ctx), done, release); merr != nil {
			in.metrics.markerErrors.WithLabelValues(x.tenantL, x.integrationL).Inc()
			in.log.Warn("webhook: idempotency marker not updated after a write", append(fields, zap.Bool("written", err == nil), zap.Error(merr))...)
		}
	}
	if err == nil {
		in.log.Info("webhook: a write the sender was told to retry reached Kafka; a retry is answered as a duplicate",
			append(fields, zap.Int32(telemetry.FieldPartition, r.Partition), zap.Int64(telemetry.FieldOffset, r.Offset))...)
	} else {
		in.log.Warn("webhook: a write the sender was told to retry failed; a retry will write it", append(fields, zap.Error(err))...)
	}
}

// count adds an event's outcome to the metrics.
func (x *exchange) count(ev *event) {
	m := x.in.metrics
	switch ev.outcome {
	case OutcomeAccepted:
		m.accepted.WithLabelValues(x.tenantL, x.integrationL).Inc()
	case OutcomeDuplicate:
		m.duplicates.WithLabelValues(x.tenantL, x.integrationL).Inc()
	case OutcomeQuarantined:
		m.violations.WithLabelValues(x.tenantL, x.integrationL, "quarantined").Inc()
	case CodeSchemaViolation, CodeUnknownEventType:
		m.violations.WithLabelValues(x.tenantL, x.integrationL, "rejected").Inc()
	case CodeInProgress:
		m.inProgress.WithLabelValues(x.tenantL, x.integrationL).Inc()
	}
}

// eventFields are the log fields of an event: never its body.
func (x *exchange) eventFields(ev *event, more ...zap.Field) []zap.Field {
	f := []zap.Field{
		zap.String(telemetry.FieldTenant, x.tenantL),
		zap.String(telemetry.FieldIntegration, x.integrationL),
		zap.String(telemetry.FieldEventID, ev.id),
		zap.String(telemetry.FieldTraceID, x.traceID),
	}
	return append(f, more...)
}

// clip shortens a value from the request path for a log line.
func clip(s string) string {
	const n = 64
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
