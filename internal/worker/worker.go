// Package worker runs sluice's long-running parts together and stops them
// together.
//
// Everything that runs until it is told to stop is a Worker. Run starts a
// set of workers, and when the context ends or any worker fails, cancels
// the rest and waits for them, so one binary can run one role or all of
// them (sluice dev) the same way.
package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Worker is a long-running part of sluice. Run returns when ctx ends
// (with nil) or when the worker fails.
type Worker interface {
	Name() string
	Run(ctx context.Context) error
}

// Func adapts a function to a Worker.
type Func struct {
	N string
	F func(ctx context.Context) error
}

// Name returns the worker's name.
func (f Func) Name() string { return f.N }

// Run runs the function.
func (f Func) Run(ctx context.Context) error { return f.F(ctx) }

// ErrShutdownTimeout is returned when workers do not stop in time.
var ErrShutdownTimeout = errors.New("worker: workers did not stop in time")

// Run runs the workers until ctx ends or one of them fails, then cancels
// the others and waits up to grace for them to return. It returns the
// first failure.
func Run(ctx context.Context, log *zap.Logger, grace time.Duration, workers ...Worker) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	done := make(chan result, len(workers))
	for _, w := range workers {
		go func() {
			err := w.Run(ctx)
			if err == nil && ctx.Err() == nil {
				err = fmt.Errorf("worker: %s stopped on its own", w.Name())
			}
			done <- result{w.Name(), err}
		}()
	}
	var first error
	remaining := len(workers)
	var timeout <-chan time.Time
	for remaining > 0 {
		select {
		case r := <-done:
			remaining--
			if r.err != nil && !errors.Is(r.err, context.Canceled) {
				log.Error("worker failed", zap.String("worker", r.name), zap.Error(r.err))
				if first == nil {
					first = fmt.Errorf("%s: %w", r.name, r.err)
				}
			} else {
				log.Debug("worker stopped", zap.String("worker", r.name))
			}
			if timeout == nil {
				cancel()
				timeout = time.After(grace)
			}
		case <-ctx.Done():
			if timeout == nil {
				timeout = time.After(grace)
			}
		case <-timeout:
			if first == nil {
				first = ErrShutdownTimeout
			}
			return first
		}
	}
	return first
}
