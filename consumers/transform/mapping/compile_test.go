package mapping_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/consumers/transform/mapping"
)

func schemas(t testing.TB) *avro.Schemas {
	t.Helper()
	s, err := avro.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lineOf returns the 1-based line of the first line of doc holding marker.
func lineOf(t *testing.T, doc, marker string) int {
	t.Helper()
	for i, l := range strings.Split(doc, "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("marker %q not in the document", marker)
	return 0
}

// crmContact is a valid mapping of the CRM's contacts; cases change one
// part of it.
const crmContact = `source: crm
ignore: [sluice.source.crm.CompanyEvent]
events:
  - record: sluice.source.crm.ContactEvent
    objects:
      - object: contact
        external_id: data.data.id
        match: {email: data.data.properties.email}
        fields:
          email: data.data.properties.email
          updated_at: data.data.updatedAt
`

func TestCompileAcceptsAValidMapping(t *testing.T) {
	t.Parallel()
	m, err := mapping.Compile("m.yaml", []byte(crmContact), schemas(t))
	if err != nil {
		t.Fatal(err)
	}
	if m.Source() != "crm" || fmt.Sprint(m.Records()) != "[sluice.source.crm.ContactEvent]" || fmt.Sprint(m.Objects()) != "[contact]" {
		t.Errorf("source %s, records %v, objects %v", m.Source(), m.Records(), m.Objects())
	}
}

func TestCompileErrorsNameFileLineAndPath(t *testing.T) {
	t.Parallel()
	s := schemas(t)
	cases := []struct {
		name   string
		doc    string
		marker string // the line the error points at, "" for none
		path   string
		msg    string
	}{
		{
			name:   "source path that does not exist",
			doc:    strings.Replace(crmContact, "email: data.data.properties.email\n          updated", "email: data.data.properties.emial\n          updated", 1),
			marker: "emial", path: "events[0].objects[0].fields.email", msg: `has no field "emial"`,
		},
		{
			name:   "canonical field that does not exist",
			doc:    crmContact + "          surname: data.data.properties.lastname\n",
			marker: "surname", path: "events[0].objects[0].fields.surname", msg: `the canonical Contact has no field "surname"`,
		},
		{
			name:   "field the stage sets",
			doc:    crmContact + "          id: data.data.id\n",
			marker: "          id: data.data.id", path: "fields.id", msg: "set by the transform stage",
		},
		{
			name:   "required canonical field the mapping does not set",
			doc:    strings.Replace(crmContact, "          updated_at: data.data.updatedAt\n", "", 1),
			marker: "", path: "events[0].objects[0].fields", msg: "requires updated_at",
		},
		{
			name:   "a record where a string goes",
			doc:    crmContact + "          title: data.data.properties\n",
			marker: "title:", path: "fields.title", msg: "cannot make string from record",
		},
		{
			name:   "source enum values the canonical enum lacks",
			doc:    crmContact + "          lifecycle_stage: data.data.properties.lifecyclestage\n",
			marker: "lifecycle_stage", path: "fields.lifecycle_stage", msg: "are not values of the canonical sluice.canonical.LifecycleStage; map them or give a default",
		},
		{
			name:   "map key the source cannot give",
			doc:    crmContact + "          lifecycle_stage: {from: data.data.properties.lifecyclestage, map: {customer: CUSTOMER, client: CUSTOMER}, default: UNKNOWN}\n",
			marker: "lifecycle_stage", path: "fields.lifecycle_stage.map.client", msg: `"client" is not a value the source can give`,
		},
		{
			name:   "map value the canonical enum lacks",
			doc:    crmContact + "          lifecycle_stage: {from: data.data.properties.lifecyclestage, map: {customer: CLIENT}, default: UNKNOWN}\n",
			marker: "lifecycle_stage", path: "fields.lifecycle_stage.map.customer", msg: `"CLIENT" is not a value of the canonical lifecycle_stage`,
		},
		{
			name: "unknown object",
			doc:  strings.Replace(crmContact, "object: contact", "object: person", 1), marker: "object: person",
			path: "events[0].objects[0].object", msg: `unknown canonical object "person"`,
		},
		{
			name: "record of another source",
			doc:  strings.Replace(crmContact, "record: sluice.source.crm.ContactEvent", "record: sluice.source.payments.CustomerEvent", 1), marker: "payments.CustomerEvent",
			path: "events[0].record", msg: "is an event of source payments, not crm",
		},
		{
			name: "a source record neither mapped nor ignored",
			doc:  strings.Replace(crmContact, "ignore: [sluice.source.crm.CompanyEvent]\n", "", 1), marker: "",
			path: "events", msg: "the source event sluice.source.crm.CompanyEvent is neither mapped nor listed under ignore",
		},
		{
			name:   "unknown step",
			doc:    crmContact + "          title: {from: data.data.properties.jobtitle, as: titlecase}\n",
			marker: "titlecase", path: "fields.title.as", msg: `unknown step "titlecase"`,
		},
		{
			name:   "unknown key",
			doc:    crmContact + "          title: {from: data.data.properties.jobtitle, fallback: x}\n",
			marker: "fallback", path: "fields.title.fallback", msg: "unknown key",
		},
		{
			name:   "reference to an object the event does not make",
			doc:    crmContact + "          account_id: {ref: company}\n",
			marker: "account_id", path: "fields.account_id", msg: `no object of this event is named "company"`,
		},
		{
			name:   "e-mail match on an account",
			doc:    strings.Replace(strings.Replace(crmContact, "ignore: [sluice.source.crm.CompanyEvent]\n", "ignore: [sluice.source.crm.ContactEvent]\n", 1), "record: sluice.source.crm.ContactEvent\n    objects:\n      - object: contact", "record: sluice.source.crm.CompanyEvent\n    objects:\n      - object: account", 1),
			marker: "match:", path: "match.email", msg: "only contacts match on e-mail",
		},
		{
			name:   "an action that is none",
			doc:    strings.Replace(crmContact, "        fields:\n", "        action: {const: upserted}\n        fields:\n", 1),
			marker: "upserted", path: "events[0].objects[0].action", msg: "an action is created, updated or deleted",
		},
		{
			name:   "money with an amount of unknown unit",
			doc:    crmContact + "          title: data.data.properties.jobtitle\n          address: {money: {amount: data.data.properties.zip, currency: {const: EUR}}}\n",
			marker: "address:", path: "fields.address", msg: "money builds a sluice.canonical.Money",
		},
		{
			name: "not YAML", doc: "source: [crm\n", marker: "", path: "", msg: "not YAML",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := mapping.Compile("connectors/crm/mapping.yaml", []byte(c.doc), s)
			if err == nil {
				t.Fatal("the mapping compiled")
			}
			if !errors.Is(err, mapping.ErrSpec) {
				t.Errorf("error does not match ErrSpec: %v", err)
			}
			msg := err.Error()
			want := []string{"connectors/crm/mapping.yaml:", c.path, c.msg}
			if c.marker != "" {
				want = append(want, fmt.Sprintf("mapping.yaml:%d:", lineOf(t, c.doc, c.marker)))
			}
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestCompileListsEveryProblem(t *testing.T) {
	t.Parallel()
	doc := crmContact + "          surname: data.data.properties.lastname\n          title: data.data.properties.jobtitel\n"
	_, err := mapping.Compile("m.yaml", []byte(doc), schemas(t))
	var es mapping.SpecErrors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, not SpecErrors: %v", err, err)
	}
	if len(es) != 2 {
		t.Errorf("%d problems reported, want 2:\n%v", len(es), err)
	}
}

func TestConnectorMappingsCompile(t *testing.T) {
	t.Parallel()
	// The connectors' mappings are tested in their packages; here the
	// number-to-timestamp rule is checked on a source that has Unix
	// seconds.
	doc := `source: payments
ignore: [sluice.source.payments.InvoiceEvent, sluice.source.payments.ChargeEvent]
events:
  - record: sluice.source.payments.CustomerEvent
    objects:
      - object: account
        external_id: data.data.object.id
        fields:
          name: data.data.object.name
          updated_at: data.created
`
	_, err := mapping.Compile("m.yaml", []byte(doc), schemas(t))
	if err == nil || !strings.Contains(err.Error(), "a number becomes a timestamp only with unit: s, ms or us") {
		t.Fatalf("Compile = %v, want the unit error", err)
	}
	if _, err := mapping.Compile("m.yaml", []byte(strings.Replace(doc, "updated_at: data.created", "updated_at: {from: data.created, unit: s}", 1)), schemas(t)); err != nil {
		t.Fatalf("with a unit: %v", err)
	}
}
