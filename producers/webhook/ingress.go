package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/ratelimit"
	"github.com/sluicehq/sluice/internal/redisconn"
	"github.com/sluicehq/sluice/internal/tenant"
)

// Encoder encodes an event's native value (see avro.NativeEvent) in the
// Confluent wire format under a subject; *avro.Serde is one. It must be
// safe for concurrent use.
//
// Prepare asks it once per subject to encode an empty value, so that it
// registers or looks up the subject's schema and keeps its id before the
// first request; the refusal of the empty value (an error wrapping
// avro.ErrEncode) is expected and means the subject is ready. From then on
// encoding makes no registry call.
type Encoder interface {
	EncodeNative(ctx context.Context, subject string, v map[string]any) ([]byte, error)
}

// Ingress is the webhook ingress: an http.Handler for the webhook routes
// and a worker that keeps the leases of the writes it has outstanding. It
// is safe for concurrent use. Build it with New, then run Run (which
// prepares it) beside an HTTP server serving it; call Shutdown after the
// server stopped.
type Ingress struct {
	cfg     options
	tenants *tenant.Directory
	catalog *config.Catalog
	routes  map[string]*route
	cl      *kgo.Client
	enc     Encoder
	limiter *ratelimit.Limiter
	markers *markers
	metrics *metrics
	tracer  trace.Tracer
	log     *zap.Logger
	sem     chan struct{}

	ready   atomic.Bool
	closing atomic.Bool
	// settling counts records produced and not yet settled (acknowledged
	// and marked done, or failed and released).
	settling sync.WaitGroup
}

// New returns the ingress of the catalog's integrations that take
// webhooks (those with a signature), writing through producer, keeping
// idempotency markers and rate limits in rdb, validating with schemas and
// encoding with enc.
//
// producer must be an idempotent, non-transactional client with
// acks=all (add ProducerOpts to its options); anything else is refused
// with ErrProducer. Secrets are resolved here: a secret that cannot be
// read, a contract that names no event record, or a bad option is refused
// with ErrConfig.
func New(catalog *config.Catalog, producer *kgo.Client, rdb redis.UniversalClient, schemas *avro.Schemas, enc Encoder, opts ...Opt) (*Ingress, error) {
	cfg, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	switch {
	case catalog == nil || schemas == nil || enc == nil || producer == nil || rdb == nil:
		return nil, fmt.Errorf("%w: New needs the catalog, a producer, Redis, the schemas and an encoder", ErrConfig)
	}
	if err := checkProducer(producer); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.reg)
	if err != nil {
		return nil, fmt.Errorf("%w: metrics: %v", ErrConfig, err)
	}
	in := &Ingress{
		cfg:     cfg,
		catalog: catalog,
		tenants: tenant.New(catalog),
		routes:  map[string]*route{},
		cl:      producer,
		enc:     enc,
		limiter: ratelimit.New(rdb, cfg.prefix+"ratelimit:"),
		markers: &markers{
			rdb: rdb, prefix: cfg.prefix, instance: cfg.instance,
			lease: cfg.lease, doneTTL: cfg.doneTTL, held: map[string]string{},
			releaseScr: redis.NewScript(releaseScript), renewScr: redis.NewScript(renewScript),
			nxGet: redisconn.NewNXGetter(rdb, func() {
				cfg.log.Warn("ingress: this Redis refuses SET NX GET (it is older than 7.0); claiming event ids with a script, one call per id")
			}),
		},
		metrics: m,
		tracer:  cfg.tracing.Provider.Tracer("github.com/sluicehq/sluice/producers/webhook"),
		log:     cfg.log,
		sem:     make(chan struct{}, cfg.maxConcurrent),
	}
	for i := range catalog.Integrations {
		ic := &catalog.Integrations[i]
		if ic.Signature == nil {
			continue
		}
		rt, err := newRoute(ic, schemas, cfg.namespace)
		if err != nil {
			return nil, err
		}
		in.routes[ic.ID] = rt
	}
	return in, nil
}

// checkProducer refuses a client that could lose or double records.
func checkProducer(cl *kgo.Client) error {
	if acks, ok := cl.OptValue(kgo.RequiredAcks).(kgo.Acks); ok && acks != kgo.AllISRAcks() {
		return fmt.Errorf("%w: acks is not all", ErrProducer)
	}
	if off, ok := cl.OptValue(kgo.DisableIdempotentWrite).(bool); ok && off {
		return fmt.Errorf("%w: idempotent writes are disabled", ErrProducer)
	}
	if vs := cl.OptValues(kgo.TransactionalID); len(vs) == 2 {
		if set, _ := vs[1].(bool); set {
			return fmt.Errorf("%w: the client is transactional", ErrProducer)
		}
	}
	return nil
}

// ServeHTTP serves POST /v1/webhooks/{tenant}/{integration} (one event)
// and POST /v1/webhooks/{tenant}/{integration}/batch (many). Every
// answer, a path that is no route included, is JSON.
func (in *Ingress) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The path is split here rather than by a ServeMux, which would
	// answer unclean paths with a redirect instead of a problem.
	rest, ok := strings.CutPrefix(r.URL.Path, webhookPath)
	parts := strings.Split(rest, "/")
	switch {
	case !ok || parts[0] == "" || len(parts) < 2 || parts[1] == "":
	case len(parts) == 2:
		in.serve(w, r, parts[0], parts[1], false)
		return
	case len(parts) == 3 && parts[2] == "batch":
		in.serve(w, r, parts[0], parts[1], true)
		return
	}
	in.notFound(w, r)
}

// webhookPath starts every route.
const webhookPath = "/v1/webhooks/"

// Name returns "ingress".
func (in *Ingress) Name() string { return "ingress" }

// Ready reports whether the ingress answers requests: prepared and not
// shutting down.
func (in *Ingress) Ready() bool { return in.ready.Load() && !in.closing.Load() }

// Prepare creates the integrations' topics that do not exist yet
// (sluice.in.<integration> and its .invalid, with the catalog's
// partitions) and makes the encoder resolve every subject's schema id, so
// the first request pays for neither. The ingress answers 503 "not_ready"
// until it succeeds. Run calls it until it does.
func (in *Ingress) Prepare(ctx context.Context) error {
	var specs []kafka.TopicSpec
	for _, rt := range in.routes {
		specs = append(specs,
			kafka.TopicSpec{Name: rt.inTopic, Partitions: rt.in.Partitions},
			kafka.TopicSpec{Name: rt.invalidTopic, Partitions: rt.in.Partitions},
		)
	}
	if err := kafka.EnsureTopics(ctx, kadm.NewClient(in.cl), specs...); err != nil {
		return fmt.Errorf("%w: %v", ErrNotReady, err)
	}
	for _, rt := range in.routes {
		for _, subject := range rt.subjects() {
			_, err := in.enc.EncodeNative(ctx, subject, map[string]any{})
			if err != nil && !errors.Is(err, avro.ErrEncode) {
				return fmt.Errorf("%w: subject %s: %v", ErrNotReady, subject, err)
			}
		}
	}
	in.ready.Store(true)
	return nil
}

// Run prepares the ingress, retrying with a growing pause until it is
// ready, then renews the leases of the idempotency markers of writes
// still outstanding, until ctx ends. It returns nil when ctx ends.
func (in *Ingress) Run(ctx context.Context) error {
	pause := 500 * time.Millisecond
	for !in.ready.Load() {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := in.Prepare(pctx)
		cancel()
		if err == nil {
			in.log.Info("webhook ingress ready", zap.Int("integrations", len(in.routes)))
			break
		}
		in.log.Warn("webhook ingress not ready yet", zap.Error(err), zap.Duration("retry_in", pause))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		pause = min(pause*2, 15*time.Second)
	}
	tick := time.NewTicker(in.cfg.lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			rctx, cancel := context.WithTimeout(ctx, in.cfg.lease/3)
			renewed, held, err := in.markers.renew(rctx)
			cancel()
			switch {
			case err != nil:
				in.log.Warn("webhook ingress: renewing the leases of outstanding writes failed", zap.Int("held", held), zap.Error(err))
			case renewed < held:
				in.log.Warn("webhook ingress: leases of outstanding writes were lost", zap.Int("held", held), zap.Int("renewed", renewed))
			}
		}
	}
}

// Shutdown stops taking requests (they are answered 503 "not_ready"),
// flushes the producer and waits until every record produced is settled:
// acknowledged and marked done, or failed and its marker released. Call it
// after the HTTP server stopped. It returns ctx's error when ctx ends
// first; the markers of writes still outstanding then run out with their
// lease.
func (in *Ingress) Shutdown(ctx context.Context) error {
	in.closing.Store(true)
	if err := in.cl.Flush(ctx); err != nil {
		return fmt.Errorf("webhook: flush: %w", err)
	}
	done := make(chan struct{})
	go func() {
		in.settling.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("webhook: shutdown: %w", ctx.Err())
	}
}
