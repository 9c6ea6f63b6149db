package deliver

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/testkit"
)

// pipelines counts the pipelines a Redis client sends.
type pipelines struct{ n atomic.Int64 }

func (p *pipelines) DialHook(next redis.DialHook) redis.DialHook { return next }
func (p *pipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		p.n.Add(1)
		return next(ctx, cmd)
	}
}
func (p *pipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		p.n.Add(1)
		return next(ctx, cmds)
	}
}

// present counts the keys that exist, a command per key (a Redis
// Cluster refuses one EXISTS of keys in several slots).
func present(ctx context.Context, rc redis.UniversalClient, keys []string) (int, error) {
	pipe := rc.Pipeline()
	cmds := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Exists(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cmds {
		n += int(c.Val())
	}
	return n, nil
}

func markDestination(t *testing.T, reg prometheus.Registerer) *destination {
	t.Helper()
	m, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	return &destination{cfg: config.Destination{ID: "crm-hook"}, m: m, log: testkit.Logger(t)}
}

// TestMarkersShareWrites: the batches of a destination delivering at once
// share the pipelines of their done-markers, and each batch's wait
// returns once its own markers are in Redis.
func TestMarkersShareWrites(t *testing.T) {
	t.Parallel()
	r := testkit.NewRedis(t)
	var sent pipelines
	r.Client.AddHook(&sent)
	s := &store{rc: r.Client, prefix: r.Prefix, ttl: time.Hour}
	w := newMarkWriter(s, markDestination(t, nil))
	ctx := testkit.Context(t, 10*time.Second)
	key := func(b, i int) string { return s.doneKey("crm-hook", "acme", fmt.Sprintf("evt_%d_%d", b, i)) }

	// Six batches deliver five events each within the linger: one write
	// takes them all (a write per batch would take six; a stalled machine
	// may split them in two or three).
	const batches, each = 6, 5
	ms := make([]*markers, batches)
	for b := range ms {
		ms[b] = w.batch(&batch{})
	}
	for i := range each {
		for b, m := range ms {
			m.add(key(b, i))
		}
	}
	for _, m := range ms {
		m.wait()
	}
	if writes := sent.n.Load(); writes < 1 || writes >= batches {
		t.Errorf("%d writes for the markers of %d batches; want them shared", writes, batches)
	}
	keys := make([]string, 0, batches*each)
	for b := range batches {
		for i := range each {
			keys = append(keys, key(b, i))
		}
	}
	if n, err := present(ctx, r.Client, keys); err != nil || n != len(keys) {
		t.Errorf("%d of %d markers in Redis (%v)", n, len(keys), err)
	}

	// Batches adding and waiting concurrently: each wait returns once the
	// batch's own markers are written.
	var wg sync.WaitGroup
	for b := batches; b < 2*batches; b++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bs := &batch{}
			m := w.batch(bs)
			keys := make([]string, 40)
			for i := range keys {
				keys[i] = key(b, i)
				m.add(keys[i])
			}
			m.wait()
			if n, err := present(ctx, r.Client, keys); err != nil || n != len(keys) {
				t.Errorf("batch %d: %d of %d markers in Redis once wait returned (%v)", b, n, len(keys), err)
			}
			if len(bs.unmarked) != 0 {
				t.Errorf("batch %d: unmarked %v", b, bs.unmarked)
			}
		}()
	}
	wg.Wait()
}

// TestMarkersRefused: when Redis refuses the markers, wait still returns,
// each batch holds its own markers as unmarked (tried again if it
// aborts), and the failures are counted.
func TestMarkersRefused(t *testing.T) {
	t.Parallel()
	rc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rc.Close() })
	reg := prometheus.NewRegistry()
	s := &store{rc: rc, prefix: "sluice:", ttl: time.Hour}
	w := newMarkWriter(s, markDestination(t, reg))
	a, b := &batch{}, &batch{}
	ma, mb := w.batch(a), w.batch(b)
	ma.add("k1")
	mb.add("k2")
	ma.add("k3")
	ma.wait()
	mb.wait()
	if fmt.Sprint(a.unmarked) != "[k1 k3]" || fmt.Sprint(b.unmarked) != "[k2]" {
		t.Errorf("unmarked: %v and %v, want [k1 k3] and [k2]", a.unmarked, b.unmarked)
	}
	if got := testkit.Metric(t, reg, "sluice_deliver_marker_failures_total", map[string]string{"destination": "crm-hook"}); got != 3 {
		t.Errorf("sluice_deliver_marker_failures_total %v, want 3", got)
	}
}
