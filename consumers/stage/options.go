package stage

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/kafka"
)

// Opt configures a Runner.
type Opt interface{ apply(*config) }

type optFunc func(*config)

func (f optFunc) apply(c *config) { f(c) }

type config struct {
	topics           []string
	group            string
	txnID            string
	delays           []time.Duration
	maxAttempts      int
	concurrency      int
	maxPollRecords   int
	partitions       int32
	replication      int16
	ensure           []kafka.TopicSpec
	log              *zap.Logger
	reg              prometheus.Registerer
	tracer           trace.TracerProvider
	propagator       propagation.TextMapPropagator
	middleware       []Middleware
	clock            Clock
	backoffMin       time.Duration
	backoffMax       time.Duration
	txnTimeout       time.Duration
	shutdownTimeout  time.Duration
	instanceID       string
	requireTenant    bool
	kafkaOpts        []kgo.Opt
	errorMessageSize int
}

func defaults(name string) config {
	return config{
		group:            "sluice-" + name,
		delays:           []time.Duration{time.Minute, 10 * time.Minute, time.Hour},
		maxAttempts:      -1,
		concurrency:      16,
		maxPollRecords:   1000,
		log:              zap.NewNop(),
		clock:            realClock{},
		backoffMin:       200 * time.Millisecond,
		backoffMax:       30 * time.Second,
		txnTimeout:       30 * time.Second,
		shutdownTimeout:  10 * time.Second,
		requireTenant:    true,
		errorMessageSize: 512,
	}
}

// Consume sets the input topics of the stage. Required.
func Consume(topics ...string) Opt {
	return optFunc(func(c *config) { c.topics = append(c.topics, topics...) })
}

// Group sets the consumer group, in the cluster config's namespace.
// Default "sluice-<stage>".
func Group(group string) Opt { return optFunc(func(c *config) { c.group = group }) }

// TransactionalID sets the transactional id, in the cluster config's
// namespace. Default "<group>-<hostname>-<8 random hex digits>", new for
// every Runner.
//
// Each member of the group needs its own id. A random one means a process
// that restarts does not fence its previous incarnation by id: if that
// one died inside a transaction, the broker aborts the transaction once
// the transaction timeout passes, and until then read_committed consumers
// of the partitions it touched wait. A zombie cannot commit meanwhile,
// because its offset commit carries a group generation that is no longer
// current (KIP-447). A stable id per member (a StatefulSet's pod name)
// fences at once on restart instead; two live members must never share
// one.
func TransactionalID(id string) Opt { return optFunc(func(c *config) { c.txnID = id }) }

// InstanceID makes the transactional id "<group>-<id>" (unless
// TransactionalID sets one): a stable id of the process, such as a
// StatefulSet pod's name, gives each of its runners a stable id of its
// own, one per group (see TransactionalID).
func InstanceID(id string) Opt { return optFunc(func(c *config) { c.instanceID = id }) }

// RetryDelays sets the delay of each retry topic: a record failing
// retryably for the n-th time goes to sluice.retry.<stage>.<n>, due after
// delays[n-1]. Default 1m, 10m, 1h. With no delays, retryable failures are
// dead-lettered at once.
func RetryDelays(delays ...time.Duration) Opt {
	return optFunc(func(c *config) { c.delays = append([]time.Duration(nil), delays...) })
}

// MaxAttempts sets how many times a record is tried before a retryable
// failure is dead-lettered. Default len(delays)+1: once, then once from
// each retry topic. Past the last retry topic, the last is used again.
func MaxAttempts(n int) Opt { return optFunc(func(c *config) { c.maxAttempts = n }) }

// Concurrency sets how many partition batches are handled at once.
// Default 16.
func Concurrency(n int) Opt { return optFunc(func(c *config) { c.concurrency = n }) }

// MaxPollRecords sets the most records one poll, and so one transaction,
// holds. Default 1000.
func MaxPollRecords(n int) Opt { return optFunc(func(c *config) { c.maxPollRecords = n }) }

// TopicPartitions sets the partition count of the retry and dead-letter
// topics the runner creates. Default: the largest partition count among
// the input topics (6 when none exists yet). Existing topics are left as
// they are.
func TopicPartitions(n int32) Opt { return optFunc(func(c *config) { c.partitions = n }) }

// TopicReplication sets the replication factor of the topics the runner
// creates. Default: the broker's default.
func TopicReplication(n int16) Opt { return optFunc(func(c *config) { c.replication = n }) }

// EnsureTopics adds topics for the runner to create at start, such as the
// stage's output topics. Default none.
func EnsureTopics(specs ...kafka.TopicSpec) Opt {
	return optFunc(func(c *config) { c.ensure = append(c.ensure, specs...) })
}

// Logger sets the logger. Default zap.NewNop().
func Logger(l *zap.Logger) Opt { return optFunc(func(c *config) { c.log = l }) }

// Registerer sets where the stage's and its Kafka client's metrics are
// registered. Default none.
func Registerer(reg prometheus.Registerer) Opt { return optFunc(func(c *config) { c.reg = reg }) }

// Tracing continues each record's trace from its traceparent header with
// a span around its handling, and carries that span into the outputs.
// Default off.
func Tracing(tp trace.TracerProvider, p propagation.TextMapPropagator) Opt {
	return optFunc(func(c *config) { c.tracer, c.propagator = tp, p })
}

// Use adds middleware around the handler, the first outermost. The runner
// itself sits outside all of them (panic recovery, tracing). Default none.
func Use(mw ...Middleware) Opt {
	return optFunc(func(c *config) { c.middleware = append(c.middleware, mw...) })
}

// WithClock sets the clock that dates retries and times pauses. Default
// the system clock.
func WithClock(cl Clock) Opt { return optFunc(func(c *config) { c.clock = cl }) }

// Backoff sets how long a partition pauses after its batch failed as a
// whole: min, doubling on each consecutive failure, up to max. Default
// 200ms and 30s.
func Backoff(min, max time.Duration) Opt {
	return optFunc(func(c *config) { c.backoffMin, c.backoffMax = min, max })
}

// TransactionTimeout sets the transaction timeout: how long the broker
// lets a transaction stay open before aborting it, and so how long the
// partitions of a member that died mid-transaction stay blocked. Default
// 30s.
func TransactionTimeout(d time.Duration) Opt { return optFunc(func(c *config) { c.txnTimeout = d }) }

// ShutdownTimeout bounds ending the open transaction and leaving the group
// when Run's context ends. Default 10s.
func ShutdownTimeout(d time.Duration) Opt {
	return optFunc(func(c *config) { c.shutdownTimeout = d })
}

// RequireTenant sets whether a record without a tenant-id header is poison,
// dead-lettered without reaching the handler. Default true.
func RequireTenant(require bool) Opt { return optFunc(func(c *config) { c.requireTenant = require }) }

// KafkaOpts adds options to the stage's Kafka client, after the runner's
// own (so they win): session timeouts, a dialer, fetch sizes. Default none.
func KafkaOpts(opts ...kgo.Opt) Opt {
	return optFunc(func(c *config) { c.kafkaOpts = append(c.kafkaOpts, opts...) })
}

func (c *config) validate(name string) error {
	if name == "" {
		return configErr("no stage name")
	}
	if len(c.topics) == 0 {
		return configErr("stage %s consumes no topic", name)
	}
	if c.group == "" {
		return configErr("stage %s has an empty group", name)
	}
	for i, d := range c.delays {
		if d <= 0 {
			return configErr("retry delay %d of stage %s is %v, must be positive", i+1, name, d)
		}
	}
	if c.maxAttempts < 0 {
		c.maxAttempts = len(c.delays) + 1
	}
	if c.maxAttempts == 0 {
		return configErr("max attempts of stage %s is 0", name)
	}
	if c.concurrency <= 0 || c.maxPollRecords <= 0 {
		return configErr("concurrency and max poll records of stage %s must be positive", name)
	}
	if c.backoffMin <= 0 || c.backoffMax < c.backoffMin {
		return configErr("backoff of stage %s: min %v, max %v", name, c.backoffMin, c.backoffMax)
	}
	if c.txnTimeout <= 0 || c.shutdownTimeout <= 0 {
		return configErr("timeouts of stage %s must be positive", name)
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	if c.clock == nil {
		c.clock = realClock{}
	}
	if c.tracer != nil && c.propagator == nil {
		return configErr("tracing of stage %s has no propagator", name)
	}
	if strings.ContainsAny(c.instanceID, " \t\r\n") {
		return configErr("instance id %q holds white space", c.instanceID)
	}
	if c.txnID == "" && c.instanceID != "" {
		c.txnID = c.group + "-" + c.instanceID
	}
	if c.txnID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "host"
		}
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.txnID = c.group + "-" + host + "-" + hex.EncodeToString(b[:])
	}
	return nil
}

// Clock tells the time and runs functions later. Tests give a Runner a
// clock of their own.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d and returns a
	// function that stops the timer, like time.AfterFunc.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
