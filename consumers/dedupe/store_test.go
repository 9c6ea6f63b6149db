package dedupe_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/consumers/dedupe"
	"github.com/sluicehq/sluice/internal/testkit"
)

// expire lets d pass for the keys of r: at once on miniredis, for real on
// a real server.
func expire(t *testing.T, r *testkit.Redis, d time.Duration, check func() error) {
	t.Helper()
	if r.Mini != nil {
		r.Mini.FastForward(d)
	}
	testkit.CheckFor(t, 10*d+5*time.Second, 20*time.Millisecond, check)
}

func TestStoreStateMachine(t *testing.T) {
	t.Parallel()
	t.Run("redis 7", func(t *testing.T) { t.Parallel(); testStateMachine(t, false) })
	t.Run("before redis 7", func(t *testing.T) { t.Parallel(); testStateMachine(t, true) })
}

func testStateMachine(t *testing.T, old bool) {
	const lease, ttl = 300 * time.Millisecond, 900 * time.Millisecond
	claim := func(owner string) dedupe.Claim {
		return dedupe.Claim{Stage: "transform", Tenant: "acme", EventID: "e-1", Owner: owner}
	}
	type step struct {
		op     string // claim, done, release, expire-lease, expire-ttl
		owner  string
		want   dedupe.Status
		marker string // the key's value after the step, "" for absent
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"absent is claimed", []step{{op: "claim", owner: "A", want: dedupe.Claimed, marker: "p:A"}}},
		{"own claim again", []step{{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "claim", owner: "A", want: dedupe.Claimed, marker: "p:A"}}},
		{"own claim again renews the lease", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "age", marker: "p:A"},
			{op: "claim", owner: "A", want: dedupe.Claimed, marker: "p:A"}, {op: "leased"},
		}},
		{"another's claim is busy", []step{{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "claim", owner: "B", want: dedupe.Busy, marker: "p:A"}}},
		{"done is a duplicate for everyone", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "done", owner: "A", marker: "d:A"},
			{op: "claim", owner: "B", want: dedupe.Duplicate}, {op: "claim", owner: "A", want: dedupe.Duplicate, marker: "d:A"},
		}},
		{"released is free", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "release", owner: "A", marker: ""},
			{op: "claim", owner: "B", want: dedupe.Claimed, marker: "p:B"},
		}},
		{"release by another owner does nothing", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "release", owner: "B", marker: "p:A"},
			{op: "claim", owner: "B", want: dedupe.Busy},
		}},
		{"release does not undo done", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "done", owner: "A"}, {op: "release", owner: "A", marker: "d:A"},
			{op: "claim", owner: "B", want: dedupe.Duplicate},
		}},
		{"a lease ends", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "expire-lease", owner: "B", want: dedupe.Claimed, marker: "p:B"},
		}},
		{"done ends after the TTL", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "done", owner: "A"},
			{op: "expire-ttl", owner: "B", want: dedupe.Claimed, marker: "p:B"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := testkit.NewRedis(t)
			if old {
				refused := new(atomic.Int64)
				r.Client.AddHook(testkit.Before7(refused))
				t.Cleanup(func() {
					if refused.Load() != 1 {
						t.Errorf("SET NX GET refused %d times, want once (then the store claims with its script)", refused.Load())
					}
				})
			}
			s, err := dedupe.New(r.Client, dedupe.Prefix(r.Prefix), dedupe.Lease(lease), dedupe.TTL(ttl))
			if err != nil {
				t.Fatal(err)
			}
			ctx := testkit.Context(t, 30*time.Second)
			key := s.Key("transform", "acme", "e-1")
			for i, st := range tc.steps {
				switch st.op {
				case "claim":
					got, err := s.Claim(ctx, []dedupe.Claim{claim(st.owner)})
					if err != nil {
						t.Fatal(err)
					}
					if got[0] != st.want {
						t.Fatalf("step %d: claim by %s = %s, want %s", i, st.owner, got[0], st.want)
					}
				case "done":
					if err := s.Settle(ctx, []dedupe.Claim{claim(st.owner)}, nil); err != nil {
						t.Fatal(err)
					}
				case "release":
					if err := s.Release(ctx, []dedupe.Claim{claim(st.owner)}); err != nil {
						t.Fatal(err)
					}
				case "age":
					// Most of the lease passes (set by hand: miniredis
					// has no clock of its own).
					if err := r.Client.PExpire(ctx, key, lease/10).Err(); err != nil {
						t.Fatal(err)
					}
				case "leased":
					left, err := r.Client.PTTL(ctx, key).Result()
					if err != nil {
						t.Fatal(err)
					}
					if left <= lease/2 || left > lease {
						t.Fatalf("step %d: the claim has %v left, want the lease %v renewed", i, left, lease)
					}
					continue
				case "expire-lease", "expire-ttl":
					d := lease
					if st.op == "expire-ttl" {
						d = ttl
					}
					expire(t, r, d, func() error {
						got, err := s.Claim(ctx, []dedupe.Claim{claim(st.owner)})
						if err != nil {
							return err
						}
						if got[0] != st.want {
							return fmt.Errorf("claim by %s = %s, want %s", st.owner, got[0], st.want)
						}
						return nil
					})
				}
				if st.marker == "" && st.op != "release" {
					continue
				}
				v, err := r.Client.Get(ctx, key).Result()
				if errors.Is(err, redis.Nil) {
					v, err = "", nil
				}
				if err != nil {
					t.Fatal(err)
				}
				if v != st.marker {
					t.Fatalf("step %d (%s): marker %q, want %q", i, st.op, v, st.marker)
				}
			}
		})
	}
}

// Two stores on one registry share their series; a registry that holds
// another metric under the store's name is a configuration error.
func TestStoreMetricsRegistration(t *testing.T) {
	t.Parallel()
	rc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rc.Close()
	reg := prometheus.NewRegistry()
	for range 2 {
		if _, err := dedupe.New(rc, dedupe.Registerer(reg)); err != nil {
			t.Fatalf("second store on one registry: %v", err)
		}
	}
	clash := prometheus.NewRegistry()
	clash.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_dedupe_records_total", Help: "not the store's"}))
	_, err := dedupe.New(rc, dedupe.Registerer(clash))
	if !errors.Is(err, dedupe.ErrConfig) || !strings.Contains(err.Error(), "sluice_dedupe_records_total") {
		t.Fatalf("conflicting metric: got %v, want ErrConfig naming the metric", err)
	}
}

func TestStoreExpiries(t *testing.T) {
	t.Parallel()
	r := testkit.NewRedis(t)
	s, err := dedupe.New(r.Client, dedupe.Prefix(r.Prefix), dedupe.Lease(time.Minute), dedupe.TTL(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t, 30*time.Second)
	c := dedupe.Claim{Stage: "s", Tenant: "acme", EventID: "e", Owner: "in/0/1"}
	key := s.Key(c.Stage, c.Tenant, c.EventID)
	if _, err := s.Claim(ctx, []dedupe.Claim{c}); err != nil {
		t.Fatal(err)
	}
	if ttl := r.Client.PTTL(ctx, key).Val(); ttl <= 30*time.Second || ttl > time.Minute {
		t.Errorf("pending marker expires in %v, want the lease (1m)", ttl)
	}
	if err := s.Settle(ctx, []dedupe.Claim{c}, nil); err != nil {
		t.Fatal(err)
	}
	if ttl := r.Client.PTTL(ctx, key).Val(); ttl <= 30*time.Minute || ttl > time.Hour {
		t.Errorf("done marker expires in %v, want the TTL (1h)", ttl)
	}
}

func TestStoreKeysAreScoped(t *testing.T) {
	t.Parallel()
	r := testkit.NewRedis(t)
	s, err := dedupe.New(r.Client, dedupe.Prefix(r.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Key("transform", "acme", "evt:1"), r.Prefix+"dedupe:transform:acme:evt:1"; got != want {
		t.Errorf("key %q, want %q", got, want)
	}
	ctx := testkit.Context(t, 30*time.Second)
	first := []dedupe.Claim{{Stage: "transform", Tenant: "acme", EventID: "e-1", Owner: "a"}}
	if _, err := s.Claim(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.Settle(ctx, first, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Claim(ctx, []dedupe.Claim{
		{Stage: "transform", Tenant: "acme", EventID: "e-1", Owner: "b"},
		{Stage: "transform", Tenant: "globex", EventID: "e-1", Owner: "b"},
		{Stage: "deliver.crm", Tenant: "acme", EventID: "e-1", Owner: "b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []dedupe.Status{dedupe.Duplicate, dedupe.Claimed, dedupe.Claimed}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("claim %d = %s, want %s (events are per tenant and stage)", i, got[i], want[i])
		}
	}
}

// recorder is a go-redis hook that records what reaches the server: one
// entry per round trip, holding its commands.
type recorder struct {
	mu    sync.Mutex
	trips [][]redis.Cmder
}

func (h *recorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *recorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.trips = append(h.trips, []redis.Cmder{cmd})
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		h.trips = append(h.trips, cmds)
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (h *recorder) reset() [][]redis.Cmder {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.trips
	h.trips = nil
	return t
}

// TestClusterSafeBatches checks the layout that lets a batch's pipelines
// run on Redis Cluster: one round trip to claim a batch and one to settle
// it, every command naming exactly one key, keys spread over many slots
// (no hash tag gathers them), and the whole thing working through a
// cluster client.
func TestClusterSafeBatches(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	for _, tc := range []struct {
		name   string
		client func() redis.UniversalClient
	}{
		{"single server", func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: m.Addr()}) }},
		{"cluster client", func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{m.Addr()}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client()
			t.Cleanup(func() { _ = c.Close() })
			rec := &recorder{}
			c.AddHook(rec)
			s, err := dedupe.New(c, dedupe.Prefix(testkit.Name(t, "cl")+":"))
			if err != nil {
				t.Fatal(err)
			}
			ctx := testkit.Context(t, 30*time.Second)
			const n = 64
			claims := make([]dedupe.Claim, n)
			for i := range claims {
				claims[i] = dedupe.Claim{Stage: "transform", Tenant: "acme", EventID: fmt.Sprintf("evt-%d", i), Owner: fmt.Sprintf("in/0/%d", i)}
			}
			// Load the scripts first: a fresh server answers NOSCRIPT once.
			if _, err := s.Claim(ctx, claims[:1]); err != nil {
				t.Fatal(err)
			}
			if err := s.Release(ctx, claims[:1]); err != nil {
				t.Fatal(err)
			}
			rec.reset()

			got, err := s.Claim(ctx, claims)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range got {
				if st != dedupe.Claimed {
					t.Fatalf("claim %d = %s", i, st)
				}
			}
			if err := s.Settle(ctx, claims[:n/2], claims[n/2:]); err != nil {
				t.Fatal(err)
			}
			trips := rec.reset()
			// The cluster client asks for the slot map once; that is not a
			// batch's round trip.
			var batchTrips [][]redis.Cmder
			for _, trip := range trips {
				if name := strings.ToLower(fmt.Sprint(trip[0].Args()[0])); name != "cluster" && name != "command" {
					batchTrips = append(batchTrips, trip)
				}
			}
			if len(batchTrips) != 2 {
				t.Fatalf("%d round trips to claim and settle a batch, want 2", len(batchTrips))
			}
			slots := map[uint16]bool{}
			for _, trip := range batchTrips {
				for _, cmd := range trip {
					keys := testkit.RedisKeys(t, cmd)
					if len(keys) != 1 {
						t.Fatalf("%v names %d keys: a pipeline of it is not cluster-safe", cmd.Args(), len(keys))
					}
					slots[testkit.RedisSlot(keys[0])] = true
				}
			}
			if len(slots) < n/2 {
				t.Errorf("a batch's %d keys hash to %d slots: a hash tag gathers them", n, len(slots))
			}
			again, err := s.Claim(ctx, claims)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range again {
				want := dedupe.Duplicate
				if i >= n/2 {
					want = dedupe.Claimed
				}
				if st != want {
					t.Errorf("claim %d after settle = %s, want %s", i, st, want)
				}
			}
		})
	}
}

// TestScriptCacheFlushed checks that the store copes with a server that
// forgot its scripts (a restart, a failover): EVALSHA answers NOSCRIPT and
// the store sends EVAL.
func TestScriptCacheFlushed(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	s, err := dedupe.New(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t, 30*time.Second)
	a := []dedupe.Claim{{Stage: "s", Tenant: "acme", EventID: "e-1", Owner: "a"}}
	b := []dedupe.Claim{{Stage: "s", Tenant: "acme", EventID: "e-1", Owner: "b"}}
	for i, tc := range []struct {
		claims []dedupe.Claim
		want   dedupe.Status
	}{{a, dedupe.Claimed}, {b, dedupe.Busy}} {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		got, err := s.Claim(ctx, tc.claims)
		if err != nil {
			t.Fatalf("claim %d after SCRIPT FLUSH: %v", i, err)
		}
		if got[0] != tc.want {
			t.Errorf("claim %d = %s, want %s", i, got[0], tc.want)
		}
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, a); err != nil {
		t.Fatalf("release after SCRIPT FLUSH: %v", err)
	}
	got, err := s.Claim(ctx, b)
	if err != nil || got[0] != dedupe.Claimed {
		t.Errorf("after release, claim = %v, %v; want claimed", got, err)
	}
}

func TestStoreUnavailable(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	s, err := dedupe.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	ctx := testkit.Context(t, 30*time.Second)
	claims := []dedupe.Claim{{Stage: "s", Tenant: "acme", EventID: "e-1", Owner: "a"}}
	if _, err := s.Claim(ctx, claims); !errors.Is(err, dedupe.ErrUnavailable) {
		t.Errorf("claim with Redis down: %v, want ErrUnavailable", err)
	}
	if err := s.Settle(ctx, claims, nil); !errors.Is(err, dedupe.ErrUnavailable) {
		t.Errorf("settle with Redis down: %v, want ErrUnavailable", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	for _, tc := range []struct {
		name string
		c    redis.UniversalClient
		opts []dedupe.Opt
	}{
		{"no client", nil, nil},
		{"zero TTL", c, []dedupe.Opt{dedupe.TTL(0)}},
		{"zero lease", c, []dedupe.Opt{dedupe.Lease(0)}},
		{"lease past the TTL", c, []dedupe.Opt{dedupe.Lease(time.Hour), dedupe.TTL(time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := dedupe.New(tc.c, tc.opts...); !errors.Is(err, dedupe.ErrConfig) {
				t.Errorf("New: %v, want ErrConfig", err)
			}
		})
	}
}

// Each call's Redis work is timed, by operation.
func TestStoreTimesItsRedisWork(t *testing.T) {
	t.Parallel()
	r := testkit.NewRedis(t)
	reg := prometheus.NewRegistry()
	s, err := dedupe.New(r.Client, dedupe.Prefix(r.Prefix), dedupe.Registerer(reg))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t, 30*time.Second)
	claims := make([]dedupe.Claim, 4)
	for i := range claims {
		claims[i] = dedupe.Claim{Stage: "transform", Tenant: "acme", EventID: fmt.Sprintf("e-%d", i), Owner: fmt.Sprintf("in/0/%d", i)}
	}
	for range 2 {
		if _, err := s.Claim(ctx, claims); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Settle(ctx, claims[:2], claims[2:3]); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, claims[3:]); err != nil {
		t.Fatal(err)
	}
	for op, want := range map[string]float64{"claim": 2, "settle": 1, "release": 1} {
		if got := testkit.Metric(t, reg, "sluice_dedupe_seconds", map[string]string{"stage": "transform", "op": op}); got != want {
			t.Errorf("sluice_dedupe_seconds{op=%q}: %v samples, want %v", op, got, want)
		}
	}
}
