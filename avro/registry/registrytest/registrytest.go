// Package registrytest starts sluice's schema registry for tests: a
// registry.Server on a fresh storage topic of the test's Kafka, behind an
// httptest server.
package registrytest

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluicehq/sluice/avro/registry"
	"github.com/sluicehq/sluice/internal/testkit"
)

// Start starts a schema registry on a fresh, unique storage topic of k
// (and a transactional id of its own), waits until it is ready and returns
// its URL, for sr.URLs or SCHEMA_REGISTRY_URL. It is stopped when t ends.
// opts come after the topic and transactional id options, so they may
// override them.
func Start(t testing.TB, k *testkit.Kafka, opts ...registry.Opt) string {
	t.Helper()
	topic := testkit.Name(t, "schemas")
	base := []registry.Opt{
		registry.Topic(topic),
		registry.TransactionalID(topic),
		registry.Logger(testkit.Logger(t)),
	}
	return StartWith(t, k, append(base, opts...)...)
}

// StartWith starts a schema registry with exactly the given options (so a
// test can start a second instance on the topic of a first, or a new one
// after a restart) and returns its URL. It is stopped when t ends.
func StartWith(t testing.TB, k *testkit.Kafka, opts ...registry.Opt) string {
	t.Helper()
	url, stop := Run(t, k, opts...)
	t.Cleanup(stop)
	return url
}

// Run starts a schema registry like StartWith and returns its URL and a
// function that stops it and waits until it has stopped; tests of restarts
// call it. It is also stopped when t ends.
func Run(t testing.TB, k *testkit.Kafka, opts ...registry.Opt) (url string, stop func()) {
	t.Helper()
	s, err := registry.New(k.Client(t), opts...)
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	hs := httptest.NewServer(s)
	var runErr error
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		hs.Close()
		cancel()
		runErr = <-done
		if runErr != nil {
			t.Errorf("registrytest: registry stopped with %v", runErr)
		}
	}
	t.Cleanup(stop)
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if err := s.WaitReady(wctx); err != nil {
		if errors.Is(err, registry.ErrStopped) {
			runErr = <-done
			stopped = true
			hs.Close()
			cancel()
			t.Fatalf("registrytest: registry stopped before it was ready: %v", runErr)
		}
		t.Fatalf("registrytest: registry not ready: %v", err)
	}
	return hs.URL, stop
}
