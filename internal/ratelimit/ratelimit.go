// Package ratelimit enforces rate limits that hold across every instance
// of a role, because their state lives in Redis.
//
// Limits use GCRA (the generic cell rate algorithm, as implemented by
// go-redis/redis_rate): a rate, a period and a burst, one Redis round trip
// per decision, no background refill. A denied request learns how long to
// wait, which sluice passes on as Retry-After.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/internal/config"
)

// Limiter takes decisions against limits held in Redis. It is safe for
// concurrent use.
type Limiter struct {
	l      *redis_rate.Limiter
	prefix string
}

// New returns a limiter whose keys are "rate:" (redis_rate's own prefix),
// then prefix (e.g. "sluice:"), then the key of the limit: an ACL that
// limits a deployment to its prefix's keys must allow "rate:<prefix>*"
// too.
func New(c redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{l: redis_rate.NewLimiter(c), prefix: prefix}
}

// Decision is the outcome of a request for n events.
type Decision struct {
	// Allowed reports whether all n events may go ahead.
	Allowed bool
	// Remaining is how many more events the burst allows now.
	Remaining int
	// RetryAfter is how long to wait before asking again; 0 when allowed.
	RetryAfter time.Duration
}

// Burst is the most events limit lets through at once: its burst, or its
// rate when it gives none. A request for more can never be allowed.
func Burst(limit *config.RateLimit) int {
	if limit.Burst == 0 {
		return limit.Rate
	}
	return limit.Burst
}

// Allow asks for n events under limit for key. A nil limit always allows;
// n above Burst(limit) never is.
func (l *Limiter) Allow(ctx context.Context, key string, limit *config.RateLimit, n int) (Decision, error) {
	if limit == nil || n <= 0 {
		return Decision{Allowed: true}, nil
	}
	per := limit.Per
	if per == 0 {
		per = time.Second
	}
	res, err := l.l.AllowN(ctx, l.prefix+key, redis_rate.Limit{Rate: limit.Rate, Burst: Burst(limit), Period: per}, n)
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: %w", err)
	}
	d := Decision{Allowed: res.Allowed >= n, Remaining: res.Remaining}
	if !d.Allowed {
		d.RetryAfter = res.RetryAfter
		if d.RetryAfter <= 0 {
			d.RetryAfter = per / time.Duration(max(limit.Rate, 1))
		}
	}
	return d, nil
}

// RetryAfterSeconds rounds a wait up to whole seconds, at least 1, as the
// Retry-After header wants.
func RetryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
