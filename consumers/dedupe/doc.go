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
// A key is absent, pending (value "p:<owner>", expiring after the lease)
// or done (value "d:<owner>", expiring after the TTL).
//
//	state          event                                   next state      the record
//	absent         Claim                                   pending(owner)  is processed
//	pending(own)   Claim (same record again)               pending(own)    is processed, lease renewed
//	pending(other) Claim                                   unchanged       fails retryable (ErrBusy), comes back later
//	done           Claim                                   done            is skipped as a duplicate
//	pending(own)   transaction committed, record done      done            —
//	               or skipped (Settle)
//	pending(own)   transaction committed, record sent to   absent          its copy in the retry topic claims again
//	               a retry or dead-letter topic (Settle)
//	pending(own)   transaction aborted (Release)           absent          is consumed again
//	pending(any)   lease ends                              absent          —
//	done           TTL ends                                absent          —
//
// Why no event is lost: done is written only after the Kafka transaction
// holding the event's outputs committed, so "done" is never said of an
// event whose output was not committed. A copy that meets a live pending
// claim of another record is retried, not dropped, because that claim may
// still abort. A record that meets its own claim goes on, so an abort, a
// crash or a retry never locks an event out.
//
// What can go wrong is a duplicate, never a loss: if the process dies (or
// Redis fails) between the commit and Settle, the marker stays pending
// until its lease ends and then vanishes, and a copy of the event arriving
// after that is processed again. Settle is tried a few times to keep that
// window rare. The lease must outlast a stage's longest transaction. A
// Redis failover that loses the old master's last writes (replication is
// asynchronous) can lose claims and done markers alike: a copy of an
// event may then be processed again, and nothing is lost.
//
// # Redis
//
// Claim sends one pipeline per batch (one round trip) of one plain
// command per key, SET key "p:<owner>" NX PX <lease> GET, which takes an
// absent key and answers a present one's value in one atomic step (Redis
// 7.0 or later). A key found pending for its own owner is renewed by a
// Lua script in a second round trip, which only a record handled again
// needs. On a server before 7.0, which refuses NX with GET, the store
// says so once in the log and claims every key with the script (EVALSHA,
// and EVAL again for the calls a node answers NOSCRIPT), several times
// the server's work per key. Settle sends one more pipeline after the
// commit: a SET per done key, the release script per released one.
// Every command touches exactly one key, so the pipelines work on Redis Cluster, where a batch's
// keys hash to many slots: go-redis splits them per node. sluice adds no
// hash tag, so tenants spread over the cluster (an event id that holds
// "{...}" only moves its own key). On the embedded miniredis of sluice dev
// the scripts run in a Go Lua interpreter, several times slower than on
// Redis: fine for development, not a measure of the stage.
//
// If Redis cannot be reached, Claim fails and the middleware fails the
// batch as a whole (ErrUnavailable): the runner commits nothing of it,
// pauses the partition for a backoff and handles it again. The stage
// stops rather than let a duplicate through or drop an event: Redis's
// availability bounds the stage's.
package dedupe
