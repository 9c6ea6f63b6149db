package identity_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/consumers/identity"
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
