package deliver_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	reference "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/standardwebhooks"
	"github.com/sluicehq/sluice/consumers/deliver"
	"github.com/sluicehq/sluice/consumers/deliver/sink"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestEveryEventDeliveredOnceSigned sends events through a sink that
// fails their first attempts in every way a destination fails: every event
// is delivered exactly once, every request verifies with the destination's
// secrets (v1 with the whsec_ secret, also through the Standard Webhooks
// reference library; v1a with the whpk_ public key), and every attempt is
// recorded.
func TestEveryEventDeliveredOnceSigned(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	sk, pk, err := standardwebhooks.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	faults := []sink.Answer{
		{Status: http.StatusInternalServerError},
		{Status: http.StatusServiceUnavailable, RetryAfter: "1"},
		{Status: http.StatusTooManyRequests, RetryAfter: "1"},
		{Delay: 5 * time.Second},            // past the client's 2s timeout
		{Reset: true},                       // connection reset
		{Delay: 300 * time.Millisecond},     // slow, but answered 200 in time
		{Status: http.StatusBadGateway},     // then a 502
		{Status: http.StatusRequestTimeout}, // and a 408
		{},
		{},
	}
	d, secret := e.dest(t, "")
	d.Secrets = append(d.Secrets, sk)
	k, url := newSink(t, []string{secret}, sink.WithScript(func(r sink.Request) sink.Answer {
		if r.N > 1 {
			return sink.Answer{}
		}
		return faults[number(r.ID)%len(faults)]
	}))
	d.Config.URL = url
	const n = 60
	in := events(n, "acme", "globex", "initech")
	stagetest.Produce(t, e.k, e.topic("contact", config.LaneInteractive), in...)
	start(t, e.stageOf(t, []deliver.Destination{d}))
	waitDelivered(t, k, ids(in), 90*time.Second)

	checkDeliveredOnce(t, k)
	if bad := k.Unverified(); len(bad) > 0 {
		t.Errorf("%d requests did not verify with the whsec_ secret, first %+v", len(bad), bad[0])
	}
	v1a, err := standardwebhooks.New([]string{pk})
	if err != nil {
		t.Fatal(err)
	}
	// A receiver using the specification's own library, as it would.
	ref, err := reference.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	reqs := k.Requests()
	for _, r := range reqs {
		if _, err := v1a.Verify(signature.Request{Header: r.Header, Body: r.Body}, r.At); err != nil {
			t.Errorf("request %s does not verify with the whpk_ public key: %v", r.ID, err)
		}
		if err := ref.Verify(r.Body, r.Header); err != nil {
			t.Errorf("request %s does not verify with the Standard Webhooks reference library: %v", r.ID, err)
		}
		if got := r.Header.Get("Idempotency-Key"); got != r.ID {
			t.Errorf("idempotency-key %q, want the webhook-id %q", got, r.ID)
		}
	}
	if len(reqs) <= n {
		t.Fatalf("the sink saw %d requests for %d events: the faults were not injected", len(reqs), n)
	}

	// Every request is an attempt on record, and the delivered ones are
	// the events.
	var attempts []deliver.Attempt
	testkit.CheckFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		attempts = e.attemptsOf(t)
		if len(attempts) < len(reqs) {
			byStatus := map[string]int{}
			for _, a := range attempts {
				byStatus[fmt.Sprint(a.Status, " ", a.Error)]++
			}
			return fmt.Errorf("%d attempts recorded, %d requests received: %v", len(attempts), len(reqs), byStatus)
		}
		return nil
	})
	if len(attempts) != len(reqs) {
		t.Errorf("%d attempts recorded for %d requests", len(attempts), len(reqs))
	}
	delivered := map[string]bool{}
	results := map[string]int{}
	for _, a := range attempts {
		results[a.Result]++
		if a.Destination != d.Config.ID || a.Lane != config.LaneInteractive || a.Attempt < 1 || a.Topic != e.topic("contact", config.LaneInteractive) {
			t.Errorf("attempt %+v", a)
		}
		if a.Result == deliver.ResultDelivered {
			if delivered[a.EventID] {
				t.Errorf("event %s recorded as delivered twice", a.EventID)
			}
			delivered[a.EventID] = true
			if a.Status != http.StatusOK {
				t.Errorf("delivered attempt with status %d", a.Status)
			}
		} else if a.Error == "" {
			t.Errorf("failed attempt without an error: %+v", a)
		}
	}
	if len(delivered) != n || results[deliver.ResultFailed] != len(reqs)-n {
		t.Errorf("attempts by result %v, want %d delivered and %d failed", results, n, len(reqs)-n)
	}
}
