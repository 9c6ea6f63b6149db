package transform_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/connectors/commerce"
	"github.com/sluicehq/sluice/connectors/crm"
	"github.com/sluicehq/sluice/connectors/payments"
	"github.com/sluicehq/sluice/connectors/support"
	"github.com/sluicehq/sluice/consumers/transform/transformtest"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// connectors are the four example sources' mappings.
func connectors() map[string][]byte {
	return map[string][]byte{
		crm.Source:      crm.Mapping(),
		payments.Source: payments.Mapping(),
		commerce.Source: commerce.Mapping(),
		support.Source:  support.Mapping(),
	}
}

// fixtures loads a connector's fixtures by name.
func fixtures(t *testing.T, source string) map[string]transformtest.Fixture {
	t.Helper()
	fs, err := transformtest.LoadFixtures(os.DirFS(filepath.Join("..", "..", "connectors", source, "testdata")), source)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]transformtest.Fixture{}
	for _, f := range fs {
		out[f.Name] = f
	}
	return out
}

// received is when the generated test events arrived.
func received() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) }

// crmContact is a CRM contact.updated webhook for contact id with email.
func crmContact(tenant string, id int, email string) transformtest.Fixture {
	emailJSON := "null"
	if email != "" {
		emailJSON = fmt.Sprintf("%q", email)
	}
	body := fmt.Sprintf(`{"type": "contact.updated", "timestamp": "2026-03-02T09:00:00.000001Z", "data": {
		"id": "%d", "properties": {"email": %s, "firstname": "Person %d", "lifecyclestage": "lead"},
		"updatedAt": "2026-03-02T09:00:00.000Z"}}`, id, emailJSON, id)
	return transformtest.Fixture{
		Name:   fmt.Sprintf("contact-%d", id),
		Record: "sluice.source.crm.ContactEvent",
		Envelope: canonical.Envelope{
			TenantID: tenant, EventID: fmt.Sprintf("msg_contact_%d_%s", id, strings.ReplaceAll(email, "@", "_at_")),
			EventType: "contact.updated", ReceivedAt: received().Add(time.Duration(id) * time.Millisecond),
		},
		Body: json.RawMessage(body),
	}
}

// commerceOrder is an orders/create webhook whose customer has email.
func commerceOrder(tenant string, id, customer int, email string) transformtest.Fixture {
	body := fmt.Sprintf(`{"id": %d, "name": "#%d", "order_number": %d, "currency": "EUR", "email": %q,
		"customer": {"id": %d, "email": %q, "first_name": "Ada"},
		"line_items": [{"id": %d, "title": "Widget", "quantity": 2, "price": "9.95", "total_discount": "0"}],
		"subtotal_price": "19.90", "total_discounts": "0", "total_tax": "0", "total_price": "19.90",
		"created_at": "2026-03-02T10:00:00Z", "updated_at": "2026-03-02T10:00:00Z"}`, id, id, id, email, customer, email, id*10)
	return transformtest.Fixture{
		Name:   fmt.Sprintf("order-%d", id),
		Record: "sluice.source.commerce.OrderEvent",
		Envelope: canonical.Envelope{
			TenantID: tenant, EventID: fmt.Sprintf("order-%d-created", id), EventType: "orders/create",
			ReceivedAt: received().Add(time.Hour),
		},
		Body: json.RawMessage(body),
	}
}

// records turns fixtures into the records the ingress writes.
func records(t *testing.T, e *transformtest.Env, source string, fs ...transformtest.Fixture) []*kgo.Record {
	t.Helper()
	out := make([]*kgo.Record, len(fs))
	for i, f := range fs {
		out[i] = e.Record(t, f, source)
	}
	return out
}

// byCause groups canonical events by the source event they came from.
func byCause(evs []transformtest.Canonical) map[string][]transformtest.Canonical {
	out := map[string][]transformtest.Canonical{}
	for _, ev := range evs {
		if ev.Envelope.CausedBy != nil {
			out[*ev.Envelope.CausedBy] = append(out[*ev.Envelope.CausedBy], ev)
		}
	}
	return out
}

// waitCanonical waits until the stage's canonical topics hold n events.
func waitCanonical(t *testing.T, e *transformtest.Env, st interface {
	Topics() []kafka.TopicSpec
}, n int) []transformtest.Canonical {
	t.Helper()
	var evs []transformtest.Canonical
	testkit.CheckFor(t, 2*time.Minute, 200*time.Millisecond, func() error {
		evs = evs[:0]
		for _, spec := range st.Topics() {
			if strings.HasPrefix(spec.Name, "sluice.in.") {
				continue
			}
			for _, r := range e.Kafka.Records(t, spec.Name) {
				evs = append(evs, e.Decode(t, r))
			}
		}
		if len(evs) < n {
			return fmt.Errorf("%d canonical events, want %d", len(evs), n)
		}
		return nil
	})
	return evs
}
