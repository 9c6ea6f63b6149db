// Package tenant resolves tenants and computes the Kafka record keys that
// keep each tenant's events in order.
//
// A tenant's events share one key, its partition key, so they land on one
// partition in order. A tenant marked hot spreads over N sub-keys
// "<key>#<n>", n chosen by a hash of the entity id: one entity's events
// still share a key and stay in order, the tenant as a whole no longer
// does, and its load spreads over up to N partitions.
package tenant

import (
	"errors"
	"hash/fnv"
	"strconv"

	"github.com/sluicehq/sluice/internal/config"
)

// ErrUnknown is returned for a tenant that is not in the catalog.
var ErrUnknown = errors.New("tenant: unknown tenant")

// ErrDisabled is returned for a tenant that is turned off.
var ErrDisabled = errors.New("tenant: tenant is disabled")

// Directory answers questions about the catalog's tenants. It is safe for
// concurrent use; it never changes after New.
type Directory struct {
	byID map[string]*config.Tenant
}

// New returns the directory of the catalog's tenants.
func New(c *config.Catalog) *Directory {
	d := &Directory{byID: make(map[string]*config.Tenant, len(c.Tenants))}
	for i := range c.Tenants {
		d.byID[c.Tenants[i].ID] = &c.Tenants[i]
	}
	return d
}

// Resolve returns the enabled tenant with id.
func (d *Directory) Resolve(id string) (*config.Tenant, error) {
	t, ok := d.byID[id]
	if !ok {
		return nil, ErrUnknown
	}
	if !t.IsEnabled() {
		return nil, ErrDisabled
	}
	return t, nil
}

// Key returns the record key for an event of tenant t about entity.
func Key(t *config.Tenant, entity string) []byte {
	k := t.Key()
	if t.HotSubKeys <= 1 {
		return []byte(k)
	}
	h := fnv.New32a()
	h.Write([]byte(entity))
	n := h.Sum32() % uint32(t.HotSubKeys)
	return []byte(k + "#" + strconv.FormatUint(uint64(n), 10))
}
