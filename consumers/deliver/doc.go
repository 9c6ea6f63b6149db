// Package deliver is sluice's delivery stage: canonical events out to the
// destinations of the catalog, as signed webhooks or as records of a
// Kafka topic.
//
//	sluice.canonical.<object>        ──> deliver.<dest>       ──> destination
//	sluice.canonical.<object>.batch  ──> deliver.<dest>.batch ──> destination
//	                                        │
//	             sluice.retry.deliver.<dest>[.batch].<n>, sluice.dlq.deliver.<dest>[.batch]
//	             sluice.delivery.attempts (every attempt)
//
// Guarantee: over HTTP, at least once with the event id as idempotency
// key, made effectively once by a done-marker in Redis; to a Kafka topic,
// exactly once (the copy commits in the transaction of the input offset).
// No event is dropped: each is delivered, skipped because its destination
// does not subscribe to it (or a done-marker says it was delivered), or
// dead-lettered with its reason.
//
// # Runners and lanes
//
// Each destination and lane is a stage runner of its own (package stage):
// consumer group "sluice-deliver-<dest>" reading the interactive canonical
// topics of the objects the destination subscribes to, and
// "sluice-deliver-<dest>-batch" reading the batch topics. A slow or broken
// destination holds up only its own groups, and a backfill on the batch
// lane never holds up an interactive event: different topics, different
// groups, and the batch lane may use only a share of the destination's
// concurrency (BatchLaneShare, default half). Partitions are handled
// concurrently; so are the events of a partition batch, up to the
// destination's MaxConcurrency requests in flight per process (a
// semaphore shared by its lanes and batches).
//
// A poll (MaxPollRecords, default 1000) is one transaction of the
// runner. A batch starts no request once its BatchBudget (default 30s) is
// spent: it defers what is left, so a slow destination holds a
// transaction, and its partitions, for at most the budget and one request
// timeout; the runner's transaction timeout is that plus 30s, which also
// bounds how long a member that died mid-batch holds its partitions.
//
// # One event
//
//  1. Filter: an event of a tenant or event type the destination does not
//     subscribe to is skipped (not_subscribed).
//  2. One Redis round trip per batch reads the destination's disabled flag
//     and the events' done-markers. A delivered event is skipped
//     (delivered), and so is a second copy of an event in the batch
//     (duplicate); the events of a disabled destination are
//     dead-lettered.
//  3. Batch budget spent, or circuit breaker open: the event is deferred
//     (see below).
//  4. Rate limits, per destination and per tenant, in Redis: the event
//     waits up to RateLimitWait (default 1s), then is deferred for the
//     limiter's wait. The destination's is asked first, so that a request
//     it refuses costs no tenant's budget; once it refuses, the rest of
//     the batch follows without asking, and once a tenant's refuses, the
//     rest of that tenant's events do.
//  5. Concurrency slot, body (Body, e.g. JSONBody), then one signed POST
//     (package connectors/webhook: Standard Webhooks signatures, SSRF
//     checks at dial time, no redirects).
//  6. The answer: 2xx writes the done-marker at once; 3xx, 408, 425, 429,
//     5xx and network errors retry; 410 disables the destination and
//     dead-letters the event; any other 4xx dead-letters it with the
//     status and the start of the answer's body. The attempt is recorded.
//
// # Retries
//
// Retries go through the runner's delayed retry topics; nothing sleeps in
// the handler. A destination's retry topics have fixed delays from its
// InitialBackoff to its MaxBackoff, each RetryLaneFactor (default 4)
// times the one before: with the defaults 1s, 4s, 16s, 1m4s, 4m16s,
// 17m4s, 1h. After the n-th failed attempt the stage wishes for a delay
// with full jitter, uniform between 0 and min(MaxBackoff,
// InitialBackoff×2^(n-1)), or for the destination's Retry-After clamped
// to RetryAfterBounds (default 1s to 1h) and to MaxBackoff, and asks the
// runner (stage.RetryAfter) for the retry topic with the shortest delay
// covering that wish: jitter is kept at the granularity of the topics, and
// a Retry-After is honoured, never undercut. MaxAttempts (default 8,
// counting the first) and MaxAge (default 24h, the age of the event since
// sluice received it, from its received-at header) dead-letter an event
// that keeps failing.
//
// Events held back without an attempt (an open breaker, a rate limit, an
// earlier event of an ordered key) are deferred (stage.Defer): they wait
// in a retry topic without using an attempt, bounded by MaxAge. The age
// of an event without a received-at header is known from its input
// record's timestamp on the first pass only; once in a retry topic, its
// deferrals count as attempts instead, which bounds them by MaxAttempts.
//
// # Circuit breaker
//
// Each destination has a breaker per process (sony/gobreaker), shared by
// its lanes. Attempts that fail in a way that says the destination is
// unwell (network errors, timeouts, 3xx, 408, 425, 429, 5xx) count as
// failures; any other answer shows it is up. After ConsecutiveFailures
// (default 5) in a row, or FailureRatio of at least MinRequests in Window
// (default half of 20 in a minute), it opens: for OpenFor (default 30s)
// the destination's events are deferred to the retry topic covering the
// rest of the open period instead of being sent. Then Probes attempts
// (default 1) go through half-open; success closes the breaker, failure
// opens it again. The state is the gauge sluice_deliver_breaker_state and
// is in the admin API.
//
// # Effectively once
//
// Every request carries the event id as its webhook-id and
// Idempotency-Key (an event id that Standard Webhooks does not allow, with
// a full stop, a space or non-ASCII, is replaced by "evt_" and 32 hex
// digits of its SHA-256, the same on every attempt). After a 2xx the stage
// writes the done-marker
//
//	<prefix>deliver:<destination>:<tenant>:<event-id>   (TTL DoneTTL, default 7 days)
//
// soon: within 5ms, or as soon as 256 are waiting, in one pipeline with
// the markers of the destination's other events delivered meanwhile
// (whatever their partition or lane), and always before the batch
// commits; every batch reads the markers of its events first. Each write
// is a round trip, and under load a busy destination's writes cost Redis
// and the stage more than its markers do: 5ms rather than 1ms saved a
// quarter of Redis's CPU per event and gave 4-5% more events/s on two
// cores, for a window a few milliseconds longer below. The windows that
// remain:
//
//   - The process dies after the destination took the request and before
//     the 2xx was read or the marker written (at most 5ms and a Redis
//     round trip): the event is sent again. The receiver sees the same
//     webhook-id twice and drops the second; that is what the id is for.
//   - The stage is stopped (a deploy): it starts no more requests, and
//     those in flight have 5s to be answered; a 2xx read then is settled
//     as any other, its done-marker written before the batch ends. Only a
//     request still unanswered after that is cut off, and sent again by
//     the next instance.
//   - Redis refuses the marker: the failure is counted
//     (sluice_deliver_marker_failures_total); if the batch then aborts,
//     the marker is tried again in its AfterAbort hook; if that fails too,
//     the event is sent again.
//   - A Redis failover loses the old master's last writes (replication
//     is asynchronous), markers among them, and the process dies before
//     the batch commits: the event is sent again.
//
// A crash after the marker and before the commit sends nothing twice: the
// batch comes again, the marker skips the event.
//
// # Ordered destinations
//
// A destination with Ordered set delivers the events of one key in order:
// the key is the tenant and the record key, which is the tenant's
// partition key, or, for a hot tenant spread over sub-keys, the entity's
// sub-key. The events of a key in a batch go one after another; different
// keys go concurrently. When an event of a key goes to a retry topic, for
// a failure or a deferral, it heads a queue in Redis
//
//	<prefix>deliver:<destination>:@order:{<hash of tenant and key>}   (list of event ids; and :due, their due times)
//
// and every later event of that key, from the input or a retry topic,
// joins the queue and is deferred until the head is delivered or
// dead-lettered; then the next in the queue goes. A head that does not
// come back OrderStaleAfter (default 1h) past its due time is dropped
// from the queue, so a lost record cannot hold a key for ever.
//
// The trade-off: one failing event holds back every later event of its
// key (for a tenant without sub-keys, all of the tenant's events to that
// destination) until it is delivered or given up, up to MaxAge; events
// waiting behind it cycle through the retry topics, deferred without
// using attempts; each ordered event costs a Redis round trip; and a
// dead-lettered event no longer holds its key, so the events after it are
// delivered without it. Other keys are not held.
//
// # Disabled destinations
//
// A 410 Gone disables the destination: in this process at once, in the
// others through the flag <prefix>deliver:<destination>:@disabled, read
// with every batch. It is logged, the gauge sluice_deliver_disabled is 1
// and the admin API says why and since when. While disabled, the
// destination's events are dead-lettered with that reason rather than
// parked, so nothing piles up unseen; once the endpoint is fixed, POST
// /admin/v1/destinations/{id}/enable and redrive the dead letters.
//
// # Attempts
//
// Every attempt, of any result, is a JSON record (see Attempt) of the
// attempts topic (AttemptsTopic, default sluice.delivery.attempts), keyed
// by tenant, with the tenant-id, event-id, event-type and destination
// headers:
//
//	{"tenant_id":"acme","destination":"crm-sync","event_id":"e-42","event_type":"contact.updated",
//	 "message_id":"e-42","lane":"interactive","attempt":2,"at":"2030-01-02T03:04:05.678Z",
//	 "result":"failed","status":503,"latency_ms":12.5,"error":"deliver: delivery failed: status 503",
//	 "retry_in_ms":4000,"topic":"sluice.canonical.contact","partition":3,"offset":1234}
//
// Results: delivered, failed, rejected, gone, and produced (Kafka
// destinations). A webhook attempt happened whether or not the batch's
// transaction commits, so its record is produced outside the
// transaction. A batch gathers its attempt records and produces them
// together, every 10ms and when it ends (the broker's work goes with the
// number of requests more than with the number of records), and waits
// for the broker to take them before it commits; an aborted batch's
// attempts stay on record, and its events are not sent again when their
// markers say they were delivered. A process that dies loses the attempt
// records it had not produced yet, those of its last 10ms at most; its
// events are safe (see Effectively once).
// (Record.Emit could not carry them: a failed record emits nothing.) A
// Kafka destination's attempt is emitted in the transaction with the copy
// of the event, so it is recorded exactly when the copy is.
//
// # Kafka destinations
//
// A destination of kind kafka receives each event as it is (the same key,
// value bytes and headers) on its topic, produced in the runner's
// transaction with the input offsets: exactly once to read_committed
// consumers. Breaker, rate limits and done-markers do not apply.
//
// # Operations
//
// Metrics: sluice_deliver_attempts_total{destination,tenant,result},
// sluice_deliver_request_seconds{destination,result},
// sluice_deliver_deferred_total{destination,reason},
// sluice_deliver_skipped_total{destination,reason},
// sluice_deliver_breaker_state{destination},
// sluice_deliver_disabled{destination},
// sluice_deliver_in_flight{destination},
// sluice_deliver_marker_failures_total{destination}; and the runners' own.
// The admin API (RegisterAdmin): GET /admin/v1/destinations, POST
// /admin/v1/destinations/{id}/enable and .../disable. Log lines carry the
// destination, tenant and event id, never a body, a signature or a secret;
// a destination's URL is shown by its host only.
package deliver
