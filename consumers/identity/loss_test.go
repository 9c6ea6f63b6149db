package identity_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/internal/redisconn"
	"github.com/sluicehq/sluice/internal/testkit"
)

// lose deletes the keys of tenant's map and nothing else, as Redis loses
// them when the tenant's node of a Redis Cluster restarts without
// persistence, is flushed alone or is replaced: the tenant set, in
// another slot, stays. On one server it is a selective deletion.
func lose(t *testing.T, e *env, tenant string) {
	t.Helper()
	ctx := testkit.Context(t, 30*time.Second)
	keys := e.r.Keys(t, e.r.Prefix+"identity:{"+tenant+"}:*")
	if len(keys) == 0 {
		t.Fatalf("no keys of %s to lose", tenant)
	}
	for _, k := range keys {
		if err := e.r.Client.Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.r.Client.Exists(ctx, e.r.Prefix+"identity:tenants:2").Val(); n != 1 {
		t.Fatalf("the tenant set went with %s's keys", tenant)
	}
}

// TestTenantLossRebuildsItsMap loses the map of one tenant, whose
// customer was first seen in the CRM without an e-mail (so its id comes
// from the CRM's key) and was then matched by e-mail from the support
// desk. The tenant is in the tenant set, so the map is rebuilt from the
// topic before anything resolves, both by the instance that was running
// and by one started after the loss (which must not take the catalog's
// tenant for new at Load): the desk's contact keeps the CRM's id with
// both external ids, and a new system's contact of that e-mail is matched
// to it. Taken for a new tenant, the desk's contact would get the id its
// e-mail gives: the customer split in two.
func TestTenantLossRebuildsItsMap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.open(t)
	ctx := testkit.Context(t, time.Minute)
	crm := contact("crm", "c-42", "")
	first := resolve(t, m, crm)[0]
	e.commit(t, m, first)
	crm.Email = "ada@example.com"
	desk := contact("desk", "u-7", "ada@example.com")
	stitched := resolve(t, m, crm, desk)
	if stitched[1].ID != first.ID || stitched[1].Outcome != identity.Matched {
		t.Fatalf("before the loss: %+v; want matched to %s", stitched[1], first.ID)
	}
	e.commit(t, m, stitched...)

	for _, restart := range []bool{false, true} {
		lose(t, e, "acme")
		after := m
		if restart {
			after = e.open(t)
		}
		rebuilds := after.Stats().Rebuilds
		shop := contact("shop", fmt.Sprint("s-", restart), "ADA@example.com")
		res, err := after.Resolve(ctx, []identity.Subject{desk, shop, contact("crm", "c-42", "")})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Rebuilt || after.Stats().Rebuilds != rebuilds+1 {
			t.Errorf("restart %v: rebuilt %v, %d rebuilds after %d; want the one rebuild", restart, res.Rebuilt, after.Stats().Rebuilds, rebuilds)
		}
		got := res.Resolutions
		if r := got[0]; r.ID != first.ID || r.Outcome != identity.Known || r.Conflict || ext(r) != "crm:c-42,desk:u-7" {
			t.Errorf("restart %v: the desk's contact %+v (%s); want known as %s with crm:c-42,desk:u-7", restart, r, ext(r), first.ID)
		}
		if r := got[1]; r.ID != first.ID || r.Outcome != identity.Matched || ext(r) != "crm:c-42,desk:u-7,shop:"+shop.ExternalID {
			t.Errorf("restart %v: a new system's contact of the e-mail %+v (%s); want matched to %s", restart, r, ext(r), first.ID)
		}
		if r := got[2]; r.ID != first.ID || r.Outcome != identity.Known {
			t.Errorf("restart %v: the CRM's contact %+v; want known as %s", restart, r, first.ID)
		}
	}
}

// TestTenantSetLossKeepsTheTenants loses the tenant set alone, as when
// its node of a Redis Cluster loses its data, at a time a tenant's
// bindings are all pending: its first transaction has not committed. The
// next tenant to need the set finds it gone and has the map rebuilt from
// the topic, which holds nothing of the first tenant's yet; the rebuild
// finds its loaded marker in Redis and keeps it in the set. So when the
// transaction has committed and the tenant's own node then loses its data,
// its map is rebuilt too.
func TestTenantSetLossKeepsTheTenants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.open(t)
	ctx := testkit.Context(t, time.Minute)
	subject := func(tenant, system, id, email string) identity.Subject {
		return identity.Subject{Tenant: tenant, Object: "contact", System: system, Integration: system, ExternalID: id, Email: email}
	}
	crm := subject("initech", "crm", "c-1", "")
	res, err := m.Resolve(ctx, []identity.Subject{crm}) // a new tenant: joins the set and is marked
	if err != nil {
		t.Fatal(err)
	}
	first := res.Resolutions[0]
	crm.Email = "peter@example.com"
	desk := subject("initech", "desk", "u-1", "peter@example.com")
	inFlight := resolve(t, m, crm, desk)
	if inFlight[1].ID != first.ID {
		t.Fatalf("before the loss: %+v; want %s", inFlight[1], first.ID)
	}

	if err := e.r.Client.Del(ctx, e.r.Prefix+"identity:tenants:2").Err(); err != nil {
		t.Fatal(err)
	}
	res, err = m.Resolve(ctx, []identity.Subject{subject("globex", "crm", "g-1", "")})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Rebuilt {
		t.Error("a new tenant found the tenant set gone and did not rebuild the map")
	}

	e.commit(t, m, inFlight...)
	lose(t, e, "initech")
	res, err = m.Resolve(ctx, []identity.Subject{desk})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Resolutions[0]; r.ID != first.ID || r.Outcome != identity.Known || ext(r) != "crm:c-1,desk:u-1" || !res.Rebuilt {
		t.Errorf("after the tenant's loss: %+v (%s), rebuilt %v; want known as %s with crm:c-1,desk:u-1, after a rebuild", r, ext(r), res.Rebuilt, first.ID)
	}
}

// TestTenantJoinedByAnotherInstance has a second map meet a new tenant
// after the first added it to the tenant set and before it marked it
// loaded. The second finds the tenant in the set without a marker, which
// is also what a lost map looks like; it looks again, finds the marker the
// first wrote, and does not rebuild the map (a rebuild reads the whole
// topic, and every instance meets a new tenant at about the same time).
func TestTenantJoinedByAnotherInstance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testkit.Context(t, time.Minute)
	subject := func(id string) identity.Subject {
		return identity.Subject{Tenant: "hooli", Object: "contact", System: "crm", Integration: "crm", ExternalID: id}
	}
	open := func(hook redis.Hook) *identity.Map {
		c, err := redisconn.Open(e.r.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		c.AddHook(hook)
		return (&env{k: e.k, r: &testkit.Redis{Client: c, Prefix: e.r.Prefix}, topic: e.topic}).open(t)
	}
	checked := make(chan struct{})
	var once atomic.Bool
	other := open(onPipeline{match: marks("hooli", "check"), after: func() {
		if once.CompareAndSwap(false, true) {
			close(checked)
		}
	}})
	otherDone := make(chan error, 1)
	var raced atomic.Bool
	m := open(onPipeline{match: marks("hooli", "nx"), before: func() {
		if !raced.CompareAndSwap(false, true) {
			return
		}
		go func() {
			_, err := other.Resolve(ctx, []identity.Subject{subject("c-2")})
			otherDone <- err
		}()
		select {
		case <-checked:
		case <-time.After(10 * time.Second): // the test fails below
		}
	}})
	before, otherBefore := m.Stats().Rebuilds, other.Stats().Rebuilds
	res, err := m.Resolve(ctx, []identity.Subject{subject("c-1")})
	if err != nil {
		t.Fatal(err)
	}
	if !raced.Load() {
		t.Fatal("the other map did not meet the tenant in between")
	}
	if err := <-otherDone; err != nil {
		t.Fatal(err)
	}
	if res.Rebuilt || m.Stats().Rebuilds != before || other.Stats().Rebuilds != otherBefore {
		t.Errorf("rebuilds: %d after %d, the other's %d after %d; a tenant another instance was marking was taken for lost",
			m.Stats().Rebuilds, before, other.Stats().Rebuilds, otherBefore)
	}
}
