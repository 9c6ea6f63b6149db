package webhook

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// Defaults of the options.
const (
	// DefaultPrefix starts every Redis key of the ingress.
	DefaultPrefix = "sluice:"
	// DefaultLease is how long a delivery holds an event id while it is
	// being written, renewed while the write is outstanding.
	DefaultLease = 60 * time.Second
	// DefaultDoneTTL is how long an accepted event id is remembered, so a
	// repeat is answered as a duplicate.
	DefaultDoneTTL = 7 * 24 * time.Hour
	// DefaultProduceWait is how long a request waits for the broker's
	// acknowledgement before it is answered 503.
	DefaultProduceWait = 10 * time.Second
	// DefaultRetryAfter is the Retry-After of a 503.
	DefaultRetryAfter = 5 * time.Second
	// DefaultMaxConcurrent is how many requests are handled at once;
	// more are answered 503 at once.
	DefaultMaxConcurrent = 512
	// DefaultReadTimeout bounds reading one request's body.
	DefaultReadTimeout = 30 * time.Second
	// DefaultMaxBufferedRecords and DefaultMaxBufferedBytes bound the
	// producer's buffer (ProducerOpts).
	DefaultMaxBufferedRecords = 10_000
	DefaultMaxBufferedBytes   = 64 << 20
	// DefaultLinger is how long the producer waits to fill a batch.
	DefaultLinger = 5 * time.Millisecond
)

// Opt configures an Ingress.
type Opt func(*options)

type options struct {
	log           *zap.Logger
	reg           prometheus.Registerer
	tracing       *telemetry.Tracing
	prefix        string
	instance      string
	lease         time.Duration
	doneTTL       time.Duration
	produceWait   time.Duration
	retryAfter    time.Duration
	maxConcurrent int
	readTimeout   time.Duration
	now           func() time.Time
	namespace     kafka.Namespace
}

// Logger sets the logger. Default zap.NewNop().
func Logger(l *zap.Logger) Opt { return func(o *options) { o.log = l } }

// Registerer registers the ingress's metrics. Default: none (the metrics
// are kept but not exported).
func Registerer(r prometheus.Registerer) Opt { return func(o *options) { o.reg = r } }

// Tracing sets the tracer provider and propagator that start each
// request's span and carry its context into the records. Default
// telemetry.NewTracing().
func Tracing(t *telemetry.Tracing) Opt { return func(o *options) { o.tracing = t } }

// Prefix starts every Redis key the ingress writes: idempotency markers
// "<prefix>ingress:<tenant>:<integration>:<event id>" and rate-limit
// state. Default DefaultPrefix ("sluice:").
func Prefix(p string) Opt { return func(o *options) { o.prefix = p } }

// InstanceID names this ingress instance in the idempotency markers it
// holds while writing ("pending:<instance>:<n>"). Default: the host name,
// the process id and a random suffix.
func InstanceID(id string) Opt { return func(o *options) { o.instance = id } }

// Lease sets how long a delivery holds an event id while it is written.
// The lease is renewed while the write is outstanding, so it only runs
// out when the instance dies; then another delivery of the event may
// write it. Default DefaultLease (60s); at least a second.
func Lease(d time.Duration) Opt { return func(o *options) { o.lease = d } }

// DoneTTL sets how long an accepted event id is remembered; a repeat
// within it is answered as a duplicate and not written again. Default
// DefaultDoneTTL (7 days).
func DoneTTL(d time.Duration) Opt { return func(o *options) { o.doneTTL = d } }

// ProduceWait sets how long a request waits for the broker to acknowledge
// its records. When it passes, the request is answered 503 and the write
// is left to finish on its own (see the package doc). Default
// DefaultProduceWait (10s).
func ProduceWait(d time.Duration) Opt { return func(o *options) { o.produceWait = d } }

// RetryAfter sets the Retry-After of a 503. Default DefaultRetryAfter
// (5s); rounded up to whole seconds.
func RetryAfter(d time.Duration) Opt { return func(o *options) { o.retryAfter = d } }

// MaxConcurrent bounds the requests handled at once; one more is
// answered 503 "backpressure" without reading its body. With the body
// limits it bounds the memory requests take. Default
// DefaultMaxConcurrent (512).
func MaxConcurrent(n int) Opt { return func(o *options) { o.maxConcurrent = n } }

// ReadTimeout bounds the time to read one request's body. Default
// DefaultReadTimeout (30s).
func ReadTimeout(d time.Duration) Opt { return func(o *options) { o.readTimeout = d } }

// Clock sets the clock that signed timestamps are checked against and
// received-at is read from. Default time.Now.
func Clock(now func() time.Time) Opt { return func(o *options) { o.now = now } }

// Namespace puts the topics the ingress writes in ns (kafka.Namespace):
// <ns>.sluice.in.<integration> and its .invalid topic, with their schema
// subjects. Default none.
func Namespace(ns kafka.Namespace) Opt { return func(o *options) { o.namespace = ns } }

func newOptions(opts []Opt) (options, error) {
	o := options{
		prefix:        DefaultPrefix,
		lease:         DefaultLease,
		doneTTL:       DefaultDoneTTL,
		produceWait:   DefaultProduceWait,
		retryAfter:    DefaultRetryAfter,
		maxConcurrent: DefaultMaxConcurrent,
		readTimeout:   DefaultReadTimeout,
		now:           time.Now,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.log == nil {
		o.log = zap.NewNop()
	}
	if o.tracing == nil {
		o.tracing = telemetry.NewTracing()
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.instance == "" {
		o.instance = defaultInstance()
	}
	if _, err := kafka.ParseNamespace(string(o.namespace)); err != nil {
		return o, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	switch {
	case o.lease < time.Second:
		return o, fmt.Errorf("%w: the lease must be at least 1s; got %v", ErrConfig, o.lease)
	case o.doneTTL < o.lease:
		return o, fmt.Errorf("%w: the done TTL (%v) must be at least the lease (%v)", ErrConfig, o.doneTTL, o.lease)
	case o.produceWait <= 0:
		return o, fmt.Errorf("%w: the produce wait must be more than 0; got %v", ErrConfig, o.produceWait)
	case o.retryAfter <= 0:
		return o, fmt.Errorf("%w: Retry-After must be more than 0; got %v", ErrConfig, o.retryAfter)
	case o.maxConcurrent <= 0:
		return o, fmt.Errorf("%w: the concurrency limit must be more than 0; got %d", ErrConfig, o.maxConcurrent)
	case o.readTimeout <= 0:
		return o, fmt.Errorf("%w: the read timeout must be more than 0; got %v", ErrConfig, o.readTimeout)
	}
	return o, nil
}

func defaultInstance() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "ingress"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// ProducerOpts returns the producer settings the ingress is built for, to
// add to the options of its Kafka client: acks from all in-sync replicas
// and the idempotent producer (kgo's defaults, set explicitly), a short
// linger (DefaultLinger) and a bounded buffer of maxRecords records and
// maxBytes bytes (DefaultMaxBufferedRecords and DefaultMaxBufferedBytes
// when 0). A full buffer makes a request fail at once with 503
// "backpressure" instead of waiting. Records have no delivery timeout: a
// record the broker may have received is never failed by the client,
// which is what lets the ingress leave an unacknowledged write to finish
// after it answered. Options added after these win, e.g. a
// kgo.ProducerLinger of 0 for the lowest latency of a lone request at
// some cost in throughput under load.
func ProducerOpts(maxRecords, maxBytes int) []kgo.Opt {
	if maxRecords <= 0 {
		maxRecords = DefaultMaxBufferedRecords
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBufferedBytes
	}
	return []kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(DefaultLinger),
		kgo.MaxBufferedRecords(maxRecords),
		kgo.MaxBufferedBytes(maxBytes),
	}
}
