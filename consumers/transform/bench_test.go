package transform_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/consumers/transform"
	"github.com/sluicehq/sluice/consumers/transform/transformtest"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// The benchmark input: CRM contact webhooks over 6 partitions and 48
// tenants, 4 events per person on average (so most are stitched to an id
// already given), one transaction per poll of up to 1000 records, with
// the same fetch settings (franz-go's defaults) for the stage and the bare
// loop. SLUICE_BENCH_RECORDS overrides the count (60000). Against kfake
// and miniredis by default; KAFKA_BROKERS and REDIS_URL point it at real
// services.
const (
	benchPartitions = 6
	benchTenants    = 48
	benchPoll       = 1000
	// benchCount is the default input: enough that the bare loop runs
	// for most of a second. Its start costs it about 0.1s more than its
	// steady rate accounts for (measured: 20000 records in 0.26s, 80000
	// in 0.77s), so a shorter input lowers the baseline and flatters the
	// stage's ratio.
	benchCount = 60000
)

// benchEnv produces the input and returns the environment and the input.
func benchEnv(b *testing.B) (*transformtest.Env, stagetest.Input) {
	b.Helper()
	n := stagetest.BenchRecords(b, benchCount)
	tenants := make([]string, benchTenants)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%02d", i)
	}
	e := transformtest.NewEnv(b, transformtest.Config{
		Tenants:      tenants,
		Connectors:   connectors(),
		Integrations: []transformtest.Integration{{Source: "crm", Partitions: benchPartitions}},
	})
	cl := e.Kafka.Client(b, kgo.ProducerLinger(5*time.Millisecond))
	ctx := testkit.Context(b, 5*time.Minute)
	const chunk = 2000
	for start := 0; start < n; start += chunk {
		recs := make([]*kgo.Record, 0, chunk)
		for i := start; i < min(start+chunk, n); i++ {
			tenant := tenants[i%benchTenants]
			f := crmContact(tenant, i, fmt.Sprintf("person-%d@example.com", (i/benchTenants)%(n/benchTenants/4+1)))
			recs = append(recs, e.Record(b, f, "crm"))
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
	return e, stagetest.Input{Topic: kafka.InTopic(e.IDs["crm"]), Records: n, Partitions: benchPartitions}
}

// BenchmarkBareTransactLoop is the baseline alone: a franz-go
// GroupTransactSession copying the benchmark input, one transaction per
// poll.
func BenchmarkBareTransactLoop(b *testing.B) {
	stagetest.DeployedGC(b)
	e, in := benchEnv(b)
	var took time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		out := e.Kafka.Topic(b, benchPartitions)
		stagetest.SettleBroker(e.Kafka)
		b.StartTimer()
		run, err := stagetest.BareTransactLoop(b, e.Kafka, in, out, benchPoll)
		if err != nil {
			b.Fatal(err)
		}
		took += run.Took
	}
	b.ReportMetric(float64(in.Records*b.N)/took.Seconds(), "records/s")
}

// BenchmarkTransformStage runs the whole stage over the input: decode,
// map, dedupe, stitch identities, encode, and produce canonical events
// and identity bindings in the poll's transaction. Each iteration runs
// stagetest.BenchRounds rounds (SLUICE_BENCH_ROUNDS, default 3) of the
// bare loop and then the stage over the same input, and the benchmark
// reports the median rates and ratio of the rounds, the ratio's range,
// and the Redis round trips per batch.
//
// Both run with the garbage collector set up as the sluice binary sets
// it (stagetest.DeployedGC; the gogc metric says which GOGC), and with
// every write to the broker delayed by SLUICE_BENCH_KAFKA_DELAY when it
// is set (stagetest.KafkaDelay; the kafka-delay-ms metric says how much),
// to stand for a broker across a network.
//
// Where the time of a transaction goes: txn-ms is the stage's wall time
// per transaction (one poll of up to benchPoll records), commit-ms/txn
// the part spent flushing and ending it, hooks-ms/txn the part the next
// poll waits for its commit hooks (settling the dedupe claims, and the
// transaction before's binding confirms if still running: they run beside
// the next batch); the rest is handling the batch.
// bare-txn-ms and bare-commit-ms/txn are the bare loop's, whose produce
// is asynchronous, so its commit includes the broker taking the records.
//
// It also reports the CPU time spent per record in each: the test
// process's (cpu-us/record, bare-cpu-us/record), the stage's own work;
// the whole machine's, the broker's and Redis's included when they run
// here (machine-cpu-us/record, bare-machine-cpu-us/record); and the share
// of the machine's cores that was busy (machine-busy, bare-machine-busy),
// which says whether a side was bound by CPU (see stagetest.CPU).
//
// cold: an empty identity map, so every event brings a new CRM contact
// id (bound, written to the identity topic and confirmed) and a quarter
// of them a new person. warm: the map already knows every id, as in a
// steady state of updates to known objects.
func BenchmarkTransformStage(b *testing.B) {
	for _, warm := range []bool{false, true} {
		name := "cold"
		if warm {
			name = "warm"
		}
		b.Run(name, func(b *testing.B) { benchStage(b, warm) })
	}
}

func benchStage(b *testing.B, warm bool) {
	gogc := stagetest.DeployedGC(b)
	delay, delayMS := stagetest.KafkaDelay(b)
	e, in := benchEnv(b)
	rounds := stagetest.BenchRounds(b)
	var pairs stagetest.Pairs
	var cpu, bareCPU stagetest.CPU
	var trips, batches int64
	var phases, barePhases txnPhases
	// run runs a new stage (its own group and dedupe keys) over the
	// input and returns the time taken and the Redis round trips, and
	// adds its transactions' phases to phases. With cpu, the run is
	// measured: the benchmark's timer and cpu run from the stage's start
	// (its topics made and the broker settled) to its last record.
	run := func(i int, ids *identity.Map, phases *txnPhases, cpu *stagetest.CPU) (time.Duration, int64, int) {
		name := fmt.Sprintf("%s-%d", e.Name, i)
		idTrips := ids.Stats().RoundTrips
		st := e.Stage(b, ids, transform.Name(name))
		dd := e.Dedupe(b)
		meter := stagetest.NewMeter(in.Records)
		reg := prometheus.NewRegistry()
		r := e.Runner(b, st, dd, stage.MaxPollRecords(benchPoll), stage.Use(meter.Middleware()), stage.Registerer(reg), stage.KafkaOpts(delay...))
		if err := r.EnsureTopics(testkit.Context(b, time.Minute)); err != nil {
			b.Fatal(err)
		}
		stagetest.SettleBroker(e.Kafka)
		var stopCPU func()
		if cpu != nil {
			stopCPU = cpu.Start()
			b.StartTimer()
		}
		stop := stagetest.Start(b, r)
		d, err := meter.Wait(10 * time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if cpu != nil {
			b.StopTimer()
			stopCPU()
		}
		stop()
		phases.took += d
		phases.txns += testkit.Metric(b, reg, "sluice_stage_commit_seconds", nil)
		phases.commit += testkit.HistogramSum(b, reg, "sluice_stage_commit_seconds", nil)
		phases.hooks += testkit.HistogramSum(b, reg, "sluice_stage_hooks_seconds", nil)
		return d, ids.Stats().RoundTrips - idTrips + dd.Stats().RoundTrips, meter.Batches()
	}
	b.ResetTimer()
	for i := range b.N * rounds {
		b.StopTimer()
		out := e.Kafka.Topic(b, benchPartitions)
		stagetest.SettleBroker(e.Kafka)
		stopCPU := bareCPU.Start()
		bare, err := stagetest.BareTransactLoop(b, e.Kafka, in, out, benchPoll, delay...)
		if err != nil {
			b.Fatal(err)
		}
		stopCPU()
		barePhases.took += bare.Took
		barePhases.txns += float64(bare.Transactions)
		barePhases.commit += bare.Commit.Seconds()
		name := fmt.Sprintf("%s-%d", e.Name, i)
		ids := e.Identity(b, identity.Topic(name+".identity"), identity.Prefix(e.Redis.Prefix+name+":"), identity.Logger(testkit.Logger(b)))
		if warm {
			run(1000+i, ids, &txnPhases{}, nil)
		}
		d, n, bs := run(i, ids, &phases, &cpu)
		trips += n
		batches += int64(bs)
		pairs.Add(float64(in.Records)/d.Seconds(), float64(in.Records)/bare.Took.Seconds())
		b.StartTimer()
	}
	all := float64(in.Records * b.N * rounds)
	pairs.Report(b, "records/s", "bare-records/s")
	b.ReportMetric(float64(trips)/float64(batches), "redis-trips/batch")
	b.ReportMetric(all/float64(batches), "records/batch")
	cpu.Report(b, "", "record", all)
	bareCPU.Report(b, "bare-", "record", all)
	phases.report(b, "")
	barePhases.report(b, "bare-")
	b.ReportMetric(float64(gogc), "gogc")
	if delayMS > 0 {
		b.ReportMetric(delayMS, "kafka-delay-ms")
	}
}

// txnPhases add up where the time of a run's transactions went: each
// runs its batch (handle: decode to build for the stage, copying for the
// bare loop), then flushes and ends (commit), then, for the stage only,
// waits for its commit hooks (settling the dedupe claims; see
// hooks-ms/txn) before it polls again.
type txnPhases struct {
	took                time.Duration
	txns, commit, hooks float64 // hooks and commit in seconds
}

// report reports the milliseconds per transaction: in all (txn-ms), and
// in commit and hooks.
func (p txnPhases) report(b *testing.B, prefix string) {
	if p.txns == 0 {
		return
	}
	b.ReportMetric(p.took.Seconds()*1e3/p.txns, prefix+"txn-ms")
	b.ReportMetric(p.commit*1e3/p.txns, prefix+"commit-ms/txn")
	if prefix == "" {
		b.ReportMetric(p.hooks*1e3/p.txns, "hooks-ms/txn")
	}
}
