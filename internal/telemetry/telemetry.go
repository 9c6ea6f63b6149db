// Package telemetry sets up what sluice reports about itself: zap logs,
// Prometheus metrics and OpenTelemetry trace context.
//
// Logs are JSON in production and console text in development. Log lines
// about an event carry its tenant and event id (see the field helpers);
// they never carry secrets, signatures or payloads.
//
// Trace context follows W3C Trace Context: it is started at the edge and
// carried through Kafka in the traceparent header of every record.
package telemetry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LogConfig says how to log.
type LogConfig struct {
	// Format is "json" (default) or "console".
	Format string
	// Level is debug, info (default), warn or error.
	Level string
}

// NewLogger returns a logger for c.
func NewLogger(c LogConfig) (*zap.Logger, error) {
	level := zap.InfoLevel
	if c.Level != "" {
		if err := level.UnmarshalText([]byte(strings.ToLower(c.Level))); err != nil {
			return nil, fmt.Errorf("telemetry: log level %q: expected debug, info, warn or error", c.Level)
		}
	}
	var zc zap.Config
	switch c.Format {
	case "", "json":
		zc = zap.NewProductionConfig()
	case "console":
		zc = zap.NewDevelopmentConfig()
		zc.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
		zc.DisableStacktrace = true
	default:
		return nil, fmt.Errorf("telemetry: log format %q: expected json or console", c.Format)
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.Sampling = nil
	return zc.Build()
}

// NewRegistry returns a Prometheus registry holding the Go runtime and
// process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Tracing holds the tracer provider and the propagator of a process.
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
}

// NewTracing returns the process's tracing: an SDK tracer provider, so
// every event gets real trace and span ids, and the W3C trace-context
// propagator. Spans are not exported unless an exporter is added.
func NewTracing() *Tracing {
	return &Tracing{
		Provider:   sdktrace.NewTracerProvider(),
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
}

// Log field names shared by every package.
const (
	FieldTenant      = "tenant"
	FieldEventID     = "event_id"
	FieldIntegration = "integration"
	FieldTraceID     = "trace_id"
	FieldTopic       = "topic"
	FieldPartition   = "partition"
	FieldOffset      = "offset"
	FieldStage       = "stage"
	FieldDestination = "destination"
)

// Register registers *c with reg, or replaces *c with the collector
// already registered under the same description, so that several
// instances of a component in one process (two stages, two members in a
// test) share one set of series, told apart by their labels. Any other
// registration error is returned, *c left as it was. A component joins
// the errors of its collectors with errors.Join.
func Register[C prometheus.Collector](reg prometheus.Registerer, c *C) error {
	err := reg.Register(*c)
	if err == nil {
		return nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			*c = existing
			return nil
		}
	}
	return err
}
