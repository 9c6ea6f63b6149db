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

// problem returns the HTTP status and the fixed title of a problem code;
// ok is false for a code it does not know.
func problemInfo(code string) (status int, title string, ok bool) {
	switch code {
	case CodeNotFound:
		return http.StatusNotFound, "Not a webhook route", true
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed, "Method not allowed", true
	case CodeUnknownTenant:
		return http.StatusNotFound, "Unknown tenant", true
	case CodeUnknownIntegration:
		return http.StatusNotFound, "Unknown integration", true
	case CodeIntegrationDisabled:
		return http.StatusServiceUnavailable, "Integration disabled", true
	case CodeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType, "Unsupported media type", true
	case CodeBodyTooLarge:
		return http.StatusRequestEntityTooLarge, "Body too large", true
	case CodeTooManyEvents:
		return http.StatusRequestEntityTooLarge, "Too many events in the batch", true
	case CodeBadRequest:
		return http.StatusBadRequest, "The body could not be read", true
	case CodeInvalidSignature:
		return http.StatusUnauthorized, "Invalid signature", true
	case CodeMalformedBatch:
		return http.StatusBadRequest, "Malformed batch", true
	case CodeRateLimited:
		return http.StatusTooManyRequests, "Rate limit reached", true
	case CodeSchemaViolation:
		return http.StatusUnprocessableEntity, "The event breaks its contract", true
	case CodeUnknownEventType:
		return http.StatusUnprocessableEntity, "No contract for the event type", true
	case CodeInProgress:
		return http.StatusConflict, "The same event is being written", true
	case CodeBackpressure:
		return http.StatusServiceUnavailable, "Too busy", true
	case CodeKafkaUnavailable:
		return http.StatusServiceUnavailable, "Kafka did not acknowledge the event", true
	case CodeRedisUnavailable:
		return http.StatusServiceUnavailable, "Idempotency store unavailable", true
	case CodeRegistryUnavailable:
		return http.StatusServiceUnavailable, "Schema registry unavailable", true
	case CodeRecordTooLarge:
		return http.StatusRequestEntityTooLarge, "Encoded event too large", true
	case CodeNotReady:
		return http.StatusServiceUnavailable, "Not ready", true
	case CodeInternal:
		return http.StatusInternalServerError, "Internal error", true
	}
	return http.StatusInternalServerError, "Internal error", false
}

// ProblemType returns the problem type URI of a code,
// "https://sluice.dev/problems/<code>".
func ProblemType(code string) string { return "https://sluice.dev/problems/" + code }

// Status returns the HTTP status the ingress answers a problem code with,
// or 500 for a code it does not know.
func Status(code string) int {
	s, _, _ := problemInfo(code)
	return s
}
