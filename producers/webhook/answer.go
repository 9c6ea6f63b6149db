package webhook

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sluicehq/sluice/internal/telemetry"
)

// problemBody is an RFC 9457 problem detail with sluice's members.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Code is the stable code (see the Code constants).
	Code string `json:"code"`
	// Reason refines invalid_signature: the signature refusal's code.
	Reason string `json:"reason,omitempty"`
	// EventID is the event's id, when it is known.
	EventID string `json:"event_id,omitempty"`
	// TraceID is the request's trace id, to quote to support.
	TraceID string `json:"trace_id,omitempty"`
	// Errors are a contract breach's issues.
	Errors []issueJSON `json:"errors,omitempty"`
	// ErrorsTruncated is true when there were more issues than listed.
	ErrorsTruncated bool `json:"errors_truncated,omitempty"`
}

// accepted is the answer about one event that was not refused.
type accepted struct {
	Status    string      `json:"status"`
	EventID   string      `json:"event_id"`
	Duplicate bool        `json:"duplicate"`
	Topic     string      `json:"topic,omitempty"`
	Partition *int32      `json:"partition,omitempty"`
	Offset    *int64      `json:"offset,omitempty"`
	Code      string      `json:"code,omitempty"`
	Note      string      `json:"note,omitempty"`
	Errors    []issueJSON `json:"errors,omitempty"`
	TraceID   string      `json:"trace_id,omitempty"`
}

// itemResult is one event's line in a batch answer.
type itemResult struct {
	Index     int        `json:"index"`
	Status    string     `json:"status"`
	EventID   string     `json:"event_id"`
	Duplicate bool       `json:"duplicate"`
	Error     *itemError `json:"error,omitempty"`
}

// itemError says why a batch event was not accepted.
type itemError struct {
	Code            string      `json:"code"`
	Detail          string      `json:"detail,omitempty"`
	Errors          []issueJSON `json:"errors,omitempty"`
	ErrorsTruncated bool        `json:"errors_truncated,omitempty"`
}

// batchAnswer is the answer to a batch: a count per outcome and one
// result per event, in the order sent.
type batchAnswer struct {
	Status      string       `json:"status"`
	Accepted    int          `json:"accepted"`
	Duplicates  int          `json:"duplicates"`
	Quarantined int          `json:"quarantined"`
	Invalid     int          `json:"invalid"`
	InProgress  int          `json:"in_progress"`
	Unavailable int          `json:"unavailable"`
	TooLarge    int          `json:"too_large"`
	TraceID     string       `json:"trace_id,omitempty"`
	Results     []itemResult `json:"results"`
}

// quarantineNote is said to a sender whose event was quarantined. The id
// is remembered as an accepted one's: the event comes in again only from
// the invalid topic, not by sending it again.
const quarantineNote = "the event breaks its contract; it was kept for review and is not processed: sent again with the same id it is answered as a duplicate; once the contract or the event is fixed, it is re-produced from the integration's invalid topic"

// answerOne answers a request of one event.
func (x *exchange) answerOne(ev *event) {
	fields := []zap.Field{zap.String(telemetry.FieldEventID, ev.id), zap.String("event_type", ev.eventType)}
	switch ev.outcome {
	case OutcomeAccepted:
		x.respond(http.StatusAccepted, ev.outcome, mediaJSON, accepted{
			Status: ev.outcome, EventID: ev.id, Topic: x.rt.inTopic, Partition: &ev.partition, Offset: &ev.offset,
		}, 0, append(fields, zap.Int32(telemetry.FieldPartition, ev.partition), zap.Int64(telemetry.FieldOffset, ev.offset))...)
	case OutcomeDuplicate:
		x.respond(http.StatusOK, ev.outcome, mediaJSON, accepted{Status: ev.outcome, EventID: ev.id, Duplicate: true}, 0, fields...)
	case OutcomeQuarantined:
		x.respond(http.StatusAccepted, ev.outcome, mediaJSON, accepted{
			Status: ev.outcome, EventID: ev.id, Code: ev.breach.code, Note: quarantineNote, Errors: ev.breach.answerIssues(), TraceID: x.traceID,
		}, 0, append(fields, zap.String("code", ev.breach.code), zap.Strings("issues", ev.breach.paths()))...)
	case CodeSchemaViolation, CodeUnknownEventType:
		x.problem(problemBody{
			Code: ev.outcome, Detail: ev.breach.detail, EventID: ev.id,
			Errors: ev.breach.answerIssues(), ErrorsTruncated: ev.breach.truncated,
		}, 0, append(fields, zap.Strings("issues", ev.breach.paths()))...)
	case CodeInProgress:
		x.problem(problemBody{Code: ev.outcome, EventID: ev.id,
			Detail: "another delivery of this event is being written; retry, and it will be answered as a duplicate once it is"}, time.Second, fields...)
	case CodeRecordTooLarge:
		x.problem(problemBody{Code: ev.outcome, EventID: ev.id, Detail: "the broker refused the encoded event as too large"}, 0, fields...)
	case CodeBackpressure:
		x.problem(problemBody{Code: ev.outcome, EventID: ev.id, Detail: "the ingress's produce buffer is full; nothing was written"}, x.in.cfg.retryAfter, fields...)
	default:
		x.problem(problemBody{Code: CodeKafkaUnavailable, EventID: ev.id,
			Detail: "Kafka did not acknowledge the event in time; retry: if the write got through after all, the retry is answered as a duplicate"}, x.in.cfg.retryAfter, fields...)
	}
}

// answerBatch answers a batch, with one result per event and the HTTP
// status of batchStatus.
func (x *exchange) answerBatch(events []*event) {
	a := batchAnswer{TraceID: x.traceID, Results: make([]itemResult, len(events))}
	retry := time.Duration(0)
	unavailable := "" // the code of the first event Kafka did not take
	var issues []string
	for i, ev := range events {
		res := itemResult{Index: i, Status: ev.outcome, EventID: ev.id}
		switch ev.outcome {
		case OutcomeAccepted:
			a.Accepted++
		case OutcomeDuplicate:
			a.Duplicates++
			res.Duplicate = true
		case OutcomeQuarantined:
			a.Quarantined++
			res.Error = &itemError{Code: ev.breach.code, Detail: ev.breach.detail, Errors: ev.breach.answerIssues(), ErrorsTruncated: ev.breach.truncated}
		case CodeSchemaViolation, CodeUnknownEventType:
			a.Invalid++
			res.Status = OutcomeInvalid
			res.Error = &itemError{Code: ev.outcome, Detail: ev.breach.detail, Errors: ev.breach.answerIssues(), ErrorsTruncated: ev.breach.truncated}
			for _, p := range ev.breach.paths() {
				issues = append(issues, "["+strconv.Itoa(i)+"]"+p)
			}
		case CodeInProgress:
			a.InProgress++
			res.Error = &itemError{Code: ev.outcome}
			retry = max(retry, time.Second)
		case CodeRecordTooLarge:
			a.TooLarge++
			res.Error = &itemError{Code: ev.outcome}
		default:
			a.Unavailable++
			res.Error = &itemError{Code: ev.outcome}
			retry = max(retry, x.in.cfg.retryAfter)
			if unavailable == "" {
				unavailable = ev.outcome
			}
		}
		a.Results[i] = res
	}
	n := len(events)
	status, outcome := batchStatus(&a, n, unavailable)
	a.Status = outcome
	x.respond(status, outcome, mediaJSON, a, retry,
		zap.Int("events", n), zap.Int("accepted", a.Accepted), zap.Int("duplicates", a.Duplicates),
		zap.Int("quarantined", a.Quarantined), zap.Int("invalid", a.Invalid), zap.Int("in_progress", a.InProgress),
		zap.Int("unavailable", a.Unavailable), zap.Int("too_large", a.TooLarge), zap.Strings("issues", issues))
}

// batchStatus is the HTTP status and outcome of a batch of n events
// counted in a; unavailable is the code of its first event left unwritten
// for unavailability, if any. A 2xx says that no event needs sending
// again:
//
//   - 202 when every event was accepted, a duplicate or quarantined;
//   - 503 (with Retry-After) when any event was not written because Kafka
//     or the ingress's buffer could not take it, whatever the others did,
//     and 409 when the only ones not written were in progress elsewhere:
//     a sender that reads no more than the status sends the batch again,
//     and the events that did get through come back as duplicates;
//   - 422 when every event broke its contract under the reject policy,
//     413 when the broker refused every event as too large;
//   - 207 Multi-Status for any other mix: each event is settled for good,
//     some as invalid or too large, which sending again will not change.
func batchStatus(a *batchAnswer, n int, unavailable string) (int, string) {
	switch {
	case a.Accepted+a.Duplicates+a.Quarantined == n:
		return http.StatusAccepted, OutcomeAccepted
	case a.Unavailable > 0:
		return http.StatusServiceUnavailable, unavailable
	case a.InProgress > 0:
		return http.StatusConflict, CodeInProgress
	case a.Invalid == n:
		return http.StatusUnprocessableEntity, CodeSchemaViolation
	case a.TooLarge == n:
		return http.StatusRequestEntityTooLarge, CodeRecordTooLarge
	}
	return http.StatusMultiStatus, OutcomePartial
}

// fail answers with the problem of code.
func (x *exchange) fail(code, detail string, retryAfter time.Duration, fields ...zap.Field) {
	x.problem(problemBody{Code: code, Detail: detail}, retryAfter, fields...)
}

// problem answers with p, filling in its type, title, status and trace.
func (x *exchange) problem(p problemBody, retryAfter time.Duration, fields ...zap.Field) {
	p.Type = ProblemType(p.Code)
	p.Status, p.Title, _ = problemInfo(p.Code)
	p.TraceID = x.traceID
	x.respond(p.Status, p.Code, mediaProblem, p, retryAfter, append(fields, zap.String("detail", p.Detail))...)
}

// respond writes the answer, counts it, ends the span's story and logs
// one line: tenant, integration, trace id, outcome and what fields say,
// never the body, a signature or a secret.
func (x *exchange) respond(status int, outcome, contentType string, body any, retryAfter time.Duration, fields ...zap.Field) {
	h := x.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	b, err := json.Marshal(body)
	if err != nil {
		status, outcome = http.StatusInternalServerError, CodeInternal
		b = []byte(`{"type":"` + ProblemType(CodeInternal) + `","title":"Internal error","status":500,"code":"internal"}`)
		fields = append(fields, zap.NamedError("encode_error", err))
	}
	x.w.WriteHeader(status)
	_, _ = x.w.Write(append(b, '\n'))

	took := time.Since(x.start)
	x.in.metrics.observe(x.tenantL, x.integrationL, outcome, took)
	if status == http.StatusServiceUnavailable {
		x.in.metrics.unavailable.WithLabelValues(x.tenantL, x.integrationL, outcome).Inc()
	}
	x.span.SetAttributes(attribute.Int("http.response.status_code", status), attribute.String("sluice.outcome", outcome))
	if status >= 500 {
		x.span.SetStatus(codes.Error, outcome)
	}

	level := zapcore.DebugLevel
	switch {
	case status >= 500 && status != http.StatusServiceUnavailable:
		level = zapcore.ErrorLevel
	case status >= 500:
		level = zapcore.WarnLevel
	case status >= 400:
		level = zapcore.InfoLevel
	}
	if ce := x.in.log.Check(level, "webhook answered"); ce != nil {
		ce.Write(append([]zap.Field{
			zap.String(telemetry.FieldTenant, x.tenantL),
			zap.String(telemetry.FieldIntegration, x.integrationL),
			zap.String(telemetry.FieldTraceID, x.traceID),
			zap.Int("status", status),
			zap.String("outcome", outcome),
			zap.Bool("batch", x.batch),
			zap.Duration("took", took),
		}, fields...)...)
	}
}
