package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/kafka"
)

// DefaultTopic is the storage topic used when no Topic option is given.
const DefaultTopic = "_sluice_schemas"

const (
	modeReadWrite = "READWRITE"
	modeReadOnly  = "READONLY"
	modeImport    = "IMPORT"
)

func parseMode(s string) (string, bool) {
	switch s {
	case modeReadWrite, modeReadOnly, modeImport:
		return s, true
	}
	return "", false
}

type config struct {
	topic        string
	txnID        string
	log          *zap.Logger
	defaultLevel string
	timeout      time.Duration
	replication  int16
	incompatCode int
	reg          prometheus.Registerer
}

// Opt configures a Server.
type Opt func(*config)

// Topic sets the storage topic. Default "_sluice_schemas" (DefaultTopic).
// Every instance that serves the same registry uses the same topic.
func Topic(name string) Opt { return func(c *config) { c.topic = name } }

// TransactionalID sets the Kafka transactional id writers use; instances of
// one registry must share it, because it is what lets only one of them
// write at a time. Default "sluice-registry-" followed by the topic name.
func TransactionalID(id string) Opt { return func(c *config) { c.txnID = id } }

// Logger sets the logger. Default zap.NewNop(). Requests are logged at
// debug level; schema texts never are.
func Logger(l *zap.Logger) Opt { return func(c *config) { c.log = l } }

// DefaultCompatibility sets the compatibility level that applies when
// neither the subject nor the registry has one configured. Default
// BACKWARD, as in Confluent Schema Registry.
func DefaultCompatibility(level string) Opt { return func(c *config) { c.defaultLevel = level } }

// Timeout bounds how long a request waits for the storage topic: to catch
// up at start, to write, and to read its own write back. Default 30s.
func Timeout(d time.Duration) Opt { return func(c *config) { c.timeout = d } }

// ReplicationFactor sets the replication factor of the storage topic when
// Run creates it. Default: 3, or the number of brokers when there are
// fewer.
func ReplicationFactor(n int16) Opt { return func(c *config) { c.replication = n } }

// IncompatibleErrorCode sets the error code answered, with HTTP status 409,
// for an incompatible schema: 409 as older Confluent releases answer (and
// franz-go's sr maps to sr.ErrIncompatibleSchema), or 40901 as newer ones
// do. Default 409. IsIncompatible recognises both.
func IncompatibleErrorCode(code int) Opt { return func(c *config) { c.incompatCode = code } }

// Registerer registers the registry's metrics (requests by route and
// status, registered schema ids, storage writes). Default nil: no metrics.
func Registerer(r prometheus.Registerer) Opt { return func(c *config) { c.reg = r } }

// Server is a schema registry that speaks Confluent Schema Registry's REST
// API and keeps its data in a compacted Kafka topic. It is an http.Handler.
// Safe for concurrent use.
type Server struct {
	cfg  config
	log  *zap.Logger
	cl   *kgo.Client
	conn []kgo.Opt
	m    *metrics

	mu       sync.RWMutex
	st       *state
	next     int64         // offset after the last record applied
	advanced chan struct{} // closed and replaced whenever next moves

	parsedMu sync.Mutex
	parsed   map[int]*avroType // schema id → parsed Avro schema

	started atomic.Bool
	ready   atomic.Bool
	readyCh chan struct{}
	doneCh  chan struct{}
	reader  atomic.Pointer[kgo.Client]

	writeMu sync.Mutex
	writer  *kgo.Client
}

// New returns a Server that stores its data through the cluster cl talks
// to. cl is used for administration (creating the topic); the Server makes
// its own reader and transactional writer with cl's connection settings
// (seed brokers, TLS, SASL, dialer, logger, client id) and closes them when
// Run returns. cl must be a plain client: no consumer options and no
// transactional id. cl is not closed by the Server.
func New(cl *kgo.Client, opts ...Opt) (*Server, error) {
	if cl == nil {
		return nil, ErrNilClient
	}
	if id, _ := cl.OptValue(kgo.TransactionalID).(string); id != "" {
		return nil, ErrClientRole
	}
	if topics, _ := cl.OptValue(kgo.ConsumeTopics).([]string); len(topics) > 0 {
		return nil, ErrClientRole
	}
	if parts, _ := cl.OptValue(kgo.ConsumePartitions).(map[string]map[int32]kgo.Offset); len(parts) > 0 {
		return nil, ErrClientRole
	}
	if g, _ := cl.OptValue(kgo.ConsumerGroup).(string); g != "" {
		return nil, ErrClientRole
	}
	cfg := config{
		topic:        DefaultTopic,
		log:          zap.NewNop(),
		defaultLevel: levelBackward,
		timeout:      30 * time.Second,
		incompatCode: codeIncompatibleSchema,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.topic == "" {
		return nil, fmt.Errorf("%w: empty topic", ErrBadOption)
	}
	if cfg.txnID == "" {
		cfg.txnID = "sluice-registry-" + cfg.topic
	}
	if cfg.log == nil {
		cfg.log = zap.NewNop()
	}
	level, ok := parseLevel(cfg.defaultLevel)
	if !ok {
		return nil, fmt.Errorf("%w: unknown compatibility level %q", ErrBadOption, cfg.defaultLevel)
	}
	cfg.defaultLevel = level
	if cfg.timeout <= 0 {
		return nil, fmt.Errorf("%w: timeout %v", ErrBadOption, cfg.timeout)
	}
	if cfg.replication < 0 {
		return nil, fmt.Errorf("%w: replication factor %d", ErrBadOption, cfg.replication)
	}
	if cfg.incompatCode != codeIncompatibleSchema && cfg.incompatCode != codeIncompatibleSchemaConfluent {
		return nil, fmt.Errorf("%w: incompatible error code %d: use 409 or 40901", ErrBadOption, cfg.incompatCode)
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.log,
		cl:       cl,
		conn:     connectionOpts(cl),
		st:       newState(),
		advanced: make(chan struct{}),
		parsed:   map[int]*avroType{},
		readyCh:  make(chan struct{}),
		doneCh:   make(chan struct{}),
	}
	m, err := newMetrics(cfg.reg, s)
	if err != nil {
		return nil, err
	}
	s.m = m
	return s, nil
}

// connectionOpts copies how cl reaches the cluster, and nothing else: not
// its hooks (metrics plugins register collectors once per client) and not
// its producer or consumer settings.
func connectionOpts(cl *kgo.Client) []kgo.Opt {
	var opts []kgo.Opt
	if seeds, _ := cl.OptValue(kgo.SeedBrokers).([]string); len(seeds) > 0 {
		opts = append(opts, kgo.SeedBrokers(seeds...))
	}
	if id, _ := cl.OptValue(kgo.ClientID).(string); id != "" {
		opts = append(opts, kgo.ClientID(id+"-registry"))
	}
	if tc, ok := cl.OptValue(kgo.DialTLSConfig).(*tls.Config); ok && tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc.Clone()))
	}
	if mechs, ok := cl.OptValue(kgo.SASL).([]sasl.Mechanism); ok && len(mechs) > 0 {
		opts = append(opts, kgo.SASL(mechs...))
	}
	if d, ok := cl.OptValue(kgo.Dialer).(func(context.Context, string, string) (net.Conn, error)); ok && d != nil {
		opts = append(opts, kgo.Dialer(d))
	}
	if l, ok := cl.OptValue(kgo.WithLogger).(kgo.Logger); ok && l != nil {
		opts = append(opts, kgo.WithLogger(l))
	}
	return opts
}

// Ready reports whether the Server has read the storage topic to its end
// and serves requests.
func (s *Server) Ready() bool { return s.ready.Load() }

// WaitReady waits until the Server is ready, ctx ends, or the Server stops;
// once Run has returned it returns ErrStopped.
func (s *Server) WaitReady(ctx context.Context) error {
	select {
	case <-s.doneCh:
		return ErrStopped
	default:
	}
	select {
	case <-s.readyCh:
		return nil
	case <-s.doneCh:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run creates the storage topic if it is missing, reads it from the start
// into memory and keeps following it until ctx ends; then it closes its
// Kafka clients and returns nil. The Server is ready once the records that
// were in the topic when Run started have been read. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer close(s.doneCh)
	defer s.ready.Store(false)

	if err := s.ensureTopic(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	reader, err := kgo.NewClient(append(slicesClone(s.conn),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.cfg.topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.FetchMaxWait(time.Second),
	)...)
	if err != nil {
		return fmt.Errorf("registry: reader client: %w", err)
	}
	s.reader.Store(reader)
	defer func() {
		s.writeMu.Lock()
		if s.writer != nil {
			s.writer.Close()
			s.writer = nil
		}
		s.writeMu.Unlock()
		reader.Close()
	}()

	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		s.consume(ctx, reader)
	}()

	// Ready once a marker written now has been read back: everything
	// committed before it has been applied.
	for ctx.Err() == nil {
		bctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
		err := s.barrier(bctx)
		cancel()
		if err == nil {
			s.ready.Store(true)
			close(s.readyCh)
			s.log.Info("schema registry ready", zap.String("topic", s.cfg.topic), zap.Int("schemas", s.schemaCount()))
			break
		}
		if ctx.Err() == nil {
			s.log.Warn("schema registry: catching up with the storage topic", zap.String("topic", s.cfg.topic), zap.Error(err))
		}
	}
	<-ctx.Done()
	<-loopDone
	return nil
}

func slicesClone(o []kgo.Opt) []kgo.Opt { return append([]kgo.Opt(nil), o...) }

func (s *Server) ensureTopic(ctx context.Context) error {
	adm := kadm.NewClient(s.cl)
	// Created only if missing, compacted (one made beforehand without is
	// refused), with sluice's default replication unless configured.
	spec := kafka.TopicSpec{Name: s.cfg.topic, Partitions: 1, Replication: s.cfg.replication, Configs: kafka.Compacted()}
	if err := kafka.EnsureTopics(ctx, adm, spec); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	// A topic just created may take a moment to show in the metadata.
	var td kadm.TopicDetail
	deadline := time.Now().Add(s.cfg.timeout)
	for {
		topics, err := adm.ListTopics(ctx, s.cfg.topic)
		if err != nil {
			return fmt.Errorf("registry: describe topic %s: %w", s.cfg.topic, err)
		}
		td = topics[s.cfg.topic]
		if td.Err == nil && len(td.Partitions) > 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("registry: describe topic %s: %v", s.cfg.topic, td.Err)
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	if n := len(td.Partitions); n != 1 {
		return fmt.Errorf("%w: %s has %d", ErrTopicLayout, s.cfg.topic, n)
	}
	if rcs, err := adm.DescribeTopicConfigs(ctx, s.cfg.topic); err == nil {
		if rc, err := rcs.On(s.cfg.topic, nil); err == nil && rc.Err == nil {
			for _, c := range rc.Configs {
				if c.Key == "cleanup.policy" && c.MaybeValue() != "compact" {
					s.log.Warn("schema registry: the storage topic is not compacted; set cleanup.policy=compact or schemas will expire",
						zap.String("topic", s.cfg.topic), zap.String("cleanup.policy", c.MaybeValue()))
				}
			}
		}
	}
	return nil
}

// consume applies the storage topic's records to the state until ctx ends.
func (s *Server) consume(ctx context.Context, reader *kgo.Client) {
	for {
		fs := reader.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		var failed bool
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				failed = true
				s.log.Warn("schema registry: reading the storage topic", zap.String("topic", topic), zap.Int32("partition", p), zap.Error(err))
			}
		})
		var applied bool
		s.mu.Lock()
		removals := s.st.removals
		fs.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				if err := s.st.apply(r.Key, r.Value); err != nil {
					s.log.Warn("schema registry: skipping a storage record", zap.Int64("offset", r.Offset), zap.Error(err))
				}
			}
			s.next = r.Offset + 1
			applied = true
		})
		if s.st.removals != removals {
			s.forgetParsed()
		}
		if applied {
			close(s.advanced)
			s.advanced = make(chan struct{})
		}
		s.mu.Unlock()
		if applied {
			s.m.observeState(s)
		} else if failed {
			// Errors the client does not retry itself: do not spin.
			t := time.NewTimer(250 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	}
}

// waitApplied waits until the record at offset off has been applied.
func (s *Server) waitApplied(ctx context.Context, off int64) error {
	for {
		s.mu.RLock()
		next, ch := s.next, s.advanced
		s.mu.RUnlock()
		if next > off {
			return nil
		}
		select {
		case <-ch:
		case <-s.doneCh:
			return ErrStopped
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// barrier writes a position marker and waits until it has been read back,
// so that everything committed to the topic before now is applied.
func (s *Server) barrier(ctx context.Context) error {
	reader := s.reader.Load()
	if reader == nil {
		return ErrStopped
	}
	r := &kgo.Record{Topic: s.cfg.topic, Partition: 0, Key: noopKey()}
	if err := reader.ProduceSync(ctx, r).FirstErr(); err != nil {
		return fmt.Errorf("registry: write a position marker: %w", err)
	}
	return s.waitApplied(ctx, r.Offset)
}

// write changes the registry: with the writer lease held, it waits until
// every committed record is applied, lets decide compute the records to
// write from that state, commits them in one transaction and waits until
// they are applied. decide may return an *apiError to refuse the change.
//
// One writer at a time: every instance writes with the same transactional
// id. Getting a producer id for it fences any other instance's producer;
// the records committed before that are all before the marker written by
// barrier, so decide sees them. If another instance takes the id in
// between, this instance's transaction fails, nothing is written, and the
// write is retried from the start with a new producer.
func (s *Server) write(ctx context.Context, decide func(st *state) ([]storeRecord, error)) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var lastErr error
	for attempt := range writeAttempts {
		if attempt > 0 {
			// Instances that keep taking the lease from each other back
			// off by different amounts.
			s.m.writeRetries.Inc()
			wait := time.Duration(min(attempt*attempt, 25))*20*time.Millisecond + rand.N(50*time.Millisecond)
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return s.storeErr(ctx, lastErr)
			}
		}
		w, err := s.writerClient(ctx)
		if err != nil {
			lastErr = err
			continue
		}
		if err := s.barrier(ctx); err != nil {
			return s.storeErr(ctx, err)
		}
		s.mu.RLock()
		recs, err := decide(s.st)
		s.mu.RUnlock()
		if err != nil || len(recs) == 0 {
			return err
		}
		last, err := s.commit(ctx, w, recs)
		if err != nil {
			s.log.Info("schema registry: write failed, retrying with a new producer", zap.Int("attempt", attempt+1), zap.Error(err))
			s.dropWriter()
			lastErr = err
			continue
		}
		s.m.writes.Inc()
		if err := s.waitApplied(ctx, last); err != nil {
			return s.storeErr(ctx, err)
		}
		return nil
	}
	return s.storeErr(ctx, lastErr)
}

// writeAttempts bounds how often a write starts again after losing the
// writer lease or failing to commit.
const writeAttempts = 10

func (s *Server) storeErr(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return errTimeout("Write to the Kafka store timed out: %v", err)
	}
	if errors.Is(err, ErrStopped) {
		return errStore("The schema registry is stopping")
	}
	return errStore("Error while writing to the Kafka store: %v", err)
}

func (s *Server) writerClient(ctx context.Context) (*kgo.Client, error) {
	if s.writer != nil {
		return s.writer, nil
	}
	select {
	case <-s.doneCh:
		return nil, ErrStopped
	default:
	}
	w, err := kgo.NewClient(append(slicesClone(s.conn),
		kgo.TransactionalID(s.cfg.txnID),
		kgo.TransactionTimeout(max(s.cfg.timeout, 10*time.Second)),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)...)
	if err != nil {
		return nil, fmt.Errorf("registry: writer client: %w", err)
	}
	// Take the transactional id now, fencing any other writer, before the
	// barrier that makes this instance see everything they committed.
	if _, _, err := w.ProducerID(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("registry: producer id: %w", err)
	}
	s.writer = w
	return w, nil
}

func (s *Server) dropWriter() {
	if s.writer != nil {
		s.writer.Close()
		s.writer = nil
	}
}

func (s *Server) commit(ctx context.Context, w *kgo.Client, recs []storeRecord) (int64, error) {
	if err := w.BeginTransaction(); err != nil {
		return 0, err
	}
	krs := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		krs[i] = &kgo.Record{Topic: s.cfg.topic, Partition: 0, Key: r.key, Value: r.value}
	}
	// Ending a transaction must not be cut short by the request's context:
	// its outcome would be unknown.
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.timeout)
	defer cancel()
	if err := w.ProduceSync(ctx, krs...).FirstErr(); err != nil {
		_ = w.EndTransaction(endCtx, kgo.TryAbort)
		return 0, err
	}
	if err := w.EndTransaction(endCtx, kgo.TryCommit); err != nil {
		return 0, err
	}
	return krs[len(krs)-1].Offset, nil
}

func (s *Server) forgetParsed() {
	s.parsedMu.Lock()
	clear(s.parsed)
	s.parsedMu.Unlock()
}

func (s *Server) schemaCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.st.ids)
}
