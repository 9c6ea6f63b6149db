package avro

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	havro "github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/kafka"
)

func TestSchemaFilesAreNamedForTheirType(t *testing.T) {
	s := loadSchemas(t)
	files := map[string]bool{}
	err := fs.WalkDir(os.DirFS("schemas"), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files[p] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.All()) != len(files) {
		t.Errorf("%d schemas loaded from %d files", len(s.All()), len(files))
	}
	for _, sc := range s.All() {
		want := strings.ReplaceAll(strings.TrimPrefix(sc.Name, "sluice."), ".", "/") + ".avsc"
		if sc.File != want {
			t.Errorf("%s is in %s, want %s", sc.Name, sc.File, want)
		}
		if !files[sc.File] {
			t.Errorf("%s: file %s not under schemas/", sc.Name, sc.File)
		}
	}
}

// TestEveryFieldIsDocumented walks every schema: every record, enum and
// field carries a doc.
func TestEveryFieldIsDocumented(t *testing.T) {
	s := loadSchemas(t)
	for _, sc := range s.All() {
		t.Run(sc.Name, func(t *testing.T) {
			seen := map[string]bool{}
			var walk func(havro.Schema, string)
			walk = func(x havro.Schema, path string) {
				switch v := x.(type) {
				case *havro.RefSchema:
					walk(v.Schema(), path)
				case *havro.RecordSchema:
					if seen[v.FullName()] {
						return
					}
					seen[v.FullName()] = true
					if strings.TrimSpace(v.Doc()) == "" {
						t.Errorf("record %s has no doc", v.FullName())
					}
					for _, f := range v.Fields() {
						if strings.TrimSpace(f.Doc()) == "" {
							t.Errorf("field %s.%s has no doc", v.FullName(), f.Name())
						}
						walk(f.Type(), path+"."+f.Name())
					}
				case *havro.EnumSchema:
					if strings.TrimSpace(v.Doc()) == "" {
						t.Errorf("enum %s has no doc", v.FullName())
					}
				case *havro.ArraySchema:
					walk(v.Items(), path+"[]")
				case *havro.MapSchema:
					walk(v.Values(), path+"{}")
				case *havro.UnionSchema:
					for _, b := range v.Types() {
						walk(b, path)
					}
				}
			}
			walk(sc.parsed, sc.Name)
			if len(seen) == 0 && sc.parsed.Type() == havro.Record {
				t.Errorf("nothing walked")
			}
		})
	}
}

// TestSchemasAreBackwardCompatibleWithThemselves is a sanity check of
// the compatibility machinery on every schema.
func TestSchemasAreBackwardCompatibleWithThemselves(t *testing.T) {
	s := loadSchemas(t)
	compat := havro.NewSchemaCompatibility()
	for _, sc := range s.All() {
		t.Run(sc.Name, func(t *testing.T) {
			// A second parse of the text, so that reader and writer are
			// not the same object.
			again, err := havro.ParseWithCache(sc.Text(), "", &havro.SchemaCache{})
			if err != nil {
				t.Fatal(err)
			}
			if err := compat.Compatible(again, sc.parsed); err != nil {
				t.Errorf("not backward compatible with itself: %v", err)
			}
		})
	}
}

// TestEventsStayBackwardCompatible guards the contracts in use: every
// event schema must be able to read what the previous accepted version of
// it (testdata/registered/<subject>.avsc) wrote, i.e. be BACKWARD
// compatible with it, the registry's default level. go test -update
// accepts the current schemas as the new baseline after review.
func TestEventsStayBackwardCompatible(t *testing.T) {
	s := loadSchemas(t)
	compat := havro.NewSchemaCompatibility()
	for _, b := range s.DefaultBindings() {
		t.Run(b.Subject, func(t *testing.T) {
			path := filepath.Join("testdata", "registered", b.Subject+".avsc")
			if *update {
				golden(t, path, []byte(b.Schema.Text()+"\n"))
				return
			}
			prev, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("no baseline for %s (go test -update writes it): %v", b.Subject, err)
			}
			writer, err := havro.ParseWithCache(string(prev), "", &havro.SchemaCache{})
			if err != nil {
				t.Fatalf("baseline: %v", err)
			}
			if err := compat.Compatible(b.Schema.parsed, writer); err != nil {
				t.Errorf("%s can no longer read data written with its previous version: %v", b.Schema.Name, err)
			}
		})
	}
}

func TestEvents(t *testing.T) {
	s := loadSchemas(t)
	want := map[string]string{
		canonical.RecordAccountEvent:           kafka.CanonicalTopic(canonical.ObjectAccount),
		canonical.RecordContactEvent:           kafka.CanonicalTopic(canonical.ObjectContact),
		canonical.RecordOrderEvent:             kafka.CanonicalTopic(canonical.ObjectOrder),
		canonical.RecordTicketEvent:            kafka.CanonicalTopic(canonical.ObjectTicket),
		"sluice.source.crm.ContactEvent":       "sluice.in.crm",
		"sluice.source.crm.CompanyEvent":       "sluice.in.crm",
		"sluice.source.payments.CustomerEvent": "sluice.in.payments",
		"sluice.source.payments.InvoiceEvent":  "sluice.in.payments",
		"sluice.source.payments.ChargeEvent":   "sluice.in.payments",
		"sluice.source.commerce.OrderEvent":    "sluice.in.commerce",
		"sluice.source.support.TicketEvent":    "sluice.in.support",
	}
	got := map[string]string{}
	for _, sc := range s.Events() {
		got[sc.Name] = sc.Topic
		if sc.Subject() != sc.Topic+"-"+sc.Name {
			t.Errorf("%s: subject %q", sc.Name, sc.Subject())
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events and topics:\n%v\nwant\n%v", got, want)
	}
	for _, sc := range s.All() {
		if !sc.Event && sc.Subject() != "" {
			t.Errorf("%s is not an event but has subject %q", sc.Name, sc.Subject())
		}
	}
	if len(s.DefaultBindings()) != len(want) {
		t.Errorf("%d default bindings", len(s.DefaultBindings()))
	}
}

// TestEnvelopeCarriesTheHeaders checks the envelope against the record
// headers of DESIGN.md: every header that describes the event has a field.
func TestEnvelopeCarriesTheHeaders(t *testing.T) {
	s := loadSchemas(t)
	env, ok := s.Lookup(EnvelopeRecord)
	if !ok {
		t.Fatal("no envelope")
	}
	fields := map[string]bool{}
	for _, f := range env.parsed.(*havro.RecordSchema).Fields() {
		fields[f.Name()] = true
	}
	headers := map[string]string{
		kafka.HeaderTenantID:    "tenant_id",
		kafka.HeaderEventID:     "event_id",
		kafka.HeaderEventType:   "event_type",
		kafka.HeaderIntegration: "integration",
		kafka.HeaderTraceParent: "trace_parent",
		kafka.HeaderReceivedAt:  "received_at",
	}
	for h, f := range headers {
		if !fields[f] {
			t.Errorf("header %s has no envelope field %s", h, f)
		}
	}
	for _, f := range []string{"source", "occurred_at", "schema_version"} {
		if !fields[f] {
			t.Errorf("envelope lacks %s", f)
		}
	}
}

func TestSchemaTextIsSelfContained(t *testing.T) {
	s := loadSchemas(t)
	for _, sc := range s.Events() {
		t.Run(sc.Name, func(t *testing.T) {
			// Parsing alone in an empty cache proves no outside name is
			// needed; each named type must be defined once.
			if _, err := havro.ParseWithCache(sc.Text(), "", &havro.SchemaCache{}); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(sc.Text(), `"name":"Envelope"`); n != 1 {
				t.Errorf("the envelope is defined %d times", n)
			}
			if !strings.Contains(sc.Text(), `"doc":`) {
				t.Errorf("docs were lost")
			}
		})
	}
}

// TestCanonicalStructsMirrorTheirSchemas checks, field by field, that
// the Go types of package canonical have exactly the fields of their
// records, recursively.
func TestCanonicalStructsMirrorTheirSchemas(t *testing.T) {
	s := loadSchemas(t)
	for _, fx := range canonicalFixtures() {
		t.Run(fx.record, func(t *testing.T) {
			sc, _ := s.Lookup(fx.record)
			mirror(t, sc.parsed, reflect.TypeOf(fx.value), fx.record)
		})
	}
}

func mirror(t *testing.T, sch havro.Schema, typ reflect.Type, path string) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch v := sch.(type) {
	case *havro.RefSchema:
		mirror(t, v.Schema(), typ, path)
	case *havro.UnionSchema:
		for _, b := range v.Types() {
			if b.Type() != havro.Null {
				mirror(t, b, typ, path)
			}
		}
	case *havro.ArraySchema:
		if typ.Kind() != reflect.Slice {
			t.Errorf("%s: Go %s for an array", path, typ)
			return
		}
		mirror(t, v.Items(), typ.Elem(), path+"[]")
	case *havro.MapSchema:
		if typ.Kind() != reflect.Map {
			t.Errorf("%s: Go %s for a map", path, typ)
			return
		}
		mirror(t, v.Values(), typ.Elem(), path+"{}")
	case *havro.RecordSchema:
		if typ.Kind() != reflect.Struct {
			t.Errorf("%s: Go %s for record %s", path, typ, v.FullName())
			return
		}
		tags := map[string]reflect.StructField{}
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			tags[f.Tag.Get("avro")] = f
		}
		var names []string
		for _, f := range v.Fields() {
			names = append(names, f.Name())
			sf, ok := tags[f.Name()]
			if !ok {
				t.Errorf("%s: Go type %s has no field tagged %q", path, typ, f.Name())
				continue
			}
			if f.Type().Type() == havro.Union && sf.Type.Kind() != reflect.Pointer && sf.Type.Kind() != reflect.Slice && sf.Type.Kind() != reflect.Map {
				t.Errorf("%s.%s: a nullable field must be a pointer in Go, not %s", path, f.Name(), sf.Type)
			}
			if sf.Tag.Get("json") == "" || !strings.HasPrefix(sf.Tag.Get("json"), f.Name()) {
				t.Errorf("%s.%s: json tag %q does not use the Avro name", path, f.Name(), sf.Tag.Get("json"))
			}
			mirror(t, f.Type(), sf.Type, path+"."+f.Name())
		}
		if len(tags) != len(v.Fields()) {
			sort.Strings(names)
			t.Errorf("%s: Go type %s has %d fields, the record %d (%v)", path, typ, len(tags), len(v.Fields()), names)
		}
	case *havro.EnumSchema:
		if typ.Kind() != reflect.String {
			t.Errorf("%s: Go %s for enum %s", path, typ, v.FullName())
		}
	}
}

func TestSubject(t *testing.T) {
	cases := []struct {
		topic, record, subject string
	}{
		{"sluice.in.crm", "sluice.source.crm.ContactEvent", "sluice.in.crm-sluice.source.crm.ContactEvent"},
		{"sluice.in.crm-eu", "sluice.source.crm.ContactEvent", "sluice.in.crm-eu-sluice.source.crm.ContactEvent"},
		{"sluice.canonical.contact", "sluice.canonical.ContactEvent", "sluice.canonical.contact-sluice.canonical.ContactEvent"},
	}
	for _, tc := range cases {
		t.Run(tc.subject, func(t *testing.T) {
			if got := Subject(tc.topic, tc.record); got != tc.subject {
				t.Errorf("Subject = %q, want %q", got, tc.subject)
			}
			topic, record, err := ParseSubject(tc.subject)
			if err != nil || topic != tc.topic || record != tc.record {
				t.Errorf("ParseSubject = %q, %q, %v", topic, record, err)
			}
		})
	}
}

func TestParseSubjectRefuses(t *testing.T) {
	for _, subject := range []string{"", "nodash", "-sluice.X", "topic-", "topic-sluice..X", "topic-sluice.9X", "topic-value"} {
		t.Run(subject, func(t *testing.T) {
			_, record, err := ParseSubject(subject)
			if subject == "topic-value" {
				// "value" is a valid (namespace-less) record name.
				if err != nil || record != "value" {
					t.Errorf("ParseSubject(%q) = %q, %v", subject, record, err)
				}
				return
			}
			if !errors.Is(err, ErrSubject) {
				t.Errorf("ParseSubject(%q) error %v, want ErrSubject", subject, err)
			}
		})
	}
}

func TestBind(t *testing.T) {
	s := loadSchemas(t)
	cases := []struct {
		name    string
		topic   string
		record  string
		subject string
		err     error
	}{
		{"source event on its integration's topic", kafka.InTopic("crm-eu"), "sluice.source.crm.ContactEvent", "sluice.in.crm-eu-sluice.source.crm.ContactEvent", nil},
		{"not an event", "sluice.in.crm", "sluice.source.crm.Contact", "", ErrUnknownRecord},
		{"unknown record", "sluice.in.crm", "sluice.source.crm.Nope", "", ErrUnknownRecord},
		{"empty topic", "", "sluice.source.crm.ContactEvent", "", ErrSubject},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := s.Bind(tc.topic, tc.record)
			if !errors.Is(err, tc.err) || (tc.err != nil) != (err != nil) {
				t.Fatalf("Bind error %v, want %v", err, tc.err)
			}
			if b.Subject != tc.subject {
				t.Errorf("subject %q, want %q", b.Subject, tc.subject)
			}
		})
	}
}

func TestLoadSchemasFSRefuses(t *testing.T) {
	rec := func(name, fields string) string {
		return `{"type":"record","name":"` + name + `","namespace":"t","doc":"-","fields":[` + fields + `]}`
	}
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"bad JSON", map[string]string{"t/A.avsc": `{"type":`}, "t/A.avsc"},
		{"unknown type", map[string]string{"t/A.avsc": rec("A", `{"name":"x","type":"t.Nope"}`)}, `unknown type "t.Nope"`},
		{"type defined twice", map[string]string{"t/A.avsc": rec("A", ""), "t/B.avsc": rec("A", "")}, "t.A defined twice"},
		{"not a named type", map[string]string{"t/A.avsc": `{"type":"array","items":"int"}`}, "one named type"},
		{"invalid Avro", map[string]string{"t/A.avsc": rec("A", `{"name":"x","type":"int","default":"zero"}`)}, "t/A.avsc"},
		{"use before definition", map[string]string{"t/A.avsc": rec("A", `{"name":"x","type":"t.B"},{"name":"y","type":{"type":"record","name":"B","fields":[]}}`)}, "used before its definition"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for p, d := range tc.files {
				fsys[p] = &fstest.MapFile{Data: []byte(d)}
			}
			_, err := LoadSchemasFS(fsys)
			if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadSchemasFS error %v, want ErrSchema mentioning %q", err, tc.want)
			}
		})
	}
}

// TestSameNameInTwoSchemasDoesNotCollide loads two sets in which one
// name means two different records; each set's schemas use their own.
func TestSameNameInTwoSchemasDoesNotCollide(t *testing.T) {
	item := func(field, typ string) string {
		return `{"type":"record","name":"Item","namespace":"t","doc":"-","fields":[{"name":"` + field + `","type":"` + typ + `","doc":"-"}]}`
	}
	holder := `{"type":"record","name":"Holder","namespace":"t","doc":"-","fields":[{"name":"item","type":"t.Item","doc":"-"}]}`
	a, err := LoadSchemasFS(fstest.MapFS{"t/Item.avsc": {Data: []byte(item("a", "int"))}, "t/Holder.avsc": {Data: []byte(holder)}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadSchemasFS(fstest.MapFS{"t/Item.avsc": {Data: []byte(item("b", "string"))}, "t/Holder.avsc": {Data: []byte(holder)}})
	if err != nil {
		t.Fatal(err)
	}
	api := newAPI()
	cases := []struct {
		set  *Schemas
		in   map[string]any
		want string
	}{
		{a, map[string]any{"item": map[string]any{"a": 5}}, "a"},
		{b, map[string]any{"item": map[string]any{"b": "x"}}, "b"},
	}
	for _, tc := range cases {
		sc, _ := tc.set.Lookup("t.Holder")
		enc, err := api.Marshal(sc.parsed, tc.in)
		if err != nil {
			t.Fatalf("encode with the %s version: %v", tc.want, err)
		}
		var out map[string]any
		if err := api.Unmarshal(sc.parsed, enc, &out); err != nil {
			t.Fatal(err)
		}
		if _, ok := out["item"].(map[string]any)[tc.want]; !ok {
			t.Errorf("the %s version of t.Item was read as %v", tc.want, out)
		}
	}
}
