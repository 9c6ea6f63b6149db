package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestRunStopsAllWhenOneFails(t *testing.T) {
	boom := errors.New("boom")
	stopped := make(chan string, 2)
	blocker := Func{"blocker", func(ctx context.Context) error {
		<-ctx.Done()
		stopped <- "blocker"
		return nil
	}}
	failer := Func{"failer", func(ctx context.Context) error { return boom }}
	err := Run(context.Background(), zap.NewNop(), 5*time.Second, blocker, failer)
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want boom", err)
	}
	if got := <-stopped; got != "blocker" {
		t.Errorf("blocker was not stopped")
	}
}

func TestRunCleanShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := Func{"w", func(ctx context.Context) error { <-ctx.Done(); return nil }}
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, zap.NewNop(), 5*time.Second, w, w) }()
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestRunShutdownTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	defer close(release)
	stuck := Func{"stuck", func(ctx context.Context) error { <-release; return nil }}
	cancel()
	if err := Run(ctx, zap.NewNop(), 50*time.Millisecond, stuck); !errors.Is(err, ErrShutdownTimeout) {
		t.Fatalf("Run = %v, want ErrShutdownTimeout", err)
	}
}

func TestRunWorkerStoppingEarlyIsAnError(t *testing.T) {
	quitter := Func{"quitter", func(ctx context.Context) error { return nil }}
	if err := Run(context.Background(), zap.NewNop(), time.Second, quitter); err == nil {
		t.Fatal("a worker returning before shutdown must be reported")
	}
}
