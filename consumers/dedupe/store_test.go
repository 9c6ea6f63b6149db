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
		// claim (in a new group), commit (the owner's last group,
		// nothing released), release (the owner's last group, or a new
		// one), set (the key to marker by hand), expire-lease,
		// expire-ttl (claim until want).
		op    string
		owner string
		want  dedupe.Status
		// marker is the key's value after the step: "" for absent, an
		// owner's name for that owner's claim in its last group, else
		// the value itself ("p:A", "d:A": an older version's). Checked
		// when set, and always after a release.
		marker string
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"absent is claimed", []step{{op: "claim", owner: "A", want: dedupe.Claimed, marker: "A"}}},
		{"own claim again takes it into the new group", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "claim", owner: "A", want: dedupe.Claimed, marker: "A"},
		}},
		{"another's claim is busy", []step{{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "claim", owner: "B", want: dedupe.Busy, marker: "A"}}},
		{"committed is a duplicate for everyone", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "commit", owner: "A", marker: "A"},
			{op: "claim", owner: "B", want: dedupe.Duplicate}, {op: "claim", owner: "A", want: dedupe.Duplicate}, {op: "claim", owner: "B", want: dedupe.Duplicate, marker: "A"},
		}},
		{"released is free", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "release", owner: "A", marker: ""},
			{op: "claim", owner: "B", want: dedupe.Claimed, marker: "B"},
		}},
		{"freed by its group's commit is free to its owner", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "commit-released", owner: "A", marker: "A"},
			{op: "claim", owner: "A", want: dedupe.Claimed, marker: "A"},
		}},
		{"freed by its group's commit is free to another", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "commit-released", owner: "A"},
			{op: "claim", owner: "B", want: dedupe.Claimed, marker: "B"}, {op: "claim", owner: "A", want: dedupe.Busy},
		}},
		{"release by another owner does nothing", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "release", owner: "B", marker: "A"},
			{op: "claim", owner: "B", want: dedupe.Busy},
		}},
		{"release by another group of the owner does nothing", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "release-other", owner: "A", marker: "A"},
			{op: "claim", owner: "B", want: dedupe.Busy},
		}},
		{"a lease ends", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "expire-lease", owner: "B", want: dedupe.Claimed, marker: "B"},
		}},
		{"a committed claim outlives the lease", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "commit", owner: "A"},
			{op: "wait-lease"}, {op: "claim", owner: "B", want: dedupe.Duplicate, marker: "A"},
		}},
		{"done ends after the TTL", []step{
			{op: "claim", owner: "A", want: dedupe.Claimed}, {op: "commit", owner: "A"},
			{op: "expire-ttl", owner: "B", want: dedupe.Claimed, marker: "B"},
		}},
		{"an older version's done", []step{
			{op: "set", marker: "d:A"}, {op: "claim", owner: "B", want: dedupe.Duplicate},
			{op: "claim", owner: "A", want: dedupe.Duplicate, marker: "d:A"},
		}},
		{"an older version's pending", []step{
			{op: "set", marker: "p:A"}, {op: "claim", owner: "B", want: dedupe.Busy, marker: "p:A"},
			{op: "claim", owner: "A", want: dedupe.Claimed, marker: "A"},
		}},
		{"a value no store wrote", []step{
			{op: "set", marker: "x"}, {op: "claim", owner: "A", want: dedupe.Busy, marker: "x"},
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
			groups := map[string]dedupe.Group{}
			claimIn := func(owner string) (dedupe.Status, error) {
				g := dedupe.NewGroup()
				got, err := s.Claim(ctx, g, []dedupe.Claim{claim(owner)})
				if err != nil {
					return 0, err
				}
				if got[0] == dedupe.Claimed {
					groups[owner] = g
				}
				return got[0], nil
			}
			for i, st := range tc.steps {
				switch st.op {
				case "claim":
					got, err := claimIn(st.owner)
					if err != nil {
						t.Fatal(err)
					}
					if got != st.want {
						t.Fatalf("step %d: claim by %s = %s, want %s", i, st.owner, got, st.want)
					}
				case "commit", "commit-released":
					var release []dedupe.Claim
					if st.op == "commit-released" {
						release = []dedupe.Claim{claim(st.owner)}
					}
					if err := s.Settle(ctx, groups[st.owner], "transform", release); err != nil {
						t.Fatal(err)
					}
				case "release", "release-other":
					g, ok := groups[st.owner]
					if !ok || st.op == "release-other" {
						g = dedupe.NewGroup()
					}
					if err := s.Release(ctx, g, []dedupe.Claim{claim(st.owner)}); err != nil {
						t.Fatal(err)
					}
				case "set":
					if err := r.Client.Set(ctx, key, st.marker, ttl).Err(); err != nil {
						t.Fatal(err)
					}
				case "wait-lease":
					time.Sleep(lease + lease/2)
				case "expire-lease", "expire-ttl":
					d := lease
					if st.op == "expire-ttl" {
						d = ttl
					}
					expire(t, r, d, func() error {
						got, err := claimIn(st.owner)
						if err != nil {
							return err
						}
						if got != st.want {
							return fmt.Errorf("claim by %s = %s, want %s", st.owner, got, st.want)
						}
						return nil
					})
				}
				if st.marker == "" && !strings.HasPrefix(st.op, "release") {
					continue
				}
				v, err := r.Client.Get(ctx, key).Result()
				if errors.Is(err, redis.Nil) {
					v, err = "", nil
				}
				if err != nil {
					t.Fatal(err)
				}
				want := st.marker
				if g, ok := groups[want]; ok {
					want = "g:" + string(g) + ":" + st.marker
				}
				if v != want {
					t.Fatalf("step %d (%s): marker %q, want %q", i, st.op, v, want)
				}
			}
		})
	}
}

// TestTakenBetweenReadAndTake is the race between two copies that read
// the same free claim (here freed by its group's commit): the first to
// take it processes the event, and the other must answer busy, not
// claimed, or both would.
func TestTakenBetweenReadAndTake(t *testing.T) {
	t.Parallel()
	r := testkit.NewRedis(t)
	s, err := dedupe.New(r.Client, dedupe.Prefix(r.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t, 30*time.Second)
	claim := func(owner string) []dedupe.Claim {
		return []dedupe.Claim{{Stage: "transform", Tenant: "acme", EventID: "e-1", Owner: owner}}
	}
	ga := dedupe.NewGroup()
	if got, err := s.Claim(ctx, ga, claim("in/0/1")); err != nil || got[0] != dedupe.Claimed {
		t.Fatalf("first claim = %v, %v", got, err)
	}
	if err := s.Settle(ctx, ga, "transform", claim("in/0/1")); err != nil {
		t.Fatal(err)
	}
	// The hook has another copy claim the event just before this one's
	// take is sent.
	var once sync.Once
	var other []dedupe.Status
	r.Client.AddHook(&beforeTake{fn: func() {
		once.Do(func() {
			var err error
			if other, err = s.Claim(context.WithoutCancel(ctx), dedupe.NewGroup(), claim("in/1/7")); err != nil {
				t.Error(err)
			}
		})
	}})
	got, err := s.Claim(ctx, dedupe.NewGroup(), claim("in/0/2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(other) != 1 || other[0] != dedupe.Claimed {
		t.Fatalf("the other copy's claim = %v, want claimed", other)
	}
	if got[0] != dedupe.Busy {
		t.Fatalf("claim = %s, want busy: another copy took the event first", got[0])
	}
}

// beforeTake is a go-redis hook that calls fn before a pipeline of
// scripts (EVALSHA), when fn is not running already.
type beforeTake struct {
	fn      func()
	running atomic.Bool
}

func (h *beforeTake) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *beforeTake) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *beforeTake) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && cmds[0].Name() == "evalsha" && h.running.CompareAndSwap(false, true) {
			h.fn()
		}
		return next(ctx, cmds)
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
	g := dedupe.NewGroup()
	if _, err := s.Claim(ctx, g, []dedupe.Claim{c}); err != nil {
		t.Fatal(err)
	}
	// A claim lasts the TTL: it is the done marker once its group
	// committed.
	if ttl := r.Client.PTTL(ctx, key).Val(); ttl <= 30*time.Minute || ttl > time.Hour {
		t.Errorf("marker expires in %v, want the TTL (1h)", ttl)
	}
	if err := s.Settle(ctx, g, c.Stage, nil); err != nil {
		t.Fatal(err)
	}
	if ttl := r.Client.PTTL(ctx, s.CommitKey(g)).Val(); ttl <= 30*time.Minute || ttl > time.Hour {
		t.Errorf("commit key expires in %v, want the TTL (1h)", ttl)
	}
	if got, want := s.CommitKey(g), r.Prefix+"dedupe-commit:"+string(g); got != want {
		t.Errorf("commit key %q, want %q", got, want)
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
	g := dedupe.NewGroup()
	if _, err := s.Claim(ctx, g, first); err != nil {
		t.Fatal(err)
	}
	if err := s.Settle(ctx, g, "transform", nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Claim(ctx, dedupe.NewGroup(), []dedupe.Claim{
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
// run on Redis Cluster: one round trip to claim a batch of new events,
// one to settle it, three to claim events found claimed (some done, some
// freed); every command naming exactly one key, keys spread over many
// slots (no hash tag gathers them), and the whole thing working through a
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
			g0 := dedupe.NewGroup()
			for range 2 {
				if _, err := s.Claim(ctx, dedupe.NewGroup(), claims[:1]); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Release(ctx, g0, claims[:1]); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Claim(ctx, g0, claims[:1]); err != nil {
				t.Fatal(err)
			}
			if err := s.Release(ctx, g0, claims[:1]); err != nil {
				t.Fatal(err)
			}
			rec.reset()

			// trips returns the round trips since the last call, but the
			// connections' handshakes and the cluster client's questions
			// for the slot map, and checks that every command names one
			// key.
			slots := map[uint16]bool{}
			trips := func() int {
				n := 0
				for _, trip := range rec.reset() {
					if name := strings.ToLower(fmt.Sprint(trip[0].Args()[0])); name == "cluster" || name == "command" || name == "hello" || name == "client" {
						continue
					}
					n++
					for _, cmd := range trip {
						keys := testkit.RedisKeys(t, cmd)
						if len(keys) != 1 {
							t.Fatalf("%v names %d keys: a pipeline of it is not cluster-safe", cmd.Args(), len(keys))
						}
						slots[testkit.RedisSlot(keys[0])] = true
					}
				}
				return n
			}
			g := dedupe.NewGroup()
			got, err := s.Claim(ctx, g, claims)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range got {
				if st != dedupe.Claimed {
					t.Fatalf("claim %d = %s", i, st)
				}
			}
			if n := trips(); n != 1 {
				t.Errorf("%d round trips to claim a batch of new events, want 1", n)
			}
			if err := s.Settle(ctx, g, "transform", claims[n/2:]); err != nil {
				t.Fatal(err)
			}
			if n := trips(); n != 1 {
				t.Errorf("%d round trips to settle a batch with records to release, want 1", n)
			}
			if len(slots) < n/2 {
				t.Errorf("a batch's %d keys hash to %d slots: a hash tag gathers them", n, len(slots))
			}
			again, err := s.Claim(ctx, dedupe.NewGroup(), claims)
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
			if n := trips(); n != 3 {
				t.Errorf("%d round trips to claim a batch of which some were claimed before, want 3", n)
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
	var ga dedupe.Group
	// The second claim by a takes its own claim over with a script.
	for i, tc := range []struct {
		claims []dedupe.Claim
		want   dedupe.Status
	}{{a, dedupe.Claimed}, {a, dedupe.Claimed}, {b, dedupe.Busy}} {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		g := dedupe.NewGroup()
		got, err := s.Claim(ctx, g, tc.claims)
		if err != nil {
			t.Fatalf("claim %d after SCRIPT FLUSH: %v", i, err)
		}
		if got[0] != tc.want {
			t.Errorf("claim %d = %s, want %s", i, got[0], tc.want)
		}
		if got[0] == dedupe.Claimed {
			ga = g
		}
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, ga, a); err != nil {
		t.Fatalf("release after SCRIPT FLUSH: %v", err)
	}
	got, err := s.Claim(ctx, dedupe.NewGroup(), b)
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
	g := dedupe.NewGroup()
	if _, err := s.Claim(ctx, g, claims); !errors.Is(err, dedupe.ErrUnavailable) {
		t.Errorf("claim with Redis down: %v, want ErrUnavailable", err)
	}
	if err := s.Settle(ctx, g, "s", claims); !errors.Is(err, dedupe.ErrUnavailable) {
		t.Errorf("settle with Redis down: %v, want ErrUnavailable", err)
	}
	if err := s.Settle(ctx, g, "s", nil); !errors.Is(err, dedupe.ErrUnavailable) {
		t.Errorf("settle with nothing to release, Redis down: %v, want ErrUnavailable", err)
	}
	if err := s.Release(ctx, g, claims); !errors.Is(err, dedupe.ErrUnavailable) {
		t.Errorf("release with Redis down: %v, want ErrUnavailable", err)
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
	g := dedupe.NewGroup()
	for range 2 {
		if _, err := s.Claim(ctx, g, claims); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Settle(ctx, g, "transform", claims[2:3]); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, g, claims[3:]); err != nil {
		t.Fatal(err)
	}
	for op, want := range map[string]float64{"claim": 2, "settle": 1, "release": 1} {
		if got := testkit.Metric(t, reg, "sluice_dedupe_seconds", map[string]string{"stage": "transform", "op": op}); got != want {
			t.Errorf("sluice_dedupe_seconds{op=%q}: %v samples, want %v", op, got, want)
		}
	}
}
