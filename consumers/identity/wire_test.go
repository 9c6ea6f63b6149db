package identity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/internal/testkit"
)

// wire is a go-redis hook that writes down every command sent, one line
// each, with the test's key prefix shown as "<p>".
type wire struct {
	prefix string
	mu     sync.Mutex
	lines  []string
	cmds   []redis.Cmder
}

func (w *wire) DialHook(next redis.DialHook) redis.DialHook { return next }

func (w *wire) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		w.add(cmd)
		return next(ctx, cmd)
	}
}

func (w *wire) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			w.add(c)
		}
		return next(ctx, cmds)
	}
}

func (w *wire) add(cmd redis.Cmder) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cmds = append(w.cmds, cmd)
	var line strings.Builder
	for i, a := range cmd.Args() {
		if i > 0 {
			line.WriteByte(' ')
		}
		if s, ok := a.(string); ok {
			fmt.Fprintf(&line, "%q", strings.ReplaceAll(s, w.prefix, "<p>"))
		} else {
			fmt.Fprint(&line, a)
		}
	}
	w.lines = append(w.lines, line.String())
}

func (w *wire) take() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := strings.Join(w.lines, "\n")
	w.lines, w.cmds = nil, nil
	return s
}

// TestCommandsAreClusterSafe runs the map through a Redis Cluster client
// (miniredis answers for every slot): loading, resolving new, pending
// and durable objects of two tenants, confirming, and rebuilding after a
// flush. Every command that names several keys names keys of one slot, as
// Redis Cluster requires (a script, the keys it builds from its arguments
// too), and the tenants' keys are in different slots.
func TestCommandsAreClusterSafe(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	mini := miniredis.RunT(t)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{mini.Addr()}})
	t.Cleanup(func() { _ = cc.Close() })
	w := &wire{}
	cc.AddHook(w)
	e := &env{k: k, r: &testkit.Redis{Client: cc, Addr: mini.Addr(), Prefix: "sluice:", Mini: mini}, topic: testkit.Name(t, "identity")}
	m := e.open(t)
	ctx := testkit.Context(t, time.Minute)
	subjects := []identity.Subject{
		contact("crm", "51", "ada@example.com"),
		contact("payments", "cus_9", "ada@example.com"),
		{Tenant: "globex", Object: "account", System: "erp", ExternalID: "a-1", Domains: []string{"example.org"}},
		{Tenant: "globex", Object: "contact", System: "shop", ExternalID: "9", Ref: true},
	}
	var res identity.Result
	for step := range 3 {
		var err error
		if res, err = m.Resolve(ctx, subjects); err != nil {
			t.Fatal(err)
		}
		if step == 1 {
			e.commit(t, m, res.Resolutions...)
		}
	}
	mini.FlushAll()
	after, err := m.Resolve(ctx, subjects)
	if err != nil {
		t.Fatal(err)
	}
	if !after.Rebuilt {
		t.Error("no rebuild after the flush")
	}
	for i, r := range after.Resolutions {
		if r.ID != res.Resolutions[i].ID || ext(r) != ext(res.Resolutions[i]) {
			t.Errorf("subject %d after the rebuild: %s %q, want %s %q", i, r.ID, ext(r), res.Resolutions[i].ID, ext(res.Resolutions[i]))
		}
	}
	if got := ext(after.Resolutions[0]); got != "crm:51,payments:cus_9" {
		t.Errorf("external ids %q, want crm:51,payments:cus_9", got)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	tenants := map[string]uint16{}
	multi := 0
	for _, cmd := range w.cmds {
		keys := testkit.RedisKeys(t, cmd)
		// A script builds keys from an argument too (the resolve script
		// its id lists' prefix): one that names the map's keys counts.
		if n := len(keys); n > 0 && strings.HasPrefix(strings.ToLower(fmt.Sprint(cmd.Args()[0])), "eval") {
			for _, a := range cmd.Args()[3+n:] {
				if s := fmt.Sprint(a); strings.HasPrefix(s, "sluice:identity:") {
					keys = append(keys, s+"id")
				}
			}
		}
		for _, key := range keys[min(1, len(keys)):] {
			if testkit.RedisSlot(key) != testkit.RedisSlot(keys[0]) {
				t.Fatalf("%v names keys of slots %d and %d", cmd.Args(), testkit.RedisSlot(keys[0]), testkit.RedisSlot(key))
			}
		}
		if len(keys) > 1 {
			multi++
		}
		for _, key := range keys {
			for _, tenant := range []string{"acme", "globex"} {
				if strings.Contains(key, "{"+tenant+"}") {
					tenants[tenant] = testkit.RedisSlot(key)
				}
			}
		}
	}
	if multi == 0 || len(tenants) != 2 || tenants["acme"] == tenants["globex"] {
		t.Errorf("%d commands of several keys; tenants' slots %v: want some, and two slots", multi, tenants)
	}
}

// TestWireFormat pins, byte for byte, the commands Resolve and Confirm
// send, the bindings they report and the identity records made of them:
// the keys and values in Redis and in the topic must never change, or a
// running map would no longer be found. The map runs without its cache,
// so that every step reads Redis; then a map with its cache resolves the
// durable subjects twice, the second time from memory, reading only
// their id lists, with the same answers.
func TestWireFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.open(t, identity.CacheSize(0))
	w := &wire{prefix: e.r.Prefix}
	e.r.Client.AddHook(w)
	ctx := testkit.Context(t, 30*time.Second)
	subjects := []identity.Subject{
		{Tenant: "acme", Object: "contact", System: "crm", Integration: "crm-eu", ExternalID: "c|1", Email: " Ada+News@Example.COM "},
		{Tenant: "acme", Object: "account", System: "erp", ExternalID: "a-1", Domains: []string{"gmail.com", "https://www.Example.org/about"}},
		{Tenant: "acme", Object: "contact", System: "shop", Integration: "shop", ExternalID: "9", Ref: true},
		{Tenant: "globex", Object: "order", System: "shop", Integration: "Shöp <EU> & \"co\"", ExternalID: "o/7"},
		{Tenant: "acme", Object: "contact", System: "desk", ExternalID: "u:7,8", Email: "ada+news@example.com"},
	}
	var got strings.Builder
	describe := func(res identity.Result) string {
		var out strings.Builder
		for _, r := range res.Resolutions {
			fmt.Fprintf(&out, "%s %s conflict=%v ids=%d\n", r.ID, r.Outcome, r.Conflict, len(r.ExternalIDs))
			for _, x := range r.ExternalIDs {
				fmt.Fprintf(&out, "  ext %s %v %s\n", x.System, deref(x.Integration), x.ID)
			}
			for _, b := range r.Pending {
				rec := b.Record(e.topic)
				fmt.Fprintf(&out, "  pending %q %q %q\n", rec.Key, rec.Value, rec.Headers)
			}
		}
		return out.String()
	}
	report := func(res identity.Result) { got.WriteString(describe(res)) }
	var durable string
	var pending []identity.Binding
	for _, step := range []string{"new", "pending", "durable"} {
		res, err := m.Resolve(ctx, subjects)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&got, "%s:\n", step)
		report(res)
		durable = describe(res)
		got.WriteString(w.take() + "\n")
		if step == "pending" {
			for _, r := range res.Resolutions {
				pending = append(pending, r.Pending...)
			}
			if _, err := m.Confirm(ctx, pending); err != nil {
				t.Fatal(err)
			}
			got.WriteString("confirm:\n" + w.take() + "\n")
		}
	}
	cached := e.open(t)
	for _, step := range []string{"read", "cached"} {
		res, err := cached.Resolve(ctx, subjects)
		if err != nil {
			t.Fatal(err)
		}
		if step == "cached" {
			if d := describe(res); d != durable {
				t.Errorf("resolved from memory:\n%s\nwant as read from Redis:\n%s", d, durable)
			}
			got.WriteString("cached:\n" + w.take() + "\n")
		}
		w.take()
	}
	keys := e.r.Keys(t, e.r.Prefix+"identity:*:extids:*")
	got.WriteString("id lists:\n")
	for _, k := range keys {
		fmt.Fprintf(&got, "%q %q\n", strings.TrimPrefix(k, e.r.Prefix), e.r.Client.Get(ctx, k).Val())
	}
	w.take()
	if got.String() != wantWire {
		t.Errorf("sent and reported:\n%s\nwant:\n%s", got.String(), wantWire)
	}
}

// TestHashIDPinned pins ids whose parts or prefix outgrow HashID's
// buffers on the stack (the short ones are pinned in TestWireFormat).
func TestHashIDPinned(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		got, want string
	}{
		{identity.HashID("evt", "acme", strings.Repeat("x", 300), "contact", ""), "evt_56bnvmx43b6cwtdsmn98zqh0fp"},
		{identity.HashID(strings.Repeat("p", 40), "a"), strings.Repeat("p", 40) + "_zzmtntn2mbag90bmvw5r0pcyy0"},
	} {
		if c.got != c.want {
			t.Errorf("HashID = %s, want %s", c.got, c.want)
		}
	}
}

// TestRecordValue checks that a record's value is what encoding/json
// writes, whatever the id and integration hold.
func TestRecordValue(t *testing.T) {
	t.Parallel()
	type value struct {
		ID          string `json:"id"`
		Integration string `json:"integration,omitempty"`
	}
	values := []string{"", "crm", "con_ftg3cxrjavhfpfqwptag0j0nh7", "Shöp <EU> & \"co\"", "a\\b", "\u2028", "\xff\xfe", "tab\there"}
	for c := range 256 {
		values = append(values, string(rune(c)), "x"+string([]byte{byte(c)})+"y")
	}
	for _, id := range []string{"con_ftg3cxrjavhfpfqwptag0j0nh7", "", "a<b"} {
		for _, integ := range values {
			b := identity.Binding{Tenant: "acme", Object: "contact", Kind: identity.KindExternal, System: "crm", Integration: integ, ExternalID: "1", ID: id}
			want, err := json.Marshal(value{ID: id, Integration: integ})
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Record("t").Value; string(got) != string(want) {
				t.Errorf("value of id %q, integration %q: %s, want %s", id, integ, got, want)
			}
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// wantWire is what the code sent and reported when the format was pinned.
const wantWire = `new:
con_ftg3cxrjavhfpfqwptag0j0nh7 new conflict=false ids=1
  ext crm crm-eu c|1
  pending "acme|contact|ext|crm|c|1" "{\"id\":\"con_ftg3cxrjavhfpfqwptag0j0nh7\",\"integration\":\"crm-eu\"}" [{"tenant-id" "acme"}]
  pending "acme|contact|email|542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "{\"id\":\"con_ftg3cxrjavhfpfqwptag0j0nh7\"}" [{"tenant-id" "acme"}]
acc_qc6fe1ds534cax5bk2ref9fkyb new conflict=false ids=1
  ext erp <nil> a-1
  pending "acme|account|ext|erp|a-1" "{\"id\":\"acc_qc6fe1ds534cax5bk2ref9fkyb\"}" [{"tenant-id" "acme"}]
  pending "acme|account|domain|bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b5" "{\"id\":\"acc_qc6fe1ds534cax5bk2ref9fkyb\"}" [{"tenant-id" "acme"}]
con_tfxt35t3gtsqj9p1k8jtd6ehg5 new conflict=false ids=0
  pending "acme|contact|ext|shop|9" "{\"id\":\"con_tfxt35t3gtsqj9p1k8jtd6ehg5\",\"integration\":\"shop\"}" [{"tenant-id" "acme"}]
ord_xwxq998ezrcb8a4zx97ca57vw6 new conflict=false ids=1
  ext shop Shöp <EU> & "co" o/7
  pending "globex|order|ext|shop|o/7" "{\"id\":\"ord_xwxq998ezrcb8a4zx97ca57vw6\",\"integration\":\"Shöp \\u003cEU\\u003e \\u0026 \\\"co\\\"\"}" [{"tenant-id" "globex"}]
con_ftg3cxrjavhfpfqwptag0j0nh7 matched conflict=false ids=2
  ext crm crm-eu c|1
  ext desk <nil> u:7,8
  pending "acme|contact|ext|desk|u:7,8" "{\"id\":\"con_ftg3cxrjavhfpfqwptag0j0nh7\"}" [{"tenant-id" "acme"}]
  pending "acme|contact|email|542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "{\"id\":\"con_ftg3cxrjavhfpfqwptag0j0nh7\"}" [{"tenant-id" "acme"}]
"mget" "<p>identity:{acme}:loaded:2" "<p>identity:{acme}:contact:ext:crm:c|1" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "<p>identity:{acme}:account:ext:erp:a-1" "<p>identity:{acme}:account:domain:bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b5" "<p>identity:{acme}:contact:ext:shop:9" "<p>identity:{acme}:contact:ext:desk:u:7,8" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2"
"mget" "<p>identity:{globex}:loaded:2" "<p>identity:{globex}:order:ext:shop:o/7"
"evalsha" "a9f1f922a4d34ce871e8743bef773fb947886b0a" 1 "<p>identity:tenants:2" "" "globex"
"evalsha" "f0866e207d75e054c15022bf400e9f82797f2039" 1 "<p>identity:{globex}:loaded:2" "nx"
"mget" "<p>identity:{acme}:loaded:2" "<p>identity:{acme}:contact:ext:crm:c|1" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "<p>identity:{acme}:account:ext:erp:a-1" "<p>identity:{acme}:account:domain:bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b5" "<p>identity:{acme}:contact:ext:shop:9" "<p>identity:{acme}:contact:ext:desk:u:7,8" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2"
"mget" "<p>identity:{globex}:loaded:2" "<p>identity:{globex}:order:ext:shop:o/7"
"evalsha" "000f19c7ce8c09b34d06c6699aa29adf31c44baf" 8 "<p>identity:{acme}:loaded:2" "<p>identity:{acme}:contact:ext:crm:c|1" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "<p>identity:{acme}:account:ext:erp:a-1" "<p>identity:{acme}:account:domain:bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b5" "<p>identity:{acme}:contact:ext:shop:9" "<p>identity:{acme}:contact:ext:desk:u:7,8" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "<p>identity:{acme}:extids:" 2 "con_ftg3cxrjavhfpfqwptag0j0nh7" "crm|crm-eu|c|1" "1" 2 "acc_qc6fe1ds534cax5bk2ref9fkyb" "erp||a-1" "1" 1 "con_tfxt35t3gtsqj9p1k8jtd6ehg5" "shop|shop|9" "0" 2 "con_ftg3cxrjavhfpfqwptag0j0nh7" "desk||u:7,8" "1"
"evalsha" "000f19c7ce8c09b34d06c6699aa29adf31c44baf" 2 "<p>identity:{globex}:loaded:2" "<p>identity:{globex}:order:ext:shop:o/7" "<p>identity:{globex}:extids:" 1 "ord_xwxq998ezrcb8a4zx97ca57vw6" "shop|Shöp <EU> & \"co\"|o/7" "1"
pending:
con_ftg3cxrjavhfpfqwptag0j0nh7 known conflict=false ids=2
  ext crm crm-eu c|1
  ext desk <nil> u:7,8
  pending "acme|contact|ext|crm|c|1" "{\"id\":\"con_ftg3cxrjavhfpfqwptag0j0nh7\",\"integration\":\"crm-eu\"}" [{"tenant-id" "acme"}]
  pending "acme|contact|email|542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "{\"id\":\"con_ftg3cxrjavhfpfqwptag0j0nh7\"}" [{"tenant-id" "acme"}]
acc_qc6fe1ds534cax5bk2ref9fkyb known conflict=false ids=1
  ext erp <nil> a-1
  pending "acme|account|ext|erp|a-1" "{\"id\":\"acc_qc6fe1ds534cax5bk2ref9fkyb\"}" [{"tenant-id" "acme"}]
  pending "acme|account|domain|bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b5" "{\"id\":\"acc_qc6fe1ds534cax5bk2ref9fkyb\"}" [{"tenant-id" "acme"}]
con_tfxt35t3gtsqj9p1k8jtd6ehg5 known conflict=false ids=0
  pending "acme|contact|ext|shop|9" "{\"id\":\"con_tfxt35t3gtsqj9p1k8jtd6ehg5\",\"integration\":\"shop\"}" [{"tenant-id" "acme"}]
ord_xwxq998ezrcb8a4zx97ca57vw6 known conflict=false ids=1
  ext shop Shöp <EU> & "co" o/7
  pending "globex|order|ext|shop|o/7" "{\"id\":\"ord_xwxq998ezrcb8a4zx97ca57vw6\",\"integration\":\"Shöp \\u003cEU\\u003e \\u0026 \\\"co\\\"\"}" [{"tenant-id" "globex"}]
con_ftg3cxrjavhfpfqwptag0j0nh7 known conflict=false ids=2
  ext crm crm-eu c|1
  ext desk <nil> u:7,8
  pending "acme|contact|ext|desk|u:7,8" "{\"id\":\"con_ftg3cxrjavhfpfqwptag0j0nh7\"}" [{"tenant-id" "acme"}]
  pending "acme|contact|email|542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "{\"id\":\"con_ftg3cxrjavhfpfqwptag0j0nh7\"}" [{"tenant-id" "acme"}]
"mget" "<p>identity:{acme}:loaded:2" "<p>identity:{acme}:contact:ext:crm:c|1" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "<p>identity:{acme}:account:ext:erp:a-1" "<p>identity:{acme}:account:domain:bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b5" "<p>identity:{acme}:contact:ext:shop:9" "<p>identity:{acme}:contact:ext:desk:u:7,8" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2"
"mget" "<p>identity:{globex}:loaded:2" "<p>identity:{globex}:order:ext:shop:o/7"
"evalsha" "000f19c7ce8c09b34d06c6699aa29adf31c44baf" 8 "<p>identity:{acme}:loaded:2" "<p>identity:{acme}:contact:ext:crm:c|1" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "<p>identity:{acme}:account:ext:erp:a-1" "<p>identity:{acme}:account:domain:bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b5" "<p>identity:{acme}:contact:ext:shop:9" "<p>identity:{acme}:contact:ext:desk:u:7,8" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "<p>identity:{acme}:extids:" 2 "con_ftg3cxrjavhfpfqwptag0j0nh7" "crm|crm-eu|c|1" "1" 2 "acc_qc6fe1ds534cax5bk2ref9fkyb" "erp||a-1" "1" 1 "con_tfxt35t3gtsqj9p1k8jtd6ehg5" "shop|shop|9" "0" 2 "con_ftg3cxrjavhfpfqwptag0j0nh7" "desk||u:7,8" "1"
"evalsha" "000f19c7ce8c09b34d06c6699aa29adf31c44baf" 2 "<p>identity:{globex}:loaded:2" "<p>identity:{globex}:order:ext:shop:o/7" "<p>identity:{globex}:extids:" 1 "ord_xwxq998ezrcb8a4zx97ca57vw6" "shop|Shöp <EU> & \"co\"|o/7" "1"
confirm:
"evalsha" "ae22f63870d6343691da35fe64b48839e259a0b3" 14 "<p>identity:{acme}:contact:ext:crm:c|1" "<p>identity:{acme}:extids:con_ftg3cxrjavhfpfqwptag0j0nh7" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "<p>identity:{acme}:extids:con_ftg3cxrjavhfpfqwptag0j0nh7" "<p>identity:{acme}:account:ext:erp:a-1" "<p>identity:{acme}:extids:acc_qc6fe1ds534cax5bk2ref9fkyb" "<p>identity:{acme}:account:domain:bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b5" "<p>identity:{acme}:extids:acc_qc6fe1ds534cax5bk2ref9fkyb" "<p>identity:{acme}:contact:ext:shop:9" "<p>identity:{acme}:extids:con_tfxt35t3gtsqj9p1k8jtd6ehg5" "<p>identity:{acme}:contact:ext:desk:u:7,8" "<p>identity:{acme}:extids:con_ftg3cxrjavhfpfqwptag0j0nh7" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "<p>identity:{acme}:extids:con_ftg3cxrjavhfpfqwptag0j0nh7" "con_ftg3cxrjavhfpfqwptag0j0nh7" "crm|crm-eu|c|1" "con_ftg3cxrjavhfpfqwptag0j0nh7" "" "acc_qc6fe1ds534cax5bk2ref9fkyb" "erp||a-1" "acc_qc6fe1ds534cax5bk2ref9fkyb" "" "con_tfxt35t3gtsqj9p1k8jtd6ehg5" "shop|shop|9" "con_ftg3cxrjavhfpfqwptag0j0nh7" "desk||u:7,8" "con_ftg3cxrjavhfpfqwptag0j0nh7" ""
"evalsha" "ae22f63870d6343691da35fe64b48839e259a0b3" 2 "<p>identity:{globex}:order:ext:shop:o/7" "<p>identity:{globex}:extids:ord_xwxq998ezrcb8a4zx97ca57vw6" "ord_xwxq998ezrcb8a4zx97ca57vw6" "shop|Shöp <EU> & \"co\"|o/7"
durable:
con_ftg3cxrjavhfpfqwptag0j0nh7 known conflict=false ids=2
  ext crm crm-eu c|1
  ext desk <nil> u:7,8
acc_qc6fe1ds534cax5bk2ref9fkyb known conflict=false ids=1
  ext erp <nil> a-1
con_tfxt35t3gtsqj9p1k8jtd6ehg5 known conflict=false ids=0
ord_xwxq998ezrcb8a4zx97ca57vw6 known conflict=false ids=1
  ext shop Shöp <EU> & "co" o/7
con_ftg3cxrjavhfpfqwptag0j0nh7 known conflict=false ids=2
  ext crm crm-eu c|1
  ext desk <nil> u:7,8
"mget" "<p>identity:{acme}:loaded:2" "<p>identity:{acme}:contact:ext:crm:c|1" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2" "<p>identity:{acme}:account:ext:erp:a-1" "<p>identity:{acme}:account:domain:bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b5" "<p>identity:{acme}:contact:ext:shop:9" "<p>identity:{acme}:contact:ext:desk:u:7,8" "<p>identity:{acme}:contact:email:542e0137136247e3b3235996d4b892291284c8da09d4013634e496206a6d2dc2"
"mget" "<p>identity:{globex}:loaded:2" "<p>identity:{globex}:order:ext:shop:o/7"
"mget" "<p>identity:{acme}:extids:con_ftg3cxrjavhfpfqwptag0j0nh7" "<p>identity:{acme}:extids:acc_qc6fe1ds534cax5bk2ref9fkyb"
"mget" "<p>identity:{globex}:extids:ord_xwxq998ezrcb8a4zx97ca57vw6"
cached:
"mget" "<p>identity:{acme}:extids:con_ftg3cxrjavhfpfqwptag0j0nh7" "<p>identity:{acme}:extids:acc_qc6fe1ds534cax5bk2ref9fkyb"
"mget" "<p>identity:{globex}:extids:ord_xwxq998ezrcb8a4zx97ca57vw6"
id lists:
"identity:{acme}:extids:acc_qc6fe1ds534cax5bk2ref9fkyb" "8:erp||a-1,"
"identity:{acme}:extids:con_ftg3cxrjavhfpfqwptag0j0nh7" "14:crm|crm-eu|c|1,11:desk||u:7,8,"
"identity:{acme}:extids:con_tfxt35t3gtsqj9p1k8jtd6ehg5" "11:shop|shop|9,"
"identity:{globex}:extids:ord_xwxq998ezrcb8a4zx97ca57vw6" "26:shop|Shöp <EU> & \"co\"|o/7,"
`
