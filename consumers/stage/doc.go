// Package stage runs sluice's consumer stages: input topics → handler →
// output topics, exactly once from Kafka to Kafka, with failures routed
// to delayed retry topics and a dead-letter topic. Every stage (transform,
// deliver, ...) is a Handler run by a Runner.
//
//	input topics ─┐                              ┌─> outputs (Record.Emit)
//	              ├─> Runner ─> middleware ─> Handler
//	retry topics ─┘   (one consumer group,       └─> failures ─> sluice.retry.<stage>.<n>
//	                   one transaction per poll)              └─> sluice.dlq.<stage>
//
// # Transactions
//
// A Runner consumes in a consumer group through kgo.GroupTransactSession:
// read_committed, cooperative-sticky balancing, no autocommit. Each poll
// (at most MaxPollRecords records) is one transaction: every output the
// handler emits, every retry and dead-letter record, and the offsets of
// the polled records commit together or not at all. If the group
// rebalances while a transaction is open, or producing fails, the
// transaction aborts, the consumer rewinds to the committed offsets, and
// the records are consumed again, by this member or by the partition's
// new owner. Consumers of the outputs use read_committed and see each
// output once.
//
// The offsets committed step over the transaction markers that follow the
// polled records, as the Java consumer's do (the runner fetches markers
// and keeps them from the handler), so a caught-up partition of a
// transactional topic shows no lag in Kafka's tools, Kafka UI or
// sluice_stage_lag_records. A partition that brought only markers (the
// end of an aborted transaction) is an empty batch: no handler sees it,
// its offsets commit with the poll's.
//
// # Polling ahead
//
// When the handler is a Preparer, the runner takes the records already
// fetched (without waiting for more) as the next poll before it ends a
// transaction, and the handler starts on them (decoding, lookups) while
// the transaction ends and its commit hooks run: on a stage whose batches
// cost CPU, the end's round trips to the broker and the hooks' to Redis
// no longer leave the cores idle. The ending transaction commits the
// offsets it had before that poll (through franz-go's
// PreTxnCommitFnContext); the records taken ahead are the next
// transaction's, handled after the hooks ran. When the transaction does
// not commit, the client goes back to the committed offsets and the
// records taken ahead are dropped, to be consumed again.
//
// Each Runner has its own transactional id (TransactionalID). A zombie
// member cannot commit: its offset commit carries a stale group generation
// (KIP-447) and is refused, which aborts its transaction. A member that
// dies mid-transaction leaves it open until the broker's transaction
// timeout (TransactionTimeout) aborts it; the new owner's offset fetch
// waits for that, so its partitions pause for at most that long.
//
// In a namespace (kafka.Config.Namespace) the retry and dead-letter topics,
// the group and the transactional id all start with "<namespace>.", so
// deployments sharing a cluster neither join each other's groups nor fence
// each other's producers.
//
// # Batches, order and concurrency
//
// The records of a poll are split into batches, one per partition, in
// offset order. Batches of different partitions are handled concurrently
// (Concurrency at a time); a partition's records reach the handler in
// order, and its outputs are produced in that order. A record that fails
// retryably leaves its partition for a retry topic, so the records behind
// it are not held up: order holds for records that succeed first time.
//
// The handler decides per record (see Record): Emit outputs, Skip it, or
// Fail it with a classified error. Handle's own error concerns the whole
// batch: classified, it fails every undecided record; unclassified (a
// dependency is down), nothing of the batch commits, the partition rewinds
// to the batch's first record and pauses for a backoff (Backoff), and the
// batch comes again. A handler that panics is recovered: the runner
// forgets what the batch decided and handles each half again, down to the
// records that panic alone, which are poison. The stack goes to the log,
// not to the headers.
//
// Hooks: Batch.AfterCommit runs after the transaction holding the batch
// committed, Batch.AfterAbort when it is certain nothing of the batch
// committed; neither runs when the end of the transaction failed and the
// outcome is unknown. Side effects outside Kafka (an HTTP delivery) are at
// least once; deliver makes them effectively once with a done-marker
// written as each send succeeds, which the record finds when it is
// consumed again after a crash or an abort. What may only be said once the
// batch committed (dedupe's commit key for the batch's claims) is written
// in AfterCommit. The next transaction is handled once those hooks ran (a
// Preparer may have begun on its records); Batch.AfterCommitAsync hooks,
// for work no later batch depends on (transform confirming identity
// bindings), run while the next transaction is handled instead, one
// transaction's at a time, and the runner waits for them before it leaves
// the group.
//
// # Failure routing
//
//	class        how to say it        where the record goes
//	retryable    Retryable(err), or   sluice.retry.<stage>.<n> for attempt n, due after
//	             any unclassified     RetryDelays[n-1] (default 1m, 10m, 1h); after
//	             error                MaxAttempts (default len(delays)+1) → sluice.dlq.<stage>
//	permanent    Permanent(err)       sluice.dlq.<stage> at once
//	poison       Poison(err), a       sluice.dlq.<stage> at once
//	             panic, no tenant-id
//
// RetryAfter(err, d) is retryable with a delay of the stage's choosing (a
// destination's Retry-After, a backoff with jitter): the record goes to
// the retry topic with the shortest delay of at least d, or the longest,
// and the attempt counts. Defer(err, d) routes the same way a record that
// was not tried at all (held by a rate limit or an open circuit breaker):
// its attempts header keeps its value and MaxAttempts never dead-letters
// it, so the stage must bound how long it defers.
//
// A retry or dead-letter record keeps the key and value bytes of the
// original exactly and all its headers, and sets:
//
//	error-stage          the stage's name
//	error-class          retryable, permanent or poison
//	error-message        the error's message, cut to 512 bytes; it must hold no secret or payload
//	original-topic       where the record first entered the stage,
//	original-partition   kept unchanged through the retry topics, so a dead
//	original-offset      letter can be replayed by offset
//	attempts             attempts made so far, all failed
//	retry-at             (retry topics only) when it is due, RFC 3339 UTC
//
// The stage consumes its retry topics in the same group as its inputs. A
// retry partition is in due order (its delay is fixed), so when the runner
// polls a record that is not due yet it rewinds the partition to that
// record (SetOffsets), pauses fetching it (PauseFetchPartitions) and
// resumes it when the record is due. Waiting costs nothing and holds up no
// other partition; a rebalance drops the pause of a partition that moves.
// The runner creates the retry and dead-letter topics at start, with the
// partition count of its largest input topic unless TopicPartitions says
// otherwise.
//
// # Back-pressure and shutdown
//
// Work in flight is bounded: the client buffers at most one fetch per
// broker while a poll is processed, a poll holds at most MaxPollRecords
// records, and producing blocks when the client's produce buffer is full.
// Partitions that cannot progress (a retry not due, a batch whose
// dependency is down) are paused rather than polled in a loop.
//
// When Run's context ends the runner stops polling, aborts the open
// transaction (its records come again to the next owner), runs no commit
// hook for it, and leaves the group, all within ShutdownTimeout.
//
// # Observability
//
// Log lines about a record carry its stage, tenant, event id, topic,
// partition and offset, never its key, value or headers' secrets. Metrics
// (with Registerer): sluice_stage_records_total{stage,tenant,outcome},
// counted once committed; sluice_stage_batches_total,
// sluice_stage_transactions_total{result}, sluice_stage_handle_seconds,
// sluice_stage_commit_seconds, sluice_stage_hooks_seconds (the commit
// and abort hooks after each transaction, which the next transaction waits for:
// on a stage with dedupe, mostly settling its claims in Redis; with the
// wait for the async hooks of the transaction before, if still running),
// sluice_stage_lag_records{topic,partition},
// sluice_stage_pauses_total{reason}, sluice_stage_panics_total; the Kafka
// client's own through kprom. With Tracing, each record's handling is a
// span continuing the trace in its traceparent header, and its outputs
// carry that span onward.
package stage
