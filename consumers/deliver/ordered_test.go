package deliver_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/consumers/deliver"
	"github.com/sluicehq/sluice/consumers/deliver/sink"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestOrderedDeliveryPerKey fails one event of a key twice: the later
// events of that key wait and arrive after it, in order, while another
// key's events are not held.
func TestOrderedDeliveryPerKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		failure sink.Answer
	}{
		{"failed attempts", sink.Answer{Status: http.StatusInternalServerError}},
		{"rate limit of the destination asking for a wait", sink.Answer{Status: http.StatusTooManyRequests, RetryAfter: "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			d, secret := e.dest(t, "")
			const blocker = "acme-6"
			k, url := newSink(t, []string{secret}, sink.WithScript(func(r sink.Request) sink.Answer {
				if r.ID == blocker && r.N <= 2 {
					return tc.failure
				}
				return sink.Answer{}
			}))
			d.Config.URL = url
			d.Config.Ordered = true
			const n = 30
			in := events(n, "acme", "globex")
			stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
			start(t, e.stageOf(t, []deliver.Destination{d}))
			waitDelivered(t, k, ids(in), 90*time.Second)

			order := k.Order()
			pos := map[string]int{}
			for i, id := range order {
				pos[id] = i
			}
			for _, tenant := range []string{"acme", "globex"} {
				last := -1
				for _, id := range ids(in) {
					if !strings.HasPrefix(id, tenant+"-") {
						continue
					}
					if pos[id] < last {
						t.Errorf("%s arrived out of order: %v", id, order)
					}
					last = pos[id]
				}
			}
			lastGlobex := 0
			for id, p := range pos {
				if strings.HasPrefix(id, "globex-") {
					lastGlobex = max(lastGlobex, p)
				}
			}
			if lastGlobex > pos[blocker] {
				t.Errorf("globex's events waited for acme's failing %s: %v", blocker, order)
			}
			checkDeliveredOnce(t, k)
			// The key's queue is gone once everything went through.
			testkit.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
				if keys := e.r.Keys(t, e.r.Prefix+"*@order*"); len(keys) > 0 {
					return fmt.Errorf("ordered keys left in Redis: %v", keys)
				}
				return nil
			})
		})
	}
}

// TestOrderedDeadLetterReleasesTheKey checks that an event dead-lettered
// at the head of its key lets the rest of the key go.
func TestOrderedDeadLetterReleasesTheKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	d, secret := e.dest(t, "")
	const blocker = "acme-2"
	k, url := newSink(t, []string{secret}, sink.WithScript(func(r sink.Request) sink.Answer {
		if r.ID == blocker {
			return sink.Answer{Status: http.StatusInternalServerError}
		}
		return sink.Answer{}
	}))
	d.Config.URL = url
	d.Config.Ordered = true
	d.Config.Retry.MaxAttempts = 3
	in := events(10, "acme")
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
	start(t, e.stageOf(t, []deliver.Destination{d}))
	e.checkOrderedWithout(t, k, d.Config.ID, in, blocker)
}

// checkOrderedWithout waits until every event of in but dead was
// delivered, checks that they arrived in order and that dead alone was
// dead-lettered, and returns its dead letter's headers.
func (e *env) checkOrderedWithout(t *testing.T, k *sink.Sink, dest string, in []*kgo.Record, dead string) map[string]string {
	t.Helper()
	var rest []string
	for _, id := range ids(in) {
		if id != dead {
			rest = append(rest, id)
		}
	}
	waitDelivered(t, k, rest, 60*time.Second)
	dl := e.deadLetters(t, dest, config.LaneInteractive, 1)
	if _, ok := dl[dead]; !ok || len(dl) != 1 {
		t.Errorf("dead letters %v, want only %s", dl, dead)
	}
	for i, id := range k.Order() {
		if id != rest[i] {
			t.Fatalf("order %v, want %v", k.Order(), rest)
		}
	}
	return dl[dead]
}

// TestOrderedDeadLetterOfAWaitingEventReleasesTheKey checks that an
// event dead-lettered while it waits behind its key's head (too old to
// wait any longer) does not hold the key once the head went through.
func TestOrderedDeadLetterOfAWaitingEventReleasesTheKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	d, secret := e.dest(t, "")
	const blocker, expired = "acme-2", "acme-5"
	k, url := newSink(t, []string{secret}, sink.WithScript(func(r sink.Request) sink.Answer {
		if r.ID == blocker && r.N <= 2 {
			return sink.Answer{Status: http.StatusInternalServerError}
		}
		return sink.Answer{}
	}))
	d.Config.URL = url
	d.Config.Ordered = true
	in := events(10, "acme")
	// Received longer ago than the max age: it is dead-lettered as soon
	// as it has to wait, never sent.
	kafka.SetHeader(in[5], kafka.HeaderReceivedAt, time.Now().Add(-2*d.Config.Retry.MaxAge).UTC().Format(time.RFC3339Nano))
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
	start(t, e.stageOf(t, []deliver.Destination{d}))
	h := e.checkOrderedWithout(t, k, d.Config.ID, in, expired)
	if msg := h[kafka.HeaderErrorMessage]; !strings.Contains(msg, "max age") {
		t.Errorf("%s dead-lettered with %q, want the max age", expired, msg)
	}
	for _, r := range k.Requests() {
		if r.ID == expired {
			t.Errorf("%s was sent, want never", expired)
		}
	}
}

// TestKafkaDestination copies the subscribed events, unchanged, to a
// topic, exactly once, with their attempts.
func TestKafkaDestination(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	out := e.base + ".out"
	d := deliver.Destination{Config: config.Destination{
		ID:        testkit.Name(t, "d"),
		Kind:      config.DestinationKafka,
		Topic:     out,
		Subscribe: config.Subscription{Objects: []string{"contact"}, Tenants: []string{"acme"}, EventTypes: []string{"contact.*"}},
		Retry:     config.Retry{MaxAttempts: 8, MaxAge: time.Hour, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second},
	}}
	var in, want []*kgo.Record
	for i := range 30 {
		var r *kgo.Record
		switch i % 3 {
		case 0:
			r = event("acme", i, "contact.updated")
			want = append(want, r)
		case 1:
			r = event("globex", i, "contact.updated")
		case 2:
			r = event("acme", i, "account.updated")
		}
		in = append(in, r)
	}
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
	s, err := deliver.New(stagetest.Config(e.k), e.r.Client, []deliver.Destination{d},
		deliver.Logger(testkit.Logger(t)), deliver.Prefix(e.r.Prefix), deliver.Lanes(config.LaneInteractive),
		deliver.InputTopic(e.topic), deliver.AttemptsTopic(e.attempts), deliver.TopicPartitions(e.parts))
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	got := stagetest.WaitRecords(t, e.k, out, len(want), 60*time.Second)
	byID := map[string]*kgo.Record{}
	for _, r := range got {
		id := kafka.Header(r, kafka.HeaderEventID)
		if byID[id] != nil {
			t.Errorf("%s copied twice", id)
		}
		byID[id] = r
	}
	if len(got) != len(want) {
		t.Errorf("%d copies, want %d", len(got), len(want))
	}
	for _, w := range want {
		r := byID[kafka.Header(w, kafka.HeaderEventID)]
		if r == nil {
			t.Errorf("%s not copied", kafka.Header(w, kafka.HeaderEventID))
			continue
		}
		if string(r.Key) != string(w.Key) || string(r.Value) != string(w.Value) {
			t.Errorf("copy %q/%q of %q/%q", r.Key, r.Value, w.Key, w.Value)
		}
		for _, h := range w.Headers {
			if got := kafka.Header(r, h.Key); got != string(h.Value) {
				t.Errorf("copy header %s = %q, want %q", h.Key, got, h.Value)
			}
		}
	}
	attempts := e.attemptsOf(t)
	if len(attempts) != len(want) {
		t.Errorf("%d attempts recorded, want %d", len(attempts), len(want))
	}
	for _, a := range attempts {
		if a.Result != deliver.ResultProduced || a.Tenant != "acme" {
			t.Errorf("attempt %+v", a)
		}
	}
}

// TestSubscription checks that a webhook destination gets only the
// tenants and event types it subscribes to.
func TestSubscription(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	d, secret := e.dest(t, "")
	k, url := newSink(t, []string{secret})
	d.Config.URL = url
	d.Config.Subscribe.Tenants = []string{"acme", "initech"}
	d.Config.Subscribe.EventTypes = []string{"contact.created", "contact.del*"}
	var in, want []*kgo.Record
	i := 0
	for _, tenant := range []string{"acme", "globex", "initech"} {
		for _, typ := range []string{"contact.created", "contact.updated", "contact.deleted"} {
			r := event(tenant, i, typ)
			i++
			in = append(in, r)
			if tenant != "globex" && typ != "contact.updated" {
				want = append(want, r)
			}
		}
	}
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
	start(t, e.stageOf(t, []deliver.Destination{d}))
	waitDelivered(t, k, ids(want), 60*time.Second)
	// The last event is subscribed to, so when it is in, every earlier
	// one has been decided.
	if got := len(k.Requests()); got != len(want) {
		t.Errorf("the sink got %d requests, want %d", got, len(want))
	}
	for _, r := range k.Requests() {
		if r.Tenant == "globex" || r.EventType == "contact.updated" {
			t.Errorf("delivered %s (%s, %s), which the destination does not subscribe to", r.ID, r.Tenant, r.EventType)
		}
	}
}
