package registry

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/sluicehq/sluice/internal/testkit"
)

// startServer runs a Server on topic until the test ends.
func startServer(t *testing.T, k *testkit.Kafka, topic string) *Server {
	t.Helper()
	s, err := New(k.Client(t), Topic(topic), TransactionalID(topic), Logger(testkit.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	if err := s.WaitReady(testkit.Context(t, time.Minute)); err != nil {
		t.Fatalf("ready: %v", err)
	}
	return s
}

func levelRecord(level string) []storeRecord {
	return []storeRecord{{key: configKey(""), value: mustJSON(configValue{CompatibilityLevel: level})}}
}

// The writer lease: taking the transactional id fences the instance that
// held it, whose next transaction fails without writing anything; its
// write then starts again with a new producer and succeeds.
func TestWriterLeaseFences(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	topic := testkit.Name(t, "schemas")
	one, two := startServer(t, k, topic), startServer(t, k, topic)
	ctx := testkit.Context(t, time.Minute)

	one.writeMu.Lock()
	w1, err := one.writerClient(ctx)
	one.writeMu.Unlock()
	if err != nil {
		t.Fatalf("writer one: %v", err)
	}
	two.writeMu.Lock()
	w2, err := two.writerClient(ctx)
	two.writeMu.Unlock()
	if err != nil {
		t.Fatalf("writer two: %v", err)
	}
	if _, err := one.commit(ctx, w1, levelRecord(levelFull)); err == nil {
		t.Fatal("the fenced writer committed a transaction")
	}
	last, err := two.commit(ctx, w2, levelRecord(levelForward))
	if err != nil {
		t.Fatalf("the current writer: %v", err)
	}
	if err := one.waitApplied(ctx, last); err != nil {
		t.Fatal(err)
	}
	one.mu.RLock()
	got := one.st.configs[""]
	one.mu.RUnlock()
	if got != levelForward {
		t.Fatalf("global level after both commits = %q, want %q: the fenced write must not land", got, levelForward)
	}

	err = one.write(ctx, func(*state) ([]storeRecord, error) { return levelRecord(levelNone), nil })
	if err != nil {
		t.Fatalf("write through the fenced instance: %v", err)
	}
	var m dto.Metric
	if err := one.m.writeRetries.Write(&m); err != nil {
		t.Fatal(err)
	}
	if n := m.GetCounter().GetValue(); n < 1 {
		t.Errorf("write retries = %v, want the fenced producer replaced", n)
	}
	one.mu.RLock()
	end := one.next
	one.mu.RUnlock()
	if err := two.waitApplied(ctx, end-1); err != nil {
		t.Fatal(err)
	}
	two.mu.RLock()
	got = two.st.configs[""]
	two.mu.RUnlock()
	if got != levelNone {
		t.Errorf("global level seen by two = %q, want %q", got, levelNone)
	}
}
