package registry

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func mustParse(t *testing.T, text string) *avroType {
	t.Helper()
	typ, err := parseAvro(nil, text)
	if err != nil {
		t.Fatalf("parse %s: %v", text, err)
	}
	return typ
}

// rec wraps field definitions in a record named R.
func rec(fields ...string) string {
	return `{"type":"record","name":"R","fields":[` + strings.Join(fields, ",") + `]}`
}

// field returns a field definition; def, when not empty, is its default.
func field(name, typ, def string) string {
	s := fmt.Sprintf(`{"name":%q,"type":%s`, name, typ)
	if def != "" {
		s += `,"default":` + def
	}
	return s + "}"
}

func summarize(list []incompatibility) []string {
	out := make([]string, 0, len(list))
	for _, in := range list {
		out = append(out, in.kind+"@"+in.location)
	}
	return out
}

func TestReaderWriter(t *testing.T) {
	t.Parallel()
	enumAB := `{"type":"enum","name":"E","symbols":["A","B"]}`
	enumA := `{"type":"enum","name":"E","symbols":["A"]}`
	enumADefault := `{"type":"enum","name":"E","symbols":["A"],"default":"A"}`
	node := func(extra string) string {
		return `{"type":"record","name":"Node","fields":[{"name":"value","type":"int"},{"name":"next","type":["null","Node"],"default":null}` + extra + `]}`
	}
	tests := []struct {
		name           string
		reader, writer string
		want           []string
	}{
		{"identical", rec(field("a", `"int"`, "")), rec(field("a", `"int"`, "")), nil},
		{"reader adds a field with a default", rec(field("a", `"int"`, ""), field("b", `"string"`, `"x"`)), rec(field("a", `"int"`, "")), nil},
		{"reader adds a field without default", rec(field("a", `"int"`, ""), field("b", `"string"`, "")), rec(field("a", `"int"`, "")),
			[]string{"READER_FIELD_MISSING_DEFAULT_VALUE@/fields/1"}},
		{"writer has a field the reader lacks", rec(field("a", `"int"`, "")), rec(field("a", `"int"`, ""), field("b", `"string"`, "")), nil},
		{"int reads long", rec(field("a", `"int"`, "")), rec(field("a", `"long"`, "")), []string{"TYPE_MISMATCH@/fields/0/type"}},
		{"long reads int", rec(field("a", `"long"`, "")), rec(field("a", `"int"`, "")), nil},
		{"float reads int", `"float"`, `"int"`, nil},
		{"float reads long", `"float"`, `"long"`, nil},
		{"double reads int", `"double"`, `"int"`, nil},
		{"double reads long", `"double"`, `"long"`, nil},
		{"double reads float", `"double"`, `"float"`, nil},
		{"float reads double", `"float"`, `"double"`, []string{"TYPE_MISMATCH@/"}},
		{"long reads float", `"long"`, `"float"`, []string{"TYPE_MISMATCH@/"}},
		{"bytes reads string", `"bytes"`, `"string"`, nil},
		{"string reads bytes", `"string"`, `"bytes"`, nil},
		{"string reads int", `"string"`, `"int"`, []string{"TYPE_MISMATCH@/"}},
		{"boolean reads null", `"boolean"`, `"null"`, []string{"TYPE_MISMATCH@/"}},
		{"logical types compare by their underlying type", `{"type":"int","logicalType":"date"}`, `"int"`, nil},
		{"enum reader lacks a writer symbol", rec(field("e", enumA, "")), rec(field("e", enumAB, "")),
			[]string{"MISSING_ENUM_SYMBOLS@/fields/0/type/symbols"}},
		{"enum reader with a default reads unknown symbols", rec(field("e", enumADefault, "")), rec(field("e", enumAB, "")), nil},
		{"enum reader has more symbols", rec(field("e", enumAB, "")), rec(field("e", enumA, "")), nil},
		{"union reader holds the writer type", rec(field("a", `["null","string"]`, "null")), rec(field("a", `"string"`, "")), nil},
		{"union reader lacks the writer type", rec(field("a", `["null","string"]`, "null")), rec(field("a", `"int"`, "")),
			[]string{"MISSING_UNION_BRANCH@/fields/0/type"}},
		{"union reader promotes the writer type", `["null","long"]`, `"int"`, nil},
		{"plain reader of a union writer", rec(field("a", `"string"`, "")), rec(field("a", `["null","string"]`, "null")),
			[]string{"TYPE_MISMATCH@/fields/0/type/0"}},
		{"narrower union reader", rec(field("a", `["null","string"]`, "null")), rec(field("a", `["null","string","int"]`, "null")),
			[]string{"MISSING_UNION_BRANCH@/fields/0/type/2"}},
		{"wider union reader", rec(field("a", `["null","string","int"]`, "null")), rec(field("a", `["null","string"]`, "null")), nil},
		{"nested record field without default",
			rec(field("n", `{"type":"record","name":"N","fields":[{"name":"x","type":"int"},{"name":"y","type":"int"}]}`, "")),
			rec(field("n", `{"type":"record","name":"N","fields":[{"name":"x","type":"int"}]}`, "")),
			[]string{"READER_FIELD_MISSING_DEFAULT_VALUE@/fields/0/type/fields/1"}},
		{"record renamed", `{"type":"record","name":"New","fields":[]}`, `{"type":"record","name":"Old","fields":[]}`,
			[]string{"NAME_MISMATCH@/name"}},
		{"record renamed with an alias", `{"type":"record","name":"New","aliases":["Old"],"fields":[]}`, `{"type":"record","name":"Old","fields":[]}`, nil},
		{"namespaced alias names the full writer name",
			`{"type":"record","name":"New","namespace":"n","aliases":["o.Old"],"fields":[]}`,
			`{"type":"record","name":"Old","namespace":"o","fields":[]}`, nil},
		{"names compare unqualified", `{"type":"record","name":"a.R","fields":[]}`, `{"type":"record","name":"b.R","fields":[]}`, nil},
		{"field renamed with an alias", rec(`{"name":"b","type":"int","aliases":["a"]}`), rec(field("a", `"int"`, "")), nil},
		{"field renamed without alias", rec(field("b", `"int"`, "")), rec(field("a", `"int"`, "")),
			[]string{"READER_FIELD_MISSING_DEFAULT_VALUE@/fields/0"}},
		{"fixed size changed", `{"type":"fixed","name":"F","size":8}`, `{"type":"fixed","name":"F","size":4}`,
			[]string{"FIXED_SIZE_MISMATCH@/size"}},
		{"fixed renamed and resized", `{"type":"fixed","name":"G","size":8}`, `{"type":"fixed","name":"F","size":4}`,
			[]string{"NAME_MISMATCH@/name", "FIXED_SIZE_MISMATCH@/size"}},
		{"array items promoted", `{"type":"array","items":"long"}`, `{"type":"array","items":"int"}`, nil},
		{"array items narrowed", `{"type":"array","items":"int"}`, `{"type":"array","items":"long"}`, []string{"TYPE_MISMATCH@/items"}},
		{"map values string and bytes", `{"type":"map","values":"bytes"}`, `{"type":"map","values":"string"}`, nil},
		{"map values changed", `{"type":"map","values":"int"}`, `{"type":"map","values":"string"}`, []string{"TYPE_MISMATCH@/values"}},
		{"record read as enum", rec(field("a", enumA, "")), rec(field("a", `{"type":"record","name":"X","fields":[]}`, "")),
			[]string{"TYPE_MISMATCH@/fields/0/type"}},
		{"recursive record reads itself", node(""), node(""), nil},
		{"recursive record adds a field with default", node(`,{"name":"tag","type":"string","default":""}`), node(""), nil},
		{"recursive record adds a field without default", node(`,{"name":"tag","type":"string"}`), node(""),
			[]string{"READER_FIELD_MISSING_DEFAULT_VALUE@/fields/2"}},
		{"several reasons at once", rec(field("a", `"int"`, ""), field("b", `"int"`, "")), rec(field("a", `"string"`, "")),
			[]string{"TYPE_MISMATCH@/fields/0/type", "READER_FIELD_MISSING_DEFAULT_VALUE@/fields/1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := summarize(readerWriter(mustParse(t, tc.reader), mustParse(t, tc.writer)))
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("readerWriter(reader, writer) = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIncompatibilityInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		reader, writer string
		want           string
	}{
		{"type mismatch", `"int"`, `"string"`, "reader type: INT not compatible with writer type: STRING"},
		{"missing symbols", `{"type":"enum","name":"E","symbols":["A"]}`, `{"type":"enum","name":"E","symbols":["A","B","C"]}`, "[B, C]"},
		{"fixed size", `{"type":"fixed","name":"F","size":2}`, `{"type":"fixed","name":"F","size":3}`, "expected: 3, found: 2"},
		{"name", `{"type":"fixed","name":"G","size":2}`, `{"type":"fixed","name":"ns.F","size":2}`, "expected: ns.F"},
		{"union", `["null","int"]`, `"string"`, "reader union lacking writer type: STRING"},
		{"missing default", rec(field("zip", `"string"`, "")), rec(), "zip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := readerWriter(mustParse(t, tc.reader), mustParse(t, tc.writer))
			if len(got) == 0 || got[0].info != tc.want {
				t.Fatalf("first incompatibility = %+v, want info %q", got, tc.want)
			}
		})
	}
}

func TestCheckLevelMessages(t *testing.T) {
	t.Parallel()
	v1 := rec(field("a", `"int"`, ""))
	v2 := rec(field("a", `"int"`, ""), field("b", `"string"`, `"x"`))
	v3 := rec(field("a", `"int"`, ""), field("b", `"string"`, ""))
	olds := func(t *testing.T, texts ...string) []oldSchema {
		var out []oldSchema
		for i, s := range texts {
			out = append(out, oldSchema{version: i + 1, text: canonicalSchema(s), typ: mustParse(t, s)})
		}
		return out
	}
	oldText := canonicalSchema(v1)
	tests := []struct {
		name     string
		level    string
		previous []string
		schema   string
		want     []string
	}{
		{"none never checks", levelNone, []string{v1}, v3, nil},
		{"no previous versions", levelFullTransitive, nil, v3, nil},
		{"backward names the new schema as reader", levelBackward, []string{v1}, v3, []string{
			"{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'b' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'b'}",
			"{oldSchemaVersion: 1}",
			"{oldSchema: '" + oldText + "'}",
			"{validateFields: 'false', compatibility: 'BACKWARD'}",
		}},
		{"forward names the old schema as reader", levelForward, []string{v3}, v1, []string{
			"{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'b' at path '/fields/1' in the old schema has no default value and is missing in the new schema', additionalInfo:'b'}",
			"{oldSchemaVersion: 1}",
			"{oldSchema: '" + canonicalSchema(v3) + "'}",
			"{validateFields: 'false', compatibility: 'FORWARD'}",
		}},
		{"backward checks only the latest", levelBackward, []string{v1, v2}, v3, nil},
		{"backward transitive checks every version", levelBackwardTransitive, []string{v1, v2}, v3, []string{
			"{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'b' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'b'}",
			"{oldSchemaVersion: 1}",
			"{oldSchema: '" + oldText + "'}",
			"{validateFields: 'false', compatibility: 'BACKWARD_TRANSITIVE'}",
		}},
		{"full reports the forward direction first", levelFull, []string{rec(field("a", `"int"`, ""))}, rec(field("a", `"long"`, "")), []string{
			"{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') of a field in the old schema does not match with the new schema', additionalInfo:'reader type: INT not compatible with writer type: LONG'}",
			"{validateFields: 'false', compatibility: 'FULL'}",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := checkLevel(tc.level, mustParse(t, tc.schema), olds(t, tc.previous...))
			if !slices.Equal(got, tc.want) {
				t.Errorf("checkLevel =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestCheckLevelDifferentSchemaType(t *testing.T) {
	t.Parallel()
	got := checkLevel(levelBackward, mustParse(t, `"int"`), []oldSchema{{version: 1, text: "syntax = \"proto3\";"}})
	if len(got) == 0 || got[0] != incompatDifferentSchemaType {
		t.Errorf("checkLevel against a non-Avro version = %v, want %q first", got, incompatDifferentSchemaType)
	}
}

func TestParseLevel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"backward", levelBackward, true},
		{"FULL_TRANSITIVE", levelFullTransitive, true},
		{" none ", levelNone, true},
		{"SIDEWAYS", "", false},
		{"", "", false},
	} {
		got, ok := parseLevel(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseLevel(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
