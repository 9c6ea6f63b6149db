package deliver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/ratelimit"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// Stage delivers canonical events to destinations: one stage runner (a
// consumer group) per destination and lane, and the state they share in
// the process (circuit breakers, concurrency caps, the attempts producer).
// It is a worker (Name, Run). Run must not be called twice; the other
// methods are safe for concurrent use.
type Stage struct {
	opts     options
	kc       kafka.Config
	store    *store
	limiter  *ratelimit.Limiter
	metrics  *metrics
	attempts *kgo.Client
	dests    []*destination
	byID     map[string]*destination
	runners  []*stage.Runner
	log      *zap.Logger
}

// New returns a stage delivering to dests from the Kafka cluster kc, with
// its state in Redis rc. See the Opt functions for the options and their
// defaults; a webhook destination needs Body.
func New(kc kafka.Config, rc redis.UniversalClient, dests []Destination, opts ...Opt) (*Stage, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	o.topicsIn(kc.Namespace)
	if err := o.validate(); err != nil {
		return nil, err
	}
	if rc == nil {
		return nil, fmt.Errorf("%w: no Redis client", ErrConfig)
	}
	if len(dests) == 0 {
		return nil, fmt.Errorf("%w: no destination", ErrConfig)
	}
	m, err := newMetrics(o.reg)
	if err != nil {
		return nil, err
	}
	s := &Stage{
		opts:    o,
		kc:      kc,
		store:   &store{rc: rc, prefix: o.prefix, ttl: o.doneTTL},
		limiter: ratelimit.New(rc, o.prefix),
		metrics: m,
		byID:    map[string]*destination{},
		log:     o.log,
	}
	for _, d := range dests {
		id := d.Config.ID
		if id == "" {
			return nil, fmt.Errorf("%w: a destination has no id", ErrConfig)
		}
		if _, dup := s.byID[id]; dup {
			return nil, fmt.Errorf("%w: destination %s given twice", ErrConfig, id)
		}
		if err := checkDestination(d.Config); err != nil {
			return nil, err
		}
		if d.Config.Kind == config.DestinationWebhook && o.body == nil {
			return nil, fmt.Errorf("%w: destination %s is a webhook, and no Body encoder is set", ErrConfig, id)
		}
		ds, err := newDestination(d, &s.opts, m)
		if err != nil {
			return nil, fmt.Errorf("%w: destination %s: %w", ErrConfig, id, err)
		}
		ds.marks = newMarkWriter(s.store, ds)
		s.dests = append(s.dests, ds)
		s.byID[id] = ds
		for _, lane := range o.lanes {
			rn, err := s.newRunner(ds, lane)
			if err != nil {
				return nil, err
			}
			s.runners = append(s.runners, rn)
		}
	}
	cl, err := kafka.NewClient(kc, "deliver-attempts", o.log, o.reg,
		append([]kgo.Opt{kgo.ProducerLinger(0), kgo.RecordDeliveryTimeout(30 * time.Second)}, o.kafkaOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	s.attempts = cl
	return s, nil
}

// checkDestination checks what the stage relies on; the catalog's own
// validation says more.
func checkDestination(d config.Destination) error {
	switch {
	case d.Kind != config.DestinationWebhook && d.Kind != config.DestinationKafka:
		return fmt.Errorf("%w: destination %s: kind %q", ErrConfig, d.ID, d.Kind)
	case d.Kind == config.DestinationKafka && d.Topic == "":
		return fmt.Errorf("%w: destination %s: no topic", ErrConfig, d.ID)
	case d.Retry.MaxAttempts <= 0 || d.Retry.MaxAge <= 0 || d.Retry.InitialBackoff <= 0 || d.Retry.MaxBackoff <= 0:
		return fmt.Errorf("%w: destination %s: retry settings %+v (load the catalog with config.Load for defaults)", ErrConfig, d.ID, d.Retry)
	case d.Kind == config.DestinationWebhook && (d.Timeout <= 0 || d.MaxConcurrency <= 0):
		return fmt.Errorf("%w: destination %s: timeout %v, max concurrency %d", ErrConfig, d.ID, d.Timeout, d.MaxConcurrency)
	}
	return nil
}

// StageName returns the name of the stage runner of a destination's lane,
// which names its retry and dead-letter topics:
// "deliver.<destination>" and "deliver.<destination>.batch".
func StageName(dest, lane string) string {
	if lane == config.LaneBatch {
		return "deliver." + dest + ".batch"
	}
	return "deliver." + dest
}

// Group returns the consumer group of a destination's lane:
// "sluice-deliver-<destination>" and "sluice-deliver-<destination>-batch",
// which the stage's runner puts in the cluster config's namespace.
func Group(dest, lane string) string {
	if lane == config.LaneBatch {
		return "sluice-deliver-" + dest + "-batch"
	}
	return "sluice-deliver-" + dest
}

func (s *Stage) newRunner(d *destination, lane string) (*stage.Runner, error) {
	cfg := d.cfg
	objects := cfg.Subscribe.Objects
	if len(objects) == 0 {
		objects = config.CanonicalObjects()
	}
	topics := make([]string, len(objects))
	for i, obj := range objects {
		topics[i] = s.opts.inputTopic(obj, lane)
	}
	parts := s.opts.topicPartition
	if parts == 0 {
		parts = 6
	}
	ensure := []kafka.TopicSpec{{Name: s.opts.attemptsTopic, Partitions: parts}}
	if cfg.Kind == config.DestinationKafka {
		ensure = append(ensure, kafka.TopicSpec{Name: cfg.Topic, Partitions: parts})
	}
	name := StageName(cfg.ID, lane)
	opts := []stage.Opt{
		stage.Consume(topics...),
		stage.Group(Group(cfg.ID, lane)),
		stage.MaxAttempts(cfg.Retry.MaxAttempts),
		stage.Logger(s.log.With(zap.String(telemetry.FieldDestination, cfg.ID), zap.String("lane", lane))),
		stage.Registerer(s.opts.reg),
		stage.EnsureTopics(ensure...),
		stage.KafkaOpts(s.opts.kafkaOpts...),
	}
	if cfg.Kind == config.DestinationWebhook {
		// A poll is one transaction: the handler starts no request past
		// the batch budget (it defers what is left), so the transaction
		// lasts at most the budget and one request's timeout.
		txn := s.opts.batchBudget + cfg.Timeout + 30*time.Second
		opts = append(opts, stage.MaxPollRecords(s.opts.maxPoll), stage.TransactionTimeout(txn))
	}
	if s.opts.tracer != nil {
		opts = append(opts, stage.Tracing(s.opts.tracer, s.opts.propagator))
	}
	opts = append(opts, s.opts.stageOpts...)
	opts = append(opts, stage.RetryDelays(d.lanes...))
	rn, err := stage.New(name, s.kc, &handler{s: s, d: d, lane: lane}, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: destination %s: %w", ErrConfig, cfg.ID, err)
	}
	return rn, nil
}

// Name returns "deliver".
func (s *Stage) Name() string { return "deliver" }

// Runners returns the stage's runners, one per destination and lane.
func (s *Stage) Runners() []*stage.Runner { return append([]*stage.Runner(nil), s.runners...) }

// Run runs every runner until ctx ends, then waits for the attempts
// producer to flush and closes it.
func (s *Stage) Run(ctx context.Context) error {
	defer s.close()
	var wg sync.WaitGroup
	errs := make([]error, len(s.runners))
	for i, rn := range s.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = rn.Run(ctx)
		}()
	}
	s.log.Info("delivering", zap.Int("destinations", len(s.dests)), zap.Strings("lanes", s.opts.lanes))
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Stage) close() {
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.attempts.Flush(fctx); err != nil {
		s.log.Warn("attempt records not flushed", zap.Error(err))
	}
	s.attempts.Close()
	for _, d := range s.dests {
		if d.client != nil {
			d.client.Close()
		}
	}
}

// Disable disables a destination, in this process at once and in every
// other within a batch: its events are dead-lettered with reason until
// Enable. A destination that answers 410 Gone is disabled this way.
func (s *Stage) Disable(ctx context.Context, id, reason string) error {
	d, ok := s.byID[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownDestination, id)
	}
	dis := &Disabled{Reason: reason, At: time.Now().UTC()}
	d.setDisabled(dis)
	return s.store.disable(ctx, id, *dis)
}

// Enable enables a disabled destination again.
func (s *Stage) Enable(ctx context.Context, id string) error {
	d, ok := s.byID[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownDestination, id)
	}
	if err := s.store.enable(ctx, id); err != nil {
		return err
	}
	d.setDisabled(nil)
	return nil
}

// EnsureTopics creates the topics of every runner of the stage (retry and
// dead-letter topics, the attempts topic, a kafka destination's topic)
// where they do not exist yet, as each runner does when it starts (see
// stage.Runner.EnsureTopics).
func (s *Stage) EnsureTopics(ctx context.Context) error {
	for _, rn := range s.runners {
		if err := rn.EnsureTopics(ctx); err != nil {
			return err
		}
	}
	return nil
}
