package avro

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	havro "github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/testkit"
)

// renderSchema has every kind the renderer renders, in the places a
// null, a map's sorting and a nested map's buffers matter.
const renderSchema = `{
  "type": "record", "name": "Thing", "namespace": "sluice.test",
  "fields": [
    {"name": "b", "type": "boolean"},
    {"name": "u", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "tsu", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "colour", "type": {"type": "enum", "name": "Colour", "symbols": ["RED", "GREEN", "BLUE"]}},
    {"name": "optColour", "type": ["null", "Colour"]},
    {"name": "item", "type": {"type": "record", "name": "Item", "fields": [
      {"name": "n", "type": "int"},
      {"name": "tags", "type": {"type": "map", "values": "string"}},
      {"name": "when", "type": [{"type": "long", "logicalType": "timestamp-millis"}, "null"]}]}},
    {"name": "items", "type": {"type": "array", "items": "Item"}},
    {"name": "nested", "type": {"type": "array", "items": {"type": "map", "values": "long"}}},
    {"name": "deep", "type": {"type": "map", "values": {"type": "map", "values": ["null", "string"]}}},
    {"name": "optItem", "type": ["null", "Item"]}
  ]
}`

// renderThing and renderItem are renderSchema's records as a Go reader
// would write them, the way package canonical's types are written.
type renderThing struct {
	B         bool                          `avro:"b" json:"b"`
	U         string                        `avro:"u" json:"u"`
	TSU       time.Time                     `avro:"tsu" json:"tsu"`
	Colour    string                        `avro:"colour" json:"colour"`
	OptColour *string                       `avro:"optColour" json:"optColour,omitempty"`
	Item      renderItem                    `avro:"item" json:"item"`
	Items     []renderItem                  `avro:"items" json:"items"`
	Nested    []map[string]int64            `avro:"nested" json:"nested"`
	Deep      map[string]map[string]*string `avro:"deep" json:"deep"`
	OptItem   *renderItem                   `avro:"optItem" json:"optItem,omitempty"`
}

type renderItem struct {
	N    int32             `avro:"n" json:"n"`
	Tags map[string]string `avro:"tags" json:"tags"`
	When *time.Time        `avro:"when" json:"when,omitempty"`
}

// renderCase is a schema to render with the Go type its readers decode
// into.
type renderCase struct {
	name   string
	schema havro.Schema
	node   *vnode
	plan   *renderPlan
	goType reflect.Type
}

func renderCases(t testing.TB) []renderCase {
	t.Helper()
	s := loadSchemas(t)
	var out []renderCase
	add := func(name string, schema havro.Schema, v any) {
		n, err := compileNode(schema, map[string]*vnode{})
		if err != nil {
			t.Fatal(err)
		}
		if !prepareDecode(n) {
			t.Fatalf("%s is not decodable natively", name)
		}
		plan := newRenderPlan(n)
		if plan == nil {
			t.Fatalf("%s is not rendered", name)
		}
		out = append(out, renderCase{name, schema, n, plan, reflect.TypeOf(v).Elem()})
	}
	for _, fx := range canonicalFixtures() {
		sc, _ := s.Lookup(fx.record)
		add(fx.record, sc.parsed, fx.empty())
	}
	thing, err := havro.ParseWithCache(renderSchema, "", &havro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	add("Thing", thing, new(renderThing))
	return out
}

// marshal decodes body with hamba into c's Go type and returns what
// encoding/json makes of it.
func (c renderCase) marshal(t testing.TB, body []byte) (value any, out []byte, err error) {
	t.Helper()
	p := reflect.New(c.goType)
	if err := readBody(havro.NewReader(nil, 0, havro.WithReaderConfig(newAPI())), c.schema, body, p.Interface()); err != nil {
		return nil, nil, err
	}
	out, err = json.Marshal(p.Interface())
	return p.Elem().Interface(), out, err
}

// The renderer writes exactly what encoding/json writes for the Go value
// hamba decodes, for random values of the canonical events (and of a
// schema of every kind rendered), with strings of every escape; its spans
// are the JSON of each field.
func TestRenderJSONIsEncodingJSON(t *testing.T) {
	t.Parallel()
	api := newAPI()
	for _, c := range renderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			g := gen{r: rand.New(rand.NewPCG(uint64(len(c.name)), 11)), escapes: true}
			var j JSON // reused, as callers do
			for range 300 {
				body, err := api.Marshal(c.schema, g.value(c.node, 0))
				if err != nil {
					t.Fatal(err)
				}
				value, want, err := c.marshal(t, body)
				if err != nil {
					t.Fatal(err)
				}
				if err := j.render(c.plan, body); err != nil {
					t.Fatalf("render: %v", err)
				}
				if !bytes.Equal(j.Out, want) {
					t.Fatalf("rendered\n%s\nencoding/json\n%s", j.Out, want)
				}
				checkSpans(t, &j, c.node, reflect.ValueOf(value))
			}
		})
	}
}

// checkSpans holds the span of every field one and two deep to
// encoding/json's rendering of that field of v: nil for a field left out.
func checkSpans(t *testing.T, j *JSON, n *vnode, v reflect.Value) {
	t.Helper()
	fieldOf := func(v reflect.Value, name string) reflect.Value {
		for i := range v.NumField() {
			if v.Type().Field(i).Tag.Get("avro") == name {
				return v.Field(i)
			}
		}
		t.Fatalf("%s has no field %s", v.Type(), name)
		return reflect.Value{}
	}
	check := func(got []byte, fv reflect.Value, path ...string) {
		if fv.Kind() == reflect.Pointer && fv.IsNil() {
			if got != nil {
				t.Fatalf("Field(%q) = %s, want nil", path, got)
			}
			return
		}
		want, err := json.Marshal(fv.Interface())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Field(%q) = %s, want %s", path, got, want)
		}
	}
	for _, f := range n.fields {
		fv := fieldOf(v, f.name)
		check(j.Field(f.name), fv, f.name)
		if f.node.kind != vRecord {
			if got := j.Field(f.name, "x"); got != nil {
				t.Fatalf("Field(%q, x) of a field that is not a record = %s", f.name, got)
			}
			continue
		}
		for _, g := range f.node.fields {
			check(j.Field(f.name, g.name), fieldOf(fv, g.name), f.name, g.name)
		}
	}
	if j.Field("no such field") != nil || j.Field() != nil || j.Field("a", "b", "c") != nil {
		t.Fatal("Field of no field is not nil")
	}
}

// Maps written in several blocks, with a key given twice, sort and keep
// the last value given, as a Go map hamba decodes into does.
func TestRenderJSONMapBlocks(t *testing.T) {
	t.Parallel()
	var c renderCase
	for _, rc := range renderCases(t) {
		if rc.name == "Thing" {
			c = rc
		}
	}
	str := func(s string) []byte { return append(varint(int64(len(s))), s...) }
	// A Thing up to its item's tags, and from after them to the end.
	head := cat([]byte{1}, str("u-1"), varint(1_700_000_000_123_456), varint(2), []byte{2, 2}, varint(-7))
	tail := cat([]byte{2}, // when: null (second branch)
		varint(0), varint(0), varint(0), []byte{0})
	for _, tc := range []struct {
		name string
		tags []byte
		want string
	}{
		{"one block", cat(varint(2), str("b"), str("1"), str("a"), str("2"), varint(0)), `{"a":"2","b":"1"}`},
		{"two blocks, one sized", cat(varint(-1), varint(6), str("zz"), str("9"), varint(2), str("a"), str("1"), str("m"), str("2"), varint(0)), `{"a":"1","m":"2","zz":"9"}`},
		{"a key twice", cat(varint(3), str("k"), str("first"), str("a"), str("x"), str("k"), str("last"), varint(0)), `{"a":"x","k":"last"}`},
		{"a key twice across blocks", cat(varint(1), str("k"), str("first"), varint(1), str("k"), str("last"), varint(0)), `{"k":"last"}`},
		{"escaped keys", cat(varint(2), str("<b>"), str("1"), str("\xff"), str("2"), varint(0)), `{"\u003cb\u003e":"1","\ufffd":"2"}`},
		{"empty", varint(0), `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := cat(head, tc.tags, tail)
			_, want, err := c.marshal(t, body)
			if err != nil {
				t.Fatal(err)
			}
			var j JSON
			if err := j.render(c.plan, body); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(j.Out, want) {
				t.Fatalf("rendered\n%s\nencoding/json\n%s", j.Out, want)
			}
			if got := j.Field("item", "tags"); string(got) != tc.want {
				t.Errorf("tags %s, want %s", got, tc.want)
			}
		})
	}
}

// What the renderer does not render is left to readers that know their
// Go types: RenderJSON reports false for a record with a float, and for
// a writer resolved to a newer local reader; it renders a canonical
// event, the same as its fields' JSON.
func TestSerdeRenderJSON(t *testing.T) {
	t.Parallel()
	s, ctx, sd := serdeEnv(t)
	fx := fixtureContactEvent()
	sc, _ := s.Lookup(canonical.RecordContactEvent)
	b := mustEncode(t, sd, sc.Subject(), fx)
	var j JSON
	ok, err := sd.RenderJSON(ctx, b, &j)
	if !ok || err != nil {
		t.Fatalf("RenderJSON = %v, %v", ok, err)
	}
	want, _ := json.Marshal(fx)
	if j.Record != canonical.RecordContactEvent || !bytes.Equal(j.Out, want) {
		t.Errorf("rendered %s %s\nwant %s", j.Record, j.Out, want)
	}
	if got, want := j.Field("envelope", "event_type"), `"contact.updated"`; string(got) != want {
		t.Errorf("event type %s, want %s", got, want)
	}
	if _, err := sd.RenderJSON(ctx, b[:len(b)-3], &j); !errors.Is(err, ErrDecode) {
		t.Errorf("a truncated body: %v, want ErrDecode", err)
	}
	if _, err := sd.RenderJSON(ctx, []byte("{}"), &j); !errors.Is(err, ErrWireFormat) {
		t.Errorf("not the wire format: %v, want ErrWireFormat", err)
	}

	// A float is not rendered.
	floats := evolution(t, `{"name":"x","type":"double","doc":"-"}`)
	fsd := newSerde(t, startRegistry(t), floats)
	subject := Subject("sluice.in.evo", "sluice.source.evo.ThingEvent")
	fb, err := fsd.EncodeNative(ctx, subject, NativeEvent(fixtureEnvelope("thing.updated", "evo"), map[string]any{"x": 1.5}))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := fsd.RenderJSON(ctx, fb, &j); ok || err != nil {
		t.Errorf("a double: RenderJSON = %v, %v; want false, nil", ok, err)
	}

	// An older writer read by a newer reader is not rendered.
	reg := startRegistry(t)
	old := newSerde(t, reg, evolution(t, listFields))
	ob, err := old.EncodeNative(ctx, subject, NativeEvent(fixtureEnvelope("thing.updated", "evo"), map[string]any{"xs": []any{int64(5)}}))
	if err != nil {
		t.Fatal(err)
	}
	newer := newSerde(t, reg, evolution(t, listFields+`,{"name":"y","type":"long","default":3,"doc":"-"}`))
	if ok, err := newer.RenderJSON(testkit.Context(t, time.Minute), ob, &j); ok || err != nil {
		t.Errorf("a resolved writer: RenderJSON = %v, %v; want false, nil", ok, err)
	}
	if ok, err := old.RenderJSON(ctx, ob, &j); !ok || err != nil {
		t.Errorf("the writer's own schema: RenderJSON = %v, %v", ok, err)
	}
}

// FuzzRenderJSON: on any body, of the canonical events and of
// renderSchema (chosen by the first byte), what the renderer renders is
// encoding/json's rendering of what hamba decodes, and it refuses only
// what the native decoder refuses or encoding/json cannot write (a year
// beyond 9999).
func FuzzRenderJSON(f *testing.F) {
	cases := renderCases(f)
	api := newAPI()
	g := gen{r: rand.New(rand.NewPCG(3, 4)), escapes: true}
	for i, c := range cases {
		for range 3 {
			body, err := api.Marshal(c.schema, g.value(c.node, 0))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(append([]byte{byte(i)}, body...))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		c := cases[int(in[0])%len(cases)]
		body := in[1:]
		var j JSON
		rerr := j.render(c.plan, body)
		_, want, merr := c.marshal(t, body)
		_, nerr := decodeRecord(body, c.node, nil)
		switch {
		case rerr == nil && merr != nil:
			t.Fatalf("rendered %s where hamba and encoding/json give %v", j.Out, merr)
		case rerr == nil && !bytes.Equal(j.Out, want):
			t.Fatalf("rendered\n%s\nencoding/json\n%s", j.Out, want)
		case rerr != nil && merr == nil && nerr == nil:
			t.Fatalf("refused (%v) what hamba and encoding/json write as %s", rerr, want)
		}
	})
}
