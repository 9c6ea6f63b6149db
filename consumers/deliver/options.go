package deliver

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/connectors/webhook"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
)

// Opt configures a Stage.
type Opt func(*options)

type options struct {
	lanes          []string
	log            *zap.Logger
	reg            prometheus.Registerer
	tracer         trace.TracerProvider
	propagator     propagation.TextMapPropagator
	body           Encoder
	prefix         string
	doneTTL        time.Duration
	laneFactor     int
	retryAfterMin  time.Duration
	retryAfterMax  time.Duration
	limitWait      time.Duration
	breaker        BreakerSettings
	orderStale     time.Duration
	inputTopic     func(object, lane string) string
	attemptsTopic  string
	kafkaOpts      []kgo.Opt
	stageOpts      []stage.Opt
	webhookOpts    []webhook.Opt
	batchShare     float64
	topicPartition int32
	batchBudget    time.Duration
	maxPoll        int
}

func defaultOptions() options {
	return options{
		lanes:         []string{config.LaneInteractive, config.LaneBatch},
		log:           zap.NewNop(),
		prefix:        "sluice:",
		doneTTL:       7 * 24 * time.Hour,
		laneFactor:    4,
		retryAfterMin: time.Second,
		retryAfterMax: time.Hour,
		limitWait:     time.Second,
		breaker: BreakerSettings{
			ConsecutiveFailures: 5,
			FailureRatio:        0.5,
			MinRequests:         20,
			Window:              time.Minute,
			OpenFor:             30 * time.Second,
			Probes:              1,
		},
		orderStale:  time.Hour,
		batchShare:  0.5,
		batchBudget: 30 * time.Second,
		maxPoll:     1000,
	}
}

// topicsIn gives the input and attempts topics not set by an option their
// defaults in namespace ns.
func (o *options) topicsIn(ns kafka.Namespace) {
	if o.inputTopic == nil {
		o.inputTopic = func(object, lane string) string { return ns.Name(kafka.CanonicalLaneTopic(object, lane)) }
	}
	if o.attemptsTopic == "" {
		o.attemptsTopic = ns.Name(kafka.DeliveryAttemptsTopic)
	}
}

func (o *options) validate() error {
	for _, l := range o.lanes {
		if l != config.LaneInteractive && l != config.LaneBatch {
			return fmt.Errorf("%w: lane %q: expected %s or %s", ErrConfig, l, config.LaneInteractive, config.LaneBatch)
		}
	}
	switch {
	case len(o.lanes) == 0:
		return fmt.Errorf("%w: no lane", ErrConfig)
	case o.doneTTL <= 0:
		return fmt.Errorf("%w: done-marker TTL %v must be positive", ErrConfig, o.doneTTL)
	case o.laneFactor < 2:
		return fmt.Errorf("%w: retry lane factor %d must be at least 2", ErrConfig, o.laneFactor)
	case o.retryAfterMin <= 0 || o.retryAfterMax < o.retryAfterMin:
		return fmt.Errorf("%w: Retry-After bounds %v..%v", ErrConfig, o.retryAfterMin, o.retryAfterMax)
	case o.limitWait < 0:
		return fmt.Errorf("%w: rate limit wait %v must not be negative", ErrConfig, o.limitWait)
	case o.orderStale <= 0:
		return fmt.Errorf("%w: ordered key staleness %v must be positive", ErrConfig, o.orderStale)
	case o.batchShare <= 0 || o.batchShare > 1:
		return fmt.Errorf("%w: batch lane share %v must be in (0, 1]", ErrConfig, o.batchShare)
	case o.batchBudget <= 0 || o.maxPoll <= 0:
		return fmt.Errorf("%w: batch budget %v and poll size %d must be positive", ErrConfig, o.batchBudget, o.maxPoll)
	case o.tracer != nil && o.propagator == nil:
		return fmt.Errorf("%w: tracing without a propagator", ErrConfig)
	}
	if o.log == nil {
		o.log = zap.NewNop()
	}
	return o.breaker.validate()
}

// BreakerSettings configure the circuit breaker of every destination.
type BreakerSettings struct {
	// ConsecutiveFailures opens the breaker after this many failed
	// attempts in a row. Default 5.
	ConsecutiveFailures uint32
	// FailureRatio opens the breaker when at least this share of the
	// attempts in Window failed, once MinRequests were made. Default 0.5
	// of at least 20 in 1 minute; 0 turns the ratio rule off.
	FailureRatio float64
	MinRequests  uint32
	Window       time.Duration
	// OpenFor is how long the breaker stays open before letting probes
	// through. Default 30s.
	OpenFor time.Duration
	// Probes is how many attempts go through at once while half-open; one
	// failure opens the breaker again, Probes successes close it. Default 1.
	Probes uint32
}

// trips reports whether counts open the breaker. The ratio is of the
// attempts that were answered (or failed to be): requests still in
// flight, and those excluded because they were never sent (a rate
// limit's wait), count neither way, so a busy or rate-limited
// destination does not dilute its failures.
func (b BreakerSettings) trips(c gobreaker.Counts) bool {
	if c.ConsecutiveFailures >= b.ConsecutiveFailures {
		return true
	}
	done := c.TotalSuccesses + c.TotalFailures
	return b.FailureRatio > 0 && done >= b.MinRequests && float64(c.TotalFailures) >= b.FailureRatio*float64(done)
}

func (b BreakerSettings) validate() error {
	if b.ConsecutiveFailures == 0 || b.OpenFor <= 0 || b.Probes == 0 || b.FailureRatio < 0 || b.FailureRatio > 1 || b.Window < 0 {
		return fmt.Errorf("%w: circuit breaker settings %+v", ErrConfig, b)
	}
	return nil
}

// Lanes sets the lanes to deliver: interactive, batch or both. Each lane
// of each destination is a consumer group of its own. Default both.
func Lanes(lanes ...string) Opt {
	return func(o *options) { o.lanes = append([]string(nil), lanes...) }
}

// Logger sets the logger. Default zap.NewNop().
func Logger(l *zap.Logger) Opt { return func(o *options) { o.log = l } }

// Registerer sets where the stage's metrics, its runners' and their Kafka
// clients' are registered. Default none.
func Registerer(reg prometheus.Registerer) Opt { return func(o *options) { o.reg = reg } }

// Tracing continues each event's trace through its delivery. Default off.
func Tracing(tp trace.TracerProvider, p propagation.TextMapPropagator) Opt {
	return func(o *options) { o.tracer, o.propagator = tp, p }
}

// Body sets how a canonical record becomes a webhook body. Required when
// a webhook destination is delivered; see JSONBody.
func Body(e Encoder) Opt { return func(o *options) { o.body = e } }

// Prefix sets the prefix of every Redis key the stage writes. Default
// "sluice:".
func Prefix(p string) Opt { return func(o *options) { o.prefix = p } }

// DoneTTL sets how long a done-marker says an event was delivered to a
// destination. Default 7 days.
func DoneTTL(d time.Duration) Opt { return func(o *options) { o.doneTTL = d } }

// RetryLaneFactor sets the ratio between the delays of consecutive retry
// topics of a destination: InitialBackoff, InitialBackoff×factor, ...,
// MaxBackoff. Default 4.
func RetryLaneFactor(f int) Opt { return func(o *options) { o.laneFactor = f } }

// RetryAfterBounds clamps the Retry-After a destination asks for. Default
// 1s to 1h (and never past the destination's MaxBackoff).
func RetryAfterBounds(min, max time.Duration) Opt {
	return func(o *options) { o.retryAfterMin, o.retryAfterMax = min, max }
}

// RateLimitWait sets how long an event may wait in the handler for its
// rate limits before it is deferred to a retry topic. Default 1s.
func RateLimitWait(d time.Duration) Opt { return func(o *options) { o.limitWait = d } }

// Breaker sets the circuit breaker of every destination. Default: see
// BreakerSettings.
func Breaker(b BreakerSettings) Opt { return func(o *options) { o.breaker = b } }

// OrderStaleAfter sets how long past its due time the event at the head
// of an ordered key may stay unseen before the events behind it stop
// waiting for it. Default 1h.
func OrderStaleAfter(d time.Duration) Opt { return func(o *options) { o.orderStale = d } }

// InputTopic sets the topic of a canonical object on a lane, taken as it
// is. Default kafka.CanonicalLaneTopic in the cluster config's namespace.
func InputTopic(f func(object, lane string) string) Opt { return func(o *options) { o.inputTopic = f } }

// AttemptsTopic sets the topic that records every attempt, taken as it
// is. Default kafka.DeliveryAttemptsTopic ("sluice.delivery.attempts") in
// the cluster config's namespace.
func AttemptsTopic(topic string) Opt { return func(o *options) { o.attemptsTopic = topic } }

// KafkaOpts adds options to every Kafka client of the stage (its runners'
// and the attempts producer), after the stage's own. Default none.
func KafkaOpts(opts ...kgo.Opt) Opt {
	return func(o *options) { o.kafkaOpts = append(o.kafkaOpts, opts...) }
}

// StageOpts adds options to every runner, after the stage's own, so they
// win (retry delays excepted, which follow the destination's backoff).
// Default none.
func StageOpts(opts ...stage.Opt) Opt {
	return func(o *options) { o.stageOpts = append(o.stageOpts, opts...) }
}

// WebhookOpts adds options to every webhook destination's client, after
// the destination's own (timeout, private network). Default none.
func WebhookOpts(opts ...webhook.Opt) Opt {
	return func(o *options) { o.webhookOpts = append(o.webhookOpts, opts...) }
}

// BatchLaneShare sets the share of a destination's MaxConcurrency the
// batch lane may use, so a backfill always leaves room for interactive
// events. Default 0.5.
func BatchLaneShare(f float64) Opt { return func(o *options) { o.batchShare = f } }

// BatchBudget bounds how long a webhook destination's batch may keep
// starting requests: what is left unsent after it is deferred to the
// first retry topic, so a slow destination cannot hold a transaction
// open, or its partitions, for long. The transaction timeout is the
// budget plus the destination's request timeout plus 30s. Default 30s.
func BatchBudget(d time.Duration) Opt { return func(o *options) { o.batchBudget = d } }

// MaxPollRecords sets how many records one poll, and so one transaction,
// of a webhook destination holds. Default 1000.
func MaxPollRecords(n int) Opt { return func(o *options) { o.maxPoll = n } }

// TopicPartitions sets the partition count of the attempts topic and the
// Kafka destinations' topics the stage creates when they do not exist.
// Default 6.
func TopicPartitions(n int32) Opt { return func(o *options) { o.topicPartition = n } }
