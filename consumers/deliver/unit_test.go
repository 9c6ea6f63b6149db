package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

func TestRetryLanes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		r      config.Retry
		factor int
		want   []time.Duration
	}{
		{"defaults", config.Retry{InitialBackoff: time.Second, MaxBackoff: time.Hour}, 4,
			[]time.Duration{time.Second, 4 * time.Second, 16 * time.Second, 64 * time.Second, 256 * time.Second, 1024 * time.Second, time.Hour}},
		{"doubling", config.Retry{InitialBackoff: time.Second, MaxBackoff: 10 * time.Second}, 2,
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second}},
		{"max a power of the factor", config.Retry{InitialBackoff: time.Second, MaxBackoff: 16 * time.Second}, 4,
			[]time.Duration{time.Second, 4 * time.Second, 16 * time.Second}},
		{"max below initial", config.Retry{InitialBackoff: time.Minute, MaxBackoff: time.Second}, 4,
			[]time.Duration{time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := retryLanes(tc.r, tc.factor); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("retryLanes = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLaneDelay(t *testing.T) {
	lanes := []time.Duration{time.Second, 4 * time.Second, time.Minute}
	for _, tc := range []struct {
		wish, want time.Duration
	}{
		{0, time.Second}, {time.Second, time.Second}, {1001 * time.Millisecond, 4 * time.Second},
		{30 * time.Second, time.Minute}, {time.Hour, time.Minute},
	} {
		t.Run(tc.wish.String(), func(t *testing.T) {
			if got := laneDelay(lanes, tc.wish); got != tc.want {
				t.Errorf("laneDelay(%v) = %v, want %v", tc.wish, got, tc.want)
			}
		})
	}
}

// TestBackoffFullJitter checks that the wish after attempt n is spread
// over the whole range from 0 to the exponential cap, and never past it.
func TestBackoffFullJitter(t *testing.T) {
	r := config.Retry{InitialBackoff: time.Second, MaxBackoff: 20 * time.Second}
	for _, tc := range []struct {
		attempt int
		cap     time.Duration
	}{
		{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {5, 16 * time.Second}, {6, 20 * time.Second}, {30, 20 * time.Second},
	} {
		t.Run(fmt.Sprint(tc.attempt), func(t *testing.T) {
			lo, hi := tc.cap, time.Duration(0)
			for range 2000 {
				d := backoff(r, tc.attempt)
				if d < 0 || d > tc.cap {
					t.Fatalf("backoff %v outside [0, %v]", d, tc.cap)
				}
				lo, hi = min(lo, d), max(hi, d)
			}
			if lo > tc.cap/10 || hi < tc.cap*9/10 {
				t.Errorf("2000 draws span only %v..%v of [0, %v]: not full jitter", lo, hi, tc.cap)
			}
		})
	}
}

func TestClampRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		d, lo, hi, maxBackoff, w time.Duration
	}{
		{"within", 30 * time.Second, time.Second, time.Hour, time.Hour, 30 * time.Second},
		{"below the floor", 0, time.Second, time.Hour, time.Hour, time.Second},
		{"above the ceiling", 48 * time.Hour, time.Second, time.Hour, 2 * time.Hour, time.Hour},
		{"above max backoff", 30 * time.Minute, time.Second, time.Hour, 10 * time.Minute, 10 * time.Minute},
		{"max backoff below the floor", time.Minute, 5 * time.Second, time.Hour, time.Second, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := clampRetryAfter(tc.d, tc.lo, tc.hi, tc.maxBackoff); got != tc.w {
				t.Errorf("clampRetryAfter = %v, want %v", got, tc.w)
			}
		})
	}
}

func TestEventTime(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC)
	rec := func(receivedAt string, lane int) *stage.Record {
		raw := &kgo.Record{Timestamp: at.Add(time.Minute)}
		if receivedAt != "" {
			kafka.SetHeader(raw, kafka.HeaderReceivedAt, receivedAt)
		}
		return &stage.Record{Raw: raw, Lane: lane}
	}
	for _, tc := range []struct {
		name string
		r    *stage.Record
		want time.Time
		ok   bool
	}{
		{"RFC 3339 header", rec(at.Format(time.RFC3339Nano), 2), at, true},
		{"Unix ms header", rec(fmt.Sprint(at.UnixMilli()), 2), at, true},
		{"no header, input topic: the record's timestamp", rec("", 0), at.Add(time.Minute), true},
		{"no header, retry topic: unknown", rec("", 1), time.Time{}, false},
		{"unreadable header, retry topic: unknown", rec("yesterday", 1), time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := eventTime(tc.r)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Errorf("eventTime = %v %v, want %v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestSubscribed(t *testing.T) {
	d := &destination{tenants: map[string]bool{"acme": true}, types: []string{"contact.created", "order.*"}}
	all := &destination{}
	for _, tc := range []struct {
		name      string
		d         *destination
		tenant, t string
		want      bool
	}{
		{"exact type", d, "acme", "contact.created", true},
		{"prefix pattern", d, "acme", "order.refunded", true},
		{"other type", d, "acme", "contact.updated", false},
		{"pattern is a prefix, not a glob", d, "acme", "orders.created", false},
		{"other tenant", d, "globex", "contact.created", false},
		{"empty lists take everything", all, "globex", "ticket.closed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.subscribed(tc.tenant, tc.t); got != tc.want {
				t.Errorf("subscribed(%s, %s) = %v, want %v", tc.tenant, tc.t, got, tc.want)
			}
		})
	}
}

// TestOrderQueue walks an ordered key's queue through its states.
func TestOrderQueue(t *testing.T) {
	r := testkit.NewRedis(t)
	s := &store{rc: r.Client, prefix: r.Prefix, ttl: time.Hour}
	ctx := context.Background()
	keys := s.orderKeys("dest", "acme", []byte("acme"))
	other := s.orderKeys("dest", "acme", []byte("acme/entity-2"))
	lanes := []time.Duration{time.Second, 4 * time.Second, time.Minute}
	now := time.Now()
	const stale, ttl = 10 * time.Minute, time.Hour
	admit := func(keys []string, id string, at time.Time) (bool, time.Duration) {
		t.Helper()
		ok, wait, err := s.admit(ctx, keys, id, at, stale, ttl, lanes)
		if err != nil {
			t.Fatal(err)
		}
		return ok, wait
	}
	step := func(name string, got, want bool) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	ok, _ := admit(keys, "e1", now)
	step("e1 on an empty queue goes", ok, true)
	if err := s.block(ctx, keys, "e1", now.Add(4*time.Second), ttl); err != nil {
		t.Fatal(err)
	}
	ok, wait := admit(keys, "e2", now)
	step("e2 behind a failed e1 waits", ok, false)
	if wait != 4*time.Second {
		t.Errorf("e2 waits %v, want e1's 4s", wait)
	}
	ok, _ = admit(keys, "e3", now)
	step("e3 waits too", ok, false)
	ok, _ = admit(other, "x1", now)
	step("another key is not held", ok, true)
	ok, _ = admit(keys, "e3", now)
	step("e3 asking again still waits", ok, false)
	ok, _ = admit(keys, "e1", now.Add(4*time.Second))
	step("e1 back from its retry goes", ok, true)
	if err := s.release(ctx, keys, "e1"); err != nil {
		t.Fatal(err)
	}
	ok, _ = admit(keys, "e3", now.Add(5*time.Second))
	step("e3 before e2 still waits: e2 joined first", ok, false)
	ok, _ = admit(keys, "e2", now.Add(5*time.Second))
	step("e2 is the head now", ok, true)
	if err := s.release(ctx, keys, "e2"); err != nil {
		t.Fatal(err)
	}
	ok, _ = admit(keys, "e3", now.Add(6*time.Second))
	step("e3 last", ok, true)
	if err := s.release(ctx, keys, "e3"); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Client.Exists(ctx, keys...).Result(); err != nil || n != 0 {
		t.Errorf("an empty queue leaves %d keys (%v)", n, err)
	}

	// A head that never comes back stops holding its key after stale.
	ok, _ = admit(keys, "f1", now)
	step("f1 goes", ok, true)
	if err := s.block(ctx, keys, "f1", now.Add(time.Second), ttl); err != nil {
		t.Fatal(err)
	}
	ok, _ = admit(keys, "f2", now.Add(time.Minute))
	step("f2 waits for f1 within the staleness", ok, false)
	ok, _ = admit(keys, "f2", now.Add(time.Second+stale+time.Millisecond))
	step("f2 goes once f1 is stale", ok, true)
}

// The attempts of a batch are gathered and produced together: a burst's
// worth at once, the rest when the window ends or the batch does; wait
// produces what is gathered and returns once the broker has every one.
func TestRecorderProducesGatheredAttemptsBeforeTheBatchEnds(t *testing.T) {
	k := testkit.NewKafka(t)
	topic := k.Topic(t, 3)
	cl := k.Client(t, kgo.ProducerLinger(0))
	ctx := testkit.Context(t, time.Minute)
	next := 0
	add := func(rc *recorder, n int) {
		for range n {
			raw := &kgo.Record{Topic: "in", Partition: 1, Offset: int64(next)}
			r := &stage.Record{Raw: raw, Source: stage.Source{Topic: "in", Partition: 1, Offset: int64(next)}}
			rc.add(&Attempt{Tenant: fmt.Sprintf("t-%d", next%5), Destination: "d", EventID: fmt.Sprintf("e-%d", next), Result: ResultDelivered}, r)
			next++
		}
	}
	ended := func() int64 {
		offs, err := k.Admin(t).ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		offs.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n
	}
	gathered := func(rc *recorder) int {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return len(rc.pending)
	}

	// A window that does not end within the test: a burst goes out at
	// once, the rest when the batch ends.
	rc := newRecorder(ctx, cl, topic)
	rc.window = time.Hour
	add(rc, attemptsBurst+3)
	if n := gathered(rc); n != 3 {
		t.Fatalf("%d attempts still gathered after %d, want 3", n, attemptsBurst+3)
	}
	if err := rc.wait(); err != nil {
		t.Fatal(err)
	}
	if got, want := ended(), int64(attemptsBurst+3); got != want {
		t.Fatalf("the broker has %d attempt records once the batch ended, want %d", got, want)
	}

	// A short window: the attempts go out without the batch ending.
	rc = newRecorder(ctx, cl, topic)
	rc.window = time.Millisecond
	add(rc, 2)
	testkit.CheckFor(t, 30*time.Second, 10*time.Millisecond, func() error {
		if got, want := ended(), int64(attemptsBurst+5); got != want {
			return fmt.Errorf("the broker has %d attempt records, want %d once the window ended", got, want)
		}
		return nil
	})
	if err := rc.wait(); err != nil {
		t.Fatal(err)
	}

	got := k.Records(t, topic)
	if len(got) != attemptsBurst+5 {
		t.Fatalf("read %d attempt records, want %d", len(got), attemptsBurst+5)
	}
	var a Attempt
	if err := json.Unmarshal(got[0].Value, &a); err != nil || a.Destination != "d" || string(got[0].Key) != a.Tenant {
		t.Fatalf("attempt record %s (key %s): %+v, %v", got[0].Value, got[0].Key, a, err)
	}
}

func TestAttemptRecord(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	raw := &kgo.Record{Topic: "sluice.canonical.contact", Partition: 3, Offset: 1234}
	kafka.SetHeader(raw, kafka.HeaderTraceParent, tp)
	r := &stage.Record{Raw: raw, Tenant: "acme", EventID: "e-42"}
	a := &Attempt{Tenant: "acme", Destination: "crm-sync", EventID: "e-42", EventType: "contact.updated",
		Lane: config.LaneInteractive, Attempt: 2, At: time.Date(2030, 1, 2, 3, 4, 5, 678e6, time.UTC),
		Result: ResultFailed, Status: 503, LatencyMS: 12.5, Topic: raw.Topic, Partition: 3, Offset: 1234}
	out := a.record("sluice.delivery.attempts", r)
	if out.Topic != "sluice.delivery.attempts" || string(out.Key) != "acme" {
		t.Errorf("topic %q, key %q", out.Topic, out.Key)
	}
	want := map[string]string{
		kafka.HeaderTenantID:    "acme",
		kafka.HeaderEventID:     "e-42",
		HeaderDestination:       "crm-sync",
		kafka.HeaderEventType:   "contact.updated",
		kafka.HeaderTraceParent: tp,
	}
	if len(out.Headers) != len(want) {
		t.Errorf("headers %v, want %v", out.Headers, want)
	}
	for k, v := range want {
		if got := kafka.Header(out, k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	var back Attempt
	if err := json.Unmarshal(out.Value, &back); err != nil || back != *a {
		t.Errorf("value %s decodes to %+v (%v), want %+v", out.Value, back, err, *a)
	}
	// Without an event type or trace context, neither header is sent.
	a.EventType = ""
	if out := a.record("t", &stage.Record{Raw: &kgo.Record{}}); len(out.Headers) != 3 {
		t.Errorf("headers %v, want tenant-id, event-id and destination", out.Headers)
	}
}

// An attempt's record value is what encoding/json writes for it, for
// random attempts with every field set or empty (filled by reflection, so
// a field added to Attempt and not to appendJSON fails here), and strings
// of every escape; a latency or time encoding/json refuses leaves the
// value to it.
func TestAttemptJSONIsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	texts := []string{"", "acme", "contact.updated", "<b>&\"q\"\\", "\u2028\x00\n", "\xff bad", "é😀"}
	zones := []*time.Location{time.UTC, time.FixedZone("x", 2*3600)}
	for range 5000 {
		var a Attempt
		v := reflect.ValueOf(&a).Elem()
		for i := range v.NumField() {
			f := v.Field(i)
			switch f.Interface().(type) {
			case string:
				f.SetString(texts[rng.IntN(len(texts))])
			case int, int32, int64:
				f.SetInt(int64(rng.Uint64()) >> rng.IntN(64) * int64(rng.IntN(3)-1))
			case float64:
				f.SetFloat(rng.ExpFloat64() * math.Pow(10, float64(rng.IntN(40)-20)))
			case time.Time:
				f.Set(reflect.ValueOf(time.Unix(rng.Int64N(1e10), rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))])))
			default:
				t.Fatalf("Attempt.%s: no values of %s", v.Type().Field(i).Name, f.Type())
			}
		}
		want, err := json.Marshal(&a)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.record("t", &stage.Record{Raw: &kgo.Record{}}).Value; !bytes.Equal(got, want) {
			t.Fatalf("value\n%s\nencoding/json\n%s", got, want)
		}
	}
	for _, a := range []Attempt{{LatencyMS: math.NaN()}, {At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}} {
		if got := a.record("t", &stage.Record{Raw: &kgo.Record{}}).Value; got != nil {
			t.Errorf("%+v: value %s, want none (encoding/json refuses it)", a, got)
		}
	}
}

// TestBreakerTrips checks the breaker's rules, the ratio over the
// attempts answered only: not those in flight, nor those excluded for
// never being sent.
func TestBreakerTrips(t *testing.T) {
	b := BreakerSettings{ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20}
	for _, tc := range []struct {
		name string
		c    gobreaker.Counts
		want bool
	}{
		{"consecutive failures", gobreaker.Counts{Requests: 5, TotalFailures: 5, ConsecutiveFailures: 5}, true},
		{"half failed", gobreaker.Counts{Requests: 20, TotalSuccesses: 10, TotalFailures: 10, ConsecutiveFailures: 1}, true},
		{"under half failed", gobreaker.Counts{Requests: 20, TotalSuccesses: 11, TotalFailures: 9, ConsecutiveFailures: 1}, false},
		{"too few answered", gobreaker.Counts{Requests: 19, TotalSuccesses: 9, TotalFailures: 10, ConsecutiveFailures: 1}, false},
		{"rate-limited requests do not dilute", gobreaker.Counts{Requests: 60, TotalExclusions: 30, TotalSuccesses: 14, TotalFailures: 16, ConsecutiveFailures: 2}, true},
		{"requests in flight do not dilute", gobreaker.Counts{Requests: 40, TotalSuccesses: 10, TotalFailures: 10, ConsecutiveFailures: 1}, true},
		{"excluded requests do not count towards the minimum", gobreaker.Counts{Requests: 40, TotalExclusions: 30, TotalSuccesses: 2, TotalFailures: 8, ConsecutiveFailures: 1}, false},
	} {
		if got := b.trips(tc.c); got != tc.want {
			t.Errorf("%s: trips(%+v) = %v, want %v", tc.name, tc.c, got, tc.want)
		}
	}
	if off := (BreakerSettings{ConsecutiveFailures: 5, MinRequests: 20}); off.trips(gobreaker.Counts{Requests: 40, TotalFailures: 39, ConsecutiveFailures: 4}) {
		t.Error("a ratio of 0 opened the breaker")
	}
}
