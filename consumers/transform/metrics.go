package transform

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/consumers/dedupe"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// metrics are the stage's metrics, by tenant, integration and object;
// all but mapping errors are counted once their transaction committed.
type metrics struct {
	mapped        *prometheus.CounterVec   // tenant, integration, object
	mappingErrors *prometheus.CounterVec   // tenant, integration
	stitched      *prometheus.CounterVec   // tenant, integration, object, outcome
	duplicates    *prometheus.CounterVec   // tenant, integration
	skipped       *prometheus.CounterVec   // tenant, integration, reason
	trips         *prometheus.HistogramVec // stage
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		mapped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_transform_mapped_total",
			Help: "Canonical events committed, by tenant, integration and object.",
		}, []string{"tenant", "integration", "object"}),
		mappingErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_transform_mapping_errors_total",
			Help: "Source events that could not be mapped (dead-lettered), by tenant and integration.",
		}, []string{"tenant", "integration"}),
		stitched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_transform_stitched_total",
			Help: "Objects given a canonical id, by outcome: known (external id seen before), matched (another system's object with the same e-mail or domain), new, conflict (left unmerged).",
		}, []string{"tenant", "integration", "object", "outcome"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_transform_duplicates_total",
			Help: "Source events dropped by dedupe as copies of events already transformed.",
		}, []string{"tenant", "integration"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_transform_skipped_total",
			Help: "Source events that map to no canonical object (an event type or condition the mapping leaves out).",
		}, []string{"tenant", "integration", "reason"}),
		trips: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_transform_redis_round_trips",
			Help:    "Redis round trips per committed batch until the next poll: identity resolve (two per chunk of 256 records), dedupe's claim and settle. Confirming new identity bindings, one more, runs beside the next batch.",
			Buckets: []float64{1, 2, 3, 4, 5, 6, 8, 11, 16, 24, 32},
		}, []string{"stage"}),
	}
	if reg == nil {
		return m, nil
	}
	if err := errors.Join(
		telemetry.Register(reg, &m.mapped), telemetry.Register(reg, &m.mappingErrors),
		telemetry.Register(reg, &m.stitched), telemetry.Register(reg, &m.duplicates),
		telemetry.Register(reg, &m.skipped), telemetry.Register(reg, &m.trips),
	); err != nil {
		return nil, errors.Join(ErrConfig, err)
	}
	return m, nil
}

// batchStats travel with a batch's context from the stage's outer
// middleware to its handler.
type batchStats struct {
	trips atomic.Int64
}

type statsKey struct{}

func statsFrom(ctx context.Context) *batchStats {
	st, _ := ctx.Value(statsKey{}).(*batchStats)
	return st
}

// observe is the stage's outermost middleware: it counts what dedupe
// dropped and what the mapping left out, and the Redis round trips of
// each committed batch.
func (s *Stage) observe() stage.Middleware {
	return func(next stage.Handler) stage.Handler {
		return stage.HandlerFunc(func(ctx context.Context, b *stage.Batch) error {
			st := &batchStats{}
			ctx = context.WithValue(ctx, statsKey{}, st)
			err := next.Handle(ctx, b)
			claims := 0
			for _, r := range b.Records {
				if r.EventID != "" {
					claims++
				}
			}
			b.AfterCommit(func(context.Context) {
				trips := st.trips.Load()
				if claims > 0 {
					trips += 2 // dedupe: one pipeline to claim, one to settle (more only for events claimed before)
				}
				s.metrics.trips.WithLabelValues(s.cfg.name).Observe(float64(trips))
				for _, r := range b.Records {
					if r.Outcome() != stage.OutcomeSkipped {
						continue
					}
					integ := s.integrationOf(r)
					if r.SkipReason() == dedupe.SkipReason {
						s.metrics.duplicates.WithLabelValues(r.Tenant, integ).Inc()
					} else {
						s.metrics.skipped.WithLabelValues(r.Tenant, integ, r.SkipReason()).Inc()
					}
				}
			})
			return err
		})
	}
}
