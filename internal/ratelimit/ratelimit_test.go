package ratelimit

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/testkit"
)

func TestLimiterHoldsAcrossInstances(t *testing.T) {
	t.Parallel()
	r := testkit.NewRedis(t)
	ctx := testkit.Context(t, 30*time.Second)
	// Two limiters sharing one Redis stand for two ingress instances.
	a, b := New(r.Client, r.Prefix), New(r.Client, r.Prefix)
	limit := &config.RateLimit{Rate: 5, Per: time.Hour, Burst: 5}

	allowed := 0
	for i := 0; i < 10; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		d, err := l.Allow(ctx, "tenant:acme", limit, 1)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		} else if d.RetryAfter <= 0 || d.RetryAfter > time.Hour {
			t.Errorf("denied with RetryAfter %v", d.RetryAfter)
		}
	}
	if allowed != 5 {
		t.Fatalf("allowed %d of 10 with a burst of 5 shared by two instances", allowed)
	}
	// Another key has its own budget.
	d, err := a.Allow(ctx, "tenant:globex", limit, 5)
	if err != nil || !d.Allowed {
		t.Fatalf("other tenant: %+v, %v", d, err)
	}
	// More than the burst at once is refused.
	d, err = a.Allow(ctx, "tenant:initech", limit, 6)
	if err != nil || d.Allowed {
		t.Fatalf("n above burst: %+v, %v", d, err)
	}
}

func TestNilLimitAllows(t *testing.T) {
	var l Limiter
	d, err := l.Allow(t.Context(), "k", nil, 100)
	if err != nil || !d.Allowed {
		t.Fatalf("nil limit: %+v, %v", d, err)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {90 * time.Second, 90}} {
		if got := RetryAfterSeconds(tt.d); got != tt.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}
