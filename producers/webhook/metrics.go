package webhook

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/telemetry"
)

// unknownLabel stands for a tenant or integration that is not in the
// catalog: metric labels only ever take catalog ids, never a value from
// the request path.
const unknownLabel = "unknown"

// metrics are the ingress's Prometheus metrics. Every series is labelled
// by tenant and integration (catalog ids or "unknown") and, where it
// says, by outcome.
type metrics struct {
	requests     *prometheus.CounterVec
	accepted     *prometheus.CounterVec
	duplicates   *prometheus.CounterVec
	signatures   *prometheus.CounterVec
	violations   *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	unavailable  *prometheus.CounterVec
	inProgress   *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	markerErrors *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	labels := []string{"tenant", "integration"}
	withOutcome := []string{"tenant", "integration", "outcome"}
	counter := func(name, help string, l []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Subsystem: "ingress", Name: name, Help: help,
		}, l)
	}
	m := &metrics{
		requests:     counter("requests_total", "Webhook requests answered, by outcome: a problem code or accepted, duplicate, quarantined, partial, url_verification.", withOutcome),
		accepted:     counter("accepted_total", "Events written to sluice.in.<integration> and acknowledged by the broker.", labels),
		duplicates:   counter("duplicates_total", "Events whose id was already accepted, answered as duplicates and not written again.", labels),
		signatures:   counter("signature_failures_total", "Requests refused for their signature, by reason (missing_header, malformed_header, timestamp_out_of_tolerance, no_match).", withOutcome),
		violations:   counter("schema_violations_total", "Events that broke their contract, kept in sluice.in.<integration>.invalid, by outcome (rejected or quarantined).", withOutcome),
		rateLimited:  counter("rate_limited_total", "Requests refused by a rate limit, by the limit reached (tenant or integration).", withOutcome),
		unavailable:  counter("unavailable_total", "Requests or batch items answered 503, by reason (a problem code).", withOutcome),
		inProgress:   counter("in_progress_total", "Events refused with 409 because another delivery of the same event was being written.", labels),
		markerErrors: counter("marker_errors_total", "Idempotency markers that could not be set or released after a write; the event is safe in Kafka, a repeat may be written again.", labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sluice", Subsystem: "ingress", Name: "request_duration_seconds",
			Help:    "Time from a request's arrival to its answer, by outcome.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, withOutcome),
	}
	if reg == nil {
		return m, nil
	}
	if err := errors.Join(
		telemetry.Register(reg, &m.requests), telemetry.Register(reg, &m.accepted),
		telemetry.Register(reg, &m.duplicates), telemetry.Register(reg, &m.signatures),
		telemetry.Register(reg, &m.violations), telemetry.Register(reg, &m.rateLimited),
		telemetry.Register(reg, &m.unavailable), telemetry.Register(reg, &m.inProgress),
		telemetry.Register(reg, &m.markerErrors), telemetry.Register(reg, &m.duration),
	); err != nil {
		return nil, err
	}
	return m, nil
}

// observe records one answered request.
func (m *metrics) observe(tenant, integration, outcome string, took time.Duration) {
	m.requests.WithLabelValues(tenant, integration, outcome).Inc()
	m.duration.WithLabelValues(tenant, integration, outcome).Observe(took.Seconds())
}
