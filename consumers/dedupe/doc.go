// Package dedupe is sluice's idempotency store: it lets one copy of each
// event through a stage, per tenant, in Redis, without ever losing one.
//
// An event is known by its stage, tenant and event id, under the key
//
//	<prefix>dedupe:<stage>:<tenant>:<event-id>
//
// and is claimed by an owner: the record that carries it into the stage,
// named by where it first entered ("<topic>/<partition>/<offset>"), the
// same on every attempt and after a crash. Kafka's transactions already
// make each record's outputs commit once; the store stops a second record
// of the same event (a partner's resend, a replay) from making outputs
// again.
//
// # State machine
//
// A key is absent or claimed (value "p:<owner>", expiring after the TTL).
// A claim is done when its owner's offset is committed: the stage's
// consumer group has committed an offset past the owner record, so the
// transaction that consumed it, with its outputs, committed. Nothing is
// written to Redis after the commit; the commit itself is the done-marker.
//
//	state          event                                   next state      the record
//	absent         Claim                                   claimed(owner)  is processed
//	claimed(own)   Claim (the same record again)           claimed(own)    is processed
//	claimed(other) Claim, other's offset committed         unchanged       is skipped as a duplicate
//	claimed(other) Claim, other's offset not committed     unchanged       fails retryable (ErrBusy), comes back later
//	               (or the offsets cannot be fetched)
//	claimed(own)   transaction committed, record sent to   absent          its copy in the retry topic claims again
//	               a retry or dead-letter topic (Release)
//	claimed(own)   transaction aborted (Release)           absent          is consumed again
//	claimed(any)   TTL ends                                absent          —
//
// Why no event is lost: a copy is skipped only when another record of the
// event is below its partition's committed offset, and a committed offset
// means the transaction holding that record's outputs (or its trip to a
// retry or dead-letter topic) committed. A copy that meets a claim whose
// record is not committed yet is retried, not dropped, because that
// transaction may still abort. A record that meets its own claim goes on,
// so an abort, a crash or a retry never locks an event out.
//
// Why none is processed twice: the claim holds for the TTL from the first
// time the event is seen, and becomes done the moment its transaction
// commits, so a crash after the commit leaves nothing unsettled. A copy is
// processed again only after a release: its first record went to a retry
// or dead-letter topic, or its transaction aborted.
//
// The committed offsets come from the group's coordinator
// (stage.Batch.Committed), asked once per Claim call and only when a key is
// held by another record, which only a second copy of an event makes. The
// coordinator shows a transaction's offsets only once its markers are
// written, a few milliseconds after the commit: a copy arriving within
// them is busy and comes back from the retry topic as a duplicate.
//
// Limits: the owner must be a record of a topic the stage's group
// consumes, as Owner gives it. If an operator moves the group's offsets
// past records it never handled, their claims read as done, and copies of
// those events are skipped: moving offsets forward drops events anyway. A
// claim left by a release that failed holds until its TTL; its own record
// still goes through.
//
// # Redis
//
// Claim sends one pipeline per batch (one round trip) of one plain
// command per key, SET key "p:<owner>" NX PX <ttl> GET, which takes an
// absent key and answers a present one's value in one atomic step (Redis
// 7.0 or later). On a server before 7.0, which refuses NX with GET, the
// store says so once in the log and claims every key with a script doing
// the same (EVALSHA, and EVAL again for the calls a node answers
// NOSCRIPT), several times the server's work per key. Release sends a
// pipeline of the release script, only after an abort or for records sent
// to a retry or dead-letter topic. Every command touches exactly one key,
// so the pipelines work on Redis Cluster, where a batch's keys hash to many
// slots: go-redis splits them per node. sluice adds no hash tag, so tenants
// spread over the cluster (an event id that holds "{...}" only moves its
// own key). On the embedded miniredis of sluice dev the scripts run in a
// Go Lua interpreter, several times slower than on Redis: fine for
// development, not a measure of the stage.
//
// If Redis cannot be reached, Claim fails and the middleware fails the
// batch as a whole (ErrUnavailable): the runner commits nothing of it,
// pauses the partition for a backoff and handles it again. The stage
// stops rather than let a duplicate through or drop an event: Redis's
// availability bounds the stage's.
package dedupe
