package stage_test

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/consumers/dedupe"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/testkit"
)

// The benchmark input: records of about benchSize bytes over 6 partitions
// and 50 tenants; SLUICE_BENCH_RECORDS overrides the count (60000). Both
// benchmarks read an input of the same shape and report records/s from
// the first record handled to the last commit, so group joins do not
// count; compare BenchmarkRunner with BenchmarkBareTransactLoop of the
// same run. Both run with the garbage collector set up as the sluice
// binary sets it (stagetest.DeployedGC).
const (
	benchSize       = 256
	benchPartitions = 6
	benchTenants    = 50
	benchPoll       = 1000
	// benchCount is the default input: enough that the bare loop's
	// start does not weigh on its rate (see the transform benchmark).
	benchCount = 60000
)

// BenchmarkBareTransactLoop is the baseline: a kgo.GroupTransactSession
// consume→produce loop copying every record, one transaction per poll.
func BenchmarkBareTransactLoop(b *testing.B) {
	stagetest.DeployedGC(b)
	k := testkit.NewKafka(b)
	in := stagetest.NewInput(b, k, stagetest.BenchRecords(b, benchCount), benchSize, benchPartitions, benchTenants)
	var took time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		out := k.Topic(b, benchPartitions)
		stagetest.SettleBroker(k)
		b.StartTimer()
		run, err := stagetest.BareTransactLoop(b, k, in, out, benchPoll)
		if err != nil {
			b.Fatal(err)
		}
		took += run.Took
	}
	b.ReportMetric(float64(in.Records*b.N)/took.Seconds(), "records/s")
}

// BenchmarkRunner runs the stage runner with a handler that copies every
// record and dedupe on, over the same shape of input, and reports the
// Redis round trips per batch.
func BenchmarkRunner(b *testing.B) {
	stagetest.DeployedGC(b)
	k := testkit.NewKafka(b)
	r := testkit.NewRedis(b)
	in := stagetest.NewInput(b, k, stagetest.BenchRecords(b, benchCount), benchSize, benchPartitions, benchTenants)
	var took time.Duration
	var trips, batches int64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		name := testkit.Name(b, "bench")
		out := k.Topic(b, benchPartitions)
		store, err := dedupe.New(r.Client, dedupe.Prefix(r.Prefix+name+":"))
		if err != nil {
			b.Fatal(err)
		}
		meter := stagetest.NewMeter(in.Records)
		run, err := stage.New(name, stagetest.Config(k), copyTo(out),
			stage.Consume(in.Topic),
			stage.Group(name),
			stage.Logger(testkit.Logger(b)),
			stage.MaxPollRecords(benchPoll),
			stage.Use(meter.Middleware(), store.Middleware()),
		)
		if err != nil {
			b.Fatal(err)
		}
		if err := run.EnsureTopics(testkit.Context(b, time.Minute)); err != nil {
			b.Fatal(err)
		}
		stagetest.SettleBroker(k)
		b.StartTimer()
		stop := stagetest.Start(b, run)
		d, err := meter.Wait(10 * time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		stop()
		b.StartTimer()
		took += d
		trips += store.Stats().RoundTrips
		batches += int64(meter.Batches())
	}
	b.ReportMetric(float64(in.Records*b.N)/took.Seconds(), "records/s")
	b.ReportMetric(float64(trips)/float64(batches), "redis-trips/batch")
	b.ReportMetric(float64(in.Records*b.N)/float64(batches), "records/batch")
}
