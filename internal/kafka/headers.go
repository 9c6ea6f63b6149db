package kafka

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Record header keys. They are plain text so that people can read them in
// Kafka UI without decoding the value.
const (
	HeaderTenantID    = "tenant-id"
	HeaderEventID     = "event-id"
	HeaderEventType   = "event-type"
	HeaderIntegration = "integration"
	HeaderTraceParent = "traceparent"
	HeaderTraceState  = "tracestate"
	HeaderReceivedAt  = "received-at"
	// HeaderLane is "interactive" or "batch".
	HeaderLane = "lane"
	// HeaderProviderEventID keeps the provider's own event or delivery id
	// when it could not serve as the event id as it was (see the webhook
	// ingress), so the event can still be found by it.
	HeaderProviderEventID = "provider-event-id"

	// Dead letters and retries add these.
	HeaderErrorStage        = "error-stage"
	HeaderErrorClass        = "error-class"
	HeaderErrorMessage      = "error-message"
	HeaderOriginalTopic     = "original-topic"
	HeaderOriginalPartition = "original-partition"
	HeaderOriginalOffset    = "original-offset"
	HeaderAttempts          = "attempts"
	// HeaderRetryAt is when a record in a retry topic is due, RFC 3339
	// with nanoseconds in UTC.
	HeaderRetryAt = "retry-at"
	// HeaderErrorCode is the stable code of the error, e.g.
	// "schema_violation" on a record kept in an invalid topic.
	HeaderErrorCode = "error-code"
)

// Header returns the value of the first header with key, or "".
func Header(r *kgo.Record, key string) string {
	return string(HeaderBytes(r, key))
}

// HeaderBytes returns the value of the first header with key, or nil,
// without copying it: for passing a header on to another record.
func HeaderBytes(r *kgo.Record, key string) []byte {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// SetHeader replaces the header with key, or adds it.
func SetHeader(r *kgo.Record, key, value string) {
	SetHeaderBytes(r, key, []byte(value))
}

// SetHeaderBytes replaces the header with key, or adds it, with value
// itself (not a copy): value must not change afterwards.
func SetHeaderBytes(r *kgo.Record, key string, value []byte) {
	for i := range r.Headers {
		if r.Headers[i].Key == key {
			r.Headers[i].Value = value
			return
		}
	}
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: key, Value: value})
}

// HeaderInt returns the integer value of the header with key, or def when
// it is missing or not a number.
func HeaderInt(r *kgo.Record, key string, def int) int {
	v := Header(r, key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def
	}
	return n
}
