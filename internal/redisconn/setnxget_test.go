package redisconn_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/internal/redisconn"
	"github.com/sluicehq/sluice/internal/testkit"
)

// SetNXGet sets the absent keys and answers the present ones' values,
// each key on its own (on a Redis Cluster, keys of many slots), with
// per-key failures; before Redis 7.0 it sets nothing and says why.
func TestSetNXGet(t *testing.T) {
	r := testkit.NewRedis(t)
	ctx := testkit.Context(t, 30*time.Second)
	p := r.Prefix
	if err := r.Client.Set(ctx, p+"present", "old", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.Client.RPush(ctx, p+"a-list", "x").Err(); err != nil {
		t.Fatal(err)
	}
	keys := []string{p + "absent-1", p + "present", p + "a-list", p + "absent-2"}
	prev, err := redisconn.SetNXGet(ctx, r.Client, keys, []string{"v1", "v2", "v3", "v4"}, time.Minute)
	if err != nil || len(prev) != len(keys) {
		t.Fatalf("SetNXGet: %d answers, %v", len(prev), err)
	}
	for i, want := range []redisconn.Prev{{}, {Value: "old", Found: true}, {}, {}} {
		if i == 2 {
			continue
		}
		if prev[i] != want {
			t.Errorf("%s: %+v; want %+v", keys[i], prev[i], want)
		}
	}
	if prev[2].Err == nil || prev[2].Found {
		t.Errorf("a key of another type: %+v; want its error", prev[2])
	}
	for i, want := range []string{"v1", "old", "", "v4"} {
		if i == 2 {
			continue
		}
		if v, err := r.Client.Get(ctx, keys[i]).Result(); err != nil || v != want {
			t.Errorf("%s holds %q, %v; want %q", keys[i], v, err, want)
		}
	}
	if ttl := r.Client.PTTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("a set key expires in %v; want within the minute", ttl)
	}
	if ttl := r.Client.PTTL(ctx, keys[1]).Val(); ttl != -1 {
		t.Errorf("a present key's expiry became %v; want none, as before", ttl)
	}

	old := r.Dialing(t, nil, 0)
	refused := new(atomic.Int64)
	old.AddHook(testkit.Before7(refused))
	if _, err := redisconn.SetNXGet(ctx, old, []string{p + "absent-3"}, []string{"v"}, time.Minute); !errors.Is(err, redisconn.ErrNXGetRefused) || refused.Load() != 1 {
		t.Fatalf("before 7.0: %v after %d refusals; want ErrNXGetRefused", err, refused.Load())
	}
	if err := r.Client.Get(ctx, p+"absent-3").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("before 7.0 a key was set: %v", err)
	}
}

// An NXGetter answers as SetNXGet does on any server: on one that refuses
// SET NX GET it says so once and sends its script from then on, with the
// same answers, expiries and round trips per call.
func TestNXGetter(t *testing.T) {
	r := testkit.NewRedis(t)
	ctx := testkit.Context(t, 30*time.Second)
	p := r.Prefix
	for _, tc := range []struct {
		name string
		old  bool
		// trips are the least and most round trips of the first call
		// and of the next: refused, then the script (and EVAL again if
		// the server answered NOSCRIPT), then the script alone.
		trips [2][2]int
	}{{"redis 7", false, [2][2]int{{1, 1}, {1, 1}}}, {"before redis 7", true, [2][2]int{{2, 3}, {1, 1}}}} {
		t.Run(tc.name, func(t *testing.T) {
			c := r.Dialing(t, nil, 0)
			refused := new(atomic.Int64)
			if tc.old {
				c.AddHook(testkit.Before7(refused))
			}
			said := 0
			n := redisconn.NewNXGetter(c, func() { said++ })
			k := p + tc.name + ":"
			if err := c.Set(ctx, k+"present", "old", 0).Err(); err != nil {
				t.Fatal(err)
			}
			for call, keys := range [][]string{{k + "absent-1", k + "present"}, {k + "absent-1", k + "absent-2"}} {
				prev, trips, err := n.SetNXGet(ctx, keys, []string{"v1", "v2"}, time.Minute)
				if err != nil {
					t.Fatalf("call %d: %v", call, err)
				}
				want := []redisconn.Prev{{}, {Value: "old", Found: true}}
				if call == 1 {
					want = []redisconn.Prev{{Value: "v1", Found: true}, {}}
				}
				for i := range want {
					if prev[i] != want[i] {
						t.Errorf("call %d, %s: %+v; want %+v", call, keys[i], prev[i], want[i])
					}
				}
				if r := tc.trips[call]; trips < r[0] || trips > r[1] {
					t.Errorf("call %d: %d round trips; want %d to %d", call, trips, r[0], r[1])
				}
			}
			if v := c.Get(ctx, k+"absent-2").Val(); v != "v2" {
				t.Errorf("a set key holds %q; want v2", v)
			}
			if ttl := c.PTTL(ctx, k+"absent-2").Val(); ttl <= 0 || ttl > time.Minute {
				t.Errorf("a set key expires in %v; want within the minute", ttl)
			}
			wantSaid := 0
			if tc.old {
				wantSaid = 1
			}
			if said != wantSaid || refused.Load() != int64(wantSaid) {
				t.Errorf("refused %d times, said so %d times; want %d and %d", refused.Load(), said, wantSaid, wantSaid)
			}
		})
	}
}
