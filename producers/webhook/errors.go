package webhook

import (
	"errors"
	"net/http"
)

var (
	// ErrConfig is returned by New when the catalog or the options cannot
	// serve webhooks: a secret that cannot be resolved or decoded, a
	// contract naming a record that is not an event, a bad option. The
	// message names the integration and the field, never a secret.
	ErrConfig = errors.New("webhook: bad configuration")

	// ErrProducer is returned by New for a Kafka client that could lose or
	// double records: one without acks=all, without idempotence, or
	// transactional.
	ErrProducer = errors.New("webhook: the producer must be idempotent with acks=all")

	// ErrNotReady is returned by Prepare's callers while the topics or
	// the schema subjects are not ready yet.
	ErrNotReady = errors.New("webhook: not ready")
)

// Problem codes: the stable "code" of every error body the ingress sends
// (RFC 9457 problem details, type "https://sluice.dev/problems/<code>"),
// also used as the outcome label of its metrics. Senders and dashboards
// may depend on them.
const (
	// CodeNotFound: the path is not a webhook route (404).
	CodeNotFound = "not_found"
	// CodeMethodNotAllowed: anything but POST (405).
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeUnknownTenant: the tenant in the path is not in the catalog,
	// or is disabled (404).
	CodeUnknownTenant = "unknown_tenant"
	// CodeUnknownIntegration: the integration in the path is not in the
	// catalog, takes no webhooks, or is not open to the tenant (404).
	CodeUnknownIntegration = "unknown_integration"
	// CodeIntegrationDisabled: the integration is turned off; the detail
	// gives the catalog's reason (503).
	CodeIntegrationDisabled = "integration_disabled"
	// CodeUnsupportedMediaType: a content type other than
	// application/json (or application/x-ndjson for a batch), a charset
	// other than UTF-8, or a content encoding (415).
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeBodyTooLarge: the body is longer than the integration's limit
	// (413).
	CodeBodyTooLarge = "body_too_large"
	// CodeTooManyEvents: a batch holds more events than the
	// integration's limit (413).
	CodeTooManyEvents = "too_many_events"
	// CodeBadRequest: the body could not be read to its end (400).
	CodeBadRequest = "bad_request"
	// CodeInvalidSignature: the signature is missing, malformed, stale
	// or does not match; "reason" says which (401).
	CodeInvalidSignature = "invalid_signature"
	// CodeMalformedBatch: a batch body that is not a JSON array of
	// values or NDJSON, or holds no event (400).
	CodeMalformedBatch = "malformed_batch"
	// CodeRateLimited: the tenant's or the integration's rate limit is
	// reached; Retry-After says when to come back (429).
	CodeRateLimited = "rate_limited"
	// CodeSchemaViolation: the event breaks its Avro contract; "errors"
	// lists the issues with their paths (422, or 202 under quarantine).
	CodeSchemaViolation = "schema_violation"
	// CodeUnknownEventType: no contract of the integration covers the
	// event's type, or the event has none (422, or 202 under
	// quarantine).
	CodeUnknownEventType = "unknown_event_type"
	// CodeInProgress: another delivery of the same event is being
	// written right now; retry after Retry-After (409).
	CodeInProgress = "in_progress"
	// CodeBackpressure: the ingress holds as much as it may in memory
	// (produce buffer or concurrent requests); retry (503).
	CodeBackpressure = "backpressure"
	// CodeKafkaUnavailable: the broker did not acknowledge the event in
	// time or refused it; retry (503). A retry after the broker is back
	// is answered as a duplicate when the first delivery got through.
	CodeKafkaUnavailable = "kafka_unavailable"
	// CodeRedisUnavailable: the idempotency and rate-limit store cannot
	// be reached; nothing was written; retry (503).
	CodeRedisUnavailable = "redis_unavailable"
	// CodeRegistryUnavailable: the schema registry could not give the
	// contract's schema id; nothing was written; retry (503).
	CodeRegistryUnavailable = "registry_unavailable"
	// CodeRecordTooLarge: the broker refused the encoded event as too
	// large (413).
	CodeRecordTooLarge = "record_too_large"
	// CodeNotReady: the ingress is starting (topics, schema subjects) or
	// stopping; retry (503).
	CodeNotReady = "not_ready"
	// CodeInternal: a fault of the ingress itself (500).
	CodeInternal = "internal"
)

// Outcomes of requests and events that are not problems, as the
// responses' "status" and the metrics' outcome label say them.
const (
	// OutcomeAccepted: written to the integration's topic and
	// acknowledged by the broker (202).
	OutcomeAccepted = "accepted"
	// OutcomeDuplicate: an event id already accepted; not written again
	// (200).
	OutcomeDuplicate = "duplicate"
	// OutcomeQuarantined: broke its contract and was kept in the
	// integration's invalid topic for review, as the integration asks
	// (202).
	OutcomeQuarantined = "quarantined"
	// OutcomeInvalid: a batch item that broke its contract under the
	// reject policy; kept in the invalid topic and reported.
	OutcomeInvalid = "invalid"
	// OutcomePartial: a batch whose items had different outcomes (207).
	OutcomePartial = "partial"
	// OutcomeChallenge: Slack's url_verification handshake, answered
	// with its challenge (200).
	OutcomeChallenge = "url_verification"
)

// problemStatus maps problem codes to their HTTP status.
var problemStatus = map[string]int{
	CodeNotFound:             http.StatusNotFound,
	CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	CodeUnknownTenant:        http.StatusNotFound,
	CodeUnknownIntegration:   http.StatusNotFound,
	CodeIntegrationDisabled:  http.StatusServiceUnavailable,
	CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	CodeBodyTooLarge:         http.StatusRequestEntityTooLarge,
	CodeTooManyEvents:        http.StatusRequestEntityTooLarge,
	CodeBadRequest:           http.StatusBadRequest,
	CodeInvalidSignature:     http.StatusUnauthorized,
	CodeMalformedBatch:       http.StatusBadRequest,
	CodeRateLimited:          http.StatusTooManyRequests,
	CodeSchemaViolation:      http.StatusUnprocessableEntity,
	CodeUnknownEventType:     http.StatusUnprocessableEntity,
	CodeInProgress:           http.StatusConflict,
	CodeBackpressure:         http.StatusServiceUnavailable,
	CodeKafkaUnavailable:     http.StatusServiceUnavailable,
	CodeRedisUnavailable:     http.StatusServiceUnavailable,
	CodeRegistryUnavailable:  http.StatusServiceUnavailable,
	CodeRecordTooLarge:       http.StatusRequestEntityTooLarge,
	CodeNotReady:             http.StatusServiceUnavailable,
	CodeInternal:             http.StatusInternalServerError,
}

// problemTitle is the short, fixed title of each problem code.
var problemTitle = map[string]string{
	CodeNotFound:             "Not a webhook route",
	CodeMethodNotAllowed:     "Method not allowed",
	CodeUnknownTenant:        "Unknown tenant",
	CodeUnknownIntegration:   "Unknown integration",
	CodeIntegrationDisabled:  "Integration disabled",
	CodeUnsupportedMediaType: "Unsupported media type",
	CodeBodyTooLarge:         "Body too large",
	CodeTooManyEvents:        "Too many events in the batch",
	CodeBadRequest:           "The body could not be read",
	CodeInvalidSignature:     "Invalid signature",
	CodeMalformedBatch:       "Malformed batch",
	CodeRateLimited:          "Rate limit reached",
	CodeSchemaViolation:      "The event breaks its contract",
	CodeUnknownEventType:     "No contract for the event type",
	CodeInProgress:           "The same event is being written",
	CodeBackpressure:         "Too busy",
	CodeKafkaUnavailable:     "Kafka did not acknowledge the event",
	CodeRedisUnavailable:     "Idempotency store unavailable",
	CodeRegistryUnavailable:  "Schema registry unavailable",
	CodeRecordTooLarge:       "Encoded event too large",
	CodeNotReady:             "Not ready",
	CodeInternal:             "Internal error",
}

// ProblemType returns the problem type URI of a code,
// "https://sluice.dev/problems/<code>".
func ProblemType(code string) string { return "https://sluice.dev/problems/" + code }

// Status returns the HTTP status the ingress answers a problem code with,
// or 500 for a code it does not know.
func Status(code string) int {
	if s, ok := problemStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}
