package telemetry

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegisterSharesACollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "sluice_test_total", Help: "test"}
	a := prometheus.NewCounterVec(opts, []string{"stage"})
	if err := Register(reg, &a); err != nil {
		t.Fatal(err)
	}
	b := prometheus.NewCounterVec(opts, []string{"stage"})
	if err := Register(reg, &b); err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("the second registration did not get the first collector")
	}
	// The same name with other labels is a real conflict.
	c := prometheus.NewCounterVec(opts, []string{"tenant"})
	if err := Register(reg, &c); err == nil {
		t.Fatal("a conflicting collector was accepted")
	}
}

func TestNewLogger(t *testing.T) {
	for _, tt := range []struct {
		format, level string
		ok            bool
	}{{"json", "info", true}, {"console", "debug", true}, {"", "", true}, {"xml", "info", false}, {"json", "loud", false}} {
		_, err := NewLogger(LogConfig{Format: tt.format, Level: tt.level})
		if (err == nil) != tt.ok {
			t.Errorf("NewLogger(%q, %q) = %v", tt.format, tt.level, err)
		}
	}
}
