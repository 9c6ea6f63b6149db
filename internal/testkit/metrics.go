package testkit

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metric sums, over the series of the metric name in reg whose labels
// include labels, the values of counters and gauges and the sample counts
// of histograms; 0 when there is none.
func Metric(t testing.TB, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	return sumSeries(t, reg, name, labels, func(m *dto.Metric) float64 {
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
		return 0
	})
}

// HistogramSum sums the sums of the samples of the histogram name in reg,
// over its series whose labels include labels (the seconds observed, for
// a histogram of durations); 0 when there is none.
func HistogramSum(t testing.TB, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	return sumSeries(t, reg, name, labels, func(m *dto.Metric) float64 { return m.GetHistogram().GetSampleSum() })
}

// sumSeries sums value over the series of the metric name in reg whose
// labels include labels.
func sumSeries(t testing.TB, reg prometheus.Gatherer, name string, labels map[string]string, value func(*dto.Metric) float64) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("testkit: gather metrics: %v", err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			sum += value(m)
		}
	}
	return sum
}
