package dedupe_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice/consumers/dedupe"
	"github.com/sluicehq/sluice/internal/testkit"
)

// BenchmarkClaimSettle claims batches of 500 events over 48 tenants and
// settles them (their group committed), as a stage does for each batch,
// against miniredis or REDIS_URL: "new" claims events never seen (the steady state), while
// "duplicate" claims events already done (every SET answers a value).
// Making the claims is left out of the measure.
func BenchmarkClaimSettle(b *testing.B) {
	r := testkit.NewRedis(b)
	s, err := dedupe.New(r.Client, dedupe.Prefix(r.Prefix), dedupe.TTL(time.Minute), dedupe.Lease(30*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	const n = 500
	batch := func(round int) []dedupe.Claim {
		c := make([]dedupe.Claim, n)
		for i := range c {
			off := strconv.Itoa(round*n + i)
			c[i] = dedupe.Claim{Stage: "transform", Tenant: "tenant-" + strconv.Itoa(i%48), EventID: "evt-" + off, Owner: "sluice.in/0/" + off}
		}
		return c
	}
	ctx := context.Background()
	b.Run("new", func(b *testing.B) {
		for i := range b.N {
			b.StopTimer()
			c := batch(i)
			g := dedupe.NewGroup()
			b.StartTimer()
			if _, err := s.Claim(ctx, g, c); err != nil {
				b.Fatal(err)
			}
			if err := s.Settle(ctx, g, "transform", nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("duplicate", func(b *testing.B) {
		c := batch(-1)
		g := dedupe.NewGroup()
		if _, err := s.Claim(ctx, g, c); err != nil {
			b.Fatal(err)
		}
		if err := s.Settle(ctx, g, "transform", nil); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			st, err := s.Claim(ctx, dedupe.NewGroup(), c)
			if err != nil {
				b.Fatal(err)
			}
			if st[0] != dedupe.Duplicate {
				b.Fatalf("claim answered %s, want duplicate", st[0])
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
