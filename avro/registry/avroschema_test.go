package registry

import (
	"strings"
	"testing"
)

func TestParseAvroAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, schema string }{
		{"primitive", `"string"`},
		{"primitive object", `{"type":"long"}`},
		{"logical type", `{"type":"long","logicalType":"timestamp-millis"}`},
		{"record with defaults", rec(
			field("i", `"int"`, "-2147483648"),
			field("l", `"long"`, "9223372036854775807"),
			field("f", `"float"`, "1.5"),
			field("d", `"double"`, "1"),
			field("s", `"string"`, `"x"`),
			field("b", `"bytes"`, `"\u00ff"`),
			field("n", `"null"`, "null"),
			field("t", `"boolean"`, "true"),
			field("u", `["null","string"]`, "null"),
			field("a", `{"type":"array","items":"int"}`, "[1,2]"),
			field("m", `{"type":"map","values":"int"}`, `{"k":1}`),
			field("e", `{"type":"enum","name":"E","symbols":["A","B"]}`, `"B"`),
			field("x", `{"type":"fixed","name":"F","size":2}`, `"ab"`),
			field("r", `{"type":"record","name":"In","fields":[{"name":"q","type":"int"},{"name":"w","type":"int","default":0}]}`, `{"q":1}`),
		)},
		{"recursive record", `{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}`},
		{"namespaces resolve", `{"type":"record","name":"A","namespace":"x.y","fields":[{"name":"b","type":{"type":"record","name":"B","fields":[]}},{"name":"c","type":"B"},{"name":"d","type":"x.y.B"}]}`},
		{"enum default", `{"type":"enum","name":"E","symbols":["A","B"],"default":"B"}`},
		{"union of named types", `[{"type":"record","name":"A","fields":[]},{"type":"record","name":"B","fields":[]},"null"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := parseAvro(nil, tc.schema); err != nil {
				t.Errorf("parseAvro(%s) = %v, want no error", tc.schema, err)
			}
		})
	}
}

func TestParseAvroRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, schema, want string }{
		{"not JSON", `{"type":`, "not valid JSON"},
		{"trailing data", `"int" "long"`, "unexpected data"},
		{"unknown type", `"strng"`, `"strng" is not a defined name`},
		{"number", `42`, "is not a schema"},
		{"no type", `{"name":"x"}`, `no "type"`},
		{"type object inside a schema object", `{"type":{"type":"array","items":"int"}}`, "must be a type name"},
		{"record without name", `{"type":"record","fields":[]}`, `no "name"`},
		{"record without fields", `{"type":"record","name":"R"}`, `no "fields"`},
		{"bad name", `{"type":"record","name":"1R","fields":[]}`, "invalid name"},
		{"bad field name", rec(field("a-b", `"int"`, "")), "invalid field name"},
		{"duplicate field", rec(field("a", `"int"`, ""), field("a", `"long"`, "")), `duplicate field "a"`},
		{"redefined type", `[{"type":"fixed","name":"F","size":1},{"type":"fixed","name":"F","size":2}]`, "defined twice"},
		{"named after a primitive", `{"type":"fixed","name":"int","size":1}`, "primitive"},
		{"nested union", `["null",["int","long"]]`, "another union"},
		{"duplicate union branch", `["int","int"]`, "duplicate int"},
		{"enum symbol invalid", `{"type":"enum","name":"E","symbols":["a b"]}`, "invalid enum symbol"},
		{"enum symbol twice", `{"type":"enum","name":"E","symbols":["A","A"]}`, "duplicate enum symbol"},
		{"enum default not a symbol", `{"type":"enum","name":"E","symbols":["A"],"default":"B"}`, "not one of the symbols"},
		{"fixed without size", `{"type":"fixed","name":"F"}`, `integer "size"`},
		{"array without items", `{"type":"array"}`, `no "items"`},
		{"map without values", `{"type":"map"}`, `no "values"`},
		{"bad order", rec(`{"name":"a","type":"int","order":"up"}`), "order must be"},
		{"string default for int", rec(field("a", `"int"`, `"x"`)), `at /fields/0/default: invalid default for field "a": "x" is not a valid int`},
		{"fraction default for int", rec(field("a", `"int"`, "1.5")), "not a valid int"},
		{"int default out of range", rec(field("a", `"int"`, "2147483648")), "not a valid int"},
		{"number default for string", rec(field("a", `"string"`, "1")), "not a valid string"},
		{"null default for string", rec(field("a", `"string"`, "null")), "not a valid string"},
		{"union default of the second branch", rec(field("a", `["null","string"]`, `"x"`)), "first branch"},
		{"bytes default beyond 255", rec(field("a", `"bytes"`, `"\u0100"`)), "code points 0-255"},
		{"enum default of a field", rec(field("e", `{"type":"enum","name":"E","symbols":["A"]}`, `"Z"`)), "not a symbol of enum E"},
		{"array default item", rec(field("a", `{"type":"array","items":"int"}`, `["x"]`)), "item 0"},
		{"record default misses a field", rec(field("r", `{"type":"record","name":"In","fields":[{"name":"q","type":"int"}]}`, `{}`)), `field "q" of In is missing`},
		{"nested default path", rec(field("x", `"int"`, ""), field("n", `{"type":"record","name":"N","fields":[{"name":"y","type":"long","default":"z"}]}`, "")),
			`at /fields/1/type/fields/0/default`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseAvro(nil, tc.schema)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseAvro(%s) = %v, want an error containing %q", tc.schema, err, tc.want)
			}
		})
	}
}

func TestParseAvroReferences(t *testing.T) {
	t.Parallel()
	address := avroSource{text: `{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"city","type":"string"}]}`}
	person := `{"type":"record","name":"Person","namespace":"com.acme","fields":[{"name":"home","type":"Address"},{"name":"work","type":"com.acme.Address"}]}`
	if _, err := parseAvro([]avroSource{address}, person); err != nil {
		t.Fatalf("with the reference: %v", err)
	}
	if _, err := parseAvro(nil, person); err == nil || !strings.Contains(err.Error(), `"Address" is not a defined name`) {
		t.Fatalf("without the reference: %v, want an undefined name", err)
	}
	// Each parse has its own names: two unrelated schemas may define the
	// same full name differently.
	if _, err := parseAvro(nil, `{"type":"record","name":"com.acme.Address","fields":[]}`); err != nil {
		t.Fatalf("a second, different Address: %v", err)
	}
}

func TestCanonicalSchema(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, a, b string }{
		{"whitespace", `{ "type" : "record", "name":"R", "fields": [ ] }`, `{"type":"record","name":"R","fields":[]}`},
		{"attribute order", `{"fields":[{"type":"int","name":"a"}],"name":"R","type":"record"}`, `{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`},
		{"primitive object", `{"type":"string"}`, `"string"`},
		{"nested primitive object", rec(`{"name":"a","type":{"type":"int"}}`), rec(`{"name":"a","type":"int"}`)},
		{"default key order", rec(field("m", `{"type":"map","values":"int"}`, `{"b":1,"a":2}`)), rec(field("m", `{"type":"map","values":"int"}`, `{"a":2,"b":1}`))},
		{"other properties sorted", `{"type":"int","z":1,"logicalType":"date"}`, `{"type":"int","logicalType":"date","z":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ca, cb := canonicalSchema(tc.a), canonicalSchema(tc.b)
			if ca != cb {
				t.Errorf("canonical forms differ:\n%s\n%s", ca, cb)
			}
			if again := canonicalSchema(ca); again != ca {
				t.Errorf("canonicalSchema is not idempotent: %s became %s", ca, again)
			}
			if _, err := parseAvro(nil, ca); err != nil {
				t.Errorf("canonical form %s does not parse: %v", ca, err)
			}
		})
	}
	if canonicalSchema(rec(field("a", `"int"`, ""))) == canonicalSchema(rec(field("a", `"int"`, "1"))) {
		t.Error("a default must change the canonical form")
	}
	if got := canonicalSchema("not json"); got != "not json" {
		t.Errorf("canonicalSchema(non-JSON) = %q, want it unchanged", got)
	}
}

// TestCanonicalSchemaIsAvros holds the canonical form to what Avro's Java
// library writes with Schema.toString(), the text Java serializers send
// and Confluent Schema Registry stores: full names split into name and
// namespace, a namespace equal to the enclosing one left out, references
// by the shortest name that means them, "order" only when not ascending,
// numbers in defaults as Java writes a double. Each want is what Apache
// Avro 1.12.2 printed for the input, except that sluice sorts properties
// (the inputs here have theirs sorted already).
func TestCanonicalSchemaIsAvros(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{
			"full name",
			`{"type":"record","name":"com.acme.Order","fields":[{"name":"id","type":"string"}]}`,
			`{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"string"}]}`,
		},
		{
			"enclosing namespace repeated, references by full name",
			`{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"a","type":{"type":"record","name":"Line","namespace":"com.acme","fields":[]}},{"name":"b","type":"com.acme.Line"},{"name":"c","type":["null","com.acme.Line"]},{"name":"d","type":{"type":"array","items":"com.acme.Line"}},{"name":"e","type":{"type":"map","values":"com.acme.Order"}}]}`,
			`{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"a","type":{"type":"record","name":"Line","fields":[]}},{"name":"b","type":"Line"},{"name":"c","type":["null","Line"]},{"name":"d","type":{"type":"array","items":"Line"}},{"name":"e","type":{"type":"map","values":"Order"}}]}`,
		},
		{
			"nested namespace",
			`{"type":"record","name":"a.R","fields":[{"name":"x","type":{"type":"record","name":"b.S","fields":[{"name":"r","type":"a.R"},{"name":"t","type":{"type":"enum","name":"T","namespace":"b","symbols":["Q"]}},{"name":"u","type":"b.T"}]}},{"name":"y","type":"b.S"}]}`,
			`{"type":"record","name":"R","namespace":"a","fields":[{"name":"x","type":{"type":"record","name":"S","namespace":"b","fields":[{"name":"r","type":"a.R"},{"name":"t","type":{"type":"enum","name":"T","symbols":["Q"]}},{"name":"u","type":"T"}]}},{"name":"y","type":"b.S"}]}`,
		},
		{
			"null namespace inside another",
			`{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"a","type":{"type":"record","name":"Line","namespace":"","fields":[]}},{"name":"b","type":"Line"}]}`,
			`{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"a","type":{"type":"record","name":"Line","namespace":"","fields":[]}},{"name":"b","type":"Line"}]}`,
		},
		{
			"empty and null namespaces at the top",
			`{"type":"record","name":"R","namespace":"","fields":[{"name":"a","type":{"type":"record","name":"S","namespace":null,"fields":[]}}]}`,
			`{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"S","fields":[]}}]}`,
		},
		{
			"field order",
			`{"type":"record","name":"R","fields":[{"name":"a","type":"int","order":"ascending"},{"name":"b","type":"int","order":"descending"},{"name":"c","type":"int","order":"ignore"}]}`,
			`{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int","order":"descending"},{"name":"c","type":"int","order":"ignore"}]}`,
		},
		{
			"numbers in defaults",
			`{"type":"record","name":"R","fields":[{"name":"d","type":"double","default":1.50},{"name":"e","type":"double","default":1e-5},{"name":"f","type":"double","default":1e7},{"name":"g","type":"double","default":1},{"name":"h","type":"float","default":-0},{"name":"j","type":"double","default":123456.75e1},{"name":"k","type":"float","default":-0.0},{"name":"l","type":"double","default":0.001},{"name":"m","type":"double","default":9999999.0},{"name":"n","type":{"type":"array","items":"double"},"default":[2.50,3E2]},{"name":"o","type":"long","default":9223372036854775807}]}`,
			`{"type":"record","name":"R","fields":[{"name":"d","type":"double","default":1.5},{"name":"e","type":"double","default":1.0E-5},{"name":"f","type":"double","default":1.0E7},{"name":"g","type":"double","default":1},{"name":"h","type":"float","default":0},{"name":"j","type":"double","default":1234567.5},{"name":"k","type":"float","default":-0.0},{"name":"l","type":"double","default":0.001},{"name":"m","type":"double","default":9999999.0},{"name":"n","type":{"type":"array","items":"double"},"default":[2.5,300.0]},{"name":"o","type":"long","default":9223372036854775807}]}`,
		},
		{
			"record attributes and aliases",
			`{"aliases":["a.Old","b.Older","Short"],"type":"record","name":"R","namespace":"a","fields":[],"doc":"d","y":{"a":2,"b":1.0},"z":1}`,
			`{"type":"record","name":"R","namespace":"a","doc":"d","fields":[],"y":{"a":2,"b":1.0},"z":1,"aliases":["Old","b.Older","Short"]}`,
		},
		{
			"enum",
			`{"type":"enum","name":"a.E","symbols":["A"],"aliases":["a.G"],"p":1,"doc":"x","default":"A"}`,
			`{"type":"enum","name":"E","namespace":"a","doc":"x","symbols":["A"],"default":"A","p":1,"aliases":["G"]}`,
		},
		{
			"fixed",
			`{"type":"fixed","name":"a.F","size":1,"aliases":["a.G"],"p":1,"doc":"x"}`,
			`{"type":"fixed","name":"F","namespace":"a","doc":"x","size":1,"p":1,"aliases":["G"]}`,
		},
		{
			"a name that is a type's keeps its namespace",
			`{"type":"record","name":"a.R","fields":[{"name":"x","type":{"type":"fixed","name":"a.string","size":1}},{"name":"y","type":"a.string"}]}`,
			`{"type":"record","name":"R","namespace":"a","fields":[{"name":"x","type":{"type":"fixed","name":"string","size":1}},{"name":"y","type":"a.string"}]}`,
		},
		{
			"field attributes",
			`{"type":"record","name":"R","fields":[{"name":"x","type":"int","foo":"bar","aliases":["xx"],"order":"ignore","default":1,"doc":"d"}]}`,
			`{"type":"record","name":"R","fields":[{"name":"x","type":"int","doc":"d","default":1,"order":"ignore","aliases":["xx"],"foo":"bar"}]}`,
		},
		{
			"primitive objects",
			`{"type":"record","name":"R","fields":[{"name":"x","type":{"type":"long","logicalType":"timestamp-millis"}},{"name":"y","type":{"type":"int"}}]}`,
			`{"type":"record","name":"R","fields":[{"name":"x","type":{"type":"long","logicalType":"timestamp-millis"}},{"name":"y","type":"int"}]}`,
		},
		{
			"error",
			`{"type":"error","name":"a.Err","fields":[]}`,
			`{"type":"error","name":"Err","namespace":"a","fields":[]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := canonicalSchema(tc.in); got != tc.want {
				t.Errorf("canonicalSchema(%s)\n= %s\nwant %s", tc.in, got, tc.want)
			}
			if got := canonicalSchema(tc.want); got != tc.want {
				t.Errorf("canonicalSchema of Avro's own text %s\n= %s", tc.want, got)
			}
			if identity("", tc.in, nil) != identity("", tc.want, nil) {
				t.Errorf("the two spellings have different identities")
			}
			typ := mustParse(t, tc.in)
			ctyp := mustParse(t, tc.want)
			if in := readerWriter(typ, ctyp); len(in) > 0 {
				t.Errorf("the schema cannot read its canonical form: %v", summarize(in))
			}
			if in := readerWriter(ctyp, typ); len(in) > 0 {
				t.Errorf("the canonical form cannot read the schema: %v", summarize(in))
			}
		})
	}
}
