package testkit

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Redis is a Redis a test can use: the one named by REDIS_URL, or a fresh
// miniredis owned by the test.
type Redis struct {
	// Client talks to the server; it is closed when the test ends.
	Client redis.UniversalClient
	// Addr is the server's host:port.
	Addr string
	// Prefix is unique to the test; every key the test writes must start
	// with it, because a real Redis is shared by tests running in parallel.
	Prefix string
	// Mini is the embedded server, nil when the server is real.
	Mini *miniredis.Miniredis
}

// NewRedis returns the Redis for t.
func NewRedis(t testing.TB) *Redis {
	t.Helper()
	r := &Redis{Prefix: Name(t, "test") + ":"}
	var opts *redis.Options
	if url := os.Getenv("REDIS_URL"); url != "" {
		o, err := redis.ParseURL(url)
		if err != nil {
			t.Fatalf("testkit: REDIS_URL: %v", err)
		}
		opts = o
	} else {
		m := miniredis.RunT(t)
		r.Mini = m
		opts = &redis.Options{Addr: m.Addr()}
	}
	r.Addr = opts.Addr
	r.Client = redis.NewClient(opts)
	t.Cleanup(func() {
		r.Flush(t)
		_ = r.Client.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Client.Ping(ctx).Err(); err != nil {
		t.Fatalf("testkit: redis at %s: %v", r.Addr, err)
	}
	return r
}

// Flush deletes every key under the test's prefix: a flush of Redis as far
// as this test can see, without disturbing tests running beside it.
func (r *Redis) Flush(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := r.Client.Scan(ctx, 0, r.Prefix+"*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 500 {
			r.Client.Del(ctx, keys...)
			keys = keys[:0]
		}
	}
	if err := iter.Err(); err != nil {
		t.Logf("testkit: scan redis: %v", err)
		return
	}
	if len(keys) > 0 {
		r.Client.Del(ctx, keys...)
	}
}
