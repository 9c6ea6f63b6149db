package stage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/plugin/kprom"
	"github.com/twmb/franz-go/plugin/kzap"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// Runner runs one stage: it consumes the stage's input and retry topics in
// a consumer group, hands the records to the handler in partition batches,
// and produces the outputs, retries and dead letters in the same
// transaction as the input offsets. It is a worker (Name, Run). Run must
// not be called twice at once; the other methods are safe for concurrent
// use.
type Runner struct {
	name    string
	kc      kafka.Config
	cfg     config
	handler Handler
	// preparer is the handler as a Preparer, nil if it is none.
	preparer Preparer
	log      *zap.Logger
	metrics  *metrics
	router   router
	lanes    map[string]int

	// async is closed when the async commit hooks of the last transaction
	// that had any are done (nil: none ran yet). Only the poll loop
	// touches it.
	async chan struct{}

	// failures counts the consecutive whole-batch failures of a
	// partition, for its backoff. Only the poll loop touches it.
	failures map[topicPartition]int
}

// New returns the runner of the stage called name (it names the retry and
// dead-letter topics: sluice.retry.<name>.<n>, sluice.dlq.<name>),
// consuming from the cluster kc with h. See the Opt functions for the
// options and their defaults; Consume is required.
//
// The retry and dead-letter topics, the consumer group and the
// transactional id (given or by default) are in kc's namespace
// (kafka.Namespace); the topics given to Consume are taken as they are.
func New(name string, kc kafka.Config, h Handler, opts ...Opt) (*Runner, error) {
	cfg := defaults(name)
	for _, o := range opts {
		o.apply(&cfg)
	}
	if h == nil {
		return nil, configErr("stage %s has no handler", name)
	}
	if _, err := kc.Opts(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if cfg.group != "" {
		cfg.group = kc.Namespace.Name(cfg.group)
	}
	if cfg.txnID != "" {
		cfg.txnID = kc.Namespace.Name(cfg.txnID)
	}
	if err := cfg.validate(name); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.reg)
	if err != nil {
		return nil, err
	}
	rn := &Runner{
		name:     name,
		kc:       kc,
		cfg:      cfg,
		log:      cfg.log.With(zap.String(telemetry.FieldStage, name)),
		metrics:  m,
		router:   router{stage: name, ns: kc.Namespace, delays: cfg.delays, maxAttempts: cfg.maxAttempts, msgSize: cfg.errorMessageSize},
		lanes:    map[string]int{},
		failures: map[topicPartition]int{},
	}
	for _, t := range cfg.topics {
		if _, ok := rn.lanes[t]; ok {
			return nil, configErr("stage %s consumes %s twice", name, t)
		}
		rn.lanes[t] = 0
	}
	for n := 1; n <= len(cfg.delays); n++ {
		t := rn.router.retryTopic(n)
		if _, ok := rn.lanes[t]; ok {
			return nil, configErr("stage %s consumes its own retry topic %s as an input", name, t)
		}
		rn.lanes[t] = n
	}
	mw := cfg.middleware
	if cfg.tracer != nil {
		mw = append([]Middleware{tracing(name, cfg.tracer, cfg.propagator)}, mw...)
	}
	rn.handler = Chain(h, mw...)
	rn.preparer, _ = h.(Preparer)
	return rn, nil
}

// Name returns the stage's name.
func (rn *Runner) Name() string { return rn.name }

// Group returns the consumer group.
func (rn *Runner) Group() string { return rn.cfg.group }

// TransactionalID returns the transactional id of this runner.
func (rn *Runner) TransactionalID() string { return rn.cfg.txnID }

// Topics returns every topic the runner consumes: the inputs, then the
// retry topics in order.
func (rn *Runner) Topics() []string {
	ts := append([]string(nil), rn.cfg.topics...)
	for n := 1; n <= len(rn.cfg.delays); n++ {
		ts = append(ts, rn.router.retryTopic(n))
	}
	return ts
}

// Run creates the stage's retry and dead-letter topics if needed, joins
// the group and processes records until ctx ends. On the way out it aborts
// the open transaction, if any, and leaves the group, within the shutdown
// timeout. Lost connections and failed transactions are logged and
// recovered from with a new client after a backoff; Run returns nil when
// ctx ends.
func (rn *Runner) Run(ctx context.Context) error {
	for fails := 0; ; fails++ {
		err := rn.EnsureTopics(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		rn.log.Error("creating the stage's topics failed; trying again", zap.Error(err))
		if !rn.sleep(ctx, rn.backoff(fails+1)) {
			return nil
		}
	}
	for fails := 0; ; fails++ {
		err := rn.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		rn.log.Error("stage client failed; starting a new one", zap.Error(err))
		if !rn.sleep(ctx, rn.backoff(fails+1)) {
			return nil
		}
	}
}

// sleep waits d or until ctx ends, reporting whether ctx is still live.
func (rn *Runner) sleep(ctx context.Context, d time.Duration) bool {
	done := make(chan struct{})
	stop := rn.cfg.clock.AfterFunc(d, func() { close(done) })
	defer stop()
	select {
	case <-ctx.Done():
		return false
	case <-done:
		return true
	}
}

func (rn *Runner) backoff(fails int) time.Duration {
	d := rn.cfg.backoffMin
	for i := 1; i < fails && d < rn.cfg.backoffMax; i++ {
		d *= 2
	}
	return min(d, rn.cfg.backoffMax)
}

func (rn *Runner) baseOpts(client string) ([]kgo.Opt, error) {
	opts, err := rn.kc.Opts()
	if err != nil {
		return nil, err
	}
	return append(opts,
		kgo.ClientID("sluice-"+client),
		kgo.WithLogger(kzap.New(rn.log.Named("kafka").With(zap.String("client", client)), kzap.Level(kgo.LogLevelWarn))),
	), nil
}

// EnsureTopics creates the runner's retry and dead-letter topics, and the
// topics given with the EnsureTopics option, where they do not exist yet,
// and waits until each has a leader for every partition. Run does it
// first; calling it before Run creates them ahead (a deploy step, or a
// benchmark whose measured span should not include the broker creating
// them).
func (rn *Runner) EnsureTopics(ctx context.Context) error {
	opts, err := rn.baseOpts("stage-" + rn.name + "-admin")
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, rn.cfg.kafkaOpts...)...)
	if err != nil {
		return fmt.Errorf("stage: admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	parts := rn.cfg.partitions
	if parts == 0 {
		details, err := adm.ListTopics(ctx, rn.cfg.topics...)
		if err != nil {
			return fmt.Errorf("stage: describe input topics: %w", err)
		}
		for _, d := range details {
			if d.Err == nil && int32(len(d.Partitions)) > parts {
				parts = int32(len(d.Partitions))
			}
		}
	}
	specs := []kafka.TopicSpec{{Name: rn.router.dlqTopic(), Partitions: parts, Replication: rn.cfg.replication}}
	for n := 1; n <= len(rn.cfg.delays); n++ {
		specs = append(specs, kafka.TopicSpec{Name: rn.router.retryTopic(n), Partitions: parts, Replication: rn.cfg.replication})
	}
	if err := kafka.EnsureTopics(ctx, adm, append(specs, rn.cfg.ensure...)...); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	return nil
}

// session runs one transactional client until ctx ends or the client
// fails.
func (rn *Runner) session(ctx context.Context) error {
	p := newPauser(rn.cfg.clock)
	opts, err := rn.baseOpts("stage-" + rn.name)
	if err != nil {
		return err
	}
	opts = append(opts,
		kgo.ConsumerGroup(rn.cfg.group),
		kgo.ConsumeTopics(rn.Topics()...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers come with the records, so that the offsets
		// committed step over a marker that ends a partition, as the Java
		// consumer's do: else Kafka's tools and Kafka UI show a lag of one
		// on every caught-up partition of a transactional topic. split
		// keeps them from the handler.
		kgo.KeepControlRecords(),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.TransactionalID(rn.cfg.txnID),
		kgo.TransactionTimeout(rn.cfg.txnTimeout),
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
			// A pause left from an earlier ownership must not hold a
			// partition that comes back.
			p.drop(assigned)
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
			p.drop(revoked)
			rn.metrics.dropLag(rn.name, revoked)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
			p.drop(lost)
			rn.metrics.dropLag(rn.name, lost)
		}),
	)
	if rn.cfg.reg != nil {
		reg := tolerant{prometheus.WrapRegistererWith(prometheus.Labels{"client": "stage-" + rn.name}, rn.cfg.reg)}
		m := kprom.NewMetrics("sluice_kafka", kprom.Registerer(reg))
		opts = append(opts, kgo.WithHooks(m))
	}
	s, err := kgo.NewGroupTransactSession(append(opts, rn.cfg.kafkaOpts...)...)
	if err != nil {
		return fmt.Errorf("stage: client: %w", err)
	}
	p.bind(s.Client())
	defer func() {
		rn.waitAsync()
		p.close()
		rn.leave(s)
	}()
	rn.log.Info("stage started", zap.String("group", rn.cfg.group), zap.Strings("topics", rn.Topics()))
	var ahead []*work
	for ctx.Err() == nil {
		if ahead, err = rn.poll(ctx, s, p, ahead); err != nil {
			return err
		}
	}
	return nil
}

// leave closes the client, leaving the group, within the shutdown timeout.
func (rn *Runner) leave(s *kgo.GroupTransactSession) {
	done := make(chan struct{})
	go func() {
		s.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(rn.cfg.shutdownTimeout):
		rn.log.Warn("leaving the group took longer than the shutdown timeout")
	}
}

// work is one partition batch of a poll.
type work struct {
	b *Batch
	// failed is the batch's unclassified error: nothing of it is
	// produced, and its partition is rewound.
	failed error
}

// producer produces a poll's records in its transaction and keeps the
// first failure.
type producer struct {
	s   *kgo.GroupTransactSession
	mu  sync.Mutex
	err error
}

func (p *producer) produce(ctx context.Context, r *kgo.Record) {
	p.s.Produce(ctx, r, func(r *kgo.Record, err error) {
		if err != nil {
			p.mu.Lock()
			if p.err == nil {
				p.err = fmt.Errorf("stage: produce to %s: %w", r.Topic, err)
			}
			p.mu.Unlock()
		}
	})
}

func (p *producer) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// fetchErr logs the errors of fs and returns the one that ends the
// client's run, if any.
func (rn *Runner) fetchErr(fs kgo.Fetches) error {
	var fatal error
	fs.EachError(func(topic string, partition int32, err error) {
		switch {
		case errors.Is(err, kgo.ErrClientClosed):
			fatal = err
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		default:
			rn.log.Warn("fetch failed", zap.String(telemetry.FieldTopic, topic), zap.Int32(telemetry.FieldPartition, partition), zap.Error(err))
		}
	})
	return fatal
}

// poll handles one poll: one transaction. Its records are ahead, those the
// poll before took ahead of its end, or else polled now. It returns the
// records it took ahead of its own end (see pollAhead) for the next poll,
// none when its transaction did not commit.
func (rn *Runner) poll(ctx context.Context, s *kgo.GroupTransactSession, p *pauser, ahead []*work) ([]*work, error) {
	works := ahead
	if len(works) == 0 {
		fs := s.PollRecords(ctx, rn.cfg.maxPollRecords)
		if ctx.Err() != nil {
			return nil, nil
		}
		if err := rn.fetchErr(fs); err != nil {
			return nil, err
		}
		works = rn.split(ctx, s, p, fs)
		rn.prepare(ctx, works)
	}
	if len(works) == 0 {
		return nil, nil
	}
	if err := s.Begin(); err != nil {
		return nil, fmt.Errorf("%w: begin: %w", ErrTransaction, err)
	}

	prod := &producer{s: s}
	sem := make(chan struct{}, rn.cfg.concurrency)
	var wg sync.WaitGroup
	for _, w := range works {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rn.work(ctx, w, prod)
		}()
	}
	wg.Wait()

	// Batches that failed as a whole go back: their partitions rewind to
	// their first record and pause for a backoff.
	for _, w := range works {
		if w.failed == nil {
			continue
		}
		first := w.b.Records[0].Raw
		tp := topicPartition{first.Topic, first.Partition}
		rn.failures[tp]++
		d := rn.backoff(rn.failures[tp])
		if ctx.Err() == nil {
			rn.log.Warn("batch failed; its partition backs off and handles it again",
				zap.String(telemetry.FieldTopic, tp.topic), zap.Int32(telemetry.FieldPartition, tp.partition),
				zap.Int64(telemetry.FieldOffset, first.Offset), zap.Duration("backoff", d), zap.Error(w.failed))
		}
		s.Client().SetOffsets(map[string]map[int32]kgo.EpochOffset{tp.topic: {tp.partition: {Epoch: -1, Offset: first.Offset}}})
		p.pause(tp, rn.cfg.clock.Now().Add(d), false)
		rn.metrics.waits.WithLabelValues(rn.name, "backoff").Inc()
	}

	began := time.Now()
	try := kgo.TryCommit
	if ctx.Err() != nil {
		try = kgo.TryAbort
	} else if err := s.Client().Flush(ctx); err != nil {
		try = kgo.TryAbort
	} else if err := prod.failure(); err != nil {
		rn.log.Error("producing failed; aborting the transaction", zap.Error(err))
		try = kgo.TryAbort
	}
	endTimeout := rn.cfg.txnTimeout
	if ctx.Err() != nil {
		endTimeout = rn.cfg.shutdownTimeout
	}
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endTimeout)
	defer cancel()
	var next []*work
	if try == kgo.TryCommit && rn.preparer != nil {
		var err error
		if next, endCtx, err = rn.pollAhead(ctx, endCtx, s, p); err != nil {
			try = kgo.TryAbort
			rn.log.Warn("polling ahead failed; aborting the transaction", zap.Error(err))
		}
	}
	committed, err := s.End(endCtx, try)
	if err != nil || !committed {
		// The client went back to the committed offsets: what was taken
		// ahead comes again, and so do the due records before a retry
		// partition's first not due, which must not wait for it.
		next = nil
		p.resumeNotDue()
	}
	rn.metrics.commit.WithLabelValues(rn.name).Observe(time.Since(began).Seconds())

	// Whatever the outcome, the poll returns once the hooks started below
	// ran; then the committed batches' async hooks start.
	hookCtx, cancelHooks := context.WithTimeout(context.WithoutCancel(ctx), rn.cfg.shutdownTimeout)
	var ran sync.WaitGroup
	var async []func(context.Context)
	defer func(began time.Time) {
		ran.Wait()
		cancelHooks()
		rn.runAsync(ctx, async)
		rn.metrics.hooks.WithLabelValues(rn.name).Observe(time.Since(began).Seconds())
	}(time.Now())
	run := func(h *hooks, committed bool) {
		ran.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; ran.Done() }()
			h.run(hookCtx, committed)
		}()
	}
	for _, w := range works {
		if w.failed != nil {
			run(w.b.hooks, false) // nothing of it was produced or committed
		}
	}
	switch {
	case err != nil:
		rn.metrics.transactions.WithLabelValues(rn.name, "failed").Inc()
		return nil, fmt.Errorf("%w: end: %w", ErrTransaction, err)
	case !committed:
		rn.metrics.transactions.WithLabelValues(rn.name, "aborted").Inc()
		if ctx.Err() == nil {
			rn.log.Info("transaction aborted (rebalance or failure); its records will be consumed again")
		}
		for _, w := range works {
			if w.failed == nil {
				run(w.b.hooks, false)
			}
		}
		return nil, nil
	}
	rn.metrics.transactions.WithLabelValues(rn.name, "committed").Inc()
	for _, w := range works {
		if w.failed != nil {
			continue
		}
		b := w.b
		delete(rn.failures, topicPartition{b.Topic, b.Partition})
		rn.metrics.setLag(rn.name, b.Topic, b.Partition, max(b.HighWatermark-b.end-1, 0))
		type key struct {
			tenant  string
			outcome Outcome
		}
		counts := map[key]int{}
		for _, r := range b.Records {
			counts[key{r.Tenant, r.Outcome()}]++
		}
		for k, n := range counts {
			rn.metrics.records.WithLabelValues(rn.name, k.tenant, k.outcome.String()).Add(float64(n))
		}
		async = append(async, b.hooks.takeAsync()...)
		run(b.hooks, true)
	}
	return next, nil
}

// runAsync runs the async commit hooks fns in the background, once those
// of the transaction before are done.
func (rn *Runner) runAsync(ctx context.Context, fns []func(context.Context)) {
	if len(fns) == 0 {
		return
	}
	rn.waitAsync()
	done := make(chan struct{})
	rn.async = done
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rn.cfg.shutdownTimeout)
	go func() {
		defer close(done)
		defer cancel()
		var wg sync.WaitGroup
		for _, fn := range fns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fn(ctx)
			}()
		}
		wg.Wait()
	}()
}

// waitAsync waits until the async commit hooks that are running are done.
func (rn *Runner) waitAsync() {
	if rn.async != nil {
		<-rn.async
	}
}

// split turns a poll into partition batches. A retry partition is cut at
// its first record not yet due: the partition rewinds to that record and
// pauses until it is due. Transaction markers go in no batch's records: a
// partition that brought only markers (the end of a transaction whose
// records came in an earlier poll, or of an aborted one) has a batch of
// none, which no handler sees, so that its offsets commit and its lag is
// measured as any other's.
func (rn *Runner) split(ctx context.Context, s *kgo.GroupTransactSession, p *pauser, fs kgo.Fetches) []*work {
	var works []*work
	now := rn.cfg.clock.Now()
	fs.EachPartition(func(ftp kgo.FetchTopicPartition) {
		recs := ftp.Records
		if len(recs) == 0 {
			return
		}
		lane := rn.lanes[ftp.Topic]
		if lane > 0 {
			for i, raw := range recs {
				if raw.Attrs.IsControl() {
					continue
				}
				if d := due(raw); d.After(now) {
					tp := topicPartition{ftp.Topic, ftp.Partition}
					s.Client().SetOffsets(map[string]map[int32]kgo.EpochOffset{tp.topic: {tp.partition: {Epoch: -1, Offset: raw.Offset}}})
					p.pause(tp, d, true)
					rn.metrics.waits.WithLabelValues(rn.name, "not_due").Inc()
					recs = recs[:i]
					break
				}
			}
			if len(recs) == 0 {
				return
			}
		}
		b := &Batch{
			Stage:         rn.name,
			Topic:         ftp.Topic,
			Partition:     ftp.Partition,
			Lane:          lane,
			HighWatermark: ftp.HighWatermark,
			Records:       make([]*Record, 0, len(recs)),
			hooks:         &hooks{},
			end:           recs[len(recs)-1].Offset,
		}
		for _, raw := range recs {
			if !raw.Attrs.IsControl() {
				b.Records = append(b.Records, newRecord(ctx, raw, lane))
			}
		}
		works = append(works, &work{b: b})
	})
	return works
}

// prepare has the handler, if it is a Preparer, begin on works: each
// batch's records that Handle will be given.
func (rn *Runner) prepare(ctx context.Context, works []*work) {
	if rn.preparer == nil {
		return
	}
	for _, w := range works {
		b := w.b
		if rn.cfg.requireTenant {
			b = b.Subset(withTenant(b.Records))
		}
		if len(b.Records) > 0 {
			w.b.prepared = rn.preparer.Prepare(ctx, b)
		}
	}
}

// withTenant returns the records of rs that have a tenant.
func withTenant(rs []*Record) []*Record {
	out := make([]*Record, 0, len(rs))
	for _, r := range rs {
		if r.Tenant != "" {
			out = append(out, r)
		}
	}
	return out
}

// pollAhead takes the records already fetched, without waiting for more,
// while the transaction is still open, and has the handler, a Preparer,
// prepare them, so that its work on them overlaps the transaction's end.
// (A handler that is no Preparer would gain nothing: its batches are
// polled after the end, when more records may have come.) It returns
// them, and endCtx made to commit the transaction's offsets as they were
// before this poll (the records taken ahead are the next transaction's).
func (rn *Runner) pollAhead(ctx, endCtx context.Context, s *kgo.GroupTransactSession, p *pauser) ([]*work, context.Context, error) {
	before := s.Client().UncommittedOffsets()
	endCtx = kgo.PreTxnCommitFnContext(endCtx, func(req *kmsg.TxnOffsetCommitRequest) error {
		commitOnly(req, before)
		return nil
	})
	//lint:ignore SA1012 a nil context returns the records already fetched, at once
	fs := s.PollRecords(nil, rn.cfg.maxPollRecords) //nolint:staticcheck
	if err := rn.fetchErr(fs); err != nil {
		return nil, endCtx, err
	}
	works := rn.split(ctx, s, p, fs)
	rn.prepare(ctx, works)
	return works, endCtx, nil
}

// commitOnly has req commit the offsets of offsets only: each partition's
// as offsets has it, and none of the partitions it lacks.
func commitOnly(req *kmsg.TxnOffsetCommitRequest, offsets map[string]map[int32]kgo.EpochOffset) {
	topics := req.Topics[:0]
	for _, t := range req.Topics {
		parts := t.Partitions[:0]
		for _, p := range t.Partitions {
			if o, ok := offsets[t.Topic][p.Partition]; ok {
				p.Offset, p.LeaderEpoch = o.Offset, o.Epoch
				parts = append(parts, p)
			}
		}
		if len(parts) > 0 {
			t.Partitions = parts
			topics = append(topics, t)
		}
	}
	req.Topics = topics
}

// work handles one batch and produces what it decided: outputs of done
// records, retries and dead letters of failed ones, in offset order.
func (rn *Runner) work(ctx context.Context, w *work, prod *producer) {
	b := w.b
	pass := b.Records
	if rn.cfg.requireTenant {
		pass = make([]*Record, 0, len(b.Records))
		for _, r := range b.Records {
			if r.Tenant == "" {
				r.Fail(Poison(ErrNoTenant))
				continue
			}
			pass = append(pass, r)
		}
	}
	if len(pass) > 0 {
		rn.metrics.batches.WithLabelValues(rn.name).Inc()
		began := time.Now()
		err := rn.handle(ctx, rn.handler, b.Subset(pass))
		rn.metrics.handle.WithLabelValues(rn.name).Observe(time.Since(began).Seconds())
		if err != nil {
			w.failed = err
			return
		}
	}
	if ctx.Err() != nil {
		return // the transaction aborts; routing now would misread a shutdown as failures
	}
	now := rn.cfg.clock.Now()
	for _, r := range b.Records {
		switch r.settle() {
		case OutcomeDone:
			for _, out := range r.outputs {
				prod.produce(ctx, out)
			}
		case OutcomeFailed:
			out, o := rn.router.route(r, r.err, now)
			r.setRouted(o)
			fields := recordFields(r, zap.String("class", string(ClassOf(r.err))), zap.String("error", truncate(r.err.Error(), rn.cfg.errorMessageSize)))
			if o == OutcomeRetry {
				rn.log.Info("record failed; retrying later", append(fields, zap.String("retry_topic", out.Topic))...)
			} else {
				rn.log.Warn("record dead-lettered", fields...)
			}
			prod.produce(ctx, out)
		}
	}
}
