package deliver_test

import (
	"encoding/json"
	"fmt"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/consumers/deliver"
	"github.com/sluicehq/sluice/consumers/deliver/sink"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestRetryAfterHonoured checks that a 429's Retry-After is waited for
// and that a huge one is clamped to the destination's MaxBackoff.
func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	d, secret := e.dest(t, "")
	k, url := newSink(t, []string{secret}, sink.WithScript(func(r sink.Request) sink.Answer {
		if r.N > 1 {
			return sink.Answer{}
		}
		if number(r.ID) == 0 {
			return sink.Answer{Status: http.StatusTooManyRequests, RetryAfter: "1"}
		}
		return sink.Answer{Status: http.StatusServiceUnavailable, RetryAfter: "3600"}
	}))
	d.Config.URL = url
	in := events(2, "acme")
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
	start(t, e.stageOf(t, []deliver.Destination{d}))
	waitDelivered(t, k, ids(in), 60*time.Second)

	var first, second time.Time
	for _, r := range k.Requests() {
		if r.ID == "acme-0" && r.N == 1 {
			first = r.At
		}
		if r.ID == "acme-0" && r.N == 2 {
			second = r.At
		}
	}
	if gap := second.Sub(first); gap < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
	var clamped *deliver.Attempt
	testkit.CheckFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		for _, a := range e.attemptsOf(t) {
			if a.EventID == "acme-1" && a.Result == deliver.ResultFailed {
				clamped = &a
				return nil
			}
		}
		return fmt.Errorf("no failed attempt of acme-1 recorded")
	})
	if clamped.RetryInMS != time.Second.Milliseconds() || clamped.Status != http.StatusServiceUnavailable {
		t.Errorf("Retry-After 3600 gave a retry in %dms (status %d), want MaxBackoff's %dms", clamped.RetryInMS, clamped.Status, time.Second.Milliseconds())
	}
}

// deadLetters waits for n dead letters of dest's lane and returns them.
func (e *env) deadLetters(t *testing.T, dest, lane string, n int) map[string]map[string]string {
	t.Helper()
	recs := stagetest.WaitRecords(t, e.k, kafka.DLQTopic(deliver.StageName(dest, lane)), n, 60*time.Second)
	out := map[string]map[string]string{}
	for _, r := range recs {
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		out[h[kafka.HeaderEventID]] = h
	}
	return out
}

// TestAnswers checks what each kind of answer does to an event.
func TestAnswers(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("account acme has no such contact; ", 40)
	for _, tc := range []struct {
		name    string
		first   sink.Answer // the answer to every first request
		dead    bool        // the event is dead-lettered
		class   string
		message []string // the dead letter's error-message says these
		tries   int      // requests the sink sees for the event
	}{
		{
			name:    "400 is dead-lettered with status and body",
			first:   sink.Answer{Status: http.StatusBadRequest, Body: long},
			dead:    true,
			class:   "permanent",
			message: []string{"refused the event", "status 400", "account acme has no such contact"},
			tries:   1,
		},
		{
			name:    "422 likewise",
			first:   sink.Answer{Status: http.StatusUnprocessableEntity, Body: `{"error":"bad email"}`},
			dead:    true,
			class:   "permanent",
			message: []string{"status 422", "bad email"},
			tries:   1,
		},
		{
			name:  "302 is a failure, not followed, and retried",
			first: sink.Answer{Status: http.StatusFound, Location: "/elsewhere"},
			tries: 2,
		},
		{
			name:  "500 is retried",
			first: sink.Answer{Status: http.StatusInternalServerError},
			tries: 2,
		},
		{
			name:  "425 is retried",
			first: sink.Answer{Status: http.StatusTooEarly},
			tries: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			d, secret := e.dest(t, "")
			k, url := newSink(t, []string{secret}, sink.WithScript(func(r sink.Request) sink.Answer {
				if r.N == 1 {
					return tc.first
				}
				return sink.Answer{}
			}))
			d.Config.URL = url
			in := events(1, "acme")
			stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
			start(t, e.stageOf(t, []deliver.Destination{d}))
			if tc.dead {
				dl := e.deadLetters(t, d.Config.ID, config.LaneInteractive, 1)["acme-0"]
				if dl == nil {
					t.Fatal("no dead letter of acme-0")
				}
				if dl[kafka.HeaderErrorClass] != tc.class {
					t.Errorf("error-class %q, want %q", dl[kafka.HeaderErrorClass], tc.class)
				}
				msg := dl[kafka.HeaderErrorMessage]
				for _, want := range tc.message {
					if !strings.Contains(msg, want) {
						t.Errorf("error-message %q does not say %q", msg, want)
					}
				}
				if len(msg) > 512 {
					t.Errorf("error-message of %d bytes", len(msg))
				}
			} else {
				waitDelivered(t, k, ids(in), 60*time.Second)
			}
			testkit.CheckFor(t, 30*time.Second, 100*time.Millisecond, func() error {
				if got := len(e.attemptsOf(t)); got < tc.tries {
					return fmt.Errorf("%d attempts recorded, want %d", got, tc.tries)
				}
				return nil
			})
			reqs := k.Requests()
			if len(reqs) != tc.tries {
				t.Errorf("the sink saw %d requests, want %d", len(reqs), tc.tries)
			}
			for _, r := range reqs {
				if r.ID != "acme-0" {
					t.Errorf("request for %q: a redirect was followed?", r.ID)
				}
			}
		})
	}
}

// TestGoneDisablesTheDestination checks that a 410 disables the
// destination everywhere (dead-lettering its events with the reason)
// until it is enabled again through the admin API.
func TestGoneDisablesTheDestination(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	d, secret := e.dest(t, "")
	var gone atomic.Bool
	gone.Store(true)
	k, url := newSink(t, []string{secret}, sink.WithScript(func(r sink.Request) sink.Answer {
		if gone.Load() {
			return sink.Answer{Status: http.StatusGone}
		}
		return sink.Answer{}
	}))
	d.Config.URL = url
	reg := prometheus.NewRegistry()
	core, logs := observer.New(zap.InfoLevel)
	s := e.stageOf(t, []deliver.Destination{d}, deliver.Registerer(reg), deliver.Logger(zap.New(core)))
	mux := http.NewServeMux()
	s.RegisterAdmin(mux)
	admin := httptest.NewServer(mux)
	t.Cleanup(admin.Close)
	start(t, s)

	topic := e.topic("contact", config.LaneInteractive)
	stagetest.Produce(t, e.k, topic, event("acme", 0, "contact.created"))
	dls := e.deadLetters(t, d.Config.ID, config.LaneInteractive, 1)
	if msg := dls["acme-0"][kafka.HeaderErrorMessage]; !strings.Contains(msg, "410") || !strings.Contains(msg, "enable") {
		t.Errorf("dead letter says %q", msg)
	}
	if got := testkit.Metric(t, reg, "sluice_deliver_disabled", map[string]string{"destination": d.Config.ID}); got != 1 {
		t.Errorf("sluice_deliver_disabled = %v, want 1", got)
	}
	st := destinationStatus(t, admin.URL, d.Config.ID)
	if st.Disabled == nil || !strings.Contains(st.Disabled.Reason, "410 Gone") {
		t.Fatalf("admin status %+v, want disabled by a 410", st)
	}

	// While disabled, events are dead-lettered without a request.
	gone.Store(false)
	stagetest.Produce(t, e.k, topic, event("acme", 1, "contact.created"))
	dls = e.deadLetters(t, d.Config.ID, config.LaneInteractive, 2)
	if msg := dls["acme-1"][kafka.HeaderErrorMessage]; !strings.Contains(msg, "disabled") {
		t.Errorf("dead letter of an event of a disabled destination says %q", msg)
	}
	if n := len(k.Requests()); n != 1 {
		t.Errorf("the sink saw %d requests, want only the one answered 410", n)
	}

	resp, err := http.Post(admin.URL+"/admin/v1/destinations/"+d.Config.ID+"/enable", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("enable: %s", resp.Status)
	}
	if st := destinationStatus(t, admin.URL, d.Config.ID); st.Disabled != nil {
		t.Fatalf("still disabled after enable: %+v", st.Disabled)
	}
	// The audit trail: what was done to which destination, from where.
	audit := logs.FilterMessageSnippet("admin API").FilterField(zap.String("destination", d.Config.ID)).FilterField(zap.String("action", "enable")).All()
	if len(audit) != 1 || audit[0].ContextMap()["remote_addr"] == "" {
		t.Errorf("audit log of the enable: %v, want one line with the caller's address", audit)
	}
	stagetest.Produce(t, e.k, topic, event("acme", 2, "contact.created"))
	waitDelivered(t, k, []string{"acme-2"}, 60*time.Second)
	if got := testkit.Metric(t, reg, "sluice_deliver_disabled", map[string]string{"destination": d.Config.ID}); got != 0 {
		t.Errorf("sluice_deliver_disabled = %v after enable, want 0", got)
	}
}

func destinationStatus(t *testing.T, base, id string) deliver.Status {
	t.Helper()
	resp, err := http.Get(base + "/admin/v1/destinations")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Destinations []deliver.Status `json:"destinations"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	for _, st := range body.Destinations {
		if st.ID == id {
			return st
		}
	}
	t.Fatalf("destination %s not in the admin API", id)
	return deliver.Status{}
}

// TestGivingUp checks the two bounds of retries: attempts and age.
func TestGivingUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		maxAttempt int
		receivedAt time.Duration // before now
		tries      int
		class      string
		message    string
	}{
		{"max attempts", 3, 0, 3, "retryable", "status 500"},
		{"max age", 8, 2 * time.Hour, 1, "permanent", "older than the retry max age"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			d, secret := e.dest(t, "")
			k, url := newSink(t, []string{secret}, sink.WithScript(func(sink.Request) sink.Answer {
				return sink.Answer{Status: http.StatusInternalServerError}
			}))
			d.Config.URL = url
			d.Config.Retry.MaxAttempts = tc.maxAttempt
			ev := event("acme", 0, "contact.updated")
			kafka.SetHeader(ev, kafka.HeaderReceivedAt, time.Now().Add(-tc.receivedAt).UTC().Format(time.RFC3339Nano))
			stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), ev)
			start(t, e.stageOf(t, []deliver.Destination{d}))
			dl := e.deadLetters(t, d.Config.ID, config.LaneInteractive, 1)["acme-0"]
			if dl[kafka.HeaderErrorClass] != tc.class || !strings.Contains(dl[kafka.HeaderErrorMessage], tc.message) {
				t.Errorf("dead letter %s: %q, want %s: %q", dl[kafka.HeaderErrorClass], dl[kafka.HeaderErrorMessage], tc.class, tc.message)
			}
			if dl[kafka.HeaderAttempts] != fmt.Sprint(tc.tries) {
				t.Errorf("attempts header %q, want %d", dl[kafka.HeaderAttempts], tc.tries)
			}
			if got := len(k.Requests()); got != tc.tries {
				t.Errorf("the sink saw %d requests, want %d", got, tc.tries)
			}
		})
	}
}

// TestPrivateAddressRefused checks that a destination on loopback that is
// not allowed into private networks gets nothing: its events are
// dead-lettered saying why.
func TestPrivateAddressRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	d, secret := e.dest(t, "")
	k, url := newSink(t, []string{secret})
	d.Config.URL = url
	d.Config.AllowPrivateNetwork = false
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), event("acme", 0, "contact.updated"))
	start(t, e.stageOf(t, []deliver.Destination{d}))
	dl := e.deadLetters(t, d.Config.ID, config.LaneInteractive, 1)["acme-0"]
	if msg := dl[kafka.HeaderErrorMessage]; dl[kafka.HeaderErrorClass] != "permanent" || !strings.Contains(msg, "address not allowed") || !strings.Contains(msg, "loopback") {
		t.Errorf("dead letter %s: %q", dl[kafka.HeaderErrorClass], msg)
	}
	if n := len(k.Requests()); n != 0 {
		t.Errorf("the sink got %d requests", n)
	}
}

// TestNoEventIDIsPoison checks that a record without an event id, which
// has no idempotency key, is dead-lettered and not sent.
func TestNoEventIDIsPoison(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	d, secret := e.dest(t, "")
	k, url := newSink(t, []string{secret})
	d.Config.URL = url
	bad := event("acme", 0, "contact.updated")
	kafka.SetHeader(bad, kafka.HeaderEventID, "")
	good := event("acme", 1, "contact.updated")
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), bad, good)
	start(t, e.stageOf(t, []deliver.Destination{d}))
	waitDelivered(t, k, []string{"acme-1"}, 60*time.Second)
	dl := e.deadLetters(t, d.Config.ID, config.LaneInteractive, 1)[""]
	if dl[kafka.HeaderErrorClass] != "poison" || !strings.Contains(dl[kafka.HeaderErrorMessage], "no event-id") {
		t.Errorf("dead letter %v", dl)
	}
	if n := len(k.Requests()); n != 1 {
		t.Errorf("the sink got %d requests, want 1", n)
	}
}

// TestCopiesInOneBatchSentOnce puts two copies of an event in one batch:
// one request.
func TestCopiesInOneBatchSentOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	d, secret := e.dest(t, "")
	k, url := newSink(t, []string{secret}, sink.WithScript(func(sink.Request) sink.Answer {
		return sink.Answer{Delay: 50 * time.Millisecond} // both copies would be in flight at once
	}))
	d.Config.URL = url
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive),
		event("acme", 0, "contact.updated"), event("acme", 0, "contact.updated"), event("acme", 1, "contact.updated"))
	start(t, e.stageOf(t, []deliver.Destination{d}))
	waitDelivered(t, k, []string{"acme-0", "acme-1"}, 60*time.Second)
	if n := len(k.Requests()); n != 2 {
		t.Errorf("the sink got %d requests for two events", n)
	}
}
