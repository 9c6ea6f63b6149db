package webhook_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/tenant"
	"github.com/sluicehq/sluice/producers/webhook"
)

// TestRecordContents decodes a written record: its key, every header, and
// the envelope, including the trace the sender started and an id derived
// from a provider id that could not be used as it was.
func TestRecordContents(t *testing.T) {
	t.Parallel()
	e := newBaseEnv(t, envConfig{})
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	cases := []struct {
		name, tenant, delivery string
		entity                 string
		wantID                 string
		wantProvider           string
	}{
		{"plain", "acme", "msg_plain", "p1", "msg_plain", ""},
		{"hot tenant", "hot", "msg_hot", "hot-entity-7", "msg_hot", ""},
		{"unsafe provider id", "acme", "evt.2026 03", "p2", "h_" + sha("evt.2026 03"), "evt.2026 03"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := contact(tc.entity)
			h := e.sign(tc.delivery, body)
			h.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
			h.Set("tracestate", "vendor=abc")
			before := time.Now().Truncate(time.Millisecond)
			resp := e.post(e.url(tc.tenant, "crm"), "application/json", h, body)
			if resp.status != 202 || resp.str("event_id") != tc.wantID {
				t.Fatalf("got %v; want 202 with event id %s", resp, tc.wantID)
			}
			if resp.str("topic") != kafka.InTopic(e.id("crm")) || resp.json["offset"] == nil {
				t.Errorf("answer %s lacks the topic and offset", resp.body)
			}
			r := find(t, e.records("crm", ""), tc.wantID)
			tn, _ := e.catalog.Tenant(tc.tenant)
			if want := string(tenant.Key(tn, tc.entity)); string(r.Key) != want {
				t.Errorf("key %q; want %q", r.Key, want)
			}
			if tc.tenant == "hot" && !strings.HasPrefix(string(r.Key), "hot#") {
				t.Errorf("hot tenant's key %q has no sub-key", r.Key)
			}
			for k, want := range map[string]string{
				kafka.HeaderTenantID:        tc.tenant,
				kafka.HeaderEventID:         tc.wantID,
				kafka.HeaderEventType:       "contact.created",
				kafka.HeaderIntegration:     e.id("crm"),
				kafka.HeaderLane:            "interactive",
				kafka.HeaderTraceState:      "vendor=abc",
				kafka.HeaderProviderEventID: tc.wantProvider,
			} {
				if got := header(r, k); got != want {
					t.Errorf("header %s = %q; want %q", k, got, want)
				}
			}
			tp := header(r, kafka.HeaderTraceParent)
			if !strings.HasPrefix(tp, "00-"+traceID+"-") || strings.Contains(tp, "00f067aa0ba902b7") {
				t.Errorf("traceparent %q; want a child span of the sender's trace", tp)
			}
			received, err := time.Parse("2006-01-02T15:04:05.000Z07:00", header(r, kafka.HeaderReceivedAt))
			if err != nil || received.Before(before) || received.After(time.Now()) || received.Location() != time.UTC {
				t.Errorf("received-at %q (%v)", header(r, kafka.HeaderReceivedAt), err)
			}

			m := e.decode(r)
			env, err := avro.EnvelopeOf(m)
			if err != nil {
				t.Fatal(err)
			}
			if env.TenantID != tc.tenant || env.EventID != tc.wantID || env.EventType != "contact.created" ||
				env.Integration != e.id("crm") || env.Source != "crm" {
				t.Errorf("envelope %+v", env)
			}
			if env.TraceParent == nil || *env.TraceParent != tp {
				t.Errorf("envelope trace parent %v; want %s", env.TraceParent, tp)
			}
			if !env.ReceivedAt.Equal(received) {
				t.Errorf("envelope received_at %v; header %v", env.ReceivedAt, received)
			}
			if want := time.Date(2026, 3, 2, 9, 0, 0, 123_000_000, time.UTC); env.OccurredAt == nil || !env.OccurredAt.Equal(want) {
				t.Errorf("occurred_at %v; want the payload's timestamp %v", env.OccurredAt, want)
			}
			data := m["data"].(map[string]any)
			if c := data["data"].(map[string]any); c["id"] != tc.entity {
				t.Errorf("payload contact id %v; want %s", c["id"], tc.entity)
			}
			if again := e.post(e.url(tc.tenant, "crm"), "application/json", e.sign(tc.delivery, body), body); again.status != 200 || again.str("event_id") != tc.wantID {
				t.Errorf("repeat: %v; want 200 with the same derived id", again)
			}
		})
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestMetrics counts requests and events by tenant, integration and
// outcome, and never labels a series with a value from the path.
func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newBaseEnv(t, envConfig{})
	body := contact("m1")
	e.send("acme", "crm", "msg_m1", body)
	e.send("acme", "crm", "msg_m1", body)
	e.post(e.url("acme", "crm"), "application/json", e.sign("msg_m2", body), contact("m2"))
	e.send("acme", "crm", "msg_m3", []byte(badContact))
	e.send("acme", "quarantine", "msg_m4", []byte(badContact))
	e.post(e.srv.URL+"/v1/webhooks/nobody-xyz/"+e.id("crm"), "application/json", nil, body)
	e.post(e.srv.URL+"/v1/webhooks/acme/nothing-xyz", "application/json", nil, body)

	crm := e.id("crm")
	cases := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sluice_ingress_accepted_total", map[string]string{"tenant": "acme", "integration": crm}, 1},
		{"sluice_ingress_duplicates_total", map[string]string{"tenant": "acme", "integration": crm}, 1},
		{"sluice_ingress_signature_failures_total", map[string]string{"tenant": "acme", "integration": crm, "outcome": "no_match"}, 1},
		{"sluice_ingress_schema_violations_total", map[string]string{"tenant": "acme", "integration": crm, "outcome": "rejected"}, 1},
		{"sluice_ingress_schema_violations_total", map[string]string{"tenant": "acme", "integration": e.id("quarantine"), "outcome": "quarantined"}, 1},
		{"sluice_ingress_requests_total", map[string]string{"tenant": "acme", "integration": crm, "outcome": "accepted"}, 1},
		{"sluice_ingress_requests_total", map[string]string{"tenant": "acme", "integration": crm, "outcome": "invalid_signature"}, 1},
		{"sluice_ingress_requests_total", map[string]string{"tenant": "unknown", "integration": "unknown", "outcome": "unknown_tenant"}, 1},
		{"sluice_ingress_requests_total", map[string]string{"tenant": "acme", "integration": "unknown", "outcome": "unknown_integration"}, 1},
		{"sluice_ingress_request_duration_seconds", map[string]string{"tenant": "acme", "integration": crm}, 4},
	}
	for _, tc := range cases {
		if got := e.counter(tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v; want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "xyz") {
					t.Errorf("%s has a label from the request path: %s=%s", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
}

// TestLogs checks the log lines: one per request with tenant,
// integration, event id and trace id, and never a secret, a signature or
// the body.
func TestLogs(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	e := newBaseEnv(t, envConfig{opts: []webhook.Opt{webhook.Logger(zap.New(core))}})
	body := contact("log1")
	h := e.sign("msg_log1", body)
	e.post(e.url("acme", "crm"), "application/json", h, body)
	tampered := bytes.Replace(body, []byte("lead"), []byte("customer"), 1)
	bad := e.sign("msg_log2", tampered)
	bad.Set("webhook-signature", "v1,"+strings.Repeat("A", 43)+"=")
	e.post(e.url("acme", "crm"), "application/json", bad, tampered)
	e.send("acme", "crm", "msg_log3", []byte(badContact))
	batch := []byte("[" + string(contact("log4")) + "," + badContact + "]")
	e.post(e.url("acme", "crm")+"/batch", "application/json", e.sign("msg_log4", batch), batch)

	forbidden := []string{
		e.secrets["crm"], strings.TrimPrefix(e.secrets["crm"], "whsec_"),
		h.Get("webhook-signature"), strings.TrimPrefix(h.Get("webhook-signature"), "v1,"),
		"grace-log1@example.com", "Zelda-PII", "31415926", `"properties"`,
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	var answered int
	for _, entry := range logs.All() {
		buf, err := enc.EncodeEntry(entry.Entry, entry.Context)
		if err != nil {
			t.Fatal(err)
		}
		line := buf.String()
		for _, f := range forbidden {
			if strings.Contains(line, f) {
				t.Errorf("log line holds %q: %s", f, line)
			}
		}
		if entry.Message != "webhook answered" {
			continue
		}
		answered++
		fields := entry.ContextMap()
		for _, k := range []string{"tenant", "integration", "trace_id", "status", "outcome"} {
			if fields[k] == nil || fields[k] == "" {
				t.Errorf("log line without %s: %s", k, line)
			}
		}
		if fields["batch"] == false && fields["status"] != int64(http.StatusUnauthorized) && fields["event_id"] == nil {
			t.Errorf("log line of one event without event_id: %s", line)
		}
	}
	if answered != 4 {
		t.Errorf("%d answer lines; want one per request (4)", answered)
	}
}

// TestSlackURLVerification answers Slack's signed handshake with its
// challenge and writes nothing; an unsigned one is refused.
func TestSlackURLVerification(t *testing.T) {
	t.Parallel()
	secret := "slack-" + randHex(t, 8)
	e := newEnv(t, envConfig{
		catalog: `version: 1
tenants: [{id: acme}]
integrations:
  - id: "@slack@"
    kind: webhook
    source: support
    signature: {scheme: slack, secrets: [file:slack.secret]}
    contract: {events: [{type: "*", record: sluice.source.support.TicketEvent}]}
`,
		secrets: map[string]string{"slack": secret},
	})
	body := []byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	resp := e.post(e.url("acme", "slack"), "application/json", signSlack(secret, time.Now(), body), body)
	if resp.status != 200 || resp.str("challenge") != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("got %v; want 200 with the challenge", resp)
	}
	if resp := e.post(e.url("acme", "slack"), "application/json", nil, body); resp.status != 401 {
		t.Fatalf("unsigned: %v; want 401", resp)
	}
	for _, suffix := range []string{"", ".invalid"} {
		if n := len(e.records("slack", suffix)); n != 0 {
			t.Errorf("%d records in %q", n, suffix)
		}
	}
}
