package deliver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/connectors/webhook"
	"github.com/sluicehq/sluice/consumers/deliver"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// newSerde returns a serde of sluice's contracts against a registry of
// its own on k.
func newSerde(t testing.TB, k *testkit.Kafka) *avro.Serde {
	t.Helper()
	schemas, err := avro.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	return serdeAt(t, registrytest.Start(t, k), schemas)
}

// registrySerde is newSerde on a Kafka of the test's own, and also
// returns the registry's URL, for serdes of other contracts.
func registrySerde(t testing.TB) (*avro.Serde, string) {
	t.Helper()
	schemas, err := avro.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	registry := registrytest.Start(t, testkit.NewKafka(t))
	return serdeAt(t, registry, schemas), registry
}

// serdeAt returns a serde of schemas against the registry at url.
func serdeAt(t testing.TB, url string, schemas *avro.Schemas) *avro.Serde {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatal(err)
	}
	s, err := avro.NewSerde(cl, schemas)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestJSONBody delivers an Avro canonical event as the Webhook JSON, with
// an event id Standard Webhooks does not allow replaced by a derived
// message id, the same on every attempt.
func TestJSONBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	serde := newSerde(t, e.k)
	topic := e.topic("contact", config.LaneInteractive)
	received := time.Date(2030, 1, 2, 3, 4, 5, 678e6, time.UTC)
	email := "ada@example.com"
	ev := canonical.ContactEvent{
		Envelope: canonical.Envelope{
			TenantID: "acme", EventID: "crm.delivery 42", EventType: "contact.updated",
			Integration: "crm", Source: "crm", ReceivedAt: received,
		},
		Data: canonical.Contact{
			TenantID: "acme", ID: "ct_1", Email: &email, LifecycleStage: canonical.LifecycleLead,
			UpdatedAt: received, ExternalIDs: []canonical.ExternalID{}, Attributes: map[string]string{},
		},
	}
	value, err := serde.Encode(context.Background(), avro.Subject(topic, canonical.RecordContactEvent), ev)
	if err != nil {
		t.Fatal(err)
	}
	r := &kgo.Record{Key: []byte("acme"), Value: value}
	kafka.SetHeader(r, kafka.HeaderTenantID, "acme")
	kafka.SetHeader(r, kafka.HeaderEventID, ev.Envelope.EventID)
	kafka.SetHeader(r, kafka.HeaderEventType, "contact.updated")
	stagetest.Produce(t, e.k, topic, r)

	d, secret := e.dest(t, "")
	k, url := newSink(t, []string{secret})
	d.Config.URL = url
	start(t, e.stageOf(t, []deliver.Destination{d}, deliver.Body(deliver.NewJSONBody(serde))))
	id := webhook.MessageID(ev.Envelope.EventID)
	if id == ev.Envelope.EventID || !webhook.ValidMessageID(id) {
		t.Fatalf("message id %q", id)
	}
	waitDelivered(t, k, []string{id}, 60*time.Second)
	req := k.Requests()[0]
	var body struct {
		Type      string             `json:"type"`
		Timestamp time.Time          `json:"timestamp"`
		Data      canonical.Contact  `json:"data"`
		Envelope  canonical.Envelope `json:"envelope"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("body %s: %v", req.Body, err)
	}
	if body.Type != "contact.updated" || !body.Timestamp.Equal(received) || body.Data.ID != "ct_1" ||
		body.Data.Email == nil || *body.Data.Email != email || body.Envelope.EventID != ev.Envelope.EventID ||
		body.Data.LifecycleStage != canonical.LifecycleLead {
		t.Errorf("body %s", req.Body)
	}
	if !req.Verified || req.Tenant != "acme" || req.EventType != "contact.updated" {
		t.Errorf("request %+v", req)
	}
	testkit.CheckFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		for _, a := range e.attemptsOf(t) {
			if a.EventID == ev.Envelope.EventID && a.MessageID == id && a.Result == deliver.ResultDelivered {
				return nil
			}
		}
		return fmt.Errorf("no attempt with the event id and the derived message id")
	})
}

// TestJSONBodyRefusesWhatIsNotCanonical checks the encoder's errors: a
// value that is not in the wire format, not a canonical event (whether
// its schema is one the renderer renders or not), or cut short, is
// poison; it is dead-lettered, not retried.
func TestJSONBodyRefusesWhatIsNotCanonical(t *testing.T) {
	t.Parallel()
	serde, registry := registrySerde(t)
	ctx := testkit.Context(t, time.Minute)
	j := deliver.NewJSONBody(serde)
	env := canonical.Envelope{TenantID: "acme", EventID: "e-1", EventType: "thing.updated", Integration: "evo", Source: "evo", ReceivedAt: time.Now().UTC()}
	source := func(fieldType string, value any) []byte {
		t.Helper()
		sd := serdeAt(t, registry, thingSchemas(t, fieldType))
		b, err := sd.EncodeNative(ctx, avro.Subject("sluice.in.evo-"+fieldType, "sluice.source.evo.ThingEvent"), avro.NativeEvent(env, map[string]any{"x": value}))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	contact, err := serde.Encode(ctx, avro.Subject("sluice.canonical.contact", canonical.RecordContactEvent), canonical.ContactEvent{
		Envelope: env, Data: canonical.Contact{TenantID: "acme", ID: "c-1", LifecycleStage: canonical.LifecycleLead, UpdatedAt: env.ReceivedAt},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		value []byte
	}{
		{"not the wire format", []byte(`{"json":"instead"}`)},
		{"unknown schema id", []byte{0, 0, 0, 0x7f, 0x7f, 1, 2}},
		{"a source event", source("string", "y")},
		{"a source event with a double", source("double", 1.5)},
		{"a canonical event cut short", contact[:len(contact)-4]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := j.Encode(context.Background(), &kgo.Record{Value: tc.value})
			if !errors.Is(err, deliver.ErrBody) {
				t.Errorf("Encode = %v, want ErrBody", err)
			}
			if stage.ClassOf(err) != stage.ClassRetryable || errors.As(err, new(*stage.Error)) {
				t.Errorf("the error of %s is classified (%s): it must be left to be poison", tc.name, stage.ClassOf(err))
			}
		})
	}
}

// JSONBody writes exactly what encoding/json writes for the Webhook of
// an event: rendered straight from the Avro of the local contracts, and
// decoded into package canonical's types for a writer of another version
// of a contract (here a Contact with a field more, which the local
// contract does not know and the Webhook leaves out).
func TestJSONBodyIsTheWebhook(t *testing.T) {
	t.Parallel()
	serde, registry := registrySerde(t)
	ctx := testkit.Context(t, time.Minute)
	at := time.Date(2030, 1, 2, 3, 4, 5, 678e6, time.UTC)
	str := func(s string) *string { return &s }
	env := func(eventType string, occurred *time.Time) canonical.Envelope {
		return canonical.Envelope{
			TenantID: "acme", EventID: "evt-<1>", EventType: eventType, Integration: "crm", Source: "crm",
			OccurredAt: occurred, ReceivedAt: at.Add(time.Second), ActorID: str("user \"7\" & co"),
		}
	}
	contact := canonical.ContactEvent{
		Envelope: env("contact.updated", &at),
		Data: canonical.Contact{
			TenantID: "acme", ID: "con_1", Email: str("ada@example.com"), FullName: str("Ada Lovelace \u2028"),
			ExternalIDs:    []canonical.ExternalID{{System: "crm", ID: "c-1", URL: str("https://crm.example/c?a=1&b=2")}},
			LifecycleStage: canonical.LifecycleLead, UpdatedAt: at, Attributes: map[string]string{"z": "1", "a": "<2>", "m": ""},
		},
	}
	events := []struct {
		object, record string
		event          any
	}{
		{canonical.ObjectContact, canonical.RecordContactEvent, contact},
		{canonical.ObjectAccount, canonical.RecordAccountEvent, canonical.AccountEvent{
			Envelope: env("account.created", nil),
			Data: canonical.Account{
				TenantID: "acme", ID: "acc_1", Name: "Acme", Domain: str("acme.example"), EmployeeCount: new(int32),
				AnnualRevenue: &canonical.Money{AmountMinor: -12345, Currency: "EUR"}, Status: canonical.AccountStatusCustomer,
				BillingAddress: &canonical.Address{City: str("Zürich")}, UpdatedAt: at,
				ExternalIDs: []canonical.ExternalID{}, Attributes: map[string]string{},
			},
		}},
		{canonical.ObjectOrder, canonical.RecordOrderEvent, canonical.OrderEvent{
			Envelope: env("order.paid", &at),
			Data: canonical.Order{
				TenantID: "acme", ID: "ord_1", Number: str("1001"), Status: canonical.OrderStatusConfirmed,
				PaymentStatus: canonical.PaymentStatusPaid, Currency: "USD",
				Subtotal: canonical.Money{AmountMinor: 4200, Currency: "USD"}, Total: canonical.Money{AmountMinor: 4200, Currency: "USD"},
				Lines: []canonical.OrderLine{{Name: "Widget", SKU: str("W-1"), Quantity: 2,
					UnitPrice: canonical.Money{AmountMinor: 2100, Currency: "USD"}, Total: canonical.Money{AmountMinor: 4200, Currency: "USD"}}},
				PlacedAt: &at, UpdatedAt: at, ExternalIDs: []canonical.ExternalID{}, Attributes: map[string]string{"channel": "web"},
			},
		}},
		{canonical.ObjectTicket, canonical.RecordTicketEvent, canonical.TicketEvent{
			Envelope: env("ticket.closed", nil),
			Data: canonical.Ticket{
				TenantID: "acme", ID: "tkt_1", Subject: "Printer on fire\n", Status: canonical.TicketStatusClosed,
				Priority: canonical.TicketPriorityUrgent, TicketType: canonical.TicketTypeIncident, Tags: []string{"hardware", "fire"},
				CreatedAt: &at, UpdatedAt: at, ExternalIDs: []canonical.ExternalID{}, Attributes: map[string]string{},
			},
		}},
	}
	j := deliver.NewJSONBody(serde)
	for _, tc := range events {
		t.Run(tc.object, func(t *testing.T) {
			v := reflect.ValueOf(tc.event)
			envelope := v.FieldByName("Envelope").Interface().(canonical.Envelope)
			value, err := serde.Encode(ctx, avro.Subject("sluice.canonical."+tc.object, tc.record), tc.event)
			if err != nil {
				t.Fatal(err)
			}
			got, err := j.Encode(ctx, &kgo.Record{Value: value})
			if err != nil {
				t.Fatal(err)
			}
			ts := envelope.ReceivedAt
			if envelope.OccurredAt != nil {
				ts = *envelope.OccurredAt
			}
			want, err := json.Marshal(deliver.Webhook{Type: envelope.EventType, Timestamp: ts, Data: v.FieldByName("Data").Interface(), Envelope: envelope})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("body\n%s\nwant\n%s", got, want)
			}
		})
	}

	t.Run("another writer", func(t *testing.T) {
		newer := serdeAt(t, registry, newerContacts(t))
		native := avro.NativeEvent(contact.Envelope, map[string]any{
			"tenant_id": "acme", "id": "con_1", "external_ids": []any{}, "email": "ada@example.com",
			"lifecycle_stage": "LEAD", "updated_at": at, "deleted": false, "attributes": map[string]any{"a": "<2>"},
			"nickname": "Ada",
		})
		value, err := newer.EncodeNative(ctx, avro.Subject("sluice.canonical.contact", canonical.RecordContactEvent), native)
		if err != nil {
			t.Fatal(err)
		}
		got, err := j.Encode(ctx, &kgo.Record{Value: value})
		if err != nil {
			t.Fatal(err)
		}
		data := canonical.Contact{
			TenantID: "acme", ID: "con_1", Email: str("ada@example.com"), LifecycleStage: canonical.LifecycleLead,
			UpdatedAt: at, ExternalIDs: []canonical.ExternalID{}, Attributes: map[string]string{"a": "<2>"},
		}
		want, _ := json.Marshal(deliver.Webhook{Type: contact.Envelope.EventType, Timestamp: at, Data: data, Envelope: contact.Envelope})
		if !bytes.Equal(got, want) {
			t.Errorf("body\n%s\nwant\n%s", got, want)
		}
	})
}

// thingSchemas returns the contracts of a source event,
// sluice.source.evo.ThingEvent, whose data is one field x of fieldType.
func thingSchemas(t *testing.T, fieldType string) *avro.Schemas {
	t.Helper()
	env, err := os.ReadFile(filepath.Join("..", "..", "avro", "schemas", "Envelope.avsc"))
	if err != nil {
		t.Fatal(err)
	}
	event := `{"type":"record","name":"ThingEvent","namespace":"sluice.source.evo","doc":"-","fields":[
		{"name":"envelope","type":"sluice.Envelope","doc":"-"},
		{"name":"data","type":{"type":"record","name":"Thing","doc":"-","fields":[{"name":"x","type":"` + fieldType + `","doc":"-"}]},"doc":"-"}]}`
	schemas, err := avro.LoadSchemasFS(fstest.MapFS{
		"Envelope.avsc":              {Data: env},
		"source/evo/ThingEvent.avsc": {Data: []byte(event)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return schemas
}

// newerContacts returns sluice's contracts with a field more in Contact,
// "nickname", optional.
func newerContacts(t *testing.T) *avro.Schemas {
	t.Helper()
	files := fstest.MapFS{}
	root := filepath.Join("..", "..", "avro", "schemas")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if d.Name() == "Contact.avsc" {
			const last = `"fields": [`
			if !bytes.Contains(b, []byte(last)) {
				t.Fatalf("%s has no %s", path, last)
			}
			b = bytes.Replace(b, []byte(last), []byte(last+`{"name": "nickname", "type": ["null", "string"], "default": null, "doc": "-"},`), 1)
		}
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)] = &fstest.MapFile{Data: b}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := avro.LoadSchemasFS(files)
	if err != nil {
		t.Fatal(err)
	}
	return schemas
}
