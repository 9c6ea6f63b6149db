// Package producers holds everything that writes into Kafka from outside
// it: the ways events come in to sluice.
//
//	webhook/  partners' signed webhooks over HTTP (and batches of events
//	          from partners and internal apps), verified, checked against
//	          the integration's Avro contract and produced to
//	          sluice.in.<integration>; contract breaches are kept, raw, in
//	          sluice.in.<integration>.invalid
//	outbox/   the product's own database changes, relayed from a
//	          transactional outbox table
//	sync/     partner APIs polled incrementally, for partners without
//	          webhooks and for backfills
//
// Every way in keeps the same contracts (see the repository's design
// document): the tenant on every record, in its envelope and its
// tenant-id header; a deterministic event id that later stages use as the
// idempotency key; the record key from the tenant's partition key; values
// in the Confluent wire format; and a 2xx answer, or an outbox row marked
// sent, only after the broker acknowledged the record (acks=all,
// idempotent producer).
package producers
