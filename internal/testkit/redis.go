package testkit

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/internal/redisconn"
)

// Redis is a Redis a test can use: the one named by REDIS_URL (a server,
// or a Redis Cluster as redisconn.Open reads it), or a fresh miniredis
// owned by the test.
type Redis struct {
	// Client talks to the server; it is closed when the test ends.
	Client redis.UniversalClient
	// Addr is the server's host:port (a Redis Cluster's first node).
	Addr string
	// URL is what a sluice process is given as REDIS_URL to reach it.
	URL string
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
	if url := os.Getenv("REDIS_URL"); url != "" {
		c, err := redisconn.Open(url)
		if err != nil {
			t.Fatalf("testkit: REDIS_URL: %v", err)
		}
		r.Client, r.URL = c, url
		if cc, ok := c.(*redis.ClusterClient); ok {
			r.Addr = cc.Options().Addrs[0]
		} else {
			r.Addr = c.(*redis.Client).Options().Addr
		}
	} else {
		m := miniredis.RunT(t)
		r.Mini, r.Addr, r.URL = m, m.Addr(), "redis://"+m.Addr()+"/0"
		r.Client = redis.NewClient(&redis.Options{Addr: m.Addr()})
	}
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

// Cluster reports whether the Redis is a Redis Cluster.
func (r *Redis) Cluster() bool {
	_, ok := r.Client.(*redis.ClusterClient)
	return ok
}

// Flush deletes every key under the test's prefix: a flush of Redis as far
// as this test can see, without disturbing tests running beside it. On a
// Redis Cluster it scans every master.
func (r *Redis) Flush(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.eachMaster(ctx, func(ctx context.Context, c redis.UniversalClient) error { return flushPrefix(ctx, c, r.Prefix) })
	if err != nil {
		t.Logf("testkit: flush redis: %v", err)
	}
}

// eachMaster calls fn with a client of every master of a Redis Cluster
// (concurrently), or with the test's client of one server.
func (r *Redis) eachMaster(ctx context.Context, fn func(context.Context, redis.UniversalClient) error) error {
	if cc, ok := r.Client.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return fn(ctx, c) })
	}
	return fn(ctx, r.Client)
}

// flushPrefix deletes the keys of c under prefix, one key per DEL, as a
// Redis Cluster wants when they hash to several slots.
func flushPrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var keys []string
	del := func() error {
		pipe := c.Pipeline()
		for _, k := range keys {
			pipe.Del(ctx, k)
		}
		keys = keys[:0]
		_, err := pipe.Exec(ctx)
		return err
	}
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 500 {
			if err := del(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(keys) > 0 {
		return del()
	}
	return nil
}

// Keys returns the keys matching pattern, from every master of a Redis
// Cluster (where KEYS asks one node only), sorted.
func (r *Redis) Keys(t testing.TB, pattern string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mu sync.Mutex
	var keys []string
	collect := func(ctx context.Context, c redis.UniversalClient) error {
		ks, err := c.Keys(ctx, pattern).Result()
		mu.Lock()
		keys = append(keys, ks...)
		mu.Unlock()
		return err
	}
	if err := r.eachMaster(ctx, collect); err != nil {
		t.Fatalf("testkit: redis keys %s: %v", pattern, err)
	}
	slices.Sort(keys)
	return keys
}

// Dialing returns a new client of the same Redis (a cluster client for a
// Redis Cluster) that dials through dial, such as a Link's (nil: as the
// test's client does), and retries a failed command maxRetries times (0:
// go-redis's default; -1: never). It is closed when the test ends.
func (r *Redis) Dialing(t testing.TB, dial func(ctx context.Context, network, addr string) (net.Conn, error), maxRetries int) redis.UniversalClient {
	t.Helper()
	var c redis.UniversalClient
	switch b := r.Client.(type) {
	case *redis.ClusterClient:
		o := *b.Options()
		o.Dialer, o.MaxRetries = dial, maxRetries
		c = redis.NewClusterClient(&o)
	case *redis.Client:
		o := *b.Options()
		o.Dialer, o.MaxRetries = dial, maxRetries
		c = redis.NewClient(&o)
	default:
		t.Fatalf("testkit: a Redis client of type %T", r.Client)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Before7 is a client hook that makes the server look older than Redis
// 7.0 to SET with both NX and GET: it fails the whole pipeline holding
// one with "ERR syntax error", as Redis 6.2 answers, and counts the
// refusals in refused.
func Before7(refused *atomic.Int64) redis.Hook { return before7{refused} }

type before7 struct{ refused *atomic.Int64 }

func (before7) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (before7) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h before7) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			args := strings.ToLower(fmt.Sprint(c.Args()))
			if c.Name() == "set" && strings.Contains(args, " nx") && strings.HasSuffix(args, " get]") {
				h.refused.Add(1)
				err := redisError("ERR syntax error")
				for _, c := range cmds {
					c.SetErr(err)
				}
				return err
			}
		}
		return next(ctx, cmds)
	}
}

// redisError is an error as Redis answers it.
type redisError string

func (e redisError) Error() string { return string(e) }
func (redisError) RedisError()     {}

// StartRedisServer starts a redis-server of the test's own on a free port
// of 127.0.0.1, with args (more configuration as flags, such as
// "--replicaof", host, port), and returns its address once it answers
// PING; it stops when the test ends. Tests of what Redis's own processes
// do (replication, Sentinel, failover) use it. It skips t, saying so,
// without redis-server on the PATH.
func StartRedisServer(t testing.TB, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on the PATH: no Redis processes of the test's own to start")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", t.TempDir(), "--save", "", "--appendonly", "no"}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("testkit: redis-server: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error { return c.Ping(context.Background()).Err() })
	return addr
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testkit: a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
