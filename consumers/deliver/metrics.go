package deliver

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/telemetry"
)

// metrics are the stage's own metrics, labelled by destination.
type metrics struct {
	attempts *prometheus.CounterVec   // destination, tenant, result
	latency  *prometheus.HistogramVec // destination, result
	deferred *prometheus.CounterVec   // destination, reason
	skipped  *prometheus.CounterVec   // destination, reason
	breaker  *prometheus.GaugeVec     // destination
	disabled *prometheus.GaugeVec     // destination
	inFlight *prometheus.GaugeVec     // destination
	markers  *prometheus.CounterVec   // destination
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_deliver_attempts_total",
			Help: "Delivery attempts, by result (delivered, produced, failed, rejected, gone).",
		}, []string{"destination", "tenant", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_deliver_request_seconds",
			Help:    "Time from sending a webhook to reading the answer, by result.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"destination", "result"}),
		deferred: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_deliver_deferred_total",
			Help: "Events held back without an attempt, by reason (circuit_open, rate_limit_destination, rate_limit_tenant, ordered, batch_budget).",
		}, []string{"destination", "reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_deliver_skipped_total",
			Help: "Events not sent, by reason (not_subscribed: filtered out; delivered: a done-marker says it was; duplicate: twice in one batch).",
		}, []string{"destination", "reason"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_deliver_breaker_state",
			Help: "Circuit breaker state of the destination in this process: 0 closed, 1 half-open, 2 open.",
		}, []string{"destination"}),
		disabled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_deliver_disabled",
			Help: "1 while the destination is disabled (after 410 Gone), else 0.",
		}, []string{"destination"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_deliver_in_flight",
			Help: "Requests to the destination in flight in this process.",
		}, []string{"destination"}),
		markers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_deliver_marker_failures_total",
			Help: "Done-markers that could not be written right after a 2xx (a crash before the commit would then send again).",
		}, []string{"destination"}),
	}
	if reg == nil {
		return m, nil
	}
	if err := errors.Join(
		telemetry.Register(reg, &m.attempts),
		telemetry.Register(reg, &m.latency),
		telemetry.Register(reg, &m.deferred),
		telemetry.Register(reg, &m.skipped),
		telemetry.Register(reg, &m.breaker),
		telemetry.Register(reg, &m.disabled),
		telemetry.Register(reg, &m.inFlight),
		telemetry.Register(reg, &m.markers),
	); err != nil {
		return nil, fmt.Errorf("%w: metrics: %v", ErrConfig, err)
	}
	return m, nil
}
