package webhook_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/producers/webhook"
)

// baseCatalog is the catalog most tests use. Every integration signs
// with Standard Webhooks and the secret in crm.secret.
const baseCatalog = `version: 1
tenants:
  - id: acme
    partition_key: acme-key
  - id: globex
    rate_limit: {rate: 1, per: 1m, burst: 1}
  - id: initech
    enabled: false
  - id: hot
    hot_sub_keys: 4
  - id: umbrella
    rate_limit: {rate: 10, per: 1m, burst: 1}
integrations:
  - id: "@crm@"
    kind: webhook
    source: crm
    tenants: [acme, globex, initech, hot]
    signature: {scheme: standard-webhooks, secrets: [file:crm.secret]}
    limits: {max_body_bytes: 2048, max_batch_events: 5, max_batch_bytes: 8192}
    contract:
      event_type: {json: type}
      entity_id: {json: data.id}
      events:
        - {type: "contact.*", record: sluice.source.crm.ContactEvent}
        - {type: "company.*", record: sluice.source.crm.CompanyEvent}
  - id: "@quarantine@"
    kind: webhook
    source: crm
    signature: {scheme: standard-webhooks, secrets: [file:crm.secret]}
    contract:
      event_type: {json: type}
      on_invalid: quarantine
      events: [{type: "contact.*", record: sluice.source.crm.ContactEvent}]
  - id: "@limited@"
    kind: webhook
    source: crm
    signature: {scheme: standard-webhooks, secrets: [file:crm.secret]}
    rate_limit: {rate: 1, per: 1m, burst: 1}
    contract:
      events: [{type: "*", record: sluice.source.crm.ContactEvent}]
  - id: "@off@"
    kind: webhook
    source: crm
    enabled: false
    disabled_reason: paused while the partner migrates
    signature: {scheme: standard-webhooks, secrets: [env:SLUICE_TEST_UNSET_SECRET]}
    contract:
      events: [{type: "*", record: sluice.source.crm.ContactEvent}]
  - id: "@outbox@"
    kind: outbox
    source: crm
    contract:
      events: [{type: "*", record: sluice.source.crm.ContactEvent}]
`

// newBaseEnv starts an env of baseCatalog.
func newBaseEnv(t testing.TB, c envConfig) *env {
	t.Helper()
	c.catalog = baseCatalog
	c.secrets = map[string]string{"crm": whsec(t)}
	return newEnv(t, c)
}

// sign signs body for the Standard Webhooks integrations of baseCatalog
// as delivery id.
func (e *env) sign(id string, body []byte) http.Header {
	return signStandard(e.t, e.secrets["crm"], id, time.Now(), body)
}

// send posts one signed event to tenant's integration name as delivery id.
func (e *env) send(tenant, name, id string, body []byte) response {
	e.t.Helper()
	return e.post(e.url(tenant, name), "application/json", e.sign(id, body), body)
}

// TestRefusals checks every refusal before the contract: each is answered
// with its status and problem code, and none writes a record.
func TestRefusals(t *testing.T) {
	t.Parallel()
	e := newBaseEnv(t, envConfig{})
	big := contact(strings.Repeat("x", 2100))
	ok := func() []byte { return contact(randHex(t, 6)) }
	cases := []struct {
		name        string
		method      string
		path        string // "" for the crm route of acme
		contentType string
		header      map[string]string
		body        []byte
		unsigned    bool
		status      int
		code        string
	}{
		{name: "not a route", path: "/v1/hooks/acme/crm", status: 404, code: webhook.CodeNotFound},
		{name: "unknown tenant", path: "/v1/webhooks/nobody/" + e.id("crm"), status: 404, code: webhook.CodeUnknownTenant},
		{name: "disabled tenant", path: "/v1/webhooks/initech/" + e.id("crm"), status: 404, code: webhook.CodeUnknownTenant},
		{name: "unknown integration", path: "/v1/webhooks/acme/nothing", status: 404, code: webhook.CodeUnknownIntegration},
		{name: "integration without webhooks", path: "/v1/webhooks/acme/" + e.id("outbox"), status: 404, code: webhook.CodeUnknownIntegration},
		{name: "tenant not in the allow list", path: "/v1/webhooks/umbrella/" + e.id("crm"), status: 404, code: webhook.CodeUnknownIntegration},
		{name: "disabled integration", path: "/v1/webhooks/acme/" + e.id("off"), status: 503, code: webhook.CodeIntegrationDisabled},
		{name: "GET", method: http.MethodGet, status: 405, code: webhook.CodeMethodNotAllowed},
		{name: "text/plain", contentType: "text/plain", status: 415, code: webhook.CodeUnsupportedMediaType},
		{name: "no content type", contentType: "-", status: 415, code: webhook.CodeUnsupportedMediaType},
		{name: "latin-1", contentType: "application/json; charset=iso-8859-1", status: 415, code: webhook.CodeUnsupportedMediaType},
		{name: "gzip", header: map[string]string{"Content-Encoding": "gzip"}, status: 415, code: webhook.CodeUnsupportedMediaType},
		{name: "ndjson to the one-event route", contentType: "application/x-ndjson", status: 415, code: webhook.CodeUnsupportedMediaType},
		{name: "utf-8 charset tolerated", contentType: "application/json; charset=UTF-8", status: 202},
		{name: "body too large", body: big, status: 413, code: webhook.CodeBodyTooLarge},
		{name: "unsigned", unsigned: true, status: 401, code: webhook.CodeInvalidSignature},
	}
	accepted := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if body == nil {
				body = ok()
			}
			url := e.url("acme", "crm")
			if tc.path != "" {
				url = e.srv.URL + tc.path
			}
			h := http.Header{}
			if !tc.unsigned {
				h = e.sign("msg_"+randHex(t, 8), body)
			}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			ct := "application/json"
			switch tc.contentType {
			case "":
			case "-":
				ct = ""
			default:
				ct = tc.contentType
			}
			method := http.MethodPost
			if tc.method != "" {
				method = tc.method
			}
			resp := e.do(method, url, ct, h, body)
			if resp.status != tc.status {
				t.Fatalf("got %v; want %d", resp, tc.status)
			}
			if tc.status == 202 {
				if tc.path == "" {
					accepted++
				}
				return
			}
			if resp.str("code") != tc.code || resp.str("type") != webhook.ProblemType(tc.code) || resp.json["status"] != float64(tc.status) || resp.str("title") == "" {
				t.Errorf("problem %s; want code %s", resp.body, tc.code)
			}
			if ct := resp.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
			if tc.code == webhook.CodeIntegrationDisabled && !strings.Contains(resp.str("detail"), "paused while the partner migrates") {
				t.Errorf("detail %q does not give the catalog's reason", resp.str("detail"))
			}
			if tc.code == webhook.CodeMethodNotAllowed && resp.header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow: %q", resp.header.Get("Allow"))
			}
		})
	}

	t.Run("body too large without a length", func(t *testing.T) {
		// A chunked body declares no length: the limit holds while reading.
		req, err := http.NewRequest(http.MethodPost, e.url("acme", "crm"), io.MultiReader(bytes.NewReader(big)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = e.sign("msg_chunked", big)
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.ContentLength != 0 || resp.StatusCode != 413 {
			t.Fatalf("length %d, status %d; want a chunked request refused with 413", req.ContentLength, resp.StatusCode)
		}
	})

	if n := len(e.records("crm", "")); n != accepted {
		t.Errorf("%d records in the topic; want the %d accepted", n, accepted)
	}
	if n := len(e.records("crm", ".invalid")); n != 0 {
		t.Errorf("%d records in the invalid topic; want none", n)
	}
}

// TestRateLimits refuses what is over the integration's limit for a
// tenant, or the tenant's own limit, with 429 and Retry-After, and a batch
// larger than a limit's burst with 413; nothing refused is written.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	e := newBaseEnv(t, envConfig{})
	cases := []struct {
		name, tenant, integration string
		body                      []byte
		batch                     bool
		status                    int
		code                      string
	}{
		{"integration limit, first", "acme", "limited", contact("l1"), false, 202, ""},
		{"integration limit, second", "acme", "limited", contact("l2"), false, 429, webhook.CodeRateLimited},
		{"integration limit, other tenant", "hot", "limited", contact("l3"), false, 202, ""},
		{"tenant limit, first", "globex", "crm", contact("g1"), false, 202, ""},
		{"tenant limit, second", "globex", "crm", contact("g2"), false, 429, webhook.CodeRateLimited},
		{"tenant limit, other integration", "globex", "quarantine", contact("g3"), false, 429, webhook.CodeRateLimited},
		{"batch over the burst", "globex", "crm", []byte("[" + string(contact("g4")) + "," + string(contact("g5")) + "]"), true, 413, webhook.CodeTooManyEvents},
		// A burst below the rate bounds a batch: the limiter never lets
		// more through at once.
		{"batch over a burst below the rate", "umbrella", "quarantine", []byte("[" + string(contact("u1")) + "," + string(contact("u2")) + "]"), true, 413, webhook.CodeTooManyEvents},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := e.url(tc.tenant, tc.integration)
			if tc.batch {
				url += "/batch"
			}
			resp := e.post(url, "application/json", e.sign("msg_"+randHex(t, 8), tc.body), tc.body)
			if resp.status != tc.status || resp.str("code") != tc.code {
				t.Fatalf("got %v; want %d %s", resp, tc.status, tc.code)
			}
			if tc.status == 429 {
				s, err := strconv.Atoi(resp.header.Get("Retry-After"))
				if err != nil || s < 1 || s > 60 {
					t.Errorf("Retry-After %q; want 1 to 60 seconds", resp.header.Get("Retry-After"))
				}
			}
		})
	}
	if n := len(e.records("limited", "")); n != 2 {
		t.Errorf("%d records for the limited integration; want 2", n)
	}
	if n := len(e.records("crm", "")); n != 1 {
		t.Errorf("%d records for globex's crm; want 1", n)
	}
	if got := e.counter("sluice_ingress_rate_limited_total", map[string]string{"tenant": "globex", "outcome": "tenant"}); got != 2 {
		t.Errorf("tenant rate-limited count %v; want 2", got)
	}
	if got := e.counter("sluice_ingress_rate_limited_total", map[string]string{"tenant": "acme", "integration": e.id("limited"), "outcome": "integration"}); got != 1 {
		t.Errorf("integration rate-limited count %v; want 1", got)
	}
}
