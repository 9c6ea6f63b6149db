package mapping_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/consumers/transform/mapping"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/testkit"
)

// event validates body against record's contract and wraps it in an
// envelope, as the ingress does.
func event(t testing.TB, s *avro.Schemas, record, eventType, body string) map[string]any {
	t.Helper()
	v, err := s.Validator(record)
	if err != nil {
		t.Fatal(err)
	}
	data, err := v.Validate([]byte(body))
	if err != nil {
		t.Fatalf("the test body breaks its contract: %v", err)
	}
	occurred := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	return avro.NativeEvent(canonical.Envelope{
		TenantID: "acme", EventID: "e-1", EventType: eventType, Integration: "shop", Source: "commerce",
		ReceivedAt: occurred.Add(time.Second), OccurredAt: &occurred,
	}, data)
}

func compile(t *testing.T, s *avro.Schemas, doc string) *mapping.Mapping {
	t.Helper()
	m, err := mapping.Compile("test.yaml", []byte(doc), s)
	if err != nil {
		t.Fatalf("Compile:\n%v", err)
	}
	return m
}

// orderMapping exercises most of the format on the commerce contract.
const orderMapping = `source: commerce
events:
  - record: sluice.source.commerce.OrderEvent
    types: ["orders/*"]
    objects:
      - object: contact
        name: buyer
        when: {present: data.customer}
        external_id: data.customer.id
        match: {email: [data.customer.email, data.email]}
        fields:
          email: {from: [data.customer.email, data.email], as: email}
          first_name: {from: data.customer.first_name, as: [trim, upper], required: true}
          marketing_opt_in:
            from: data.customer.email_marketing_consent.state
            map: {subscribed: true, unsubscribed: false}
            default: null
          updated_at: {from: [data.customer.updated_at, data.updated_at], required: true}
          address:
            fields:
              city: data.customer.default_address.city
              country_code: {from: data.customer.default_address.country, as: country_code}
      - object: order
        external_id: data.id
        action: {from: envelope.event_type, map: {orders/create: created}, default: updated}
        fields:
          number: data.order_number
          contact_id: {ref: buyer}
          status: {from: [data.cancel_reason, data.fulfillment_status], map: {customer: CANCELLED, other: CANCELLED, fulfilled: FULFILLED}, default: CONFIRMED}
          payment_status: {const: PAID}
          currency: data.currency
          lines:
            each: data.line_items
            fields:
              line_id: item.id
              name: [item.name, item.title]
              quantity: item.quantity
              unit_price: {money: {amount: item.price, currency: data.currency}}
              total: {money: {amount: item.price, multiply: item.quantity, subtract: item.total_discount, currency: data.currency}}
          subtotal: {money: {amount: data.subtotal_price, currency: data.currency}}
          shipping: {money: {amount: data.total_price, subtract: [data.subtotal_price, data.total_tax], currency: data.currency}}
          total: {money: {amount: data.total_price, currency: data.currency}}
          placed_at: {from: data.note, layout: "02.01.2006 15:04"}
          created_at: data.created_at
          updated_at: data.updated_at
          attributes:
            entries:
              commerce.test: data.test
              commerce.missing: data.source_name
`

const orderBody = `{
  "id": 1001, "name": "#1001", "order_number": 1001, "email": "JON@Example.COM ", "currency": "KWD",
  "fulfillment_status": "fulfilled", "note": "02.03.2026 10:15",
  "customer": {"id": 77, "first_name": "  jon ", "email_marketing_consent": {"state": "pending"},
               "default_address": {"city": "Ottawa", "country": "Canada"}},
  "line_items": [
    {"id": 1, "title": "Pump", "quantity": 3, "price": "10.125", "total_discount": "0.375"},
    {"id": 2, "title": "Seal", "name": "Seal kit", "quantity": 1, "price": "1.5", "total_discount": "0"}
  ],
  "subtotal_price": "31.5", "total_discounts": "0.375", "total_tax": "2.000", "total_price": "38.500",
  "tags": "a, b", "test": true,
  "created_at": "2026-03-02T10:15:00-05:00", "updated_at": "2026-03-02T10:15:01-05:00"
}`

func TestApplyBuildsCanonicalObjects(t *testing.T) {
	t.Parallel()
	s := schemas(t)
	m := compile(t, s, orderMapping)
	objs, err := m.Apply("sluice.source.commerce.OrderEvent", event(t, s, "sluice.source.commerce.OrderEvent", "orders/create", orderBody))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("%d objects, want the buyer and the order", len(objs))
	}
	buyer, order := objs[0], objs[1]
	// The records as maps: a Record's nested records become maps too.
	buyerData, orderData := buyer.Data.Map(), order.Data.Map()
	money := func(minor int64) map[string]any { return map[string]any{"amount_minor": minor, "currency": "KWD"} }
	checks := []struct {
		name      string
		got, want any
	}{
		{"buyer name", buyer.Name, "buyer"},
		{"buyer type and record", buyer.Type + " " + buyer.Record, "contact sluice.canonical.ContactEvent"},
		{"buyer external id is the long written in decimal", buyer.ExternalID, "77"},
		{"buyer matches on the order e-mail, raw", buyer.Email, "JON@Example.COM "},
		{"buyer e-mail normalised", buyerData["email"], "jon@example.com"},
		{"steps run in order", buyerData["first_name"], "JON"},
		{"map value null", buyerData["marketing_opt_in"], nil},
		{"required from the second path", buyerData["updated_at"], time.Date(2026, 3, 2, 15, 15, 1, 0, time.UTC)},
		{"nested record wrapped in its union", buyerData["address"], map[string]any{"sluice.canonical.Address": map[string]any{
			"line1": nil, "line2": nil, "city": "Ottawa", "region": nil, "postal_code": nil, "country_code": "CA"}}},
		{"managed fields left empty", []any{buyerData["tenant_id"], buyerData["id"], buyerData["external_ids"]}, []any{"", "", []any{}}},
		{"schema defaults fill the rest", buyerData["lifecycle_stage"], "UNKNOWN"},
		{"action by event type", order.Action, "created"},
		{"buyer action defaults to updated", buyer.Action, "updated"},
		{"long to string", orderData["number"], "1001"},
		{"reference to a sibling", order.Refs, []mapping.Ref{{Field: "contact_id", Sibling: "buyer"}}},
		{"coalesce then map", orderData["status"], "FULFILLED"},
		{"const", orderData["payment_status"], "PAID"},
		{"KWD has three decimals", orderData["subtotal"], money(31500)},
		{"shipping by subtraction", orderData["shipping"], map[string]any{"sluice.canonical.Money": money(5000)}},
		{"line total: price times quantity less discount", orderData["lines"].([]any)[0].(map[string]any)["total"], money(30000)},
		{"line name from the first path with a value", orderData["lines"].([]any)[1].(map[string]any)["name"], "Seal kit"},
		{"line id from a long", orderData["lines"].([]any)[1].(map[string]any)["line_id"], "2"},
		{"layout timestamp", orderData["placed_at"], time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC)},
		{"entries skip missing values and make text", orderData["attributes"], map[string]any{"commerce.test": "true"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestApplySelectsObjects(t *testing.T) {
	t.Parallel()
	s := schemas(t)
	m := compile(t, s, orderMapping)
	guest := strings.Replace(orderBody, `"customer": {"id": 77, "first_name": "  jon ", "email_marketing_consent": {"state": "pending"},
               "default_address": {"city": "Ottawa", "country": "Canada"}},`, `"customer": null,`, 1)
	cases := []struct {
		name      string
		eventType string
		body      string
		want      []string
	}{
		{"both objects", "orders/updated", orderBody, []string{"buyer", "order"}},
		{"no customer, no buyer", "orders/updated", guest, []string{"order"}},
		{"an event type the mapping leaves out", "checkouts/create", orderBody, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs, err := m.Apply("sluice.source.commerce.OrderEvent", event(t, s, "sluice.source.commerce.OrderEvent", c.eventType, c.body))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, o := range objs {
				names = append(names, o.Name)
			}
			if !reflect.DeepEqual(names, c.want) {
				t.Errorf("objects %v, want %v", names, c.want)
			}
		})
	}
}

// TestApplyErrorsNameTheFieldNotTheValue maps events that cannot be
// mapped: the error names the canonical field and the source path, and
// never holds the value, which may be personal data.
func TestApplyErrorsNameTheFieldNotTheValue(t *testing.T) {
	t.Parallel()
	s := schemas(t)
	m := compile(t, s, orderMapping)
	cases := []struct {
		name, from, to string
		field, path    string
		reason         string
		secret         string
	}{
		{"required value blank", `"first_name": "  jon "`, `"first_name": "   "`,
			"buyer.first_name", "data.customer.first_name", "a required value is missing", ""},
		{"more decimals than the currency has", `"price": "1.5"`, `"price": "1.5005"`,
			"lines[1].unit_price.amount_minor", "item.price", "more decimal places than the currency's minor unit", "1.5005"},
		{"not a timestamp in the layout", `"note": "02.03.2026 10:15"`, `"note": "Jon Snow, 10 Elm St."`,
			"order.placed_at", "data.note", "cannot be read as timestamp", "Jon Snow"},
		{"not a currency", `"currency": "KWD"`, `"currency": "dinar"`,
			"order.lines[0].unit_price.currency", "data.currency", "not a three-letter ISO 4217 code", "dinar"},
		{"no map entry and no default", `"email_marketing_consent": {"state": "pending"}`, `"email_marketing_consent": {"state": "redacted"}`,
			"", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := strings.Replace(orderBody, c.from, c.to, 1)
			if body == orderBody {
				t.Fatal("the case changes nothing")
			}
			_, err := m.Apply("sluice.source.commerce.OrderEvent", event(t, s, "sluice.source.commerce.OrderEvent", "orders/create", body))
			if c.field == "" {
				// A map miss with a default is no error.
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				return
			}
			var me *mapping.Error
			if !errors.As(err, &me) || !errors.Is(err, mapping.ErrMapping) {
				t.Fatalf("Apply = %v, want a *mapping.Error", err)
			}
			if me.Object+"."+me.Field != c.field && me.Field != c.field {
				t.Errorf("field %s.%s, want %s", me.Object, me.Field, c.field)
			}
			if me.Path != c.path || !strings.Contains(me.Reason, c.reason) {
				t.Errorf("path %q, reason %q; want %q, %q", me.Path, me.Reason, c.path, c.reason)
			}
			if c.secret != "" && strings.Contains(err.Error(), c.secret) {
				t.Errorf("the error shows the value: %v", err)
			}
		})
	}
}

func TestApplyReadsUnionsByTheirBranch(t *testing.T) {
	t.Parallel()
	s := schemas(t)
	doc := `source: support
events:
  - record: sluice.source.support.TicketEvent
    objects:
      - object: ticket
        external_id: data.detail.id
        fields:
          subject: {from: data.event.comment.body, default: "(no comment)"}
          description: data.event.current
          status: {from: data.detail.status, map: {NEW: NEW, OPEN: OPEN, PENDING: PENDING, HOLD: ON_HOLD, SOLVED: SOLVED, CLOSED: CLOSED}}
          tags: data.detail.tags
          updated_at: data.time
          attributes:
            entries:
              first_custom: "data.detail.custom_fields[0].value"
`
	m := compile(t, s, doc)
	body := func(event string) string {
		return `{"id": "0e4f7bb1-4f44-4a0a-9a4b-2b8c1f0b9a11", "type": "t", "account_id": 1, "subject": "s", "time": "2026-03-02T08:10:00Z",
		"zendesk_event_version": "v", "detail": {"id": "35", "status": "HOLD", "requester_id": "1", "tags": ["a", "b"],
		"custom_fields": [{"id": "1", "value": 3}, {"id": "2", "value": ["x", "y"]}],
		"created_at": "2026-03-02T08:00:00Z", "updated_at": "2026-03-02T08:10:00Z"}, "event": ` + event + `}`
	}
	cases := []struct {
		name        string
		event       string
		subject     any
		description any
	}{
		{"a comment", `{"comment": {"id": "9", "body": "thanks", "is_public": true, "author": {"id": "1", "is_staff": false}}}`, "thanks", nil},
		{"a status change", `{"current": "SOLVED", "previous": "OPEN"}`, "(no comment)", "SOLVED"},
		{"nothing", `null`, "(no comment)", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs, err := m.Apply("sluice.source.support.TicketEvent", event(t, s, "sluice.source.support.TicketEvent", "t", body(c.event)))
			if err != nil {
				t.Fatal(err)
			}
			d := objs[0].Data.Map()
			if d["subject"] != c.subject || d["description"] != c.description {
				t.Errorf("subject %#v, description %#v; want %#v, %#v", d["subject"], d["description"], c.subject, c.description)
			}
			if d["status"] != "ON_HOLD" || !reflect.DeepEqual(d["tags"], []any{"a", "b"}) {
				t.Errorf("status %v, tags %v", d["status"], d["tags"])
			}
			if want := map[string]any{"first_custom": "3"}; !reflect.DeepEqual(d["attributes"], want) {
				t.Errorf("attributes %v, want %v", d["attributes"], want)
			}
		})
	}
}

func TestApplyRefusesAnEmptyExternalID(t *testing.T) {
	t.Parallel()
	s := schemas(t)
	m := compile(t, s, crmContact)
	body := `{"type": "contact.created", "timestamp": "2026-03-02T09:00:00Z", "data": {"id": "", "properties": {}, "updatedAt": "2026-03-02T09:00:00Z"}}`
	_, err := m.Apply("sluice.source.crm.ContactEvent", event(t, s, "sluice.source.crm.ContactEvent", "contact.created", body))
	var me *mapping.Error
	if !errors.As(err, &me) || me.Field != "external_id" || me.Path != "data.data.id" {
		t.Fatalf("Apply = %v; want a mapping error on external_id from data.data.id", err)
	}
}

func TestApplyIgnoredAndUnknownRecords(t *testing.T) {
	t.Parallel()
	s := schemas(t)
	m := compile(t, s, crmContact)
	objs, err := m.Apply("sluice.source.crm.CompanyEvent", map[string]any{})
	if err != nil || objs != nil {
		t.Errorf("ignored record: %v, %v; want nothing", objs, err)
	}
	if _, err := m.Apply("sluice.source.payments.CustomerEvent", map[string]any{}); !errors.Is(err, mapping.ErrMapping) {
		t.Errorf("a record of another source: %v, want ErrMapping", err)
	}
}

func TestObjectJSONHasNoSurprises(t *testing.T) {
	t.Parallel()
	// Objects are plain data: they marshal, so they can be logged in
	// tests and compared.
	s := schemas(t)
	m := compile(t, s, orderMapping)
	objs, err := m.Apply("sluice.source.commerce.OrderEvent", event(t, s, "sluice.source.commerce.OrderEvent", "orders/create", orderBody))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := json.Marshal(objs); err != nil {
		t.Fatal(err)
	}
}

// TestApplyReadsRecordsAsMaps: an event decoded into avro.Records (as the
// transform stage decodes it: DecodeRecord, fields read by position) maps
// to the same objects as its map form, unions, lists and nested records
// included.
func TestApplyReadsRecordsAsMaps(t *testing.T) {
	t.Parallel()
	s := schemas(t)
	m := compile(t, s, orderMapping)
	const record = "sluice.source.commerce.OrderEvent"
	native := event(t, s, record, "orders/create", orderBody)
	cl, err := sr.NewClient(sr.URLs(registrytest.Start(t, testkit.NewKafka(t))))
	if err != nil {
		t.Fatal(err)
	}
	serde, err := avro.NewSerde(cl, s)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t, time.Minute)
	b, err := serde.EncodeNative(ctx, avro.Subject("sluice.in.shop", record), native)
	if err != nil {
		t.Fatal(err)
	}
	name, rec, err := serde.DecodeRecord(ctx, b)
	if err != nil || name != record {
		t.Fatalf("DecodeRecord: %s, %v", name, err)
	}
	fromMap, err := m.Apply(record, native)
	if err != nil {
		t.Fatal(err)
	}
	fromRecord, err := m.Apply(record, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromRecord) != len(fromMap) || len(fromMap) != 2 {
		t.Fatalf("%d objects from the Record, %d from the map; want 2", len(fromRecord), len(fromMap))
	}
	for i := range fromMap {
		a, b := fromMap[i], fromRecord[i]
		ad, bd := a.Data.Map(), b.Data.Map()
		a.Data, b.Data = nil, nil
		if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ad, bd) {
			t.Errorf("object %d from the Record:\n%#v\n%#v\nfrom the map:\n%#v\n%#v", i, b, bd, a, ad)
		}
	}
}
