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
// # Groups
//
// A batch's claims are made in one group, named in each marker: the key's
// value is "g:<group>:<owner>", kept for the TTL. A group's id is
// "<unix-ms>-<16 hex digits>", when it was made and 64 random bits. When
// the transaction that holds the batch commits, the store writes one key
// for the whole group,
//
//	<prefix>dedupe-commit:<group>    "1", or "1:<owner>,<owner>,...", kept for the TTL
//
// naming the owners of the claims it released: records routed to a retry
// or dead-letter topic. That one write turns every other claim of the
// group into "done" and frees the released ones, at once. Settling a batch
// costs one command, not one per record; a marker is written once, when
// it is claimed.
//
// # State machine
//
// Seen from one key, a claim in group G by owner O is:
//
//	absent
//	claimed(G, O)   G not committed: its transaction may still commit or abort
//	done(G, O)      G committed and did not release O
//	freed(G, O)     G committed and released O: as good as absent
//
// and a Claim by owner O2 in group G2 goes:
//
//	found           condition                                   next              the record
//	absent, freed   —                                           claimed(G2, O2)   is processed
//	done            —                                           unchanged         is skipped as a duplicate
//	claimed(G, O)   O = O2 (the same record again)              claimed(G2, O2)   is processed
//	claimed(G, O)   O ≠ O2, G made longer ago than the lease    claimed(G2, O2)   is processed
//	claimed(G, O)   O ≠ O2, G made within the lease             unchanged         fails retryable (ErrBusy), comes back later
//
// and after Claim:
//
//	claimed(G, O)   G's transaction committed, the record       freed(G, O)       its copy in the retry topic claims again
//	                was routed to a retry or dead-letter topic
//	                (Settle)
//	claimed(G, O)   G's transaction committed, the record was   done(G, O)        —
//	                done or skipped (Settle)
//	claimed(G, O)   G's transaction aborted (Release)           absent            is consumed again
//	any             TTL ends                                    absent            —
//
// Why no event is lost: "done" is said only of a marker whose group's
// commit key exists and does not name its owner, and that key is written
// once, after the Kafka transaction holding the group's outputs
// committed, in the same write that names every claim of the group that
// did not finish there. So a done marker is a finished record's. A copy
// that meets another's claim of a group not committed is retried, not
// dropped, because that transaction may still abort. A record that meets
// its own claim goes on, so an abort, a crash or a retry never locks an
// event out. A claim is taken over (freed, own, or past the lease) only
// if the key still holds what was read, so of two copies that read the
// same marker one takes it and the other is busy.
//
// Memory: a marker per event and a commit key per batch, both for the
// TTL (a freed marker too, until a copy takes it over). Batches are large
// under load, so commit keys add little; at worst (one record per batch)
// they double the keys.
//
// What can go wrong is a duplicate, never a loss: if the process dies (or
// Redis fails) between the commit and Settle, the group is never marked
// committed, and once the lease has passed since it was made, a copy of
// one of its events is processed again. Settle is tried a few times to
// keep that window rare. The lease must outlast a stage's longest
// transaction; it is measured from the group's id, so instances' clocks
// must agree to well within it (a clock far ahead takes over live claims
// early: duplicates, not loss). A Redis failover that loses the old
// master's last writes (replication is asynchronous) can lose claims,
// releases after an abort and commit keys alike: a copy of an event may
// then be processed again, or wait for the lease, and nothing is lost.
// That a record was freed is in the commit key itself, never in a write
// of its own that a failover could lose while the commit key, on another
// node of a Redis Cluster, survives.
//
// Markers of older versions are read too: "d:<owner>" is done; "p:<owner>"
// (pending, which expired with its lease) is taken over by its own owner
// and is busy for others. Older versions read this version's markers as
// another's pending claim: while both run, a copy they meet waits in the
// retry topics instead of being skipped.
//
// # Redis
//
// Claim sends one pipeline per batch (one round trip) of one plain
// command per key, SET key "g:<group>:<owner>" NX PX <ttl> GET, which
// takes an absent key and answers a present one's value in one atomic
// step (Redis 7.0 or later). Keys found present need one more round
// trip, a GET of their groups' commit keys, which settles duplicates (a
// replay of events already done costs two round trips per batch, all
// plain commands); keys free to take, one more: a script per key that
// takes it only if it is unchanged. On a server before 7.0, which refuses
// NX with GET, the store says so once in the log and claims every key
// with a script that does the same (EVALSHA, and EVAL again for the calls
// a node answers NOSCRIPT), several times the server's work per key.
// Settle sends the commit key's SET; Release (after an abort), a script
// per claim that deletes it while it holds the claim. Every command
// touches exactly one key, so the pipelines work on Redis Cluster, where
// a batch's keys hash to many slots: go-redis splits them per node.
// sluice adds no hash tag, so tenants spread over the cluster (an event
// id that holds "{...}" only moves its own key). On the embedded
// miniredis of sluice dev the scripts run in a Go Lua interpreter,
// several times slower than on Redis: fine for development, not a
// measure of the stage.
//
// If Redis cannot be reached, Claim fails and the middleware fails the
// batch as a whole (ErrUnavailable): the runner commits nothing of it,
// pauses the partition for a backoff and handles it again. Keys a Claim
// took before it failed are released by the batch's abort hook, as after
// an aborted transaction (tried once: left behind, a claim only makes
// other copies of its event wait for its lease). The stage
// stops rather than let a duplicate through or drop an event: Redis's
// availability bounds the stage's.
package dedupe
