package redisconn_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/internal/redisconn"
	"github.com/sluicehq/sluice/internal/testkit"
)

// Open reads each URL form as the client it names, without connecting.
func TestOpenForms(t *testing.T) {
	for _, tc := range []struct {
		url, want string
	}{
		{"redis://127.0.0.1:6379/2", "server 127.0.0.1:6379 db 2"},
		{"rediss://user:pw@redis.example:6380/0", "server redis.example:6380 db 0"},
		{"10.0.0.1:7000,10.0.0.2:7000", "cluster [10.0.0.1:7000 10.0.0.2:7000]"},
		{"redis://10.0.0.1:7000?addr=10.0.0.2:7000", "cluster [10.0.0.1:7000 10.0.0.2:7000]"},
		{"redis://10.0.0.1:26379/1?master_name=main&addr=10.0.0.2:26379", "failover main db 1"},
	} {
		c, err := redisconn.Open(tc.url)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		var got string
		switch c := c.(type) {
		case *redis.ClusterClient:
			got = fmt.Sprint("cluster ", c.Options().Addrs)
		case *redis.Client:
			o := c.Options()
			if o.Addr == "FailoverClient" {
				got = fmt.Sprintf("failover %s db %d", masterOf(tc.url), o.DB)
			} else {
				got = fmt.Sprintf("server %s db %d", o.Addr, o.DB)
			}
		}
		if got != tc.want {
			t.Errorf("%s: %s; want %s", tc.url, got, tc.want)
		}
		_ = c.Close()
	}
	for _, bad := range []string{"", "http://127.0.0.1:6379", "redis://127.0.0.1:6379/x", "redis://127.0.0.1:26379?master_name="} {
		if c, err := redisconn.Open(bad); err == nil {
			_ = c.Close()
			t.Errorf("%q opened; want an error", bad)
		}
	}
	// An unparsable URL is refused without a word of its password.
	for _, bad := range []string{"redis://:s3cr%et@redis.internal:6379/0", "redis://:s3cr%et@10.0.0.1:26379/1?master_name=main", "redis://:s3cr%et@10.0.0.1:7000?addr=10.0.0.2:7000"} {
		c, err := redisconn.Open(bad)
		if err == nil {
			_ = c.Close()
			t.Errorf("%q opened; want an error", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cr") || strings.Contains(err.Error(), "%et") {
			t.Errorf("the error tells the password: %v", err)
		}
	}
}

// masterOf is the master_name of a failover URL of TestOpenForms (go-redis
// does not show it on the client).
func masterOf(url string) string {
	o, err := redis.ParseFailoverURL(url)
	if err != nil {
		return err.Error()
	}
	return o.MasterName
}

// A Sentinel URL reaches the master its Sentinel names: a real
// redis-server in Sentinel mode, started by the test, watching the
// server of REDIS_URL. Needs REDIS_URL to name one server and
// redis-server on the PATH (CI has both).
func TestOpenSentinel(t *testing.T) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip("REDIS_URL is unset: no Redis server for a Sentinel to watch")
	}
	r := testkit.NewRedis(t)
	if r.Cluster() {
		t.Skip("REDIS_URL names a Redis Cluster, which Sentinel does not watch; the pass on one server runs this test")
	}
	host, port, err := net.SplitHostPort(r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	master := "sluice-" + testkit.Name(t, "m")
	sport := startSentinel(t, fmt.Sprintf("sentinel monitor %s %s %s 1\n", master, host, port))

	c, err := redisconn.Open(fmt.Sprintf("redis://127.0.0.1:%d/0?master_name=%s", sport, master))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	key := r.Prefix + "through-sentinel"
	testkit.CheckFor(t, 20*time.Second, 100*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return c.Set(ctx, key, "v", time.Minute).Err()
	})
	ctx2 := testkit.Context(t, 10*time.Second)
	if v, err := r.Client.Get(ctx2, key).Result(); err != nil || v != "v" {
		t.Errorf("the server of REDIS_URL holds %q, %v; want what was written through the Sentinel", v, err)
	}
	if fc, ok := c.(*redis.Client); !ok || fc.Options().Addr != "FailoverClient" {
		t.Errorf("a Sentinel URL gave a %T, not a failover client", c)
	}
}

// A client opened from a Sentinel URL follows its master through a
// failover: a master, its replica and a Sentinel of the test's own
// (real redis-server processes), a write, a failover the Sentinel is told
// to make, and a write through the same client, which lands on the
// promoted replica. Needs redis-server on the PATH (CI has it).
func TestOpenSentinelFollowsAFailover(t *testing.T) {
	t.Parallel()
	masterAddr := testkit.StartRedisServer(t)
	_, mp, _ := net.SplitHostPort(masterAddr)
	replicaAddr := testkit.StartRedisServer(t, "--replicaof", "127.0.0.1", mp)
	master, _ := strconv.Atoi(mp)
	_, rp, _ := net.SplitHostPort(replicaAddr)
	replica, _ := strconv.Atoi(rp)
	sport := startSentinel(t, fmt.Sprintf("sentinel monitor main 127.0.0.1 %d 1\nsentinel down-after-milliseconds main 1000\nsentinel failover-timeout main 10000\n", master))
	sentinel := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", sport)})
	t.Cleanup(func() { _ = sentinel.Close() })
	// The Sentinel learns of the replica from the master's INFO, and of
	// its link to the master from the replica's.
	testkit.CheckFor(t, 60*time.Second, 200*time.Millisecond, func() error {
		rs, err := sentinel.Replicas(context.Background(), "main").Result()
		if err != nil || len(rs) != 1 {
			return fmt.Errorf("the Sentinel knows %d replicas (%v)", len(rs), err)
		}
		if rs[0]["master-link-status"] != "ok" || rs[0]["flags"] != "slave" {
			return fmt.Errorf("the Sentinel sees the replica as %v", rs[0])
		}
		return nil
	})

	c, err := redisconn.Open(fmt.Sprintf("redis://127.0.0.1:%d/0?master_name=main", sport))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	tctx := testkit.Context(t, time.Minute)
	if err := c.Set(tctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	direct := func(port int) *redis.Client {
		d := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
		t.Cleanup(func() { _ = d.Close() })
		return d
	}
	if v := direct(master).Get(tctx, "before").Val(); v != "1" {
		t.Fatalf("the first master holds %q; want the write made before the failover", v)
	}

	if err := sentinel.Failover(tctx, "main").Err(); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		addr, err := sentinel.GetMasterAddrByName(context.Background(), "main").Result()
		if err != nil || len(addr) != 2 || addr[1] != fmt.Sprint(replica) {
			return fmt.Errorf("the Sentinel names %v (%v) as master; want port %d", addr, err, replica)
		}
		return nil
	})
	// Until the old master learns it is a replica now, it still takes
	// writes, which its resync then drops (Redis replicates
	// asynchronously: sluice's markers can lose a write there, and its
	// dedupe and idempotency states mean a duplicate then, never a loss).
	// The client must end up writing to the promoted replica.
	promoted := direct(replica)
	n := 0
	testkit.CheckFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		n++
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		v := fmt.Sprint("after-", n)
		if err := c.Set(ctx, "after", v, 0).Err(); err != nil {
			return err
		}
		if got := promoted.Get(ctx, "after").Val(); got != v {
			return fmt.Errorf("the promoted replica holds %q, not the client's last write %q", got, v)
		}
		return nil
	})
	if role := promoted.Do(tctx, "ROLE").Val(); !strings.HasPrefix(fmt.Sprint(role), "[master") {
		t.Errorf("the replica's role is %v; want master", role)
	}
}

// startSentinel starts a redis-server in Sentinel mode on a free port of
// 127.0.0.1 with the configuration lines conf, stopped when the test ends,
// and returns its port. It skips t without redis-server on the PATH.
func startSentinel(t *testing.T, conf string) int {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on the PATH: no Sentinel to start")
	}
	port := testkit.FreePort(t)
	file := filepath.Join(t.TempDir(), "sentinel.conf")
	if err := os.WriteFile(file, fmt.Appendf(nil, "port %d\nbind 127.0.0.1\n%s", port, conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, file, "--sentinel")
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	return port
}
