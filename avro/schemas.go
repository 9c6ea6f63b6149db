package avro

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	havro "github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/internal/kafka"
)

// embedded holds the contracts compiled into the binary.
//
//go:embed schemas
var embedded embed.FS

// EnvelopeRecord is the full name of the envelope record every event
// carries in its field "envelope".
const EnvelopeRecord = "sluice.Envelope"

// SourceCanonical is Schema.Source for the types of the canonical model.
const SourceCanonical = "canonical"

// Schema is one named Avro type of sluice's contracts: the definition in
// one .avsc file, made self-contained. It never changes after loading and
// is safe for concurrent use.
type Schema struct {
	// Name is the full name, e.g. "sluice.source.crm.ContactEvent".
	Name string
	// File is the path of the defining .avsc file relative to the schema
	// directory, e.g. "source/crm/ContactEvent.avsc".
	File string
	// Doc is the type's "doc".
	Doc string
	// Event reports whether the type is an event record, i.e. a record of
	// exactly the fields "envelope" (sluice.Envelope) and "data". Only
	// events are written to Kafka and registered.
	Event bool
	// Source is "canonical" for the canonical model and the source system
	// (e.g. "crm", "payments") for source-event types; "" for the envelope.
	Source string
	// Topic is the topic an event is written to by default:
	// sluice.canonical.<object> for canonical events, sluice.in.<source>
	// for source events (an integration whose id differs from its source
	// binds the schema to its own topic with Schemas.Bind). "" for types
	// that are not events.
	Topic string

	text   string
	parsed havro.Schema
}

// Text returns the schema as self-contained Avro JSON: every named type it
// uses is defined inline at its first use, docs and defaults kept. It is
// the text sluice registers.
func (s *Schema) Text() string { return s.text }

// Subject returns the subject of an event on its default Topic (see
// Subject), or "" for types that are not events.
func (s *Schema) Subject() string {
	if !s.Event {
		return ""
	}
	return Subject(s.Topic, s.Name)
}

// Schemas is a loaded set of contracts. It never changes after loading and
// is safe for concurrent use.
type Schemas struct {
	byName map[string]*Schema
	list   []*Schema // sorted by name
}

// LoadSchemas loads the contracts compiled into sluice (the .avsc files
// under avro/schemas).
func LoadSchemas() (*Schemas, error) {
	sub, err := fs.Sub(embedded, "schemas")
	if err != nil {
		return nil, fmt.Errorf("avro: embedded schemas: %w", err)
	}
	return LoadSchemasFS(sub)
}

// LoadSchemasFS loads every .avsc file in fsys, recursively. Each file
// holds one named type (record, enum or fixed) and may use named types of
// other files by full name; every named type must be defined exactly once.
// Errors name the file and wrap ErrSchema.
func LoadSchemasFS(fsys fs.FS) (*Schemas, error) {
	type file struct {
		path string
		root jvalue
		name string
	}
	var files []file
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(p) != ".avsc" {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		root, err := parseJSON(data)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrSchema, p, err)
		}
		files = append(files, file{path: p, root: root})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("avro: load schemas: %w", err)
	}

	// Index every named type, nested ones included, by full name.
	defs := map[string]namedDef{}
	for i := range files {
		f := &files[i]
		if f.root.kind != jObject {
			return nil, fmt.Errorf("%w: %s: the file must hold one named type (a JSON object)", ErrSchema, f.path)
		}
		var found []namedDef
		if err := collectNamed(&f.root, "", &found); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSchema, f.path, err)
		}
		if len(found) == 0 || found[0].node != &f.root {
			return nil, fmt.Errorf("%w: %s: the file must hold one named type (record, enum or fixed)", ErrSchema, f.path)
		}
		f.name = found[0].full
		for _, d := range found {
			d.file = f.path
			if prev, ok := defs[d.full]; ok {
				return nil, fmt.Errorf("%w: %s defined twice, in %s and %s", ErrSchema, d.full, prev.file, d.file)
			}
			defs[d.full] = d
		}
	}

	set := &Schemas{byName: make(map[string]*Schema, len(files))}
	for _, f := range files {
		c := composer{defs: defs, defined: map[string]bool{}}
		out, err := c.named(f.root, "")
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSchema, f.path, err)
		}
		var buf bytes.Buffer
		marshalJSON(&buf, out)
		text := buf.String()
		// Each schema is parsed with a cache of its own: a type is only
		// ever resolved against the definitions in its own text, so two
		// schemas can never see each other's version of a name.
		parsed, err := havro.ParseWithCache(text, "", &havro.SchemaCache{})
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSchema, f.path, err)
		}
		s := &Schema{
			Name:   f.name,
			File:   f.path,
			Doc:    f.root.memberString("doc"),
			text:   text,
			parsed: parsed,
		}
		describe(s)
		set.byName[s.Name] = s
		set.list = append(set.list, s)
	}
	sort.Slice(set.list, func(i, j int) bool { return set.list[i].Name < set.list[j].Name })
	return set, nil
}

// describe fills in Event, Source and Topic from the schema's name and
// shape.
func describe(s *Schema) {
	ns, short := splitName(s.Name)
	switch {
	case ns == "sluice.canonical":
		s.Source = SourceCanonical
	case strings.HasPrefix(ns, "sluice.source."):
		s.Source = strings.TrimPrefix(ns, "sluice.source.")
	}
	rec, ok := s.parsed.(*havro.RecordSchema)
	if !ok || len(rec.Fields()) != 2 || s.Source == "" {
		return
	}
	env, data := rec.Fields()[0], rec.Fields()[1]
	envRec, ok := env.Type().(*havro.RecordSchema)
	if env.Name() != "envelope" || !ok || envRec.FullName() != EnvelopeRecord || data.Name() != "data" {
		return
	}
	s.Event = true
	if s.Source == SourceCanonical {
		s.Topic = kafka.CanonicalTopic(strings.ToLower(strings.TrimSuffix(short, "Event")))
	} else {
		s.Topic = kafka.InTopic(s.Source)
	}
}

// All returns every schema, sorted by name.
func (s *Schemas) All() []*Schema { return slices.Clone(s.list) }

// Events returns the event schemas, sorted by name: the ones written to
// Kafka and registered.
func (s *Schemas) Events() []*Schema {
	var out []*Schema
	for _, sc := range s.list {
		if sc.Event {
			out = append(out, sc)
		}
	}
	return out
}

// Lookup returns the schema with the full name.
func (s *Schemas) Lookup(name string) (*Schema, bool) {
	sc, ok := s.byName[name]
	return sc, ok
}

// event returns the event schema with the full name.
func (s *Schemas) event(name string) (*Schema, error) {
	sc, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownRecord, name)
	}
	if !sc.Event {
		return nil, fmt.Errorf("%w: %s is not an event record (envelope + data)", ErrUnknownRecord, name)
	}
	return sc, nil
}

// Binding ties an event schema to a topic, and so to a subject.
type Binding struct {
	// Topic is the Kafka topic the events are written to.
	Topic string
	// Subject is Subject(Topic, Schema.Name).
	Subject string
	// Schema is the event schema.
	Schema *Schema
}

// Bind returns the binding of the event record to topic, e.g. an
// integration "crm-eu" of source crm binds sluice.source.crm.ContactEvent
// to sluice.in.crm-eu.
func (s *Schemas) Bind(topic, record string) (Binding, error) {
	sc, err := s.event(record)
	if err != nil {
		return Binding{}, err
	}
	if topic == "" {
		return Binding{}, fmt.Errorf("%w: empty topic for %s", ErrSubject, record)
	}
	return Binding{Topic: topic, Subject: Subject(topic, sc.Name), Schema: sc}, nil
}

// DefaultBindings returns every event schema bound to its default topic,
// sorted by subject.
func (s *Schemas) DefaultBindings() []Binding {
	var out []Binding
	for _, sc := range s.Events() {
		out = append(out, Binding{Topic: sc.Topic, Subject: sc.Subject(), Schema: sc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Subject < out[j].Subject })
	return out
}

// namedDef is a named type found in a schema file.
type namedDef struct {
	full string
	ns   string // namespace of the definition
	node *jvalue
	file string
}

var primitives = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true,
	"float": true, "double": true, "bytes": true, "string": true,
}

// fullName resolves a name as the Avro specification does: a name with a
// dot is already full; otherwise it takes the enclosing namespace.
func fullName(name, ns string) string {
	if strings.Contains(name, ".") || ns == "" {
		return name
	}
	return ns + "." + name
}

// splitName splits a full name into namespace and short name.
func splitName(full string) (ns, name string) {
	i := strings.LastIndexByte(full, '.')
	if i < 0 {
		return "", full
	}
	return full[:i], full[i+1:]
}

// definedName returns the full name and namespace of the named type
// defined by the object v in the enclosing namespace ns.
func definedName(v *jvalue, ns string) (full, own string, err error) {
	name := v.memberString("name")
	if name == "" {
		return "", "", fmt.Errorf("a %s without a name", v.memberString("type"))
	}
	if strings.Contains(name, ".") {
		own, _ = splitName(name)
		return name, own, nil
	}
	if n, ok := v.member("namespace"); ok && n.kind == jString {
		ns = n.s
	}
	return fullName(name, ns), ns, nil
}

// collectNamed appends the named types defined in the type v (in the
// enclosing namespace ns), in document order.
func collectNamed(v *jvalue, ns string, out *[]namedDef) error {
	switch v.kind {
	case jArray:
		for i := range v.arr {
			if err := collectNamed(&v.arr[i], ns, out); err != nil {
				return err
			}
		}
	case jObject:
		t, _ := v.member("type")
		if t == nil {
			return fmt.Errorf("a type object without \"type\"")
		}
		if t.kind != jString {
			return collectNamed(t, ns, out)
		}
		switch t.s {
		case "record", "error", "enum", "fixed":
			full, own, err := definedName(v, ns)
			if err != nil {
				return err
			}
			*out = append(*out, namedDef{full: full, ns: own, node: v})
			if t.s == "record" || t.s == "error" {
				fields, _ := v.member("fields")
				if fields == nil || fields.kind != jArray {
					return fmt.Errorf("record %s without fields", full)
				}
				for i := range fields.arr {
					ft, _ := fields.arr[i].member("type")
					if ft == nil {
						return fmt.Errorf("record %s: a field without a type", full)
					}
					if err := collectNamed(ft, own, out); err != nil {
						return err
					}
				}
			}
		case "array":
			if items, ok := v.member("items"); ok {
				return collectNamed(items, ns, out)
			}
		case "map":
			if values, ok := v.member("values"); ok {
				return collectNamed(values, ns, out)
			}
		}
	}
	return nil
}

// composer makes one schema self-contained: it copies the type and
// replaces the first use of a named type defined elsewhere by its
// definition.
type composer struct {
	defs    map[string]namedDef
	defined map[string]bool
}

// named composes the top-level named type of a file.
func (c *composer) named(v jvalue, ns string) (jvalue, error) {
	return c.typ(v.clone(), ns)
}

// typ composes the type v in the enclosing namespace ns. v is a private
// copy and may be changed in place.
func (c *composer) typ(v jvalue, ns string) (jvalue, error) {
	switch v.kind {
	case jString:
		if primitives[v.s] {
			return v, nil
		}
		full := fullName(v.s, ns)
		if c.defined[full] {
			return jvalue{kind: jString, s: full}, nil
		}
		d, ok := c.defs[full]
		if !ok {
			return v, fmt.Errorf("unknown type %q", full)
		}
		def := d.node.clone()
		// The definition moves into another enclosing namespace: say its
		// own explicitly so that its name keeps its meaning.
		if _, has := def.member("namespace"); !has && !strings.Contains(def.memberString("name"), ".") {
			def.obj = append(def.obj, jmember{key: "namespace", val: jvalue{kind: jString, s: d.ns}})
		}
		return c.typ(def, ns)
	case jArray:
		for i := range v.arr {
			e, err := c.typ(v.arr[i], ns)
			if err != nil {
				return v, err
			}
			v.arr[i] = e
		}
		return v, nil
	case jObject:
		t, _ := v.member("type")
		if t == nil {
			return v, fmt.Errorf("a type object without \"type\"")
		}
		if t.kind != jString {
			e, err := c.typ(*t, ns)
			*t = e
			return v, err
		}
		switch t.s {
		case "record", "error", "enum", "fixed":
			full, own, err := definedName(&v, ns)
			if err != nil {
				return v, err
			}
			if c.defined[full] {
				return v, fmt.Errorf("%s is defined twice, or used before its definition", full)
			}
			c.defined[full] = true
			if t.s != "record" && t.s != "error" {
				return v, nil
			}
			fields, _ := v.member("fields")
			for i := range fields.arr {
				ft, _ := fields.arr[i].member("type")
				if ft == nil {
					return v, fmt.Errorf("record %s: a field without a type", full)
				}
				e, err := c.typ(*ft, own)
				if err != nil {
					return v, fmt.Errorf("%s.%s: %w", full, fields.arr[i].memberString("name"), err)
				}
				*ft = e
			}
			return v, nil
		case "array":
			if items, ok := v.member("items"); ok {
				e, err := c.typ(*items, ns)
				*items = e
				return v, err
			}
			return v, fmt.Errorf("an array without items")
		case "map":
			if values, ok := v.member("values"); ok {
				e, err := c.typ(*values, ns)
				*values = e
				return v, err
			}
			return v, fmt.Errorf("a map without values")
		default:
			if primitives[t.s] {
				return v, nil
			}
			// {"type": "some.Name"}: a reference written as an object.
			e, err := c.typ(*t, ns)
			*t = e
			return v, err
		}
	}
	return v, fmt.Errorf("a type must be a name, an object or a union, not %s", v.kind)
}
