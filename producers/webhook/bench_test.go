package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
	"github.com/sluicehq/sluice/producers/webhook"
)

// BenchmarkIngress measures accepted webhooks per second through the
// handler (signature, contract, Avro encoding, idempotency marker in
// Redis, produce with acks=all and the wait for the acknowledgement),
// beside the baseline of a bare kgo ProduceSync of records of the same
// size and headers with the same producer settings, in the same run,
// against an embedded kfake broker and miniredis. Requests are signed
// before the clock starts.
func BenchmarkIngress(b *testing.B) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cluster.Close)
	k := &testkit.Kafka{Brokers: cluster.ListenAddrs(), Cluster: cluster}
	mini := miniredis.RunT(b)
	e := newEnv(b, envConfig{
		catalog: strings.Replace(baseCatalog, "max_batch_events: 5, max_batch_bytes: 8192", "max_batch_events: 500, max_batch_bytes: 1048576", 1),
		secrets: map[string]string{"crm": whsec(b)},
		kafka:   k,
		redis: func(*testkit.Redis) redis.UniversalClient {
			c := redis.NewClient(&redis.Options{Addr: mini.Addr()})
			b.Cleanup(func() { _ = c.Close() })
			return c
		},
		opts: []webhook.Opt{webhook.Logger(zap.NewNop()), webhook.MaxConcurrent(4096)},
	})
	// One accepted event gives the size and headers of a record.
	if resp := e.send("acme", "crm", "msg_size", contact("size")); resp.status != 202 {
		b.Fatalf("warm-up: %v", resp)
	}
	sample := find(b, e.records("crm", ""), "msg_size")
	b.Logf("record: %d value bytes, %d headers; request body %d bytes", len(sample.Value), len(sample.Headers), len(contact("size")))

	var seq atomic.Int64
	type request struct {
		body []byte
		h    http.Header
	}
	prepare := func(n, perRequest int) []request {
		reqs := make([]request, n)
		for i := range reqs {
			var body []byte
			if perRequest == 1 {
				body = contact("b" + strconv.FormatInt(seq.Add(1), 10))
			} else {
				parts := make([]string, perRequest)
				for j := range parts {
					parts[j] = string(contact("b" + strconv.FormatInt(seq.Add(1), 10)))
				}
				body = []byte(strings.Join(parts, "\n"))
			}
			reqs[i] = request{body, e.sign("msg_"+strconv.FormatInt(seq.Add(1), 10), body)}
		}
		return reqs
	}
	serve := func(b *testing.B, r request, path, contentType string, want int) {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(r.body))
		for key, v := range r.h {
			req.Header[key] = v
		}
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		e.in.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("answer %d: %s", rec.Code, rec.Body.Bytes())
		}
	}
	one := "/v1/webhooks/acme/" + e.id("crm")

	baseline := k.Client(b, webhook.ProducerOpts(0, 0)...)
	topic := kafka.InTopic(e.id("crm")) + ".baseline"
	k.CreateTopic(b, topic, 6, nil)
	record := func() *kgo.Record {
		return &kgo.Record{Topic: topic, Key: sample.Key, Value: sample.Value, Headers: sample.Headers}
	}

	b.Run("baseline=ProduceSync", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			if err := baseline.ProduceSync(ctx, record()).FirstErr(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("ingress=one", func(b *testing.B) {
		reqs := prepare(b.N, 1)
		b.ResetTimer()
		for i := range b.N {
			serve(b, reqs[i], one, "application/json", 202)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	for _, par := range []int{64} {
		b.Run(fmt.Sprintf("baseline=ProduceSync/parallel=%d", par), func(b *testing.B) {
			b.SetParallelism(par)
			ctx := context.Background()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := baseline.ProduceSync(ctx, record()).FirstErr(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
		b.Run(fmt.Sprintf("ingress=one/parallel=%d", par), func(b *testing.B) {
			b.SetParallelism(par)
			reqs := prepare(b.N, 1)
			var next atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					serve(b, reqs[next.Add(1)-1], one, "application/json", 202)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	const batch = 100
	b.Run(fmt.Sprintf("baseline=ProduceSync/records=%d", batch), func(b *testing.B) {
		ctx := context.Background()
		recs := make([]*kgo.Record, batch)
		for b.Loop() {
			for i := range recs {
				recs[i] = record()
			}
			if err := baseline.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run(fmt.Sprintf("ingress=batch/events=%d", batch), func(b *testing.B) {
		reqs := prepare(b.N, batch)
		b.ResetTimer()
		for i := range b.N {
			serve(b, reqs[i], one+"/batch", "application/x-ndjson", 202)
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	})
}
