package identity

import (
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestCacheKnowsOnlyAgreeingKeys: an object is known from the cache only
// when the cache holds every one of its keys, bound to one id; purge
// forgets them all, and a nil cache knows nothing.
func TestCacheKnowsOnlyAgreeingKeys(t *testing.T) {
	t.Parallel()
	c, err := newCache(10, prometheus.NewCounter(prometheus.CounterOpts{Name: "hits"}))
	if err != nil {
		t.Fatal(err)
	}
	both := planned{n: 2, key: [2]string{"ext:1", "email:a"}}
	c.add("con_1", "ext:1")
	if id, ok := c.id(&both); ok {
		t.Fatalf("known as %s with one key of two", id)
	}
	c.add("con_2", "email:a")
	if id, ok := c.id(&both); ok {
		t.Fatalf("known as %s with keys bound to two ids", id)
	}
	c.add("con_1", "email:a")
	if id, ok := c.id(&both); !ok || id != "con_1" {
		t.Fatalf("id %q, %v; want con_1", id, ok)
	}
	c.hit(3)
	if got := c.hitCount(); got != 3 {
		t.Errorf("%d hits counted, want 3", got)
	}
	c.purge()
	if id, ok := c.id(&both); ok {
		t.Errorf("known as %s after a purge", id)
	}
	var none *cache
	none.add("con_1", "ext:1")
	none.hit(1)
	if _, ok := none.id(&both); ok || none.hitCount() != 0 {
		t.Error("a nil cache knows something")
	}
}

// BenchmarkCacheParallel reads a full cache of DefaultCacheSize
// bindings from every core at once, as the transform stage resolves the
// batches of several partitions together: one op is one object of two
// keys (a contact's external id and e-mail address). The baseline reads
// the same bindings from a plain map under a read lock, which bounds
// nothing and evicts nothing.
func BenchmarkCacheParallel(b *testing.B) {
	c, err := newCache(DefaultCacheSize, prometheus.NewCounter(prometheus.CounterOpts{Name: "hits"}))
	if err != nil {
		b.Fatal(err)
	}
	plain := make(map[string]string, DefaultCacheSize)
	var mu sync.RWMutex
	plans := make([]planned, DefaultCacheSize/2)
	for i := range plans {
		p := &plans[i]
		p.n = 2
		p.key[0] = fmt.Sprintf("sluice:id:tenant-%02d|contact|x|crm|crm-eu|%d", i%48, i)
		p.key[1] = fmt.Sprintf("sluice:id:tenant-%02d|contact|e|%064x", i%48, i)
		id := fmt.Sprintf("con_%026d", i)
		c.add(id, p.keys()...)
		for _, k := range p.keys() {
			plain[k] = id
		}
	}
	run := func(b *testing.B, known func(p *planned) bool) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i = (i + 7919) % len(plans)
				if !known(&plans[i]) {
					b.Fatal("a binding added is not there")
				}
			}
		})
	}
	b.Run("baseline-rwmutex-map", func(b *testing.B) {
		run(b, func(p *planned) bool {
			mu.RLock()
			defer mu.RUnlock()
			id, ok := plain[p.key[0]]
			return ok && plain[p.key[1]] == id
		})
	})
	b.Run("cache", func(b *testing.B) {
		run(b, func(p *planned) bool {
			_, ok := c.id(p)
			return ok
		})
	})
}
