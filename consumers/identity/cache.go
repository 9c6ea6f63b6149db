package identity

import (
	"sync/atomic"

	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultCacheSize is how many durable bindings a Map keeps in memory
// unless CacheSize says otherwise: some 25 MB.
const DefaultCacheSize = 100_000

// cache is a map's memory of durable bindings: a binding's Redis key →
// its canonical id, bounded in size (otter's W-TinyLFU policy keeps the
// bindings read most, recently, and drops the rest). It holds only what
// Redis said was durable (read as "d:<id>", or made so by Confirm), and
// a durable binding never changes: the identity topic holds it, and a
// key once bound is never bound again (see the package doc for the one
// race, around a flush, where that fails). So the cache needs no
// invalidation; a rebuild clears it all the same. A nil cache holds
// nothing.
//
// Every object of every batch is looked up here, from the batches of
// all partitions at once, so its reads take no lock: a cache that locks
// on every read (to reorder an LRU list) took twice the CPU per read with
// two batches resolving at once (BenchmarkCacheParallel).
type cache struct {
	bindings *otter.Cache[string, string]
	hits     atomic.Int64
	counted  prometheus.Counter // the hits, as a metric
}

// newCache returns a cache of size (at least 0) bindings, counting its
// hits in hits; nil when size is 0.
func newCache(size int, hits prometheus.Counter) (*cache, error) {
	if size == 0 {
		return nil, nil
	}
	c, err := otter.New(&otter.Options[string, string]{MaximumSize: size})
	if err != nil {
		return nil, err
	}
	return &cache{bindings: c, counted: hits}, nil
}

// id returns the id every key of p is durably bound to, if the cache
// holds them all and they agree. It does not count the hit (see hit).
func (c *cache) id(p *planned) (string, bool) {
	if c == nil {
		return "", false
	}
	var id string
	for j, k := range p.keys() {
		v, ok := c.bindings.GetIfPresent(k)
		if !ok || (j > 0 && v != id) {
			return "", false
		}
		id = v
	}
	return id, true
}

// hit counts n subjects resolved from the cache: once per Resolve, not
// per subject, as the counters are shared by every goroutine.
func (c *cache) hit(n int) {
	if c == nil || n == 0 {
		return
	}
	c.hits.Add(int64(n))
	c.counted.Add(float64(n))
}

// add remembers that keys are durably bound to id.
func (c *cache) add(id string, keys ...string) {
	if c == nil {
		return
	}
	for _, k := range keys {
		c.bindings.Set(k, id)
	}
}

// purge forgets every binding.
func (c *cache) purge() {
	if c != nil {
		c.bindings.InvalidateAll()
	}
}

// hitCount returns how many subjects were resolved from the cache.
func (c *cache) hitCount() int64 {
	if c == nil {
		return 0
	}
	return c.hits.Load()
}
