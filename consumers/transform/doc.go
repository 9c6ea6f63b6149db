// Package transform is sluice's transform stage: source events in,
// canonical events out, with identities stitched across systems and
// duplicates dropped.
//
//	sluice.in.<integration> ──> transform ──> sluice.canonical.<object>[.batch]   (Account, Contact, Order, Ticket)
//	                               │     └──> sluice.identity                     (identity bindings, compacted)
//	                               └──> sluice.retry.transform.<n>, sluice.dlq.transform
//
// Exactly once from Kafka to Kafka: the stage runs on the stage runner
// (consumers/stage), so each poll's canonical events, the identity
// bindings they rely on, its retries and dead letters, and its input
// offsets commit in one transaction or not at all. A source event handled
// twice (a retry, a rebalance, a member that died mid-batch) commits its
// canonical events once; a source event sent twice (a partner's resend,
// a replay) is dropped by dedupe; and the canonical event ids are the
// same on every attempt, so a consumer that sees one twice can tell.
//
// # What happens to a batch
//
// The runner hands the stage a partition's batch of source events:
//
//  1. Prepare (the runner calls it as soon as the batch is polled, which
//     may be while the transaction before ends) starts working on the
//     batch in the background, in chunks
//     of 256 records, as a pipeline: decoding each record of a chunk (the
//     Avro serde, against the schema registry) and mapping it with its
//     integration's mapping (package mapping), spread over the cores;
//     then resolving the chunk's canonical ids (package identity, two
//     Redis round trips, one chunk after another in batch order) while
//     the next chunk is decoded; then building the chunk's canonical
//     events: each object's tenant, id, external ids (every id it has in
//     every system) and references (an order's account and contact),
//     encoded. The stage's cores work while Redis answers.
//  2. observe, the outer middleware, counts what the others decided once
//     the batch commits (duplicates, unmapped events, Redis round trips).
//  3. dedupe (consumers/dedupe) claims each event by tenant, stage and
//     source event id in Redis, while that runs, and after the commit
//     hooks of the transaction before; a copy of an event already
//     transformed is skipped.
//  4. Handle waits for the work and emits the canonical events of the
//     records dedupe let through, in record order, with the identity
//     bindings they rely on that may not be in the topic yet. Records are
//     failed or skipped only then, so a batch that must come again (the
//     registry or Redis is down) leaves nothing decided.
//
// After the commit, dedupe marks the events done before the next batch is
// handled, and the identity bindings written are confirmed durable in
// Redis while the next batch is handled: a batch that meets one still pending writes
// it to the topic again, which is harmless.
//
// Each integration of the catalog (an input topic sluice.in.<id>) has a
// mapping: its own file (Integration.Mapping, relative to the catalog)
// or its source connector's default (connectors/<source>, given with
// Connector). Mappings are compiled against the contracts when the stage
// is made, so a mapping that does not fit fails at start, naming its
// file, line and path. One source event may make several canonical
// objects (a shop order makes an Order and a Contact for its customer);
// an event its mapping selects no object for is skipped ("unmapped").
//
// # Canonical events
//
// A canonical event is the Avro record {envelope, data} of its object
// (sluice.canonical.<Object>Event) in the Confluent wire format, under
// the subject "<topic>-<record>". Its topic is the object's canonical
// topic in the integration's lane: sluice.canonical.<object> for
// interactive integrations, sluice.canonical.<object>.batch for batch
// ones (CanonicalTopics names them otherwise). Its key is the tenant's
// partition key, with the canonical id as entity for hot tenants (so one
// object's events stay in order).
//
// Envelope and headers: tenant-id, event-id (the canonical event id),
// event-type ("<object>.<action>": created, updated or deleted),
// integration, traceparent and tracestate (the source event's; with the
// runner's Tracing, the stage's span in it), received-at (the source
// event's) and lane. The envelope keeps the source's source, occurred_at,
// received_at, schema_version and actor_id, and says in caused_by which
// source event it came from.
//
// The canonical event id is "evt_" and 26 base32 characters of SHA-256
// over the tenant, the source event id and the mapping's object name and
// type (EventID): deterministic, distinct for the objects of one source
// event, and a valid Standard Webhooks message id as it is.
//
// # Identities
//
// The identity map (package identity) gives each object its canonical
// id: the id its external id (source system and id) has, else the id of
// another object with the same match key (a contact's e-mail address, an
// account's domain), else a new id derived from the match key, so two
// members meeting one new customer from two systems at once agree. Every
// external id is kept: the canonical object lists them all. The compacted
// topic sluice.identity is the map's source of truth, written in the same
// transaction as the events; Redis holds the copy that one pipeline per
// batch reads, and is rebuilt from the topic when it has lost it. See
// package identity for the details and for the merges it does not make.
//
// # Failures
//
//	what                                   class        where it goes
//	Redis down (dedupe or identity)        (batch)      the batch comes again after a backoff
//	schema registry unreachable            (batch)      the batch comes again after a backoff
//	schema id unknown to the registry      retryable    sluice.retry.transform.<n>, then the DLQ
//	not a source event (no Avro, bad       poison       sluice.dlq.transform at once
//	  envelope, tenant differs from header)
//	writer schema unreadable as the        permanent    sluice.dlq.transform at once
//	  local contract
//	mapping error (a required value        permanent    sluice.dlq.transform at once, with the
//	  missing, a value that does not                    canonical field and source path in
//	  convert)                                          error-message, never the value
//	tenant not in the catalog, topic of    permanent    sluice.dlq.transform at once
//	  no integration
//
// # Observability
//
// Metrics (with Registerer), by tenant, integration and object, counted
// once committed: sluice_transform_mapped_total (canonical events),
// sluice_transform_stitched_total{outcome} (known, matched, new,
// conflict), sluice_transform_duplicates_total (dedupe hits),
// sluice_transform_skipped_total{reason}, and
// sluice_transform_mapping_errors_total; sluice_transform_redis_round_trips
// is a histogram of Redis round trips per batch until the next poll
// (identity resolve, two for each chunk of 256 records; dedupe claim and
// settle, two); confirming new bindings takes one more, after it. The
// runner, dedupe and identity add their own: sluice_dedupe_seconds{op}
// (claim, settle, release) and sluice_identity_seconds{op} (resolve,
// confirm) time each batch's Redis work, beside
// sluice_stage_handle_seconds, sluice_stage_commit_seconds and
// sluice_stage_hooks_seconds, so a slow batch can be told to be Redis,
// Kafka or the stage. Log lines carry tenant, event id, topic, partition
// and offset, never payloads.
package transform
