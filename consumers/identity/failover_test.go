package identity_test

import (
	"context"
	"fmt"
	"net"
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
// the second mark a new tenant loaded between the first one's finding
// the tenant unmarked and its marking it. The marker the second wrote
// holds this node's replication id: it is current, not stale, and the
// first map must not rebuild the tenant from the topic for it (a rebuild
// reads the whole identity topic).
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
	hooked.AddHook(beforeMark{tenant: "globex", do: func() {
		if raced.CompareAndSwap(false, true) {
			if _, err := other.Resolve(ctx, []identity.Subject{subject("c-2")}); err != nil {
				t.Error(err)
			}
		}
	}})
	m := (&env{k: e.k, r: &testkit.Redis{Client: hooked, Prefix: e.r.Prefix}, topic: e.topic}).open(t)
	rebuilds := m.Stats().Rebuilds
	res, err := m.Resolve(ctx, []identity.Subject{subject("c-1")})
	if err != nil {
		t.Fatal(err)
	}
	if !raced.Load() {
		t.Fatal("the other map did not mark the tenant in between")
	}
	if res.Rebuilt || m.Stats().Rebuilds != rebuilds {
		t.Errorf("rebuilt %v, %d rebuilds after %d: a tenant another instance marked on this node was taken for stale", res.Rebuilt, m.Stats().Rebuilds, rebuilds)
	}
}

// beforeMark is a go-redis hook that calls do before a pipeline that marks
// tenant's map loaded only if it is not marked yet (markScript with "nx").
type beforeMark struct {
	tenant string
	do     func()
}

func (beforeMark) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (beforeMark) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h beforeMark) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			args := c.Args()
			if len(args) > 0 && args[len(args)-1] == "nx" && strings.Contains(fmt.Sprint(args...), "{"+h.tenant+"}:loaded") {
				h.do()
				break
			}
		}
		return next(ctx, cmds)
	}
}
