package stage

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// panicked is a recovered panic.
type panicked struct {
	value any
	stack []byte
}

// call runs h over b, recovering a panic, and applies a classified batch
// error to the records still undecided. It returns an unclassified batch
// error, or the panic.
func call(ctx context.Context, h Handler, b *Batch) (err error, p *panicked) {
	defer func() {
		if v := recover(); v != nil {
			p = &panicked{value: v, stack: debug.Stack()}
		}
	}()
	err = h.Handle(ctx, b)
	if err != nil && classified(err) {
		for _, r := range b.Records {
			if r.Outcome() == OutcomeNone {
				r.Fail(err)
			}
		}
		return nil, nil
	}
	return err, nil
}

// handle runs h over b and finds the records that make it panic: when a
// batch panics, whatever it decided is forgotten (records and hooks, its
// abort hooks run first: nothing it decided will commit, so what they
// undo, such as a dedupe claim, is undone now) and each half is handled
// again, down to the single records that panic on their own, which are
// poison. It returns an unclassified batch error.
func (rn *Runner) handle(ctx context.Context, h Handler, b *Batch) error {
	err, p := call(ctx, h, b)
	if p == nil {
		return err
	}
	b.hooks.mu.Lock()
	abort := b.hooks.abort
	b.hooks.commit, b.hooks.async, b.hooks.abort = nil, nil, nil
	b.hooks.mu.Unlock()
	if len(abort) > 0 {
		hookCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rn.cfg.shutdownTimeout)
		for _, fn := range abort {
			fn(hookCtx)
		}
		cancel()
	}
	for _, r := range b.Records {
		r.reset(ctx)
	}
	if len(b.Records) == 1 {
		r := b.Records[0]
		rn.metrics.panics.WithLabelValues(rn.name).Inc()
		rn.log.Error("handler panicked; the record is poison",
			recordFields(r, zap.String("panic", describePanic(p.value)), zap.ByteString("stack", p.stack))...)
		r.Fail(Poison(PanicError(p.value)))
		return nil
	}
	mid := len(b.Records) / 2
	for _, half := range [][]*Record{b.Records[:mid], b.Records[mid:]} {
		sub := b.Subset(half)
		sub.hooks = &hooks{}
		err := rn.handle(ctx, h, sub)
		// Kept even when the half failed as a whole: the batch's abort
		// hooks then run, the half's among them.
		b.hooks.mu.Lock()
		b.hooks.commit = append(b.hooks.commit, sub.hooks.commit...)
		b.hooks.async = append(b.hooks.async, sub.hooks.async...)
		b.hooks.abort = append(b.hooks.abort, sub.hooks.abort...)
		b.hooks.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// PanicError returns the error of a panic with value v, wrapping
// ErrPanic and naming the panic as the runner does, without the data it
// may hold. It is for work a Preparer does in goroutines of its own, where
// the runner cannot recover a panic: a record that made it panic fails
// with Poison(PanicError(v)) and goes to the dead-letter topic alone, as
// the runner sends one whose Handle panics.
func PanicError(v any) error {
	return fmt.Errorf("%w: %s", ErrPanic, describePanic(v))
}

// describePanic names a panic without its data: a runtime error's message
// ("index out of range [3] with length 2"), otherwise only the value's
// type, because a panic value may hold payload.
func describePanic(v any) string {
	if re, ok := v.(runtime.Error); ok {
		return re.Error()
	}
	return fmt.Sprintf("panic value of type %T", v)
}

// tracing continues each record's trace from its headers with a span
// around the handler, and points the traceparent of its outputs at that
// span.
func tracing(stage string, tp trace.TracerProvider, prop propagation.TextMapPropagator) Middleware {
	tracer := tp.Tracer("github.com/sluicehq/sluice/consumers/stage")
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, b *Batch) error {
			spans := make([]trace.Span, len(b.Records))
			for i, r := range b.Records {
				parent := prop.Extract(r.Context(), headerCarrier{r.Raw})
				sctx, span := tracer.Start(parent, stage+" process",
					trace.WithSpanKind(trace.SpanKindConsumer),
					trace.WithAttributes(
						attribute.String("messaging.system", "kafka"),
						attribute.String("messaging.destination.name", r.Raw.Topic),
						attribute.Int("messaging.destination.partition.id", int(r.Raw.Partition)),
						attribute.Int64("messaging.kafka.offset", r.Raw.Offset),
						attribute.String("sluice.tenant", r.Tenant),
						attribute.String("sluice.event_id", r.EventID),
						attribute.Int("sluice.attempt", r.Attempt),
					))
				r.SetContext(sctx)
				spans[i] = span
			}
			err := next.Handle(ctx, b)
			for i, r := range b.Records {
				span := spans[i]
				in := kafka.Header(r.Raw, kafka.HeaderTraceParent)
				for _, out := range r.Outputs() {
					if tp := kafka.Header(out, kafka.HeaderTraceParent); tp == "" || tp == in {
						prop.Inject(r.Context(), headerCarrier{out})
					}
				}
				if rerr := r.Err(); rerr != nil {
					span.SetStatus(codes.Error, string(ClassOf(rerr)))
				} else if err != nil {
					span.SetStatus(codes.Error, "batch failed")
				}
				span.End()
			}
			return err
		})
	}
}

// headerCarrier lets a propagator read and write a record's headers.
type headerCarrier struct{ r *kgo.Record }

func (c headerCarrier) Get(key string) string { return kafka.Header(c.r, key) }
func (c headerCarrier) Set(key, value string) { kafka.SetHeader(c.r, key, value) }
func (c headerCarrier) Keys() []string {
	keys := make([]string, len(c.r.Headers))
	for i, h := range c.r.Headers {
		keys[i] = h.Key
	}
	return keys
}

// recordFields are the log fields of a record (the stage is on the
// runner's logger): never its key, value or secrets.
func recordFields(r *Record, extra ...zap.Field) []zap.Field {
	return append([]zap.Field{
		zap.String(telemetry.FieldTenant, r.Tenant),
		zap.String(telemetry.FieldEventID, r.EventID),
		zap.String(telemetry.FieldTopic, r.Raw.Topic),
		zap.Int32(telemetry.FieldPartition, r.Raw.Partition),
		zap.Int64(telemetry.FieldOffset, r.Raw.Offset),
		zap.Int("attempt", r.Attempt),
	}, extra...)
}
