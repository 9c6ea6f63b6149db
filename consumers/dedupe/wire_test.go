package dedupe_test

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/consumers/dedupe"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestWireFormat pins, byte for byte, the commands Claim and Settle send:
// keys and markers must never change, or a running store would let
// duplicates through.
func TestWireFormat(t *testing.T) {
	t.Parallel()
	r := testkit.NewRedis(t)
	rec := &recorder{}
	r.Client.AddHook(rec)
	s, err := dedupe.New(r.Client, dedupe.Prefix(r.Prefix), dedupe.TTL(time.Hour), dedupe.Lease(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t, 30*time.Second)
	a := []dedupe.Claim{
		{Stage: "transform", Tenant: "acme", EventID: "evt:1", Owner: "sluice.in/0/17"},
		{Stage: "transform", Tenant: "globex", EventID: "{e}2", Owner: "sluice.in/3/123456789012"},
	}
	b := []dedupe.Claim{
		{Stage: "transform", Tenant: "acme", EventID: "evt:1", Owner: "sluice.retry/1/5"},
		{Stage: "transform", Tenant: "globex", EventID: "{e}2", Owner: "sluice.in/3/123456789012"},
	}
	var got strings.Builder
	var groups []dedupe.Group
	group := func() dedupe.Group {
		g := dedupe.NewGroup()
		groups = append(groups, g)
		return g
	}
	step := func(name string, st []dedupe.Status, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&got, "%s: %v\n", name, st)
		for _, trip := range rec.reset() {
			// Left out: the connection's handshake, and the EVAL that
			// follows an EVALSHA the server answered NOSCRIPT (it sends
			// the same keys and arguments), which depends on the
			// server's script cache.
			if name := trip[0].Name(); name == "hello" || name == "client" || name == "eval" {
				continue
			}
			for _, cmd := range trip {
				for i, arg := range cmd.Args() {
					if i > 0 {
						got.WriteByte(' ')
					}
					if s, ok := arg.(string); ok {
						s = strings.ReplaceAll(s, r.Prefix, "<p>")
						for j, g := range groups {
							s = strings.ReplaceAll(s, string(g), fmt.Sprintf("<g%d>", j+1))
						}
						fmt.Fprintf(&got, "%q", s)
					} else {
						fmt.Fprint(&got, arg)
					}
				}
				got.WriteByte('\n')
			}
			got.WriteString("--\n")
		}
	}
	g1, g2 := group(), group()
	if !regexp.MustCompile(`^[0-9]{13}-[0-9a-f]{16}$`).MatchString(string(g1)) || g1 == g2 {
		t.Fatalf("groups %q and %q: want <unix-ms>-<16 hex digits>, each its own", g1, g2)
	}
	st, err := s.Claim(ctx, g1, a)
	step("claim new", st, err)
	st, err = s.Claim(ctx, g2, b)
	step("claim again", st, err)
	step("settle, nothing released", nil, s.Settle(ctx, g2, "transform", nil))
	step("settle, one released", nil, s.Settle(ctx, g1, "transform", a[:1]))
	g3 := group()
	st, err = s.Claim(ctx, g3, b)
	step("claim after", st, err)
	step("release", nil, s.Release(ctx, g3, b[:1]))
	if got.String() != wantWire {
		t.Errorf("sent:\n%s\nwant:\n%s", got.String(), wantWire)
	}
}

// wantWire is what the store sent when the format was pinned.
const wantWire = `claim new: [claimed claimed]
"set" "<p>dedupe:transform:acme:evt:1" "g:<g1>:sluice.in/0/17" "ex" 3600 "NX" "get"
"set" "<p>dedupe:transform:globex:{e}2" "g:<g1>:sluice.in/3/123456789012" "ex" 3600 "NX" "get"
--
claim again: [busy claimed]
"set" "<p>dedupe:transform:acme:evt:1" "g:<g2>:sluice.retry/1/5" "ex" 3600 "NX" "get"
"set" "<p>dedupe:transform:globex:{e}2" "g:<g2>:sluice.in/3/123456789012" "ex" 3600 "NX" "get"
--
"get" "<p>dedupe-commit:<g1>"
--
"evalsha" "cb04982f272368915112fff365bc81b21117e837" 1 "<p>dedupe:transform:globex:{e}2" "g:<g1>:sluice.in/3/123456789012" "g:<g2>:sluice.in/3/123456789012" "3600000"
--
settle, nothing released: []
"set" "<p>dedupe-commit:<g2>" "1" "ex" 3600
--
settle, one released: []
"set" "<p>dedupe-commit:<g1>" "1:sluice.in/0/17" "ex" 3600
--
claim after: [claimed duplicate]
"set" "<p>dedupe:transform:acme:evt:1" "g:<g3>:sluice.retry/1/5" "ex" 3600 "NX" "get"
"set" "<p>dedupe:transform:globex:{e}2" "g:<g3>:sluice.in/3/123456789012" "ex" 3600 "NX" "get"
--
"get" "<p>dedupe-commit:<g1>"
"get" "<p>dedupe-commit:<g2>"
--
"evalsha" "cb04982f272368915112fff365bc81b21117e837" 1 "<p>dedupe:transform:acme:evt:1" "g:<g1>:sluice.in/0/17" "g:<g3>:sluice.retry/1/5" "3600000"
--
release: []
"evalsha" "f4f23e4b63559980e4fd8dd1b2bf8e156fe4c29f" 1 "<p>dedupe:transform:acme:evt:1" "g:<g3>:sluice.retry/1/5"
--
`

// TestOwner pins the claim owner of a record, and that it costs one
// allocation. Not parallel: AllocsPerRun may not run beside other tests.
func TestOwner(t *testing.T) {
	for _, c := range []struct {
		src  stage.Source
		want string
	}{
		{stage.Source{Topic: "sluice.in", Partition: 3, Offset: 123456789012}, "sluice.in/3/123456789012"},
		{stage.Source{Topic: "t", Partition: 0, Offset: 0}, "t/0/0"},
		{stage.Source{Topic: strings.Repeat("x", 300), Partition: math.MinInt32, Offset: math.MinInt64}, strings.Repeat("x", 300) + "/-2147483648/-9223372036854775808"},
	} {
		r := &stage.Record{Source: c.src}
		if got := dedupe.Owner(r); got != c.want {
			t.Errorf("Owner(%+v) = %q, want %q", c.src, got, c.want)
		}
		if n := testing.AllocsPerRun(10, func() { dedupe.Owner(r) }); n != 1 {
			t.Errorf("Owner(%+v): %v allocations, want 1", c.src, n)
		}
	}
}
