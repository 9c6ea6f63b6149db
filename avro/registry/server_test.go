package registry_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro/registry"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/internal/testkit"
)

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	tests := []struct {
		name string
		cl   *kgo.Client
		opts []registry.Opt
		want error
	}{
		{"no client", nil, nil, registry.ErrNilClient},
		{"consumer client", k.Client(t, kgo.ConsumeTopics(testkit.Name(t, "none"))), nil, registry.ErrClientRole},
		{"group client", k.Client(t, kgo.ConsumeTopics(testkit.Name(t, "none")), kgo.ConsumerGroup(testkit.Name(t, "group"))), nil, registry.ErrClientRole},
		{"transactional client", k.Client(t, kgo.TransactionalID(testkit.Name(t, "txn"))), nil, registry.ErrClientRole},
		{"empty topic", k.Client(t), []registry.Opt{registry.Topic("")}, registry.ErrBadOption},
		{"unknown level", k.Client(t), []registry.Opt{registry.DefaultCompatibility("SOMETIMES")}, registry.ErrBadOption},
		{"zero timeout", k.Client(t), []registry.Opt{registry.Timeout(0)}, registry.ErrBadOption},
		{"negative replication", k.Client(t), []registry.Opt{registry.ReplicationFactor(-1)}, registry.ErrBadOption},
		{"odd incompatible code", k.Client(t), []registry.Opt{registry.IncompatibleErrorCode(422)}, registry.ErrBadOption},
	}
	for _, tc := range tests {
		if _, err := registry.New(tc.cl, tc.opts...); !errors.Is(err, tc.want) {
			t.Errorf("%s: New = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestRunLifecycle(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	topic := testkit.Name(t, "schemas")
	// Before Run a request waits for the registry, then gives up.
	idle, err := registry.New(k.Client(t), registry.Topic(topic), registry.Timeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if idle.Ready() {
		t.Fatal("ready before Run")
	}
	ihs := httptest.NewServer(idle)
	defer ihs.Close()
	if r := call(t, "GET", ihs.URL+"/subjects", "", ""); r.status != 500 {
		t.Errorf("a request before Run = %d %s, want 500", r.status, r.body)
	} else if code, _ := r.errorBody(t); code != 50002 {
		t.Errorf("a request before Run = error %d, want 50002", code)
	}

	reg := prometheus.NewRegistry()
	s, err := registry.New(k.Client(t), registry.Topic(topic), registry.TransactionalID(topic),
		registry.Registerer(reg), registry.Logger(testkit.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if err := s.WaitReady(testkit.Context(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !s.Ready() {
		t.Error("not ready after WaitReady")
	}
	if err := s.Run(ctx); !errors.Is(err, registry.ErrRunning) {
		t.Errorf("a second Run = %v, want ErrRunning", err)
	}
	cl := newClient(t, hs.URL)
	if _, err := cl.RegisterSchema(ctx, "x", sr.Schema{Schema: `"int"`}, -1, -1); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, f := range families {
		seen = append(seen, f.GetName())
		if f.GetName() == "sluice_registry_schema_ids" {
			if v := f.GetMetric()[0].GetGauge().GetValue(); v != 1 {
				t.Errorf("schema ids gauge = %v, want 1", v)
			}
		}
	}
	for _, name := range []string{"sluice_registry_requests_total", "sluice_registry_schema_ids", "sluice_registry_writes_total"} {
		if !strings.Contains(strings.Join(seen, " "), name) {
			t.Errorf("metric %s missing from %v", name, seen)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after its context ended", err)
	}
	if s.Ready() {
		t.Error("ready after Run returned")
	}
	if err := s.WaitReady(context.Background()); !errors.Is(err, registry.ErrStopped) {
		t.Errorf("WaitReady after Run returned = %v, want ErrStopped", err)
	}
	if r := call(t, "GET", hs.URL+"/subjects", "", ""); r.status != 500 {
		t.Errorf("a request after Run returned = %d %s, want 500", r.status, r.body)
	} else if code, _ := r.errorBody(t); code != 50001 {
		t.Errorf("a request after Run returned = error %d, want 50001", code)
	}
}

// BenchmarkAPI measures requests through sr against the test's Kafka: a
// read by id (the baseline: memory only), registering a schema that is
// already registered (memory only), and registering a new one (a barrier,
// a transaction and reading it back).
func BenchmarkAPI(b *testing.B) {
	k := testkit.NewKafka(b)
	cl := newClient(b, registrytest.Start(b, k, registry.DefaultCompatibility("NONE")))
	ctx := testkit.Context(b, 10*time.Minute)
	id, err := cl.RegisterSchema(ctx, "bench", sr.Schema{Schema: `"int"`}, -1, -1)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("read-baseline", func(b *testing.B) {
		for b.Loop() {
			if _, err := cl.SchemaByID(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("register-existing", func(b *testing.B) {
		for b.Loop() {
			if _, err := cl.RegisterSchema(ctx, "bench", sr.Schema{Schema: `"int"`}, -1, -1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("register-new", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n++
			s := fmt.Sprintf(`{"type":"record","name":"R","fields":[{"name":"f%d","type":"int","default":0}]}`, n)
			if _, err := cl.RegisterSchema(ctx, "bench", sr.Schema{Schema: s}, -1, -1); err != nil {
				b.Fatal(err)
			}
		}
	})
}
