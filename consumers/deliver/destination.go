package deliver

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/connectors/webhook"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// Destination is one place to deliver to: its catalog entry, with
// defaults applied (config.Load applies them), and the resolved values of
// its signing secrets.
type Destination struct {
	// Config is the catalog entry.
	Config config.Destination
	// Secrets are the values of Config.Secrets, resolved: whsec_ secrets
	// and whsk_ secret keys. Required for a webhook destination.
	Secrets []string
}

// Breaker results that are not a request's own answer.
var (
	// errUnhealthy is what the breaker is told of an attempt that failed
	// in a way that says the destination is unwell.
	errUnhealthy = errors.New("deliver: destination unhealthy")
	// errNotSent is what the breaker is told of an admitted request that
	// was not sent after all (rate limited, shutting down); it counts
	// neither way.
	errNotSent = errors.New("deliver: not sent")
)

// destination is the state one process keeps of a destination, shared by
// its lanes.
type destination struct {
	cfg     config.Destination
	client  *webhook.Client // nil for a kafka destination
	lanes   []time.Duration
	breaker *gobreaker.TwoStepCircuitBreaker[struct{}]
	openFor time.Duration
	opened  atomic.Int64 // UnixNano of the last opening of the breaker
	// sem caps the destination's requests in flight; batchSem caps the
	// batch lane's share of them.
	sem      chan struct{}
	batchSem chan struct{}
	disabled atomic.Pointer[Disabled]
	// marks writes the done-markers of every batch of the destination.
	marks   *markWriter
	tenants map[string]bool // nil: every tenant
	types   []string
	m       *metrics
	log     *zap.Logger
}

func newDestination(d Destination, o *options, m *metrics) (*destination, error) {
	cfg := d.Config
	ds := &destination{
		cfg:   cfg,
		lanes: retryLanes(cfg.Retry, o.laneFactor),
		types: cfg.Subscribe.EventTypes,
		m:     m,
		log:   o.log.With(zap.String(telemetry.FieldDestination, cfg.ID)),
	}
	if len(cfg.Subscribe.Tenants) > 0 {
		ds.tenants = map[string]bool{}
		for _, t := range cfg.Subscribe.Tenants {
			ds.tenants[t] = true
		}
	}
	conc := max(cfg.MaxConcurrency, 1)
	ds.sem = make(chan struct{}, conc)
	ds.batchSem = make(chan struct{}, max(1, int(float64(conc)*o.batchShare)))
	if cfg.Kind == config.DestinationKafka {
		ds.lanes = ds.lanes[:1]
		return ds, nil
	}
	wopts := append([]webhook.Opt{
		webhook.Timeout(cfg.Timeout),
		webhook.AllowPrivateNetwork(cfg.AllowPrivateNetwork),
		webhook.MaxConns(conc),
	}, o.webhookOpts...)
	cl, err := webhook.New(cfg.URL, d.Secrets, wopts...)
	if err != nil {
		return nil, err
	}
	ds.client = cl
	b := o.breaker
	ds.openFor = b.OpenFor
	ds.breaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         cfg.ID,
		MaxRequests:  b.Probes,
		Interval:     b.Window,
		Timeout:      b.OpenFor,
		ReadyToTrip:  b.trips,
		IsSuccessful: func(err error) bool { return err == nil },
		IsExcluded:   func(err error) bool { return errors.Is(err, errNotSent) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			m.breaker.WithLabelValues(cfg.ID).Set(float64(to))
			switch to {
			case gobreaker.StateOpen:
				ds.opened.Store(time.Now().UnixNano())
				ds.log.Warn("circuit breaker open: the destination's events wait in its retry topics",
					zap.String("from", from.String()), zap.Duration("open_for", b.OpenFor))
			case gobreaker.StateHalfOpen:
				ds.log.Info("circuit breaker half-open: probing the destination")
			case gobreaker.StateClosed:
				ds.log.Info("circuit breaker closed: the destination is back")
			}
		},
	})
	m.breaker.WithLabelValues(cfg.ID).Set(0)
	m.disabled.WithLabelValues(cfg.ID).Set(0)
	return ds, nil
}

// subscribed reports whether the destination takes events of tenant and
// eventType.
func (d *destination) subscribed(tenant, eventType string) bool {
	if d.tenants != nil && !d.tenants[tenant] {
		return false
	}
	if len(d.types) == 0 {
		return true
	}
	for _, p := range d.types {
		if p == "*" || p == eventType || (strings.HasSuffix(p, "*") && strings.HasPrefix(eventType, p[:len(p)-1])) {
			return true
		}
	}
	return false
}

// breakerState returns the breaker's state, "closed" for a destination
// without one.
func (d *destination) breakerState() string {
	if d.breaker == nil {
		return gobreaker.StateClosed.String()
	}
	return d.breaker.State().String()
}

// openRemaining is how long the breaker stays open from now.
func (d *destination) openRemaining(now time.Time) time.Duration {
	at := time.Unix(0, d.opened.Load())
	return max(at.Add(d.openFor).Sub(now), 0)
}

// setDisabled records the disabled flag read from Redis, saying so when
// it changes.
func (d *destination) setDisabled(dis *Disabled) {
	old := d.disabled.Swap(dis)
	switch {
	case old == nil && dis != nil:
		d.m.disabled.WithLabelValues(d.cfg.ID).Set(1)
		d.log.Error("destination disabled; its events are dead-lettered until it is enabled again",
			zap.String("reason", dis.Reason), zap.Time("since", dis.At))
	case old != nil && dis == nil:
		d.m.disabled.WithLabelValues(d.cfg.ID).Set(0)
		d.log.Info("destination enabled again")
	}
}

// acquire takes a slot of the destination's concurrency (and of the batch
// lane's share, for the batch lane), and returns the function that gives
// it back.
func (d *destination) acquire(ctx context.Context, batch bool) (func(), error) {
	if batch {
		select {
		case d.batchSem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		if batch {
			<-d.batchSem
		}
		return nil, ctx.Err()
	}
	d.m.inFlight.WithLabelValues(d.cfg.ID).Inc()
	return func() {
		d.m.inFlight.WithLabelValues(d.cfg.ID).Dec()
		<-d.sem
		if batch {
			<-d.batchSem
		}
	}, nil
}
