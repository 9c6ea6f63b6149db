package identity_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/testkit"
)

// BenchmarkResolve resolves batches of 1000 contacts over 48 tenants
// (new ones, known ones whose bindings committed, read from Redis or
// remembered, known ones still pending) beside its baseline, a pipeline
// of 1000 GETs (the least one lookup per object costs), against
// miniredis or REDIS_URL.
func BenchmarkResolve(b *testing.B) {
	k, r := testkit.NewKafka(b), testkit.NewRedis(b)
	open := func(opts ...identity.Opt) *identity.Map {
		m, err := identity.New(r.Client, stagetest.Config(k), append([]identity.Opt{identity.Topic(testkit.Name(b, "identity")), identity.Prefix(r.Prefix)}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Load(testkit.Context(b, time.Minute)); err != nil {
			b.Fatal(err)
		}
		return m
	}
	m := open(identity.CacheSize(0))
	const n = 1000
	// A batch of new contact ids: a third of them people met before.
	batch := func(round int) []identity.Subject {
		s := make([]identity.Subject, n)
		for i := range s {
			s[i] = identity.Subject{
				Tenant: fmt.Sprintf("tenant-%d", i%48), Object: "contact", System: "crm", Integration: "crm",
				ExternalID: fmt.Sprintf("%d-%d", round, i), Email: fmt.Sprintf("person-%d-%d@example.com", round/3, i),
			}
		}
		return s
	}
	ctx := context.Background()
	b.Run("pipelined-get", func(b *testing.B) {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("%sbench:%d", r.Prefix, i)
		}
		for range b.N {
			pipe := r.Client.Pipeline()
			for _, k := range keys {
				pipe.Get(ctx, k)
			}
			_, _ = pipe.Exec(ctx)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
	})
	b.Run("new", func(b *testing.B) {
		for i := range b.N {
			s := batch(i)
			if _, err := m.Resolve(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
	})
	// durable: known contacts whose bindings committed, the steady state
	// of updates (read without the script).
	// commit resolves s with m and confirms what is pending.
	commit := func(m *identity.Map, s []identity.Subject) {
		res, err := m.Resolve(ctx, s)
		if err != nil {
			b.Fatal(err)
		}
		var pending []identity.Binding
		for _, r := range res.Resolutions {
			pending = append(pending, r.Pending...)
		}
		if _, err := m.Confirm(ctx, pending); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("durable", func(b *testing.B) {
		s := batch(-2)
		commit(m, s)
		b.ResetTimer()
		for range b.N {
			res, err := m.Resolve(ctx, s)
			if err != nil {
				b.Fatal(err)
			}
			if res.RoundTrips != 2 {
				b.Fatalf("%d round trips, want 2", res.RoundTrips)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
	})
	// cached: the same, resolved by a map that remembers their bindings
	// (it read them once), so reads only their id lists.
	b.Run("cached", func(b *testing.B) {
		s := batch(-2)
		c := open()
		commit(c, s)
		if _, err := c.Resolve(ctx, s); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			res, err := c.Resolve(ctx, s)
			if err != nil {
				b.Fatal(err)
			}
			if res.RoundTrips != 1 {
				b.Fatalf("%d round trips, want 1", res.RoundTrips)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
	})
	// known: known contacts whose bindings are still pending (their
	// transaction not yet committed), which the script resolves.
	b.Run("known", func(b *testing.B) {
		s := batch(-1)
		if _, err := m.Resolve(ctx, s); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			if _, err := m.Resolve(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
	})
}
