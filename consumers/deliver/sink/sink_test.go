package sink_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/standardwebhooks"
	"github.com/sluicehq/sluice/connectors/webhook"
	"github.com/sluicehq/sluice/consumers/deliver/sink"
)

func TestSink(t *testing.T) {
	secret, err := standardwebhooks.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := standardwebhooks.GenerateSecret()
	var out bytes.Buffer
	k, err := sink.NewFromSecrets([]string{secret}, sink.Print(&out, false), sink.WithScript(func(r sink.Request) sink.Answer {
		switch {
		case r.ID == "slow" && r.N == 1:
			return sink.Answer{Delay: 2 * time.Second}
		case r.ID == "busy" && r.N == 1:
			return sink.Answer{Status: http.StatusTooManyRequests, RetryAfter: "7"}
		case r.ID == "reset" && r.N == 1:
			return sink.Answer{Reset: true}
		}
		return sink.Answer{}
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(k)
	t.Cleanup(srv.Close)
	send := func(secret, id string) webhook.Result {
		t.Helper()
		c, err := webhook.New(srv.URL, []string{secret}, webhook.AllowPrivateNetwork(true), webhook.Timeout(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.Send(context.Background(), webhook.Message{ID: id, Body: []byte(`{"type":"contact.created","envelope":{"tenant_id":"acme"},"data":{"email":"ada@example.com"}}`)})
	}
	for _, tc := range []struct {
		name, secret, id string
		verdict          webhook.Verdict
		status           int
	}{
		{"good", secret, "ok", webhook.Delivered, 200},
		{"again", secret, "ok", webhook.Delivered, 200},
		{"stranger's signature", other, "forged", webhook.Reject, 401},
		{"slow past the timeout", secret, "slow", webhook.Retry, 0},
		{"slow, second time fine", secret, "slow", webhook.Delivered, 200},
		{"429", secret, "busy", webhook.Retry, 429},
		{"reset", secret, "reset", webhook.Retry, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := send(tc.secret, tc.id)
			if res.Verdict != tc.verdict || res.Status != tc.status {
				t.Errorf("Send = %+v, want %s %d", res, tc.verdict, tc.status)
			}
		})
	}
	if got := k.Duplicates(); len(got) != 1 || got[0] != "ok" {
		t.Errorf("Duplicates = %v, want [ok]", got)
	}
	d := k.Delivered()
	if d["ok"] != 2 || d["slow"] != 1 || d["busy"] != 0 || d["forged"] != 0 || d["reset"] != 0 {
		t.Errorf("Delivered = %v", d)
	}
	if order := k.Order(); strings.Join(order, ",") != "ok,slow" {
		t.Errorf("Order = %v", order)
	}
	bad := k.Unverified()
	if len(bad) != 1 || bad[0].ID != "forged" || bad[0].Refusal != "no_match" {
		t.Errorf("Unverified = %+v", bad)
	}
	reqs := k.Requests()
	if len(reqs) != 7 || reqs[0].Tenant != "acme" || reqs[0].EventType != "contact.created" || reqs[1].N != 2 {
		t.Errorf("Requests = %+v", reqs)
	}
	// The first slow request's handler prints "client left" once it
	// notices the client gone, which may come after the last answer:
	// Close waits for every handler to return.
	srv.Close()
	printed := out.String()
	if !strings.Contains(printed, "SIGNATURE REFUSED (no_match)") || !strings.Contains(printed, "answer=429") || !strings.Contains(printed, "client left") {
		t.Errorf("printed:\n%s", printed)
	}
	if strings.Contains(printed, "ada@example.com") {
		t.Error("the body was printed without being asked for")
	}
}

func TestStatelessSinkKeepsNothing(t *testing.T) {
	secret, _ := standardwebhooks.GenerateSecret()
	var out bytes.Buffer
	k, err := sink.NewFromSecrets([]string{secret}, sink.Stateless(), sink.Print(&out, false))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(k)
	t.Cleanup(srv.Close)
	c, err := webhook.New(srv.URL, []string{secret}, webhook.AllowPrivateNetwork(true))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		if res := c.Send(context.Background(), webhook.Message{ID: "same", Body: []byte(`{}`)}); res.Verdict != webhook.Delivered {
			t.Fatalf("Send = %+v", res)
		}
	}
	if len(k.Requests()) != 0 || len(k.Delivered()) != 0 || len(k.Order()) != 0 {
		t.Errorf("a stateless sink kept %d requests, %d delivered", len(k.Requests()), len(k.Delivered()))
	}
	if got := strings.Count(out.String(), "signature ok"); got != 3 {
		t.Errorf("printed %d lines, want 3:\n%s", got, out.String())
	}
}
