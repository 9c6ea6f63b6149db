package registry

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the registry's Prometheus metrics. Without a Registerer they
// are created but not registered, which keeps the code free of nil checks.
type metrics struct {
	requests     *prometheus.CounterVec
	schemas      prometheus.Gauge
	subjects     prometheus.Gauge
	writes       prometheus.Counter
	writeRetries prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, _ *Server) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_registry_requests_total",
			Help: "Schema registry HTTP requests by route and status.",
		}, []string{"method", "route", "status"}),
		schemas: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_registry_schema_ids",
			Help: "Schema ids the registry holds.",
		}),
		subjects: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_registry_subjects",
			Help: "Subjects the registry holds, soft-deleted ones included.",
		}),
		writes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_registry_writes_total",
			Help: "Transactions committed to the storage topic.",
		}),
		writeRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_registry_write_retries_total",
			Help: "Writes retried because another instance took the writer lease or the write failed.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.schemas, m.subjects, m.writes, m.writeRetries} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registry: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) request(method, route string, status int) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
}

func (m *metrics) observeState(s *Server) {
	s.mu.RLock()
	ids, subjects := len(s.st.ids), len(s.st.subjects)
	s.mu.RUnlock()
	m.schemas.Set(float64(ids))
	m.subjects.Set(float64(subjects))
}
