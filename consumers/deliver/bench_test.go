package deliver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/connectors/standardwebhooks"
	"github.com/sluicehq/sluice/consumers/deliver"
	"github.com/sluicehq/sluice/consumers/deliver/sink"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// The benchmarks deliver benchEvents events (20000; SLUICE_BENCH_RECORDS
// overrides) of 50 tenants from 6 partitions to a local sink that
// verifies every signature, at benchConcurrency requests in flight, with
// the sink answering at once and after 5ms. The events are canonical
// contact events, Avro under sluice's schema registry, which the stage
// renders as in production (deliver.JSONBody: bodies of about 700 bytes).
// The baseline is a plain net/http client signing and sending the same
// requests, bodies rendered before it starts, at the same concurrency
// (BenchmarkPlainHTTP alone; BenchmarkDeliver runs it and then the stage
// in each of stagetest.BenchRounds rounds per iteration, and reports the
// median rates and ratio of the rounds, and the ratio's range). Rates are
// events/s from the sink's first request to its last.
// CPU per event (cpu-us/event beside plain-cpu-us/event) is the test
// process's, so it includes the sink's share, the same in both;
// machine-cpu-us/event and plain-machine-cpu-us/event are the whole
// machine's, the broker's and Redis's included when they run here, and
// machine-busy and plain-machine-busy the share of the cores that was
// busy (see stagetest.CPU). Both run with the garbage collector set up as
// the sluice binary sets it (stagetest.DeployedGC; the gogc metric says
// which GOGC).
// Where the time of the stage's transactions goes: txn-ms is the sink's
// window per committed transaction (one poll of up to benchPoll events),
// commit-ms/txn the part spent flushing and ending it (the attempt
// records and the offsets), hooks-ms/txn the part spent in its commit
// hooks before the next poll; the rest is delivering the batch.
// BenchmarkDeliver also reports the latency it adds to one event: from
// the broker taking it to the sink receiving it, sent one at a time,
// beside a plain client's send-to-receive time in the same run.
const (
	benchConcurrency = 16
	benchTenants     = 50
	benchPartitions  = 6
	benchLatencyRuns = 200
)

var benchSinkLatencies = []time.Duration{0, 5 * time.Millisecond}

func benchEvents(b *testing.B) int { return stagetest.BenchRecords(b, 20000) }

// benchCodec makes the benchmarks' events and renders their bodies as
// sluice does in production: canonical contact events, Avro in the
// Confluent wire format under a schema registry (sluice's own, on the
// benchmark's Kafka), rendered by deliver.JSONBody.
type benchCodec struct {
	serde *avro.Serde
	body  *deliver.JSONBody
}

func newBenchCodec(b *testing.B, k *testkit.Kafka) *benchCodec {
	b.Helper()
	serde := newSerde(b, k)
	return &benchCodec{serde: serde, body: deliver.NewJSONBody(serde)}
}

// event returns contact event i of tenant, every field set and each
// event's values its own: a body of about 700 bytes.
func (c *benchCodec) event(b testing.TB, tenant string, i int) *kgo.Record {
	b.Helper()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Second)
	n := strconv.Itoa(i)
	str := func(s string) *string { return &s }
	optIn := i%2 == 0
	ev := canonical.ContactEvent{
		Envelope: canonical.Envelope{
			TenantID: tenant, EventID: tenant + "-" + n, EventType: "contact.updated",
			Integration: "crm", Source: "crm", OccurredAt: &at, ReceivedAt: at.Add(time.Second),
			TraceParent: str("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
		},
		Data: canonical.Contact{
			TenantID: tenant, ID: "con_" + n, AccountID: str("acc_" + strconv.Itoa(i/7)),
			ExternalIDs: []canonical.ExternalID{{System: "crm", ID: "c-" + n, Integration: str("crm")}},
			Email:       str("person-" + n + "@example.com"), FirstName: str("Ada"), LastName: str("Lovelace-" + n),
			FullName: str("Ada Lovelace-" + n), Phone: str("+44 20 7946 " + n), Title: str("Analyst"),
			Address: &canonical.Address{
				Line1: str(n + " Analytical Row"), City: str("London"), PostalCode: str("EC1A 1BB"), CountryCode: str("GB"),
			},
			LifecycleStage: canonical.LifecycleCustomer, MarketingOptIn: &optIn,
			CreatedAt: &at, UpdatedAt: at, Attributes: map[string]string{"plan": "pro", "seats": n},
		},
	}
	value, err := c.serde.Encode(context.Background(), avro.Subject("sluice.canonical.contact", canonical.RecordContactEvent), ev)
	if err != nil {
		b.Fatal(err)
	}
	r := &kgo.Record{Key: []byte(tenant), Value: value}
	kafka.SetHeader(r, kafka.HeaderTenantID, tenant)
	kafka.SetHeader(r, kafka.HeaderEventID, ev.Envelope.EventID)
	kafka.SetHeader(r, kafka.HeaderEventType, ev.Envelope.EventType)
	kafka.SetHeader(r, kafka.HeaderReceivedAt, ev.Envelope.ReceivedAt.Format(time.RFC3339Nano))
	kafka.SetHeader(r, kafka.HeaderTraceParent, *ev.Envelope.TraceParent)
	return r
}

// input returns n events of benchTenants tenants.
func (c *benchCodec) input(b testing.TB, n int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = c.event(b, "tenant-"+strconv.Itoa(i%benchTenants), i)
	}
	return recs
}

// BenchmarkJSONBody renders the benchmarks' contact events as webhook
// bodies with JSONBody (straight from their Avro), beside the baseline
// of the same run: decoding them into package canonical's types and
// encoding the Webhook with encoding/json, which JSONBody does for the
// values of other writers.
func BenchmarkJSONBody(b *testing.B) {
	c := newBenchCodec(b, testkit.NewKafka(b))
	in := c.input(b, 1000)
	ctx := context.Background()
	b.Run("rendered", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := c.body.Encode(ctx, in[i%len(in)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline=decoded", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			var ev canonical.ContactEvent
			if err := c.serde.Decode(ctx, in[i%len(in)].Value, &ev); err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(deliver.Webhook{Type: ev.Envelope.EventType, Timestamp: *ev.Envelope.OccurredAt, Data: &ev.Data, Envelope: ev.Envelope}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchSink returns a sink answering after latency, verifying with secret.
func benchSink(b *testing.B, secret string, latency time.Duration) (*sink.Sink, string) {
	b.Helper()
	var script sink.Script
	if latency > 0 {
		script = func(sink.Request) sink.Answer { return sink.Answer{Delay: latency} }
	}
	return newSink(b, []string{secret}, sink.WithScript(script))
}

// headerNames lists the header names of the sink's first request.
func headerNames(k *sink.Sink) []string {
	var names []string
	for name := range k.Requests()[0].Header {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// window is the time from the sink's first request to its last.
func window(k *sink.Sink) time.Duration {
	reqs := k.Requests()
	first, last := reqs[0].At, reqs[0].At
	for _, r := range reqs {
		first, last = minTime(first, r.At), maxTime(last, r.At)
	}
	return last.Sub(first)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// plainRun sends the signed requests of in to url from a plain net/http
// client, benchConcurrency at a time, and returns the sink's window and
// each request's latency.
func plainRun(b *testing.B, c *benchCodec, in []*kgo.Record, secret, url string, k *sink.Sink) (time.Duration, []time.Duration) {
	b.Helper()
	signer, err := standardwebhooks.NewSigner([]string{secret})
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, len(in))
	for i, r := range in {
		if bodies[i], err = c.body.Encode(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchConcurrency, MaxIdleConns: benchConcurrency}}
	defer client.CloseIdleConnections()
	var lat []time.Duration
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				id := kafka.Header(in[i], kafka.HeaderEventID)
				began := time.Now()
				signed, err := signer.Sign(id, began, bodies[i])
				if err != nil {
					b.Error(err)
					return
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[i]))
				// The headers sluice sends.
				signed.Set(req.Header)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", "sluice-webhooks/1")
				req.Header["idempotency-key"] = []string{id}
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				lat = append(lat, time.Since(began))
				mu.Unlock()
			}
		}()
	}
	for i := range in {
		next <- i
	}
	close(next)
	wg.Wait()
	return window(k), lat
}

// BenchmarkPlainHTTP is the baseline alone: the signed requests of
// BenchmarkDeliver from a plain net/http client, benchConcurrency at a
// time.
func BenchmarkPlainHTTP(b *testing.B) {
	for _, latency := range benchSinkLatencies {
		b.Run(fmt.Sprintf("sink=%v", latency), func(b *testing.B) {
			stagetest.DeployedGC(b)
			secret, _ := standardwebhooks.GenerateSecret()
			c := newBenchCodec(b, testkit.NewKafka(b))
			in := c.input(b, benchEvents(b))
			var took time.Duration
			var lat []time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				k, url := benchSink(b, secret, latency)
				b.StartTimer()
				d, l := plainRun(b, c, in, secret, url, k)
				took += d
				lat = append(lat, l...)
			}
			b.ReportMetric(float64(len(in)*b.N)/took.Seconds(), "events/s")
			b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
		})
	}
}

// BenchmarkDeliver runs, in each round, the plain client of
// BenchmarkPlainHTTP over the events and then the stage over the same
// events, each to a sink of its own of the same kind, and reports both
// rates and their ratio (medians of the rounds).
func BenchmarkDeliver(b *testing.B) {
	for _, latency := range benchSinkLatencies {
		b.Run(fmt.Sprintf("sink=%v", latency), func(b *testing.B) {
			gogc := stagetest.DeployedGC(b)
			e := newEnv(b, benchPartitions)
			c := newBenchCodec(b, e.k)
			in := c.input(b, benchEvents(b))
			stagetest.Produce(b, e.k, e.topic("contact", config.LaneInteractive), in...)
			rounds := stagetest.BenchRounds(b)
			var pairs stagetest.Pairs
			var cpu, plainCPU stagetest.CPU
			var txns, commit, hooks float64
			var took time.Duration
			b.ResetTimer()
			for range b.N * rounds {
				b.StopTimer()
				d, secret := e.dest(b, "")
				pk, purl := benchSink(b, secret, latency)
				stopCPU := plainCPU.Start()
				pd, _ := plainRun(b, c, in, secret, purl, pk)
				stopCPU()
				k, url := benchSink(b, secret, latency)
				d.Config.URL, d.Config.MaxConcurrency = url, benchConcurrency
				reg := prometheus.NewRegistry()
				s := e.stageOf(b, []deliver.Destination{d}, deliver.Registerer(reg), deliver.MaxPollRecords(benchPoll()), deliver.Body(c.body))
				if err := s.EnsureTopics(testkit.Context(b, time.Minute)); err != nil {
					b.Fatal(err)
				}
				stagetest.SettleBroker(e.k)
				stopCPU = cpu.Start()
				b.StartTimer()
				stop := start(b, s)
				testkit.CheckFor(b, 10*time.Minute, 20*time.Millisecond, func() error {
					if got := k.Count(); got < len(in) {
						return fmt.Errorf("%d of %d delivered", got, len(in))
					}
					return nil
				})
				b.StopTimer()
				stopCPU()
				// Let the last transaction commit before stopping.
				testkit.CheckFor(b, time.Minute, 20*time.Millisecond, func() error {
					if got := testkit.Metric(b, reg, "sluice_stage_records_total", map[string]string{"outcome": "done"}); got < float64(len(in)) {
						return fmt.Errorf("%v of %d committed", got, len(in))
					}
					return nil
				})
				stop()
				if dups := k.Duplicates(); len(dups) > 0 {
					b.Fatalf("delivered more than once: %d", len(dups))
				}
				if p, q := headerNames(pk), headerNames(k); !slices.Equal(p, q) {
					b.Fatalf("the plain client sends headers %v, sluice %v: not the same requests", p, q)
				}
				pairs.Add(float64(len(in))/window(k).Seconds(), float64(len(in))/pd.Seconds())
				txns += testkit.Metric(b, reg, "sluice_stage_transactions_total", map[string]string{"result": "committed"})
				commit += testkit.HistogramSum(b, reg, "sluice_stage_commit_seconds", nil)
				hooks += testkit.HistogramSum(b, reg, "sluice_stage_hooks_seconds", nil)
				took += window(k)
				b.StartTimer()
			}
			all := float64(len(in) * b.N * rounds)
			pairs.Report(b, "events/s", "plain-events/s")
			b.ReportMetric(all/txns, "events/txn")
			b.ReportMetric(took.Seconds()*1e3/txns, "txn-ms")
			b.ReportMetric(commit*1e3/txns, "commit-ms/txn")
			b.ReportMetric(hooks*1e3/txns, "hooks-ms/txn")
			b.ReportMetric(float64(gogc), "gogc")
			cpu.Report(b, "", "event", all)
			plainCPU.Report(b, "plain-", "event", all)
			b.StopTimer()
			sluice, plain := benchLatency(b, e, c, latency)
			b.ReportMetric(ms(percentile(sluice, 0.5)), "e2e-p50-ms")
			b.ReportMetric(ms(percentile(sluice, 0.99)), "e2e-p99-ms")
			b.ReportMetric(ms(percentile(sluice, 0.99)-percentile(plain, 0.99)), "added-p99-ms")
		})
	}
}

// benchLatency sends benchLatencyRuns events one at a time through the
// stage, and the same requests through a plain client, and returns the
// times from the broker's acknowledgment (or the client's send) to the
// sink's receiving each.
func benchLatency(b *testing.B, e *env, c *benchCodec, latency time.Duration) (sluice, plain []time.Duration) {
	b.Helper()
	d, secret := e.dest(b, "")
	k, url := benchSink(b, secret, latency)
	d.Config.URL, d.Config.MaxConcurrency = url, benchConcurrency
	topic := e.base + ".latency"
	e.k.CreateTopic(b, topic, 1, nil)
	reg := prometheus.NewRegistry()
	s := e.stageOf(b, []deliver.Destination{d}, deliver.Registerer(reg), deliver.InputTopic(func(string, string) string { return topic }), deliver.Body(c.body))
	start(b, s)
	// committed waits until the stage committed n events (whatever
	// became of them), so that each event meets an idle stage, as each
	// request of the plain client below starts after the previous one's
	// answer.
	committed := func(n int) {
		testkit.CheckFor(b, time.Minute, 200*time.Microsecond, func() error {
			if got := testkit.Metric(b, reg, "sluice_stage_records_total", nil); got < float64(n) {
				return fmt.Errorf("%v of %d committed", got, n)
			}
			return nil
		})
	}
	cl := e.k.Client(b, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))
	ctx := context.Background()
	warm := c.event(b, "warm", 0)
	if err := cl.ProduceSync(ctx, warm).FirstErr(); err != nil {
		b.Fatal(err)
	}
	waitDelivered(b, k, []string{"warm-0"}, 2*time.Minute)
	committed(1)
	arrival := func(id string) time.Time {
		var at time.Time
		testkit.CheckFor(b, time.Minute, 200*time.Microsecond, func() error {
			for _, r := range k.Requests() {
				if r.ID == id {
					at = r.At
					return nil
				}
			}
			return fmt.Errorf("%s not received", id)
		})
		return at
	}
	for i := range benchLatencyRuns {
		r := c.event(b, "lat", i)
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			b.Fatal(err)
		}
		acked := time.Now()
		sluice = append(sluice, arrival(kafka.Header(r, kafka.HeaderEventID)).Sub(acked))
		committed(i + 2)
	}

	signer, _ := standardwebhooks.NewSigner([]string{secret})
	client := &http.Client{}
	for i := range benchLatencyRuns {
		id := "plain-" + strconv.Itoa(i)
		body, err := c.body.Encode(ctx, c.event(b, "plain", i))
		if err != nil {
			b.Fatal(err)
		}
		sent := time.Now()
		signed, _ := signer.Sign(id, sent, body)
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		signed.Set(req.Header)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		plain = append(plain, arrival(id).Sub(sent))
	}
	return sluice, plain
}

func benchPoll() int {
	n, _ := strconv.Atoi(os.Getenv("SLUICE_BENCH_POLL"))
	if n <= 0 {
		return 1000
	}
	return n
}
