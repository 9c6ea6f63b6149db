// Package webhook is sluice's webhook ingress: it takes partners' signed
// webhooks over HTTP and writes them to Kafka, without losing or doubling
// one.
//
//	POST /v1/webhooks/{tenant}/{integration}        one event  → sluice.in.<integration>
//	POST /v1/webhooks/{tenant}/{integration}/batch  many       → sluice.in.<integration>
//	                                                 contract breaches → sluice.in.<integration>.invalid (raw)
//
// Delivery guarantee: a 2xx answer means the broker acknowledged the
// record (acks=all, idempotent producer); an event id that was accepted
// is not written again while its marker lives (DoneTTL, 7 days by
// default). Everything else is answered with a problem the sender can act
// on, usually by retrying.
//
// The integration's entry in the catalog (sluice.yaml) says everything
// about it: its signature scheme and secrets, its contract (which Avro
// record carries which event types, where the event type, the event id
// and the entity id are read from, what happens to unknown fields and to
// invalid events), its limits and its rate limit.
//
// # Checks, in order
//
//  1. Route: anything but the two paths is 404 "not_found".
//  2. Tenant known and enabled (404 "unknown_tenant"; a disabled tenant is
//     not told apart from an unknown one, since the sender has not proven
//     who it is yet), integration known, taking webhooks (it has a
//     signature) and open to the tenant (404 "unknown_integration"). A
//     disabled integration is 503 "integration_disabled" with the
//     catalog's reason.
//  3. POST only (405), content type application/json, or for a batch
//     application/json (an array) or application/x-ndjson; a charset
//     parameter must say UTF-8, and a Content-Encoding is refused, since
//     the signature covers the bytes as sent (415 "unsupported_media_type").
//     Form-encoded bodies are refused too: events are JSON, checked
//     against a contract, so a provider's form posts (Slack's slash
//     commands and interactivity payloads, a GitHub webhook set to the
//     form content type) are not taken; Slack's Events API and GitHub's
//     JSON webhooks are.
//  4. Readiness (503 "not_ready" while starting or stopping) and a bound on
//     the requests handled at once (503 "backpressure"), before a byte of
//     the body is read.
//  5. Body size: the body is read with a limit (limits.max_body_bytes, or
//     limits.max_batch_bytes for a batch) and never buffered beyond it; a
//     declared or actual longer body is 413 "body_too_large".
//  6. Signature over the raw body bytes, by the integration's scheme
//     (connectors/signature/schemes): 401 "invalid_signature" with a
//     "reason" (missing_header, malformed_header,
//     timestamp_out_of_tolerance, no_match). Nothing of an unsigned request
//     reaches Redis or Kafka. A signed Slack url_verification request is
//     answered with its challenge.
//  7. Rate limit: one GCRA decision per limit for n = the number of events
//     of the request, first the integration's rate_limit for the tenant,
//     then the tenant's own rate_limit, held in Redis so it holds across
//     instances (internal/ratelimit, go-redis/redis_rate): 429
//     "rate_limited" with Retry-After. A batch larger than a limit's burst
//     could never pass and is 413 "too_many_events".
//  8. Contract: each event is checked against the Avro record its type
//     maps to, and an event that breaks it is kept (see below).
//  9. Idempotency, then produce, then the answer (see below).
//
// # Event type, contract and event id
//
// The event type comes from contract.event_type (a header, or a dotted
// JSON path into the event), else from the signature scheme (Stripe's and
// Standard Webhooks' "type", X-GitHub-Event, X-Shopify-Topic, Slack's
// inner event type), else, for a batch item, from the item's top-level
// "type". The contract is the integration's event contract whose type is
// the event type exactly, else the one with the longest matching prefix
// pattern ("contact.*"), else "*". An event with no type, or one no
// contract covers, breaks its contract with code "unknown_event_type".
//
// The event id is read from contract.event_id when it is configured, else
// it is the scheme's delivery id (webhook-id, X-GitHub-Delivery, Stripe's
// and Slack's event ids, X-Shopify-Webhook-Id), else the hex SHA-256 of
// tenant, integration, event type and the event's raw bytes. A batch item
// takes its id from its own JSON (contract.event_id's JSON path) or the
// hash of its own bytes: a header or a delivery id names the batch, not
// the item. Ids travel on as Standard Webhooks message ids, so a provider
// id that is empty, longer than 256 bytes, or holds a full stop, a space
// or anything outside printable ASCII is replaced by "h_" and the hex
// SHA-256 of it, deterministic across the provider's retries; the
// provider's id is kept in the record's provider-event-id header.
//
// # What is written
//
// A valid event becomes the Avro event record {envelope, data}, encoded in
// the Confluent wire format under the subject avro.Subject(
// sluice.in.<integration>, record) (the integration's binding), keyed by
// the tenant's partition key (tenant.Key: a hot tenant's sub-key comes
// from contract.entity_id), with the headers tenant-id, event-id,
// event-type, integration, received-at (RFC 3339, UTC, milliseconds),
// lane, traceparent and tracestate, and provider-event-id when the id was
// derived. The envelope says the same, with the integration's source, the
// time the event occurred when known (a top-level "timestamp",
// "occurred_at" or "occurredAt" of the payload, else the signed
// timestamp) and the trace parent.
//
// An event that breaks its contract is written as it came (a batch item:
// its own bytes) to sluice.in.<integration>.invalid, with the headers
// tenant-id, integration, event-id, event-type when known, received-at,
// traceparent, error-stage=ingress, error-class=contract, error-code
// (schema_violation or unknown_event_type) and error-message: the issues'
// paths and codes, never a value, which may be personal data, at most 1 KiB.
// Under on_invalid: reject it is answered 422 with the issues (path, code,
// message, expected and what came, by kind); under on_invalid: quarantine
// it is answered 202 {"status":"quarantined", "note"} and remembered like
// an accepted event. Either way the answer waits for the broker's
// acknowledgement of the invalid record: nothing is dropped silently.
// Under reject the id is not claimed, so that a delivery of it that keeps
// its contract (the sender fixed it, or the contract changed) is taken
// when it comes; the price is that each refused delivery, a provider's
// retries of a 422 included, writes its own copy to the invalid topic,
// with the same event-id header.
//
// # Idempotency
//
// Each event id has a marker in Redis,
// "<prefix>ingress:<tenant>:<integration>:<event id>":
//
//   - A delivery claims the id atomically (SET NX PX GET of
//     "pending:<instance>:<n>" with a lease of 60 seconds, which answers
//     the marker already there; on a Redis before 7.0, which refuses NX
//     with GET, a one-key Lua script that does the same), then produces.
//   - When the broker acknowledges, the marker becomes "done" for DoneTTL
//     and the answer is 202 {"status":"accepted", "event_id",
//     "duplicate": false, "topic", "partition", "offset"}.
//   - A delivery that finds "done" is answered 200 {"status":"duplicate",
//     "duplicate": true} and writes nothing. One that finds a pending
//     marker (a concurrent delivery of the same event) is answered 409
//     "in_progress" with Retry-After: 1 and writes nothing. So two
//     concurrent identical deliveries write once.
//   - When the produce fails for certain (the buffer was full, the broker
//     refused the record), the marker is deleted, only while it is still
//     this delivery's, and the answer is 503: the sender's retry writes it.
//   - When the broker does not answer within the produce wait (10 seconds
//     by default), the outcome is unknown: kgo's idempotent producer never
//     fails a record that may have reached the broker, and keeps it until
//     the broker is back. The answer is 503 with Retry-After, the marker
//     stays pending, and the produce promise finishes the job later: "done"
//     on success, deleted on failure. While the write is outstanding, its
//     lease is renewed (Run), so the marker outlives a long outage. A
//     retry during the outage gets 409, after it 200 duplicate, or 202 if
//     the first write failed after all: nothing lost, nothing doubled.
//   - A batch claims all its ids in one pipelined round trip (one
//     command per id, so each touches one key on Redis Cluster); an id
//     twice in one batch is written once and its second item is a
//     duplicate.
//
// Redis unavailable is 503 "redis_unavailable" and nothing is written:
// the ingress fails closed, because without the marker it could not keep
// its promise not to write an event twice, and a refused sender retries,
// so nothing is lost. Redis failing after the broker acknowledged a write
// leaves the event safe in Kafka and answered 202; the pending marker then
// runs out with its lease, and a repeat after that would be written again
// (counted in sluice_ingress_marker_errors_total; the transform stage's
// dedupe catches it). An instance that dies with writes outstanding leaves
// their markers to run out the same way.
//
// # Memory and backpressure
//
// Memory is bounded: the requests handled at once (MaxConcurrent) times
// the body limit, and the producer's buffer (ProducerOpts:
// kgo.MaxBufferedRecords and kgo.MaxBufferedBytes). Records are produced
// with TryProduce, so a full buffer fails a request at once with 503
// "backpressure" instead of queueing it. The producer lingers 5 ms to fill
// its batches, which is most of a lone request's latency and buys
// throughput under load.
//
// # Batches
//
// A batch is a JSON array of events or NDJSON (one event per line), at
// most limits.max_batch_events events and limits.max_batch_bytes bytes,
// signed as one body. The answer lists one result per event, in order:
// {index, status (accepted, duplicate, quarantined, invalid, in_progress,
// record_too_large, or a 503 code), event_id, duplicate, error {code,
// detail, errors}}, with a count per status. Its HTTP status is a 2xx
// only when no event needs sending again, so that a sender that reads no
// more than the status loses nothing: 202 when every event was accepted,
// a duplicate or quarantined; 503 (with Retry-After) when any event was
// not written for unavailability, whatever the others did, and 409 when
// the only ones not written were in progress elsewhere (sent again, the
// events that got through are answered as duplicates); 422 when every
// event broke its contract under reject; 413 when the broker refused
// every event as too large; 207 Multi-Status for any other mix, each
// event settled for good.
//
// # Errors
//
// Refusals are RFC 9457 problem details (Content-Type
// application/problem+json): type "https://sluice.dev/problems/<code>",
// title, status, detail, code (see the Code constants), and where known
// reason, event_id, trace_id and errors. The codes are stable.
//
// # Telemetry
//
// Each request is a span "webhook.receive" of the configured tracer
// provider, child of the sender's traceparent when it sent one; the
// span's context is written into each record's traceparent and tracestate
// headers and the envelope. One log line per request carries tenant,
// integration, trace id, outcome and, for one event, its event id; never
// the body, a signature header or a secret. Metrics (prefix
// sluice_ingress_) count requests by outcome, accepted events, duplicates,
// signature failures by reason, schema violations (rejected or
// quarantined), rate-limited requests by limit, 503s by reason, in-progress
// refusals, and request latency by outcome. Labels are catalog ids only;
// an unknown tenant or integration in the path is counted as "unknown".
package webhook
