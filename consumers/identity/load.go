package identity

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// Load makes the map ready: it creates the identity topic if it is
// missing and, unless Redis already holds the map (the tenant set is
// there), rebuilds it from the topic. Call it at start, before Resolve;
// Ready reports the result.
func (m *Map) Load(ctx context.Context) error {
	if err := m.ensureTopic(ctx); err != nil {
		return err
	}
	if err := m.loadScripts(ctx); err != nil {
		return err
	}
	state, joined, _, _, err := m.joinSet(ctx, m.tenants, joinAdd)
	if err != nil {
		return err
	}
	if state == setGone {
		return m.rebuildOnce(ctx, nil)
	}
	// Redis kept the map. The catalog's tenants new to the set have no
	// binding yet: they are marked loaded too. A tenant of the set is left
	// as it is: if it lost its marker, and with it its map, its first
	// resolve rebuilds the map, as after a failover (setMoved, or a stale
	// marker).
	var fresh []string
	if state == setOK {
		for i, t := range m.tenants {
			if joined[i] {
				fresh = append(fresh, t)
			}
		}
	}
	if len(fresh) > 0 {
		if _, _, err := m.markAll(ctx, fresh, slices.Repeat([]string{markNX}, len(fresh))); err != nil {
			return err
		}
	}
	m.ready.Store(true)
	m.log.Info("identity: the map is in Redis already", zap.String("topic", m.topic))
	return nil
}

// Rebuild reads the identity topic from its start to its end and writes
// every binding to Redis, then marks the map loaded. Bindings that Redis
// holds and the topic does not (pending ones of transactions in flight)
// are left as they are.
func (m *Map) Rebuild(ctx context.Context) error { return m.rebuildOnce(ctx, nil) }

// rebuildOnce rebuilds, sharing one rebuild between the callers of this
// process that ask at the same time.
func (m *Map) rebuildOnce(ctx context.Context, tenants []string) error {
	ch := m.sf.DoChan("rebuild", func() (any, error) {
		return nil, m.rebuild(context.WithoutCancel(ctx), tenants)
	})
	select {
	case <-ctx.Done():
		return ctx.Err()
	case r := <-ch:
		return r.Err
	}
}

func (m *Map) ensureTopic(ctx context.Context) error {
	cl, err := kafka.NewClient(m.kc, "identity-admin", m.log, nil, m.kafkaOpts...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer cl.Close()
	if err := kafka.EnsureTopics(ctx, kadm.NewClient(cl), m.TopicSpec()); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

func (m *Map) rebuild(ctx context.Context, extra []string) error {
	ctx, cancel := context.WithTimeout(ctx, m.loadTimeout)
	defer cancel()
	began := time.Now()
	if err := m.ensureTopic(ctx); err != nil {
		return err
	}
	cl, err := kafka.NewClient(m.kc, "identity-loader", m.log, nil, append([]kgo.Opt{
		kgo.ConsumeTopics(m.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Committed bindings only; reading up to the end offset waits for
		// transactions open on the topic to end, so none that committed
		// before the rebuild began is missed.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	}, m.kafkaOpts...)...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, starts, err := m.offsets(ctx, adm)
	if err != nil {
		return err
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := starts.Lookup(o.Topic, o.Partition); ok && s.Offset < o.Offset {
			want[o.Partition] = o.Offset
		}
	})

	w := &writer{m: m, ctx: ctx, tenants: map[string]bool{}}
	var bad int
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: reading %s: %w (partitions left: %d)", ErrUnavailable, m.topic, err, len(want))
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if ferr == nil && !errors.Is(err, context.Canceled) {
				ferr = err
			}
		})
		if ferr != nil {
			return fmt.Errorf("%w: reading %s: %w", ErrUnavailable, m.topic, ferr)
		}
		var werr error
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := want[r.Partition]; ok && r.Offset >= end-1 {
				delete(want, r.Partition)
			}
			if r.Attrs.IsControl() || werr != nil {
				return
			}
			b, deleted, err := ParseBinding(r.Key, r.Value)
			if err != nil {
				bad++
				return
			}
			werr = w.add(b, deleted)
		})
		if werr == nil {
			werr = w.flush()
		}
		if werr != nil {
			return fmt.Errorf("%w: writing the map to Redis: %w", ErrUnavailable, werr)
		}
	}
	for _, t := range slices.Concat(m.tenants, extra) {
		w.tenants[t] = true
	}
	marked, err := m.enlist(ctx, slices.Sorted(maps.Keys(w.tenants)))
	if err != nil {
		return err
	}
	if _, _, err := m.markAll(ctx, marked, slices.Repeat([]string{markSet}, len(marked))); err != nil {
		return err
	}
	if err := m.loadScripts(ctx); err != nil {
		return err
	}
	m.cache.purge() // the map is now the topic's; only what Redis holds will be remembered
	m.ready.Store(true)
	m.rebuilds.Add(1)
	m.loaded.Store(w.records)
	m.metrics.rebuilds.Inc()
	m.metrics.loaded.Set(float64(w.records))
	if bad > 0 {
		m.log.Warn("identity: records of the topic could not be read and were skipped", zap.String("topic", m.topic), zap.Int("records", bad))
	}
	m.log.Info("identity: map rebuilt from the topic", zap.String("topic", m.topic),
		zap.Int64("records", w.records), zap.Int("tenants", len(w.tenants)), zap.Duration("took", time.Since(began)))
	return nil
}

// enlist adds tenants to the tenant set, before a rebuild marks them
// loaded, and returns every tenant of the set: the map in Redis is the
// topic's now, so each is loaded. A set that is gone (Redis lost the map:
// a flush, or the set's node lost its data), or that another node made (a
// failover, which may have lost its last members), is made anew, with
// the tenants whose loaded marker Redis holds besides, so that a tenant
// loaded before and not in the topic yet (its bindings were all pending
// when the rebuild read the topic) stays in the set.
func (m *Map) enlist(ctx context.Context, tenants []string) ([]string, error) {
	state, _, all, _, err := m.joinSet(ctx, tenants, joinList)
	if err != nil || state == setOK {
		return all, err
	}
	marked, err := m.markedTenants(ctx)
	if err != nil {
		return nil, err
	}
	tenants = slices.Compact(slices.Sorted(slices.Values(slices.Concat(tenants, marked))))
	if _, _, all, _, err = m.joinSet(ctx, tenants, joinCreate); err != nil {
		return nil, err
	}
	return all, nil
}

// markedTenants returns the tenants whose loaded marker Redis holds,
// found with SCAN on every master of a Redis Cluster: it reads every key
// of Redis, so only a rebuild that found the tenant set gone does.
func (m *Map) markedTenants(ctx context.Context) ([]string, error) {
	head, tail := m.prefix+"identity:{", "}:loaded:"+keyFormat
	pattern := globQuote(head) + "*" + globQuote(tail)
	var mu sync.Mutex
	var out []string
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			k := iter.Val()
			if len(k) <= len(head)+len(tail) || !strings.HasPrefix(k, head) || !strings.HasSuffix(k, tail) {
				continue
			}
			// The pattern matches other keys too, such as an external id
			// that ends in "}:loaded:2": a tenant holds no '{', '}' or '|'.
			if t := k[len(head) : len(k)-len(tail)]; !hasAnyByte(t, "{}|") {
				mu.Lock()
				out = append(out, t)
				mu.Unlock()
			}
		}
		return iter.Err()
	}
	var err error
	if cc, ok := m.rc.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, m.rc)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: looking for loaded markers: %w", ErrUnavailable, err)
	}
	return out, nil
}

// globQuote quotes the characters of s that a Redis glob pattern reads
// as special.
func globQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(`*?[]\`, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// offsets lists the identity topic's start and end offsets, waiting for a
// topic created a moment ago to show in every broker's metadata. The end
// is the last stable offset, not the high watermark: a rebuild reads what
// committed, and does not wait for transactions still open, the
// transform's own among them (a batch whose tenant must be rebuilt may
// share a transaction with a batch that wrote bindings). A binding of a
// transaction still open is confirmed into Redis once it commits, and
// written again by the next batch that meets it pending meanwhile.
func (m *Map) offsets(ctx context.Context, adm *kadm.Client) (ends, starts kadm.ListedOffsets, err error) {
	wait := 50 * time.Millisecond
	for {
		ends, err = adm.ListCommittedOffsets(ctx, m.topic)
		if err == nil {
			err = ends.Error()
		}
		if err == nil {
			starts, err = adm.ListStartOffsets(ctx, m.topic)
			if err == nil {
				err = starts.Error()
			}
		}
		if err == nil {
			return ends, starts, nil
		}
		if !kerr.IsRetriable(err) && !errors.Is(err, kerr.UnknownTopicOrPartition) {
			return nil, nil, fmt.Errorf("%w: offsets of %s: %w", ErrUnavailable, m.topic, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, fmt.Errorf("%w: offsets of %s: %w (last: %w)", ErrUnavailable, m.topic, ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}

// writer writes bindings to Redis in pipelines of a bounded size.
type writer struct {
	m       *Map
	ctx     context.Context
	ops     []op
	lists   map[string]*listAdds // tenant → members to add with ops
	tenants map[string]bool
	records int64
}

// op is one binding to write, or with del set, to remove.
type op struct {
	key, val string
	del      string
}

// add queues one binding (or its removal). An external id also joins its
// id's list (a removal leaves it there).
func (w *writer) add(b Binding, deleted bool) error {
	w.records++
	w.tenants[b.Tenant] = true
	key := w.m.bindingKey(b)
	if deleted {
		w.ops = append(w.ops, op{del: key})
	} else {
		w.ops = append(w.ops, op{key: key, val: "d:" + b.ID})
		if b.Kind == KindExternal {
			if w.lists == nil {
				w.lists = map[string]*listAdds{}
			}
			l := w.lists[b.Tenant]
			if l == nil {
				l = &listAdds{}
				w.lists[b.Tenant] = l
			}
			l.keys = append(l.keys, w.m.listKeyPrefix(b.Tenant)+b.ID)
			l.members = append(l.members, member(b.System, b.Integration, b.ExternalID))
		}
	}
	if len(w.ops) >= 1000 {
		return w.flush()
	}
	return nil
}

// listAdds are the members a flush adds to a tenant's id lists, one
// script call (its keys share the tenant's slot).
type listAdds struct {
	keys    []string
	members []any
}

// flush writes the queued bindings and adds their members to the id lists
// in one pipeline.
func (w *writer) flush() error {
	if len(w.ops) == 0 {
		return nil
	}
	pipe := w.m.rc.Pipeline()
	for _, o := range w.ops {
		if o.del != "" {
			pipe.Del(w.ctx, o.del)
			continue
		}
		pipe.Set(w.ctx, o.key, o.val, 0)
	}
	adds := make([]*listAdds, 0, len(w.lists))
	for _, l := range w.lists {
		adds = append(adds, l)
	}
	w.ops, w.lists = w.ops[:0], nil
	if len(adds) == 0 {
		w.m.roundTrips.Add(1)
		_, err := pipe.Exec(w.ctx)
		return err
	}
	_, _, err := w.m.evalAll(w.ctx, pipe, w.m.add, len(adds), func(i int) ([]string, []any) {
		return adds[i].keys, adds[i].members
	})
	return err
}

// metrics are the map's Prometheus metrics.
type metrics struct {
	resolutions *prometheus.CounterVec // object, outcome
	conflicts   *prometheus.CounterVec // object
	errors      *prometheus.CounterVec // op
	rebuilds    prometheus.Counter
	cacheHits   prometheus.Counter
	loaded      prometheus.Gauge
	seconds     *prometheus.HistogramVec // op
}

// newMetrics creates the map's metrics, registered with reg unless it is
// nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		resolutions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_identity_resolutions_total",
			Help: "Objects given a canonical id, by object and outcome (known, matched, new).",
		}, []string{"object", "outcome"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_identity_conflicts_total",
			Help: "Objects whose match key was bound to another canonical id (two canonical objects that are one; not merged).",
		}, []string{"object"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_identity_errors_total",
			Help: "Redis failures by operation (resolve, confirm).",
		}, []string{"op"}),
		rebuilds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_identity_rebuilds_total",
			Help: "Rebuilds of the Redis copy of the identity map from the identity topic.",
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_identity_cache_hits_total",
			Help: "Objects resolved from the bindings the map remembers, without reading them from Redis.",
		}),
		loaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_identity_loaded_records",
			Help: "Identity topic records the last rebuild read.",
		}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_identity_seconds",
			Help:    "Time of one call, by operation: resolve (a batch's objects, with a rebuild if one was needed), confirm (after a commit).",
			Buckets: prometheus.ExponentialBuckets(0.00025, 2, 16),
		}, []string{"op"}),
	}
	if reg == nil {
		return m, nil
	}
	if err := errors.Join(
		telemetry.Register(reg, &m.resolutions), telemetry.Register(reg, &m.conflicts),
		telemetry.Register(reg, &m.errors), telemetry.Register(reg, &m.rebuilds),
		telemetry.Register(reg, &m.cacheHits), telemetry.Register(reg, &m.loaded),
		telemetry.Register(reg, &m.seconds),
	); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return m, nil
}
