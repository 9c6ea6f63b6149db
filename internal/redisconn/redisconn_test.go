package redisconn_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on the PATH: no Sentinel to start")
	}
	host, port, err := net.SplitHostPort(r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sport := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	master := "sluice-" + testkit.Name(t, "m")
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "port %d\nbind 127.0.0.1\nsentinel monitor %s %s %s 1\n", sport, master, host, port), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

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
