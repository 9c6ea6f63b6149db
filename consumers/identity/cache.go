package identity

import (
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultCacheSize is how many durable bindings a Map keeps in memory
// unless CacheSize says otherwise: some 25 MB.
const DefaultCacheSize = 100_000

// cache is a map's memory of durable bindings: a binding's Redis key →
// its canonical id, least recently used first out. It holds only what
// Redis said was durable (read as "d:<id>", or made so by Confirm), and
// a durable binding never changes: the identity topic holds it, and a
// key once bound is never bound again (see the package doc for the one
// race, around a flush, where that fails). So the cache needs no
// invalidation; a rebuild clears it all the same. A nil cache holds
// nothing.
type cache struct {
	lru     *lru.Cache[string, string]
	hits    atomic.Int64
	counted prometheus.Counter // the hits, as a metric
}

// newCache returns a cache of size bindings, counting its hits in hits;
// nil when size is 0.
func newCache(size int, hits prometheus.Counter) (*cache, error) {
	if size == 0 {
		return nil, nil
	}
	l, err := lru.New[string, string](size)
	if err != nil {
		return nil, err
	}
	return &cache{lru: l, counted: hits}, nil
}

// id returns the id every key of p is durably bound to, if the cache
// holds them all and they agree.
func (c *cache) id(p *planned) (string, bool) {
	if c == nil {
		return "", false
	}
	var id string
	for j, k := range p.keys() {
		v, ok := c.lru.Get(k)
		if !ok || (j > 0 && v != id) {
			return "", false
		}
		id = v
	}
	c.hits.Add(1)
	c.counted.Inc()
	return id, true
}

// add remembers that keys are durably bound to id.
func (c *cache) add(id string, keys ...string) {
	if c == nil {
		return
	}
	for _, k := range keys {
		c.lru.Add(k, id)
	}
}

// purge forgets every binding.
func (c *cache) purge() {
	if c != nil {
		c.lru.Purge()
	}
}

// hitCount returns how many subjects were resolved from the cache.
func (c *cache) hitCount() int64 {
	if c == nil {
		return 0
	}
	return c.hits.Load()
}
