package stagetest

import (
	"context"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testkit"
)

// BenchRecords is how many records a benchmark's input holds:
// SLUICE_BENCH_RECORDS, or def.
func BenchRecords(b testing.TB, def int) int {
	return benchInt(b, "SLUICE_BENCH_RECORDS", def)
}

// KafkaDelay returns client options that delay every write to the broker
// by SLUICE_BENCH_KAFKA_DELAY (a Go duration such as 1ms; none when it is
// unset), and that delay in milliseconds. A benchmark gives them to a
// stage and to its baseline alike, to see them with a broker across a
// network rather than on the same machine: each request then waits that
// much longer for its answer.
func KafkaDelay(b testing.TB) ([]kgo.Opt, float64) {
	b.Helper()
	v := os.Getenv("SLUICE_BENCH_KAFKA_DELAY")
	if v == "" {
		return nil, 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		b.Fatalf("stagetest: SLUICE_BENCH_KAFKA_DELAY=%q is not a duration", v)
	}
	var nd net.Dialer
	dial := func(ctx context.Context, network, host string) (net.Conn, error) {
		c, err := nd.DialContext(ctx, network, host)
		if err != nil {
			return nil, err
		}
		return delayedConn{c, d}, nil
	}
	return []kgo.Opt{kgo.Dialer(dial)}, float64(d.Microseconds()) / 1000
}

// delayedConn waits d before each write.
type delayedConn struct {
	net.Conn
	d time.Duration
}

func (c delayedConn) Write(p []byte) (int, error) {
	time.Sleep(c.d)
	return c.Conn.Write(p)
}

// BenchRounds is how many rounds a paired benchmark runs in each
// iteration: SLUICE_BENCH_ROUNDS, or 3.
func BenchRounds(b testing.TB) int {
	return benchInt(b, "SLUICE_BENCH_ROUNDS", 3)
}

func benchInt(b testing.TB, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("stagetest: %s=%q is not a positive number", name, v)
	}
	return n
}

// Pairs holds the rounds of a paired benchmark: a stage and its baseline
// measured one right after the other, round after round, so that a
// shared machine's changing load weighs on both of a round alike. The
// ratio of a round is the stage's rate over the baseline's; a single
// pair can be off by a fifth either way on a busy host, the median of
// several far less.
type Pairs struct {
	rates, bases []float64
}

// Add records one round: the stage's rate and the baseline's.
func (p *Pairs) Add(rate, base float64) {
	p.rates = append(p.rates, rate)
	p.bases = append(p.bases, base)
}

// Report reports the median rate of the stage (unit) and of the baseline
// (baseUnit), the median of the rounds' ratios (ratio), the lowest and
// highest (ratio-min, ratio-max), and the number of rounds.
func (p *Pairs) Report(b *testing.B, unit, baseUnit string) {
	if len(p.rates) == 0 {
		b.Fatal("stagetest: no rounds to report")
	}
	ratios := make([]float64, len(p.rates))
	for i := range p.rates {
		ratios[i] = p.rates[i] / p.bases[i]
	}
	b.ReportMetric(Median(p.rates), unit)
	b.ReportMetric(Median(p.bases), baseUnit)
	b.ReportMetric(Median(ratios), "ratio")
	b.ReportMetric(slices.Min(ratios), "ratio-min")
	b.ReportMetric(slices.Max(ratios), "ratio-max")
	b.ReportMetric(float64(len(ratios)), "rounds")
}

// Median returns the median of xs (the mean of the middle two when
// there is an even number); xs must not be empty.
func Median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 0 {
		return (s[m-1] + s[m]) / 2
	}
	return s[m]
}

// brokerSettle is how long SettleBroker waits. Measured on Kafka 4.4 on
// two cores: creating 14 topics of 6 partitions cost the broker about half
// a second of CPU, some of it after every partition had its leader, and
// it was idle again within a second.
const brokerSettle = time.Second

// SettleBroker waits for the broker k, when it is a real one that has just
// created topics, to finish its work on them, so that the measured span
// that follows does not share the cores with it: in production a stage's
// topics exist long before it runs. Call it after creating the topics of
// a stage (see stage.Runner.EnsureTopics) or of a baseline, before
// measuring it.
func SettleBroker(k *testkit.Kafka) {
	if k.Real() {
		time.Sleep(brokerSettle)
	}
}
