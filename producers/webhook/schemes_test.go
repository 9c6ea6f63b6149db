package webhook_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/producers/webhook"
)

const schemesCatalog = `version: 1
tenants:
  - id: acme
    partition_key: acme-key
integrations:
  - id: "@std@"
    kind: webhook
    source: crm
    signature: {scheme: standard-webhooks, secrets: [file:std-new.secret, file:std-old.secret]}
    contract:
      event_type: {json: type}
      events: [{type: "contact.*", record: sluice.source.crm.ContactEvent}]
  - id: "@stripe@"
    kind: webhook
    source: crm
    signature: {scheme: stripe, secrets: [file:stripe-new.secret, file:stripe-old.secret]}
    contract:
      events: [{type: "contact.*", record: sluice.source.crm.ContactEvent}]
  - id: "@github@"
    kind: webhook
    source: crm
    signature: {scheme: github, secrets: [file:github-new.secret, file:github-old.secret]}
    contract:
      events: [{type: "*", record: sluice.source.crm.ContactEvent}]
  - id: "@shopify@"
    kind: webhook
    source: crm
    signature: {scheme: shopify, secrets: [file:shopify-new.secret, file:shopify-old.secret]}
    contract:
      events: [{type: "contact.created", record: sluice.source.crm.ContactEvent}]
  - id: "@slack@"
    kind: webhook
    source: crm
    signature: {scheme: slack, secrets: [file:slack-new.secret, file:slack-old.secret]}
    contract:
      events: [{type: "contact.*", record: sluice.source.crm.ContactEvent}]
  - id: "@hmac@"
    kind: webhook
    source: crm
    signature:
      scheme: hmac
      secrets: [file:hmac-new.secret, file:hmac-old.secret]
      hmac: {header: X-Signature, algorithm: sha512, encoding: base64, prefix: "sha512=", timestamp_header: X-Timestamp, separator: ":"}
    contract:
      event_type: {json: type}
      events: [{type: "contact.*", record: sluice.source.crm.ContactEvent}]
`

// testScheme is how the test signs for one scheme.
type testScheme struct {
	name string
	// sign signs body with secret at ts; id is the delivery id for
	// schemes that send one in a header.
	sign func(t testing.TB, secret, id string, ts time.Time, body []byte) http.Header
	// sigHeader carries the signature; malformed is a value of it that
	// cannot be parsed.
	sigHeader, malformed string
	// timestamped schemes sign a timestamp.
	timestamped bool
	// eventID returns the event id expected for a delivery id and body
	// tag, or "" for a hash.
	eventID func(id, tag string) string
}

var testSchemes = []testScheme{
	{
		name: "std", sigHeader: "webhook-signature", malformed: "v1,not*base64", timestamped: true,
		sign: func(t testing.TB, s, id string, ts time.Time, b []byte) http.Header {
			return signStandard(t, s, id, ts, b)
		},
		eventID: func(id, _ string) string { return id },
	},
	{
		name: "stripe", sigHeader: "Stripe-Signature", malformed: "t=yesterday,v1=00", timestamped: true,
		sign:    func(_ testing.TB, s, _ string, ts time.Time, b []byte) http.Header { return signStripe(s, ts, b) },
		eventID: func(_, tag string) string { return "evt_" + tag },
	},
	{
		name: "github", sigHeader: "X-Hub-Signature-256", malformed: "sha1=0123",
		sign: func(_ testing.TB, s, id string, _ time.Time, b []byte) http.Header {
			return signGitHub(s, id, "contact.created", b)
		},
		eventID: func(id, _ string) string { return id },
	},
	{
		name: "shopify", sigHeader: "X-Shopify-Hmac-Sha256", malformed: "not base64",
		sign: func(_ testing.TB, s, id string, _ time.Time, b []byte) http.Header {
			return signShopify(s, id, "contact.created", b)
		},
		eventID: func(id, _ string) string { return id },
	},
	{
		name: "slack", sigHeader: "X-Slack-Signature", malformed: "v1=0123", timestamped: true,
		sign:    func(_ testing.TB, s, _ string, ts time.Time, b []byte) http.Header { return signSlack(s, ts, b) },
		eventID: func(_, tag string) string { return "Ev" + tag },
	},
	{
		name: "hmac", sigHeader: "X-Signature", malformed: "sha512=!!", timestamped: true,
		sign:    func(_ testing.TB, s, _ string, ts time.Time, b []byte) http.Header { return signHMAC512(s, ts, b) },
		eventID: func(string, string) string { return "" },
	},
}

// schemeBody is a contact webhook carrying the event ids Stripe and Slack
// read from the body.
func schemeBody(tag string) []byte {
	b := contact(tag)
	return []byte(`{"id":"evt_` + tag + `","event_id":"Ev` + tag + `",` + string(b[1:]))
}

// schemeCase is one request of TestSchemesEndToEnd.
type schemeCase struct {
	name   string
	secret string
	ts     time.Time
	tamper func(h http.Header, body []byte) []byte
	status int
	reason string
}

var hexID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TestSchemesEndToEnd sends every scheme's webhooks, signed in the test,
// through HTTP: valid ones (with the current and with the previous secret)
// are accepted and land in Kafka with their ids; tampered, stale, future,
// wrongly signed, unsigned and malformed ones get 401 and write nothing.
func TestSchemesEndToEnd(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{}
	for _, s := range testSchemes {
		for _, age := range []string{"new", "old"} {
			if s.name == "std" {
				secrets[s.name+"-"+age] = whsec(t)
			} else {
				secrets[s.name+"-"+age] = s.name + "-" + age + "-" + randHex(t, 12)
			}
		}
	}
	e := newEnv(t, envConfig{catalog: schemesCatalog, secrets: secrets})

	for _, s := range testSchemes {
		t.Run(s.name, func(t *testing.T) {
			url := e.url("acme", s.name)
			now := time.Now()
			wrong := secrets[s.name+"-new"][:len(secrets[s.name+"-new"])-2] + "zz"
			if s.name == "std" {
				wrong = whsec(t)
			}
			cases := []schemeCase{
				{name: "valid", secret: secrets[s.name+"-new"], ts: now, status: 202},
				{name: "rotated secret", secret: secrets[s.name+"-old"], ts: now, status: 202},
				{name: "tampered body", secret: secrets[s.name+"-new"], ts: now, status: 401, reason: "no_match",
					tamper: func(_ http.Header, b []byte) []byte {
						return []byte(strings.Replace(string(b), "lead", "opportunity", 1))
					}},
				{name: "wrong secret", secret: wrong, ts: now, status: 401, reason: "no_match"},
				{name: "missing header", secret: secrets[s.name+"-new"], ts: now, status: 401, reason: "missing_header",
					tamper: func(h http.Header, b []byte) []byte { h.Del(s.sigHeader); return b }},
				{name: "malformed header", secret: secrets[s.name+"-new"], ts: now, status: 401, reason: "malformed_header",
					tamper: func(h http.Header, b []byte) []byte { h.Set(s.sigHeader, s.malformed); return b }},
			}
			if s.timestamped {
				cases = append(cases,
					schemeCase{name: "stale timestamp", secret: secrets[s.name+"-new"], ts: now.Add(-10 * time.Minute), status: 401, reason: "timestamp_out_of_tolerance"},
					schemeCase{name: "future timestamp", secret: secrets[s.name+"-new"], ts: now.Add(10 * time.Minute), status: 401, reason: "timestamp_out_of_tolerance"},
				)
			}
			wantIDs := map[string]bool{}
			for _, tc := range cases {
				tag := s.name + strings.ReplaceAll(tc.name, " ", "") + randHex(t, 4)
				delivery := "msg_" + tag
				body := schemeBody(tag)
				h := s.sign(t, tc.secret, delivery, tc.ts, body)
				if tc.tamper != nil {
					body = tc.tamper(h, body)
				}
				resp := e.post(url, "application/json", h, body)
				if resp.status != tc.status {
					t.Fatalf("%s: got %v; want %d", tc.name, resp, tc.status)
				}
				if tc.reason != "" {
					if resp.str("code") != webhook.CodeInvalidSignature || resp.str("reason") != tc.reason {
						t.Errorf("%s: code %q reason %q; want invalid_signature %q", tc.name, resp.str("code"), resp.str("reason"), tc.reason)
					}
					if ct := resp.header.Get("Content-Type"); ct != "application/problem+json" {
						t.Errorf("%s: content type %q", tc.name, ct)
					}
					continue
				}
				id := resp.str("event_id")
				if w := s.eventID(delivery, tag); w != "" && id != w {
					t.Errorf("%s: event id %q; want %q", tc.name, id, w)
				} else if w == "" && !hexID.MatchString(id) {
					t.Errorf("%s: event id %q; want a hex SHA-256", tc.name, id)
				}
				wantIDs[id] = true
			}

			recs := e.records(s.name, "")
			if len(recs) != len(wantIDs) {
				t.Fatalf("%d records in the topic; want %d (the accepted ones only)", len(recs), len(wantIDs))
			}
			for _, r := range recs {
				id := header(r, kafka.HeaderEventID)
				if !wantIDs[id] {
					t.Errorf("record with event id %q was not accepted", id)
				}
				env, err := avro.EnvelopeOf(e.decode(r))
				if err != nil {
					t.Fatal(err)
				}
				if env.EventID != id || env.TenantID != "acme" || env.EventType != "contact.created" || env.Integration != e.id(s.name) || env.Source != "crm" {
					t.Errorf("envelope %+v", env)
				}
				if string(r.Key) != "acme-key" {
					t.Errorf("key %q; want the tenant's partition key", r.Key)
				}
			}
			if n := len(e.records(s.name, ".invalid")); n != 0 {
				t.Errorf("%d records in the invalid topic", n)
			}
		})
	}
}
