package deliver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/connectors/standardwebhooks"
	"github.com/sluicehq/sluice/consumers/deliver"
	"github.com/sluicehq/sluice/consumers/deliver/sink"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// env is one test's world: a Kafka, a Redis, canonical topics and an
// attempts topic of its own.
type env struct {
	k        *testkit.Kafka
	r        *testkit.Redis
	base     string
	attempts string
	parts    int32
}

func newEnv(t testing.TB, parts int32) *env {
	t.Helper()
	e := &env{k: testkit.NewKafka(t), r: testkit.NewRedis(t), base: testkit.Name(t, "dl"), parts: parts}
	e.attempts = e.base + ".attempts"
	for _, lane := range []string{config.LaneInteractive, config.LaneBatch} {
		e.k.CreateTopic(t, e.topic("contact", lane), parts, nil)
	}
	return e
}

// topic is the env's canonical topic of object on lane.
func (e *env) topic(object, lane string) string {
	t := e.base + ".canonical." + object
	if lane == config.LaneBatch {
		t += ".batch"
	}
	return t
}

// dest returns a webhook destination to url with test-friendly retry
// timings and a fresh secret, and that secret.
func (e *env) dest(t testing.TB, url string) (deliver.Destination, string) {
	t.Helper()
	secret, err := standardwebhooks.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	return deliver.Destination{
		Config: config.Destination{
			ID:                  testkit.Name(t, "d"),
			Kind:                config.DestinationWebhook,
			URL:                 url,
			AllowPrivateNetwork: true,
			Subscribe:           config.Subscription{Objects: []string{"contact"}},
			Timeout:             2 * time.Second,
			MaxConcurrency:      8,
			Retry: config.Retry{
				MaxAttempts:    8,
				MaxAge:         time.Hour,
				InitialBackoff: 100 * time.Millisecond,
				MaxBackoff:     time.Second,
			},
		},
		Secrets: []string{secret},
	}, secret
}

// testBody is the body the tests send: the Webhook shape around the
// record's value, with the tenant and event id from its headers.
func testBody() deliver.Encoder {
	return deliver.EncoderFunc(func(_ context.Context, r *kgo.Record) ([]byte, error) {
		return json.Marshal(map[string]any{
			"type":     kafka.Header(r, kafka.HeaderEventType),
			"envelope": map[string]string{"tenant_id": kafka.Header(r, kafka.HeaderTenantID), "event_id": kafka.Header(r, kafka.HeaderEventID)},
			"data":     map[string]string{"value": string(r.Value)},
		})
	})
}

// stageOf builds a stage over the env with test-friendly timings; opts
// come last and win.
func (e *env) stageOf(t testing.TB, dests []deliver.Destination, opts ...deliver.Opt) *deliver.Stage {
	t.Helper()
	base := []deliver.Opt{
		deliver.Logger(testkit.Logger(t)),
		deliver.Body(testBody()),
		deliver.Prefix(e.r.Prefix),
		deliver.Lanes(config.LaneInteractive),
		deliver.InputTopic(e.topic),
		deliver.AttemptsTopic(e.attempts),
		deliver.TopicPartitions(e.parts),
		deliver.RetryAfterBounds(100*time.Millisecond, 2*time.Second),
		deliver.Breaker(deliver.BreakerSettings{ConsecutiveFailures: 1000, OpenFor: time.Second, Probes: 1}),
		deliver.KafkaOpts(kgo.FetchMaxWait(100 * time.Millisecond)),
		deliver.StageOpts(
			stage.Backoff(50*time.Millisecond, time.Second),
			stage.TransactionTimeout(10*time.Second),
			stage.ShutdownTimeout(5*time.Second),
		),
	}
	s, err := deliver.New(stagetest.Config(e.k), e.r.Client, dests, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs s until the test ends or stop is called.
func start(t testing.TB, s *deliver.Stage) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("deliver: Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// event is canonical event i of tenant: key tenant, headers tenant-id,
// event-id "<tenant>-<i>", event-type and received-at now.
func event(tenant string, i int, eventType string) *kgo.Record {
	r := &kgo.Record{Key: []byte(tenant), Value: []byte("v-" + strconv.Itoa(i))}
	kafka.SetHeader(r, kafka.HeaderTenantID, tenant)
	kafka.SetHeader(r, kafka.HeaderEventID, tenant+"-"+strconv.Itoa(i))
	kafka.SetHeader(r, kafka.HeaderEventType, eventType)
	kafka.SetHeader(r, kafka.HeaderReceivedAt, time.Now().UTC().Format(time.RFC3339Nano))
	return r
}

func events(n int, tenants ...string) []*kgo.Record {
	out := make([]*kgo.Record, n)
	for i := range out {
		out[i] = event(tenants[i%len(tenants)], i, "contact.updated")
	}
	return out
}

// serve serves k on a loopback test server and returns its URL.
func serve(t testing.TB, k *sink.Sink) string {
	t.Helper()
	srv := httptest.NewServer(k)
	t.Cleanup(srv.Close)
	return srv.URL + "/hooks"
}

// newSink returns a sink verifying with secrets, and its URL.
func newSink(t testing.TB, secrets []string, opts ...sink.Opt) (*sink.Sink, string) {
	t.Helper()
	k, err := sink.NewFromSecrets(secrets, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return k, serve(t, k)
}

// checkDeliveredOnce fails t if the sink answered 2xx to an event more
// than once.
func checkDeliveredOnce(t testing.TB, k *sink.Sink) {
	t.Helper()
	if dups := k.Duplicates(); len(dups) > 0 {
		t.Errorf("delivered more than once: %v", dups)
	}
}

// deliverLive produces in to the interactive lane's topic and starts a
// stage delivering it to d, with opts; it returns the stage's metrics.
func (e *env) deliverLive(t testing.TB, d deliver.Destination, in []*kgo.Record, opts ...deliver.Opt) *prometheus.Registry {
	t.Helper()
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
	reg := prometheus.NewRegistry()
	start(t, e.stageOf(t, []deliver.Destination{d}, append([]deliver.Opt{deliver.Registerer(reg)}, opts...)...))
	return reg
}

// checkDeferred fails t with complaint unless the stage of reg deferred
// an event for reason.
func checkDeferred(t testing.TB, reg prometheus.Gatherer, reason, complaint string) {
	t.Helper()
	if got := testkit.Metric(t, reg, "sluice_deliver_deferred_total", map[string]string{"reason": reason}); got == 0 {
		t.Error(complaint)
	}
}

// waitDelivered waits until the sink has answered 2xx to every id.
func waitDelivered(t testing.TB, k *sink.Sink, ids []string, timeout time.Duration) {
	t.Helper()
	testkit.CheckFor(t, timeout, 50*time.Millisecond, func() error {
		got := k.Delivered()
		missing := 0
		first := ""
		for _, id := range ids {
			if got[id] == 0 {
				if first == "" {
					first = id
				}
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d events not delivered yet (first %s)", missing, len(ids), first)
		}
		return nil
	})
}

// number returns the i of an event id "<tenant>-<i>".
func number(id string) int {
	i := strings.LastIndexByte(id, '-')
	n, _ := strconv.Atoi(id[i+1:])
	return n
}

func ids(recs []*kgo.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = kafka.Header(r, kafka.HeaderEventID)
	}
	return out
}

// attemptsOf reads the attempts topic.
func (e *env) attemptsOf(t *testing.T) []deliver.Attempt {
	t.Helper()
	var out []deliver.Attempt
	for _, r := range e.k.Records(t, e.attempts) {
		var a deliver.Attempt
		if err := json.Unmarshal(r.Value, &a); err != nil {
			t.Fatalf("attempt record %s: %v", r.Value, err)
		}
		if string(r.Key) != a.Tenant || kafka.Header(r, kafka.HeaderTenantID) != a.Tenant || kafka.Header(r, deliver.HeaderDestination) != a.Destination ||
			kafka.Header(r, kafka.HeaderEventID) != a.EventID || kafka.Header(r, kafka.HeaderEventType) != a.EventType {
			t.Errorf("attempt record key %q / headers %v do not match its value %s", r.Key, r.Headers, r.Value)
		}
		out = append(out, a)
	}
	return out
}
