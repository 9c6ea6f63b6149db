// Package consumers holds sluice's consumer-group stages: everything that
// reads sluice's Kafka topics and acts on them.
//
// The stages, in the order the data flows through them:
//
//	sluice.in.<integration> ──> transform ──> sluice.canonical.<object> ──> deliver ──> destinations
//	                               │                                          │
//	                    sluice.retry.transform.<n>                 sluice.retry.deliver.<dest>.<n>
//	                    sluice.dlq.transform                       sluice.dlq.deliver.<dest>
//
// The packages:
//
//   - stage: the runner every stage is built on. It consumes in a consumer
//     group, hands records to the stage's handler in per-partition batches,
//     and produces outputs, retries and dead letters in one Kafka
//     transaction with the input offsets (exactly once from Kafka to
//     Kafka). It routes failures: retryable ones through delayed retry
//     topics, permanent and poison ones to the stage's dead-letter topic.
//   - dedupe: the Redis idempotency store, as stage middleware: one copy of
//     each event per tenant and stage goes through.
//   - transform: source events to the canonical model, with ids stitched
//     across integrations (exactly once, Kafka to Kafka).
//   - deliver: canonical events to each destination as signed webhooks,
//     rate limited and circuit-broken; at least once over HTTP, with the
//     event id as idempotency key and a Redis done-marker against re-sends.
//
// Nothing is dropped on the way: a record that cannot be processed ends in
// a retry or dead-letter topic with its reason in headers, from where it
// can be replayed.
package consumers
