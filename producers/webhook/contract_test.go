package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
	"github.com/sluicehq/sluice/producers/webhook"
)

// badContact breaks the contact contract in three places and carries
// personal data that must not reach a header or a log line.
const badContact = `{"type":"contact.created","timestamp":"2026-03-02T09:00:00Z","data":{"properties":{"email":31415926,"firstname":"Zelda-PII"},"updatedAt":"not a time"}}`

const company = `{"type":"company.created","timestamp":"2026-03-01T12:00:00.5Z","data":{"id":"3001","properties":{"name":"Analytical Engines Ltd","numberofemployees":250},"updatedAt":"2026-03-01T12:00:00Z"}}`

// TestContract checks events against their contracts: the contract is
// chosen by event type; an event that breaks it is answered 422 with the
// issues' paths (or 202 under quarantine), and kept raw in the invalid
// topic with the reason in its headers, never its values.
func TestContract(t *testing.T) {
	t.Parallel()
	e := newBaseEnv(t, envConfig{})
	cases := []struct {
		name        string
		integration string
		body        string
		status      int
		code        string
		paths       []string // issue paths expected in the answer
		record      string   // the valid record's Avro name
	}{
		{name: "contact", integration: "crm", body: string(contact("c1")), status: 202, record: "sluice.source.crm.ContactEvent"},
		{name: "company by prefix", integration: "crm", body: company, status: 202, record: "sluice.source.crm.CompanyEvent"},
		{name: "broken contact", integration: "crm", body: badContact, status: 422, code: webhook.CodeSchemaViolation,
			paths: []string{"$.data.id", "$.data.properties.email", "$.data.updatedAt"}},
		{name: "unknown type", integration: "crm", body: strings.Replace(string(contact("c2")), "contact.created", "deal.created", 1),
			status: 422, code: webhook.CodeUnknownEventType, paths: []string{"$.type"}},
		{name: "no type", integration: "crm", body: strings.Replace(string(contact("c3")), `"type":"contact.created",`, "", 1),
			status: 422, code: webhook.CodeUnknownEventType, paths: []string{"$.type"}},
		{name: "not JSON", integration: "crm", body: `{"type": "contact.created", oops`, status: 422, code: webhook.CodeSchemaViolation, paths: []string{"$"}},
		{name: "quarantined", integration: "quarantine", body: badContact, status: 202, code: webhook.CodeSchemaViolation,
			paths: []string{"$.data.id", "$.data.properties.email", "$.data.updatedAt"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "msg_" + randHex(t, 8)
			resp := e.send("acme", tc.integration, id, []byte(tc.body))
			if resp.status != tc.status {
				t.Fatalf("got %v; want %d", resp, tc.status)
			}
			if resp.str("event_id") != id {
				t.Errorf("event_id %q; want the delivery id %q", resp.str("event_id"), id)
			}
			if tc.code == "" {
				recs := e.records(tc.integration, "")
				r := find(t, recs, id)
				name, err := e.serde.Record(context.Background(), r.Value)
				if err != nil || name != tc.record {
					t.Errorf("record %q (%v); want %s", name, err, tc.record)
				}
				return
			}
			if got := resp.str("code"); got != tc.code {
				t.Errorf("code %q; want %q", got, tc.code)
			}
			if tc.integration == "quarantine" {
				if resp.str("status") != webhook.OutcomeQuarantined || resp.str("note") == "" {
					t.Errorf("answer %s; want quarantined with a note", resp.body)
				}
			} else if ct := resp.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
			errs, _ := resp.json["errors"].([]any)
			var paths []string
			for _, x := range errs {
				m := x.(map[string]any)
				paths = append(paths, m["path"].(string))
				if m["code"] == "" || m["message"] == "" {
					t.Errorf("issue %v without code or message", m)
				}
			}
			if strings.Join(paths, " ") != strings.Join(tc.paths, " ") {
				t.Errorf("issue paths %v; want %v", paths, tc.paths)
			}

			r := find(t, e.records(tc.integration, ".invalid"), id)
			if string(r.Value) != tc.body {
				t.Errorf("invalid record holds %q; want the body as sent", r.Value)
			}
			for k, want := range map[string]string{
				kafka.HeaderTenantID:    "acme",
				kafka.HeaderIntegration: e.id(tc.integration),
				kafka.HeaderErrorClass:  "contract",
				kafka.HeaderErrorCode:   tc.code,
				kafka.HeaderErrorStage:  "ingress",
			} {
				if got := header(r, k); got != want {
					t.Errorf("header %s = %q; want %q", k, got, want)
				}
			}
			if _, err := time.Parse(time.RFC3339, header(r, kafka.HeaderReceivedAt)); err != nil {
				t.Errorf("received-at: %v", err)
			}
			msg := header(r, kafka.HeaderErrorMessage)
			for _, p := range tc.paths {
				if !strings.Contains(msg, p) {
					t.Errorf("error-message %q does not name %s", msg, p)
				}
			}
			for _, value := range []string{"Zelda-PII", "31415926", "not a time"} {
				if strings.Contains(msg, value) {
					t.Errorf("error-message %q holds a value of the event", msg)
				}
			}
		})
	}

	t.Run("quarantined once", func(t *testing.T) {
		id := "msg_" + randHex(t, 8)
		for i, want := range []int{202, 200} {
			resp := e.send("acme", "quarantine", id, []byte(badContact))
			if resp.status != want {
				t.Fatalf("delivery %d: %v; want %d", i, resp, want)
			}
		}
		n := 0
		for _, r := range e.records("quarantine", ".invalid") {
			if header(r, kafka.HeaderEventID) == id {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d quarantined records for one event; want 1", n)
		}
	})
}

// find returns the one record of event id.
func find(t testing.TB, recs []*kgo.Record, id string) *kgo.Record {
	t.Helper()
	var out *kgo.Record
	for _, r := range recs {
		if header(r, kafka.HeaderEventID) == id {
			if out != nil {
				t.Fatalf("two records of event %s", id)
			}
			out = r
		}
	}
	if out == nil {
		t.Fatalf("no record of event %s among %d", id, len(recs))
	}
	return out
}

// TestDuplicates answers a repeat of an accepted event 200 duplicate and
// writes it once, whether its id is the provider's or a hash of the event.
func TestDuplicates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{
		catalog: `version: 1
tenants: [{id: acme}]
integrations:
  - id: "@std@"
    kind: webhook
    source: crm
    signature: {scheme: standard-webhooks, secrets: [file:crm.secret]}
    contract: {events: [{type: "contact.*", record: sluice.source.crm.ContactEvent}]}
  - id: "@gh@"
    kind: webhook
    source: crm
    signature: {scheme: github, secrets: [file:gh.secret]}
    contract:
      event_type: {json: type}
      events: [{type: "contact.*", record: sluice.source.crm.ContactEvent}]
`,
		secrets: map[string]string{"crm": whsec(t), "gh": "gh-" + randHex(t, 8)},
	})
	cases := []struct {
		name, integration string
		sign              func(body []byte) http.Header
	}{
		{"provider id", "std", func(b []byte) http.Header {
			return signStandard(t, e.secrets["crm"], "msg_dup", time.Now(), b)
		}},
		{"hash of the event", "gh", func(b []byte) http.Header {
			h := signGitHub(e.secrets["gh"], "", "", b)
			h.Del("X-GitHub-Delivery")
			h.Del("X-GitHub-Event")
			return h
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := contact(randHex(t, 6))
			var first string
			for i, want := range []int{202, 200, 200} {
				// Each delivery is signed anew, as a provider's retry is.
				resp := e.post(e.url("acme", tc.integration), "application/json", tc.sign(body), body)
				if resp.status != want {
					t.Fatalf("delivery %d: %v; want %d", i, resp, want)
				}
				dup, _ := resp.json["duplicate"].(bool)
				if dup != (i > 0) {
					t.Errorf("delivery %d: duplicate %v", i, dup)
				}
				if i == 0 {
					first = resp.str("event_id")
				} else if resp.str("event_id") != first {
					t.Errorf("delivery %d: event id %q; want %q", i, resp.str("event_id"), first)
				}
			}
			find(t, e.records(tc.integration, ""), first)
		})
	}
	if got := e.counter("sluice_ingress_duplicates_total", map[string]string{"tenant": "acme"}); got != 4 {
		t.Errorf("duplicates counted %v; want 4", got)
	}
}

// TestConcurrentIdenticalDeliveries sends the same event from several
// goroutines at once, round after round: each round writes exactly one
// record, every other delivery is told it is a duplicate or in progress,
// and a later delivery that it is a duplicate. The same holds on a Redis
// older than 7.0, which refuses SET NX GET: the ingress claims with its
// script instead, from the first refusal on.
func TestConcurrentIdenticalDeliveries(t *testing.T) {
	t.Parallel()
	t.Run("redis 7", func(t *testing.T) { t.Parallel(); testConcurrentIdentical(t, false) })
	t.Run("before redis 7", func(t *testing.T) { t.Parallel(); testConcurrentIdentical(t, true) })
}

func testConcurrentIdentical(t *testing.T, before7 bool) {
	var c envConfig
	refused := new(atomic.Int64)
	if before7 {
		c.redis = func(r *testkit.Redis) redis.UniversalClient {
			r.Client.AddHook(testkit.Before7(refused))
			return r.Client
		}
	}
	e := newBaseEnv(t, c)
	// The first round's deliveries may all meet the refusal at once;
	// after it, every claim goes to the script.
	var firstRound int64
	const rounds, senders = 20, 8
	ids := make([]string, rounds)
	for round := range rounds {
		id := fmt.Sprintf("msg_race_%d_%s", round, randHex(t, 4))
		ids[round] = id
		body := contact(id)
		h := e.sign(id, body)
		statuses := make([]int, senders)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range senders {
			wg.Go(func() {
				<-start
				statuses[i] = e.post(e.url("acme", "crm"), "application/json", h, body).status
			})
		}
		close(start)
		wg.Wait()
		if round == 0 {
			firstRound = refused.Load()
		}
		count := map[int]int{}
		for _, s := range statuses {
			count[s]++
		}
		if count[202] != 1 || count[200]+count[409] != senders-1 {
			t.Fatalf("round %d: statuses %v; want one 202 and the rest 200 or 409", round, count)
		}
	}
	recs := e.records("crm", "")
	if len(recs) != rounds {
		t.Fatalf("%d records; want %d", len(recs), rounds)
	}
	for _, id := range ids {
		find(t, recs, id)
	}
	if resp := e.send("acme", "crm", ids[0], contact(ids[0])); resp.status != 200 {
		t.Errorf("a later delivery: %v; want 200 duplicate", resp)
	}
	if before7 && (firstRound < 1 || firstRound > senders || refused.Load() != firstRound) {
		t.Errorf("SET NX GET refused %d times in the first round and %d in all; want 1 to %d, then none", firstRound, refused.Load(), senders)
	}
}

// TestBatch sends many events in one request, as a JSON array and as
// NDJSON: each event gets its own result in order, valid ones are
// written, invalid ones kept raw, and the status sums them up.
func TestBatch(t *testing.T) {
	t.Parallel()
	e := newBaseEnv(t, envConfig{})
	good1, good2 := string(contact("b1-"+randHex(t, 4))), string(contact("b2-"+randHex(t, 4)))
	cases := []struct {
		name        string
		integration string
		contentType string
		body        string
		status      int
		statuses    []string
		invalid     []string // raw bytes expected in the invalid topic
	}{
		{name: "array, mixed", integration: "crm", contentType: "application/json",
			body:     "[\n  " + good1 + ",\n  " + badContact + ",\n  " + good2 + ",\n  " + good1 + "\n]",
			status:   207,
			statuses: []string{"accepted", "invalid", "accepted", "duplicate"},
			invalid:  []string{badContact}},
		{name: "ndjson, mixed", integration: "crm", contentType: "application/x-ndjson; charset=utf-8",
			body:     good1 + "\r\n\nnot json\n" + string(contact("b3-"+randHex(t, 4))) + "\n",
			status:   207,
			statuses: []string{"duplicate", "invalid", "accepted"},
			invalid:  []string{"not json"}},
		{name: "all accepted or duplicates", integration: "crm", contentType: "application/json",
			body: "[" + good2 + "," + string(contact("b4-"+randHex(t, 4))) + "]", status: 202, statuses: []string{"duplicate", "accepted"}},
		{name: "all invalid", integration: "crm", contentType: "application/x-ndjson",
			body: badContact + "\n" + company[:20] + "\n", status: 422, statuses: []string{"invalid", "invalid"},
			invalid: []string{badContact, company[:20]}},
		{name: "quarantined items", integration: "quarantine", contentType: "application/json",
			body: "[" + badContact + "," + string(contact("b5-"+randHex(t, 4))) + "]", status: 202, statuses: []string{"quarantined", "accepted"},
			invalid: []string{badContact}},
		{name: "too many", integration: "crm", contentType: "application/json",
			body: "[" + strings.Repeat(good1+",", 5) + good1 + "]", status: 413},
		{name: "not an array", integration: "crm", contentType: "application/json", body: good1, status: 400},
		{name: "broken array", integration: "crm", contentType: "application/json", body: "[" + good1 + ",", status: 400},
		{name: "empty", integration: "crm", contentType: "application/x-ndjson", body: "\n\n", status: 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.records(tc.integration, ".invalid"))
			body := []byte(tc.body)
			resp := e.post(e.url("acme", tc.integration)+"/batch", tc.contentType, e.sign("msg_"+randHex(t, 8), body), body)
			if resp.status != tc.status {
				t.Fatalf("got %v; want %d", resp, tc.status)
			}
			if tc.statuses == nil {
				return
			}
			results, _ := resp.json["results"].([]any)
			if len(results) != len(tc.statuses) {
				t.Fatalf("%d results; want %d: %s", len(results), len(tc.statuses), resp.body)
			}
			for i, x := range results {
				m := x.(map[string]any)
				if m["index"] != float64(i) || m["status"] != tc.statuses[i] || m["event_id"] == "" {
					t.Errorf("result %d: %v; want status %s", i, m, tc.statuses[i])
				}
				if tc.statuses[i] == "invalid" && m["error"] == nil {
					t.Errorf("result %d: invalid without an error", i)
				}
			}
			recs := e.records(tc.integration, ".invalid")
			if len(recs)-before != len(tc.invalid) {
				t.Fatalf("%d new invalid records; want %d", len(recs)-before, len(tc.invalid))
			}
			for i, raw := range tc.invalid {
				if got := string(recs[before+i].Value); got != raw {
					t.Errorf("invalid record %d holds %q; want the item's bytes %q", i, got, raw)
				}
			}
		})
	}
	// Every accepted event is in the topic once.
	seen := map[string]int{}
	for _, r := range e.records("crm", "") {
		seen[header(r, kafka.HeaderEventID)]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s written %d times", id, n)
		}
	}
	if len(seen) != 4 {
		t.Errorf("%d events in the topic; want 4", len(seen))
	}
}

// TestNoRegistryCallPerEvent checks that once the ingress is prepared,
// writing events of every contract asks the schema registry nothing.
func TestNoRegistryCallPerEvent(t *testing.T) {
	t.Parallel()
	e := newBaseEnv(t, envConfig{})
	before := e.registryCalls.Load()
	if before == 0 {
		t.Fatal("Prepare asked the registry nothing: the count is not counting")
	}
	for i, body := range []string{string(contact("r1")), company, string(contact("r2")), badContact} {
		if resp := e.send("acme", "crm", fmt.Sprintf("msg_r%d", i), []byte(body)); resp.status != 202 && resp.status != 422 {
			t.Fatalf("event %d: %v", i, resp)
		}
	}
	if n := e.registryCalls.Load() - before; n != 0 {
		t.Errorf("%d registry calls while writing events; want none", n)
	}
}
