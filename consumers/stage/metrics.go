package stage

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/telemetry"
)

// metrics are the stage's own metrics, labelled by stage. Records are
// counted once their transaction committed, by tenant and final outcome.
type metrics struct {
	records      *prometheus.CounterVec   // stage, tenant, outcome
	batches      *prometheus.CounterVec   // stage
	transactions *prometheus.CounterVec   // stage, result
	handle       *prometheus.HistogramVec // stage
	commit       *prometheus.HistogramVec // stage
	hooks        *prometheus.HistogramVec // stage
	lag          *prometheus.GaugeVec     // stage, topic, partition
	waits        *prometheus.CounterVec   // stage, reason
	panics       *prometheus.CounterVec   // stage
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_stage_records_total",
			Help: "Records whose transaction committed, by tenant and outcome (done, skipped, retry, dead).",
		}, []string{"stage", "tenant", "outcome"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_stage_batches_total",
			Help: "Partition batches handed to the handler.",
		}, []string{"stage"}),
		transactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_stage_transactions_total",
			Help: "Transactions ended, by result (committed, aborted, failed).",
		}, []string{"stage", "result"}),
		handle: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_stage_handle_seconds",
			Help:    "Time the handler took over one partition batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"stage"}),
		commit: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_stage_commit_seconds",
			Help:    "Time to flush and end one transaction.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"stage"}),
		hooks: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_stage_hooks_seconds",
			Help:    "Time the hooks run once a transaction ended took (settling dedupe claims), with the wait for the async hooks of the transaction before if still running; the stage's next transaction waits for them.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"stage"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_stage_lag_records",
			Help: "Records behind the partition's end after the last committed batch.",
		}, []string{"stage", "topic", "partition"}),
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_stage_pauses_total",
			Help: "Partitions paused, by reason (not_due: a retry record not due yet; backoff: a batch that failed as a whole).",
		}, []string{"stage", "reason"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_stage_panics_total",
			Help: "Handler panics recovered.",
		}, []string{"stage"}),
	}
	if reg == nil {
		return m, nil
	}
	// Runners of several stages may share a registry: the second finds the
	// collectors registered and uses them, told apart by the stage label.
	if err := errors.Join(
		telemetry.Register(reg, &m.records),
		telemetry.Register(reg, &m.batches),
		telemetry.Register(reg, &m.transactions),
		telemetry.Register(reg, &m.handle),
		telemetry.Register(reg, &m.commit),
		telemetry.Register(reg, &m.hooks),
		telemetry.Register(reg, &m.lag),
		telemetry.Register(reg, &m.waits),
		telemetry.Register(reg, &m.panics),
	); err != nil {
		return nil, configErr("metrics: %v", err)
	}
	return m, nil
}

func (m *metrics) setLag(stage, topic string, partition int32, lag int64) {
	m.lag.WithLabelValues(stage, topic, strconv.Itoa(int(partition))).Set(float64(lag))
}

func (m *metrics) dropLag(stage string, parts map[string][]int32) {
	for t, ps := range parts {
		for _, p := range ps {
			m.lag.DeleteLabelValues(stage, t, strconv.Itoa(int(p)))
		}
	}
}

// tolerant is a registerer on which registering a collector twice is not
// an error: two clients of one stage in a process (two members in a test,
// or a new client while the old one is still closing) export one set of
// Kafka client metrics instead of panicking.
type tolerant struct{ prometheus.Registerer }

func (t tolerant) Register(c prometheus.Collector) error {
	err := t.Registerer.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		return nil
	}
	return err
}

func (t tolerant) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := t.Register(c); err != nil {
			panic(err)
		}
	}
}
