package identity_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/internal/redisconn"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestFailoverRebuildsTheMap promotes a replica that missed the writes
// that stitched a customer, as an asynchronous failover can leave it
// (real redis-server processes of the test's own: a master and its
// replica). A contact from the CRM got an id from its own key; the same
// person from the support desk was matched to it later by e-mail; the
// promoted replica has lost the desk's binding and the e-mail's. Without
// a rebuild the desk's contact would get the id its e-mail gives, not
// the CRM's, splitting the customer in two. The
// map over the promoted replica finds the tenant's loaded marker written
// by another node, rebuilds from the topic before it resolves, and gives
// the desk's contact the CRM's id; once rebuilt, it does not rebuild
// again. Needs redis-server on the PATH (CI has it).
func TestFailoverRebuildsTheMap(t *testing.T) {
	t.Parallel()
	masterAddr := testkit.StartRedisServer(t)
	host, port, _ := net.SplitHostPort(masterAddr)
	replicaAddr := testkit.StartRedisServer(t, "--replicaof", host, port)
	client := func(addr string) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	master, replica := client(masterAddr), client(replicaAddr)
	ctx := testkit.Context(t, 2*time.Minute)

	e := newEnv(t)
	onMaster := &env{k: e.k, r: &testkit.Redis{Client: master, Addr: masterAddr, Prefix: e.r.Prefix}, topic: e.topic}
	m := onMaster.open(t)
	// The CRM's contact is first seen without an e-mail, so its id comes
	// from its own key; then with one, which binds the e-mail to that id,
	// and the desk's contact of that e-mail is matched to it.
	crm := identity.Subject{Tenant: "acme", Object: "contact", System: "crm", Integration: "crm", ExternalID: "c-42"}
	res, err := m.Resolve(ctx, []identity.Subject{crm})
	if err != nil {
		t.Fatal(err)
	}
	first := res.Resolutions[0]
	onMaster.commit(t, m, first)
	crm.Email = "ada@example.com"
	desk := identity.Subject{Tenant: "acme", Object: "contact", System: "desk", Integration: "desk", ExternalID: "u-7", Email: "ada@example.com"}
	res, err = m.Resolve(ctx, []identity.Subject{crm, desk})
	if err != nil {
		t.Fatal(err)
	}
	known, matched := res.Resolutions[0], res.Resolutions[1]
	if first.Outcome != identity.Minted || known.ID != first.ID || matched.Outcome != identity.Matched || matched.ID != first.ID {
		t.Fatalf("before the failover: %+v, then %+v and %+v; want one id, the desk's contact matched to it", first, known, matched)
	}
	onMaster.commit(t, m, known, matched)
	if n, err := master.Do(ctx, "WAIT", 1, 10000).Int(); err != nil || n != 1 {
		t.Fatalf("the replica took the master's writes: %d, %v", n, err)
	}

	// The failover: the replica is promoted, and the desk's binding and
	// the e-mail's are among the writes it lost.
	if err := replica.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	for _, pattern := range []string{"identity:{acme}:contact:ext:desk:*", "identity:{acme}:contact:email:*"} {
		keys, err := replica.Keys(ctx, e.r.Prefix+pattern).Result()
		if err != nil || len(keys) != 1 {
			t.Fatalf("%s on the replica: %v, %v", pattern, keys, err)
		}
		if err := replica.Del(ctx, keys[0]).Err(); err != nil {
			t.Fatal(err)
		}
	}

	onReplica := &env{k: e.k, r: &testkit.Redis{Client: replica, Addr: replicaAddr, Prefix: e.r.Prefix}, topic: e.topic}
	after := onReplica.open(t)
	res, err = after.Resolve(ctx, []identity.Subject{desk})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Resolutions[0]; r.ID != first.ID || r.Outcome != identity.Known || !res.Rebuilt {
		t.Errorf("after the failover: %+v, rebuilt %v; want the CRM's id %s, known, after a rebuild", r, res.Rebuilt, first.ID)
	}
	res, err = after.Resolve(context.WithoutCancel(ctx), []identity.Subject{desk, crm})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res.Resolutions {
		if r.ID != first.ID || res.Rebuilt || after.Stats().Rebuilds != 1 {
			t.Errorf("resolved again, subject %d: %+v, rebuilt %v, %d rebuilds; want %s and the one rebuild", i, r, res.Rebuilt, after.Stats().Rebuilds, first.ID)
		}
	}
}

// TestTenantMarkedByAnotherInstance starts two maps on one Redis and has
// the second meet a new tenant, add it to the tenant set and mark it
// loaded, between the first one's finding the tenant unmarked and its
// asking the set about it. The first finds the tenant in the set, with a
// marker that holds this node's replication id: it is current, neither
// stale nor lost, and the first map must not rebuild the tenant from the
// topic for it (a rebuild reads the whole identity topic).
func TestTenantMarkedByAnotherInstance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other := e.open(t)
	ctx := testkit.Context(t, time.Minute)
	subject := func(id string) identity.Subject {
		return identity.Subject{Tenant: "globex", Object: "contact", System: "crm", Integration: "crm", ExternalID: id}
	}
	hooked, err := redisconn.Open(e.r.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hooked.Close() })
	var raced atomic.Bool
	hooked.AddHook(onPipeline{match: joins("globex"), before: func() {
		if raced.CompareAndSwap(false, true) {
			if _, err := other.Resolve(ctx, []identity.Subject{subject("c-2")}); err != nil {
				t.Error(err)
			}
		}
	}})
	m := (&env{k: e.k, r: &testkit.Redis{Client: hooked, Prefix: e.r.Prefix}, topic: e.topic}).open(t)
	rebuilds, otherRebuilds := m.Stats().Rebuilds, other.Stats().Rebuilds
	res, err := m.Resolve(ctx, []identity.Subject{subject("c-1")})
	if err != nil {
		t.Fatal(err)
	}
	if !raced.Load() {
		t.Fatal("the other map did not mark the tenant in between")
	}
	if res.Rebuilt || m.Stats().Rebuilds != rebuilds || other.Stats().Rebuilds != otherRebuilds {
		t.Errorf("rebuilt %v, %d rebuilds after %d (the other map %d after %d): a tenant another instance marked on this node was taken for stale or lost",
			res.Rebuilt, m.Stats().Rebuilds, rebuilds, other.Stats().Rebuilds, otherRebuilds)
	}
}

// onPipeline is a go-redis hook that calls before and after (either may
// be nil) around a pipeline that holds a command whose arguments match.
type onPipeline struct {
	match         func(args []any) bool
	before, after func()
}

func (onPipeline) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (onPipeline) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h onPipeline) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		hit := slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return h.match(c.Args()) })
		if hit && h.before != nil {
			h.before()
		}
		err := next(ctx, cmds)
		if hit && h.after != nil {
			h.after()
		}
		return err
	}
}

// marks matches a call of markScript on tenant's loaded marker in mode
// ("nx" or "check").
func marks(tenant, mode string) func(args []any) bool {
	return func(args []any) bool {
		return len(args) > 0 && args[len(args)-1] == mode && strings.Contains(fmt.Sprint(args...), "{"+tenant+"}:loaded")
	}
}

// joins matches a call of joinScript that adds tenant (last) to the
// tenant set.
func joins(tenant string) func(args []any) bool {
	return func(args []any) bool {
		return len(args) > 0 && args[len(args)-1] == tenant && strings.Contains(fmt.Sprint(args...), "identity:tenants:")
	}
}
