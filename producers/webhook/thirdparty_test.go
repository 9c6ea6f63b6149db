package webhook_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/testkit"
)

// partnerCatalog has one integration per example source, each taking its
// partner's bodies as they come (event types from the body or, for the
// commerce platform, a header).
const partnerCatalog = `version: 1
tenants: [{id: acme}]
integrations:
  - id: "@crm@"
    kind: webhook
    source: crm
    signature: {scheme: standard-webhooks, secrets: [file:crm.secret]}
    contract:
      event_type: {json: type}
      events:
        - {type: "contact.*", record: sluice.source.crm.ContactEvent}
        - {type: "company.*", record: sluice.source.crm.CompanyEvent}
  - id: "@payments@"
    kind: webhook
    source: payments
    signature: {scheme: standard-webhooks, secrets: [file:crm.secret]}
    contract:
      event_type: {json: type}
      events:
        - {type: "customer.*", record: sluice.source.payments.CustomerEvent}
        - {type: "invoice.*", record: sluice.source.payments.InvoiceEvent}
        - {type: "charge.*", record: sluice.source.payments.ChargeEvent}
  - id: "@commerce@"
    kind: webhook
    source: commerce
    signature: {scheme: standard-webhooks, secrets: [file:crm.secret]}
    contract:
      event_type: {header: X-Shopify-Topic}
      events: [{type: "orders/*", record: sluice.source.commerce.OrderEvent}]
  - id: "@support@"
    kind: webhook
    source: support
    signature: {scheme: standard-webhooks, secrets: [file:crm.secret]}
    contract:
      event_type: {json: type}
      events: [{type: "zen:event-type:ticket.*", record: sluice.source.support.TicketEvent}]
`

// TestIngressRecordsDecodeWithApacheAvroJava sends every partner body of
// the connectors' fixtures through the ingress, which validates each
// against its contract and encodes it to Avro itself (not through the
// serde's encoder), and decodes what it wrote with Apache Avro's Java
// library, the reference implementation under Confluent's Java
// deserializers: the writer's schema from the registry by the value's
// schema id, every byte used. Each record decodes to the object sluice's
// serde decodes. Needs SLUICE_JAVA_CLIENTS (deploy/local/clients.sh; CI
// sets it).
func TestIngressRecordsDecodeWithApacheAvroJava(t *testing.T) {
	t.Parallel()
	testkit.JavaClients(t)
	e := newEnv(t, envConfig{catalog: partnerCatalog, secrets: map[string]string{"crm": whsec(t)}})
	sent := map[string]int{}
	for _, source := range []string{"crm", "payments", "commerce", "support"} {
		files, err := filepath.Glob(filepath.Join("..", "..", "connectors", source, "testdata", "*Event", "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no fixtures (%v)", source, err)
		}
		for i, f := range files {
			var fx struct {
				Envelope struct {
					EventType string `json:"event_type"`
				} `json:"envelope"`
				Body json.RawMessage `json:"body"`
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &fx); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			id := "msg_" + source + "_" + strings.TrimSuffix(filepath.Base(f), ".json") + "_" + string(rune('a'+i))
			h := e.sign(id, fx.Body)
			if source == "commerce" {
				h.Set("X-Shopify-Topic", fx.Envelope.EventType)
			}
			if resp := e.post(e.url("acme", source), "application/json", h, fx.Body); resp.status != 202 {
				t.Logf("%s: %v (not encoded; the transform's fixtures include bodies a contract refuses)", f, resp)
				continue
			}
			sent[source]++
		}
	}
	var recs []map[string]any
	var values [][]byte
	for _, source := range []string{"crm", "payments", "commerce", "support"} {
		if sent[source] == 0 {
			t.Errorf("no %s fixture was accepted", source)
		}
		got := e.records(source, "")
		if len(got) != sent[source] {
			t.Fatalf("%s: %d records for %d accepted bodies", source, len(got), sent[source])
		}
		for _, r := range got {
			recs = append(recs, e.decode(r))
			values = append(values, r.Value)
		}
	}
	for i, theirs := range testkit.DecodeWith(t, "AvroDecode.java", e.registry, values) {
		if theirs, ours := testkit.AvroValue(theirs), testkit.AvroValue(testkit.JSONValues(t, recs[i])); !reflect.DeepEqual(theirs, ours) {
			t.Errorf("record %d: Apache Avro (Java) decoded\n%v\nsluice decodes\n%v", i, theirs, ours)
		}
	}
}
