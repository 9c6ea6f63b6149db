package webhook_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
	"github.com/sluicehq/sluice/producers/webhook"
)

// TestKafkaOutage takes Kafka away from the ingress: a delivery is
// answered 503 with Retry-After, a retry during the outage 409, and once
// Kafka is back the partner's retry is answered as a duplicate (or
// accepted) and the event is in the topic exactly once.
func TestKafkaOutage(t *testing.T) {
	t.Parallel()
	link := testkit.NewLink()
	e := newBaseEnv(t, envConfig{
		kgoOpts: []kgo.Opt{kgo.Dialer(link.Dial)},
		opts:    []webhook.Opt{webhook.ProduceWait(time.Second), webhook.RetryAfter(3 * time.Second), webhook.Lease(3 * time.Second)},
	})
	if resp := e.send("acme", "crm", "msg_before", contact("before")); resp.status != 202 {
		t.Fatalf("before the outage: %v", resp)
	}

	link.Cut()
	id, body := "msg_outage_"+randHex(t, 4), contact("outage")
	resp := e.send("acme", "crm", id, body)
	if resp.status != 503 || resp.str("code") != webhook.CodeKafkaUnavailable || resp.header.Get("Retry-After") != "3" {
		t.Fatalf("during the outage: %v, Retry-After %q; want 503 kafka_unavailable, 3", resp, resp.header.Get("Retry-After"))
	}
	// The write is outstanding: its marker outlives its lease because it
	// is renewed, so the partner's retries are told it is in progress.
	// Each round lets more than half a lease pass (on miniredis by moving
	// its clock) and waits until the renewal shows in the marker's TTL:
	// after three rounds the lease would have run out twice over.
	key := e.r.Prefix + "ingress:acme:" + e.id("crm") + ":" + id
	ctx := testkit.Context(t, time.Minute)
	for i := range 3 {
		if e.r.Mini != nil {
			e.r.Mini.FastForward(2 * time.Second)
		}
		before := e.r.Client.PTTL(ctx, key).Val()
		if before <= 0 {
			t.Fatalf("round %d: the pending marker is gone (TTL %v)", i, before)
		}
		last := before
		testkit.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
			ttl := e.r.Client.PTTL(ctx, key).Val()
			if ttl <= 0 {
				return fmt.Errorf("the marker is gone: its lease ran out")
			}
			grew := ttl > last
			last = ttl
			if !grew {
				return fmt.Errorf("the marker's TTL went from %v down to %v: not renewed", before, ttl)
			}
			return nil
		})
		resp = e.send("acme", "crm", id, body)
		if resp.status != 409 || resp.str("code") != webhook.CodeInProgress || resp.header.Get("Retry-After") != "1" {
			t.Fatalf("retry %d during the outage: %v; want 409 in_progress with Retry-After 1", i, resp)
		}
	}

	link.Restore()
	testkit.CheckFor(t, 60*time.Second, 200*time.Millisecond, func() error {
		resp = e.send("acme", "crm", id, body)
		switch {
		case resp.status == 200 && resp.json["duplicate"] == true:
			return nil
		case resp.status == 202:
			return nil
		}
		return fmt.Errorf("retry after the outage: %v", resp)
	})
	find(t, e.records("crm", ""), id)
	if n := len(e.records("crm", "")); n != 2 {
		t.Errorf("%d records; want 2 (before and during the outage, once each)", n)
	}
}

// TestBackpressure fills the producer's buffer while Kafka is away: the
// request that finds it full is answered 503 "backpressure" at once,
// writes nothing, and its retry after the outage is accepted.
func TestBackpressure(t *testing.T) {
	t.Parallel()
	link := testkit.NewLink()
	e := newBaseEnv(t, envConfig{
		kgoOpts: []kgo.Opt{kgo.Dialer(link.Dial), kgo.MaxBufferedRecords(1)},
		opts:    []webhook.Opt{webhook.ProduceWait(time.Second)},
	})
	if resp := e.send("acme", "crm", "msg_warm", contact("warm")); resp.status != 202 {
		t.Fatalf("warm-up: %v", resp)
	}
	link.Cut()
	a, b := contact("a"), contact("b")
	if resp := e.send("acme", "crm", "msg_a", a); resp.status != 503 || resp.str("code") != webhook.CodeKafkaUnavailable {
		t.Fatalf("first: %v; want 503 kafka_unavailable", resp)
	}
	start := time.Now()
	resp := e.send("acme", "crm", "msg_b", b)
	if resp.status != 503 || resp.str("code") != webhook.CodeBackpressure {
		t.Fatalf("second: %v; want 503 backpressure", resp)
	}
	if took := time.Since(start); took >= time.Second {
		t.Errorf("backpressure took %v; want an answer before the produce wait", took)
	}
	link.Restore()
	testkit.CheckFor(t, 60*time.Second, 200*time.Millisecond, func() error {
		if resp := e.send("acme", "crm", "msg_b", b); resp.status != 202 {
			return fmt.Errorf("retry of b: %v", resp)
		}
		return nil
	})
	testkit.CheckFor(t, 60*time.Second, 200*time.Millisecond, func() error {
		if resp := e.send("acme", "crm", "msg_a", a); resp.status != 200 {
			return fmt.Errorf("retry of a: %v", resp)
		}
		return nil
	})
	recs := e.records("crm", "")
	for _, id := range []string{"msg_warm", "msg_a", "msg_b"} {
		find(t, recs, id)
	}
	if len(recs) != 3 {
		t.Errorf("%d records; want 3", len(recs))
	}
}

// TestRedisDown refuses every event with 503 while Redis is away and
// writes nothing: without its marker an event could be written twice.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	link := testkit.NewLink()
	e := newBaseEnv(t, envConfig{
		redis: func(r *testkit.Redis) redis.UniversalClient { return r.Dialing(t, link.Dial, 1) },
	})
	link.Cut()
	cases := []struct{ tenant, integration string }{
		{"acme", "crm"},     // no rate limit: the claim fails
		{"acme", "limited"}, // the rate limit fails first
	}
	for _, tc := range cases {
		resp := e.send(tc.tenant, tc.integration, "msg_"+tc.integration, contact(tc.integration))
		if resp.status != 503 || resp.str("code") != webhook.CodeRedisUnavailable {
			t.Fatalf("%s: %v; want 503 redis_unavailable", tc.integration, resp)
		}
		if s, err := strconv.Atoi(resp.header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("%s: Retry-After %q", tc.integration, resp.header.Get("Retry-After"))
		}
	}
	for _, name := range []string{"crm", "limited"} {
		if n := len(e.records(name, "")); n != 0 {
			t.Errorf("%s: %d records written while Redis was down", name, n)
		}
	}
	link.Restore()
	testkit.CheckFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		if resp := e.send("acme", "crm", "msg_crm", contact("crm")); resp.status != 202 {
			return fmt.Errorf("after Redis is back: %v", resp)
		}
		return nil
	})
	if r := find(t, e.records("crm", ""), "msg_crm"); header(r, kafka.HeaderTenantID) != "acme" {
		t.Errorf("tenant-id %q", header(r, kafka.HeaderTenantID))
	}
}
