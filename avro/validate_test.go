package avro

import (
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// allTypes is a contract with one field of every kind the validator
// knows.
const allTypes = `{
  "type": "record", "name": "All", "namespace": "test", "doc": "every type",
  "fields": [
    {"name": "i", "type": "int", "doc": "-"},
    {"name": "l", "type": "long", "doc": "-"},
    {"name": "f", "type": "float", "doc": "-"},
    {"name": "d", "type": "double", "doc": "-"},
    {"name": "s", "type": "string", "doc": "-"},
    {"name": "bo", "type": "boolean", "doc": "-"},
    {"name": "b", "type": "bytes", "doc": "-"},
    {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}, "doc": "-"},
    {"name": "fx", "type": {"type": "fixed", "name": "F4", "size": 4}, "doc": "-"},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}, "doc": "-"},
    {"name": "tsu", "type": {"type": "long", "logicalType": "timestamp-micros"}, "doc": "-"},
    {"name": "lts", "type": {"type": "long", "logicalType": "local-timestamp-millis"}, "doc": "-"},
    {"name": "dt", "type": {"type": "int", "logicalType": "date"}, "doc": "-"},
    {"name": "tm", "type": {"type": "int", "logicalType": "time-millis"}, "doc": "-"},
    {"name": "tmu", "type": {"type": "long", "logicalType": "time-micros"}, "doc": "-"},
    {"name": "u", "type": {"type": "string", "logicalType": "uuid"}, "doc": "-"},
    {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2}, "doc": "-"},
    {"name": "fdec", "type": {"type": "fixed", "name": "D8", "size": 8, "logicalType": "decimal", "precision": 10, "scale": 3}, "doc": "-"},
    {"name": "arr", "type": {"type": "array", "items": "int"}, "doc": "-"},
    {"name": "m", "type": {"type": "map", "values": "long"}, "doc": "-"},
    {"name": "rec", "type": {"type": "record", "name": "Sub", "fields": [
      {"name": "a", "type": "int", "doc": "-"},
      {"name": "b", "type": ["null", "string"], "default": null, "doc": "-"}
    ]}, "doc": "-"},
    {"name": "opt", "type": ["null", "string"], "default": null, "doc": "-"},
    {"name": "optrec", "type": ["null", "Sub"], "default": null, "doc": "-"},
    {"name": "optenum", "type": ["null", "E"], "default": null, "doc": "-"},
    {"name": "optarr", "type": ["null", {"type": "array", "items": "string"}], "default": null, "doc": "-"},
    {"name": "optts", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}], "default": null, "doc": "-"},
    {"name": "multi", "type": ["null", "int", "double", "string"], "default": null, "doc": "-"},
    {"name": "shapes", "type": ["null",
      {"type": "record", "name": "A", "fields": [{"name": "x", "type": "int", "doc": "-"}]},
      {"type": "record", "name": "B", "fields": [{"name": "y", "type": "string", "doc": "-"}, {"name": "z", "type": "int", "default": 0, "doc": "-"}]},
      {"type": "map", "values": "string"}
    ], "default": null, "doc": "-"},
    {"name": "withdef", "type": "string", "default": "dflt", "doc": "-"},
    {"name": "nums", "type": {"type": "array", "items": "long"}, "default": [], "doc": "-"},
    {"name": "recdef", "type": "Sub", "default": {"a": 7}, "doc": "-"}
  ]
}`

// allTypesBase is a valid payload of allTypes, field by field.
var allTypesBase = map[string]string{
	"i": `1`, "l": `2`, "f": `1.5`, "d": `2.5`, "s": `"s"`, "bo": `true`, "b": `"aGk="`, "e": `"A"`,
	"fx": `"AQIDBA=="`, "ts": `"2024-01-02T03:04:05.678Z"`, "tsu": `"2024-01-02T03:04:05.678901Z"`,
	"lts": `"2024-01-02T03:04:05"`, "dt": `"2024-02-29"`, "tm": `"13:45:00.5"`, "tmu": `"00:00:01.000002"`,
	"u": `"123e4567-e89b-12d3-a456-426614174000"`, "dec": `"12.34"`, "fdec": `"-1.5"`, "arr": `[1, 2]`,
	"m": `{"k": 3}`, "rec": `{"a": 1}`,
}

func allTypesValidator(t testing.TB, opts ...ValidatorOpt) *Validator {
	t.Helper()
	s, err := LoadSchemasFS(fstest.MapFS{"test/All.avsc": {Data: []byte(allTypes)}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Validator("test.All", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// payload returns the base payload with the given fields replaced; a
// value of "-" removes the field.
func payload(fields map[string]string) []byte {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	put := func(k, v string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(`"` + k + `":` + v)
	}
	for k, v := range allTypesBase {
		if r, ok := fields[k]; ok {
			if r != "-" {
				put(k, r)
			}
			continue
		}
		put(k, v)
	}
	for k, v := range fields {
		if _, ok := allTypesBase[k]; !ok && v != "-" {
			put(k, v)
		}
	}
	b.WriteByte('}')
	return []byte(b.String())
}

func TestValidateValues(t *testing.T) {
	v := allTypesValidator(t)
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	cases := []struct {
		name  string
		field string
		json  string
		want  any
	}{
		{"int", "i", `7`, 7},
		{"int written with a fraction of zero", "i", `3.0`, 3},
		{"int written with an exponent", "i", `3e2`, 300},
		{"int at its minimum", "i", `-2147483648`, -2147483648},
		{"long at its maximum", "l", `9223372036854775807`, int64(9223372036854775807)},
		{"long at its minimum, with an exponent", "l", `-9.223372036854775808e18`, int64(-9223372036854775808)},
		{"long with zeros in its fraction", "l", `12.000e1`, int64(120)},
		{"zero with a huge exponent", "l", `0e999999`, int64(0)},
		{"float", "f", `0.25`, float32(0.25)},
		{"double", "d", `-1e-300`, -1e-300},
		{"bytes, padded base64", "b", `"aGk="`, []byte("hi")},
		{"bytes, unpadded base64", "b", `"aGk"`, []byte("hi")},
		{"enum", "e", `"B"`, "B"},
		{"fixed", "fx", `"AQIDBA=="`, [4]byte{1, 2, 3, 4}},
		{"timestamp-millis from RFC 3339", "ts", `"2024-01-02T03:04:05.678Z"`, utc("2024-01-02T03:04:05.678Z")},
		{"timestamp-millis from RFC 3339 with an offset", "ts", `"2024-01-02T05:04:05+02:00"`, utc("2024-01-02T03:04:05Z")},
		{"timestamp-millis truncates finer precision", "ts", `"2024-01-02T03:04:05.678999Z"`, utc("2024-01-02T03:04:05.678Z")},
		{"timestamp-millis from epoch milliseconds", "ts", `1700000000123`, time.UnixMilli(1700000000123).UTC()},
		{"timestamp-micros from RFC 3339", "tsu", `"2024-01-02T03:04:05.123456789Z"`, utc("2024-01-02T03:04:05.123456Z")},
		{"timestamp-micros from epoch microseconds", "tsu", `1700000000123456`, time.UnixMicro(1700000000123456).UTC()},
		{"local timestamp", "lts", `"2024-01-02T03:04:05.5"`, utc("2024-01-02T03:04:05.5Z")},
		{"date", "dt", `"2024-02-29"`, utc("2024-02-29T00:00:00Z")},
		{"date from days since the epoch", "dt", `19782`, utc("2024-02-29T00:00:00Z")},
		{"time-millis", "tm", `"13:45:00.5"`, 13*time.Hour + 45*time.Minute + 500*time.Millisecond},
		{"time-millis from milliseconds", "tm", `1500`, 1500 * time.Millisecond},
		{"time-micros", "tmu", `"00:00:01.000002"`, time.Second + 2*time.Microsecond},
		{"uuid", "u", `"123E4567-E89B-12D3-A456-426614174000"`, "123E4567-E89B-12D3-A456-426614174000"},
		{"decimal from a string", "dec", `"12.34"`, big.NewRat(1234, 100)},
		{"decimal from a number", "dec", `-9999.99`, big.NewRat(-999999, 100)},
		{"decimal with an exponent", "dec", `"1e2"`, big.NewRat(100, 1)},
		{"fixed decimal", "fdec", `"-1.5"`, big.NewRat(-3, 2)},
		{"decimal with zeros past its scale", "dec", `"0.5000e1"`, big.NewRat(5, 1)},
		{"decimal zero with a huge exponent", "dec", `0e-999999`, new(big.Rat)},
		{"array", "arr", `[1, 2]`, []any{1, 2}},
		{"map", "m", `{"k": 3, "a b": -1}`, map[string]any{"k": int64(3), "a b": int64(-1)}},
		{"record, optional field absent", "rec", `{"a": 1}`, map[string]any{"a": 1, "b": nil}},
		{"optional string given", "opt", `"x"`, "x"},
		{"optional string null", "opt", `null`, nil},
		{"optional string absent", "opt", `-`, nil},
		{"optional record, wrapped by full name", "optrec", `{"a": 2, "b": "y"}`, map[string]any{"test.Sub": map[string]any{"a": 2, "b": "y"}}},
		{"optional enum, wrapped by full name", "optenum", `"B"`, map[string]any{"test.E": "B"}},
		{"optional array, wrapped as array", "optarr", `["a"]`, map[string]any{"array": []any{"a"}}},
		{"optional timestamp, bare", "optts", `0`, time.UnixMilli(0).UTC()},
		{"union picks int for an integer", "multi", `5`, 5},
		{"union picks double for a fraction", "multi", `5.5`, 5.5},
		{"union picks double for an int out of range", "multi", `3000000000`, 3e9},
		{"union picks string", "multi", `"x"`, "x"},
		{"union of records picks by shape: A", "shapes", `{"x": 1}`, map[string]any{"test.A": map[string]any{"x": 1}}},
		{"union of records picks by shape: B", "shapes", `{"y": "s", "z": 2}`, map[string]any{"test.B": map[string]any{"y": "s", "z": 2}}},
		{"union of records picks by shape over a map", "shapes", `{"y": "s"}`, map[string]any{"test.B": map[string]any{"y": "s", "z": 0}}},
		{"union falls to the map when no record shape fits", "shapes", `{"k": "v"}`, map[string]any{"map": map[string]any{"k": "v"}}},
		{"default for a missing field", "withdef", `-`, "dflt"},
		{"default for null in a field that is not nullable", "withdef", `null`, "dflt"},
		{"array default", "nums", `-`, []any{}},
		{"record default", "recdef", `-`, map[string]any{"a": 7, "b": nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := v.Validate(payload(map[string]string{tc.field: tc.json}))
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got, ok := out[tc.field]
			if !ok {
				t.Fatalf("field %s missing from the result", tc.field)
			}
			if !nativeEqual(got, tc.want) {
				t.Errorf("%s = %#v (%T), want %#v (%T)", tc.field, got, got, tc.want, tc.want)
			}
		})
	}
}

func TestValidateIssues(t *testing.T) {
	cases := []struct {
		name   string
		fields map[string]string
		policy UnknownFields
		want   []string // Issue.String() of each issue, in order
		codes  []IssueCode
	}{
		{"string for an int", map[string]string{"i": `"3"`}, DropUnknown,
			[]string{"$.i: expected int, got string"}, []IssueCode{CodeTypeMismatch}},
		{"fraction for an int", map[string]string{"i": `3.5`}, DropUnknown,
			[]string{"$.i: expected int, got a number with a fraction"}, []IssueCode{CodeNotInteger}},
		{"int above 32 bits", map[string]string{"i": `2147483648`}, DropUnknown,
			[]string{"$.i: expected int, got a number out of range"}, []IssueCode{CodeOutOfRange}},
		{"long above 64 bits", map[string]string{"l": `9223372036854775808`}, DropUnknown,
			[]string{"$.l: expected long, got a number out of range"}, []IssueCode{CodeOutOfRange}},
		{"huge exponent for a long", map[string]string{"l": `1e400`}, DropUnknown,
			[]string{"$.l: expected long, got a number out of range"}, []IssueCode{CodeOutOfRange}},
		{"long just past its maximum, with an exponent", map[string]string{"l": `9.223372036854775808e18`}, DropUnknown,
			[]string{"$.l: expected long, got a number out of range"}, []IssueCode{CodeOutOfRange}},
		{"exponent of a million for a long", map[string]string{"l": `1e999999`}, DropUnknown,
			[]string{"$.l: expected long, got a number out of range"}, []IssueCode{CodeOutOfRange}},
		{"negative exponent of a million for a long", map[string]string{"l": `1e-999999`}, DropUnknown,
			[]string{"$.l: expected long, got a number with a fraction"}, []IssueCode{CodeNotInteger}},
		{"float overflow", map[string]string{"f": `3.5e38`}, DropUnknown,
			[]string{"$.f: expected float, got a number out of range"}, []IssueCode{CodeOutOfRange}},
		{"double overflow", map[string]string{"d": `1e309`}, DropUnknown,
			[]string{"$.d: expected double, got a number out of range"}, []IssueCode{CodeOutOfRange}},
		{"string for a boolean", map[string]string{"bo": `"true"`}, DropUnknown,
			[]string{"$.bo: expected boolean, got string"}, []IssueCode{CodeTypeMismatch}},
		{"bad base64", map[string]string{"b": `"!!"`}, DropUnknown,
			[]string{"$.b: expected bytes in base64, got a string that is not base64"}, []IssueCode{CodeInvalidFormat}},
		{"unknown enum symbol", map[string]string{"e": `"a"`}, DropUnknown,
			[]string{"$.e: expected one of [A, B], got unknown symbol"}, []IssueCode{CodeUnknownSymbol}},
		{"fixed of the wrong size", map[string]string{"fx": `"AQID"`}, DropUnknown,
			[]string{"$.fx: expected 4 bytes in base64, got 3 bytes"}, []IssueCode{CodeWrongSize}},
		{"timestamp without a time", map[string]string{"ts": `"2024-01-02"`}, DropUnknown,
			[]string{"$.ts: expected RFC 3339 timestamp or epoch milliseconds, got a string that is not one"}, []IssueCode{CodeInvalidFormat}},
		{"timestamp as a fraction", map[string]string{"ts": `1.5`}, DropUnknown,
			[]string{"$.ts: expected RFC 3339 timestamp or epoch milliseconds, got a number with a fraction"}, []IssueCode{CodeNotInteger}},
		{"local timestamp with a zone", map[string]string{"lts": `"2024-01-02T03:04:05Z"`}, DropUnknown,
			[]string{"$.lts: expected local date-time (YYYY-MM-DDThh:mm:ss), got a string that is not one"}, []IssueCode{CodeInvalidFormat}},
		{"impossible date", map[string]string{"dt": `"2023-02-29"`}, DropUnknown,
			[]string{"$.dt: expected date (YYYY-MM-DD) or days since the epoch, got a string that is not one"}, []IssueCode{CodeInvalidFormat}},
		{"time of day past midnight", map[string]string{"tm": `86400000`}, DropUnknown,
			[]string{"$.tm: expected time of day (hh:mm:ss) or milliseconds since midnight, got a number out of range"}, []IssueCode{CodeOutOfRange}},
		{"bad uuid", map[string]string{"u": `"123e4567e89b12d3a456426614174000"`}, DropUnknown,
			[]string{"$.u: expected UUID, got a string that is not a UUID"}, []IssueCode{CodeInvalidFormat}},
		{"decimal with too many places", map[string]string{"dec": `12.345`}, DropUnknown,
			[]string{"$.dec: expected decimal with at most 6 digits, 2 after the point, got more than 2 decimal places"}, []IssueCode{CodeOutOfRange}},
		{"decimal with too many digits", map[string]string{"dec": `"10000"`}, DropUnknown,
			[]string{"$.dec: expected decimal with at most 6 digits, 2 after the point, got more than 6 digits"}, []IssueCode{CodeOutOfRange}},
		{"decimal with an exponent of a million", map[string]string{"dec": `1e999999`}, DropUnknown,
			[]string{"$.dec: expected decimal with at most 6 digits, 2 after the point, got more than 6 digits"}, []IssueCode{CodeOutOfRange}},
		{"decimal with a negative exponent of a million", map[string]string{"dec": `"1e-999999"`}, DropUnknown,
			[]string{"$.dec: expected decimal with at most 6 digits, 2 after the point, got more than 2 decimal places"}, []IssueCode{CodeOutOfRange}},
		{"decimal as a fraction", map[string]string{"dec": `"1/3"`}, DropUnknown,
			[]string{"$.dec: expected decimal with at most 6 digits, 2 after the point, got a string that is not a number"}, []IssueCode{CodeInvalidFormat}},
		{"array element", map[string]string{"arr": `[1, "2", 3.5]`}, DropUnknown,
			[]string{"$.arr[1]: expected int, got string", "$.arr[2]: expected int, got a number with a fraction"},
			[]IssueCode{CodeTypeMismatch, CodeNotInteger}},
		{"map value with an odd key", map[string]string{"m": `{"a b": "x"}`}, DropUnknown,
			[]string{`$.m["a b"]: expected long, got string`}, []IssueCode{CodeTypeMismatch}},
		{"duplicate map key", map[string]string{"m": `{"k": 1, "k": 2}`}, DropUnknown,
			[]string{"$.m.k: duplicate key"}, []IssueCode{CodeDuplicateKey}},
		{"required field missing", map[string]string{"s": `-`}, DropUnknown,
			[]string{"$.s: required"}, []IssueCode{CodeRequired}},
		{"null for a required field", map[string]string{"s": `null`}, DropUnknown,
			[]string{"$.s: expected string, got null"}, []IssueCode{CodeTypeMismatch}},
		{"nested required field", map[string]string{"rec": `{"b": "x"}`}, DropUnknown,
			[]string{"$.rec.a: required"}, []IssueCode{CodeRequired}},
		{"nullable field given the wrong kind", map[string]string{"opt": `5`}, DropUnknown,
			[]string{"$.opt: expected string or null, got number"}, []IssueCode{CodeTypeMismatch}},
		{"inside an optional record", map[string]string{"optrec": `{"a": "one"}`}, DropUnknown,
			[]string{"$.optrec.a: expected int, got string"}, []IssueCode{CodeTypeMismatch}},
		{"union kind nobody takes", map[string]string{"multi": `true`}, DropUnknown,
			[]string{"$.multi: expected one of [null, int, double, string], got boolean"}, []IssueCode{CodeTypeMismatch}},
		{"union number nobody fits", map[string]string{"multi": `1e400`}, DropUnknown,
			[]string{"$.multi: expected one of [null, int, double, string], got number that fits none of them"}, []IssueCode{CodeNoUnionBranch}},
		{"union record chosen by shape reports its own issue", map[string]string{"shapes": `{"x": "one"}`}, DropUnknown,
			[]string{"$.shapes.x: expected int, got string"}, []IssueCode{CodeTypeMismatch}},
		{"unknown member dropped", map[string]string{"extra": `{"deep": [1]}`}, DropUnknown, nil, nil},
		{"unknown member rejected", map[string]string{"extra": `1`, "rec": `{"a": 1, "c": 2}`}, RejectUnknown,
			[]string{"$.extra: unknown field", "$.rec.c: unknown field"}, []IssueCode{CodeUnknownField, CodeUnknownField}},
		{"several issues at once", map[string]string{"i": `"x"`, "s": `-`, "e": `"Z"`, "arr": `[true]`}, DropUnknown,
			[]string{"$.i: expected int, got string", "$.s: required", "$.e: expected one of [A, B], got unknown symbol", "$.arr[0]: expected int, got boolean"},
			[]IssueCode{CodeTypeMismatch, CodeRequired, CodeUnknownSymbol, CodeTypeMismatch}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := allTypesValidator(t, Unknown(tc.policy))
			out, err := v.Validate(payload(tc.fields))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, ok := out["extra"]; ok {
					t.Errorf("an unknown member was kept")
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate returned %v, want a *ValidationError", err)
			}
			var got []string
			var codes []IssueCode
			for _, is := range ve.Issues {
				got = append(got, is.String())
				codes = append(codes, is.Code)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("issues:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if len(codes) != len(tc.codes) {
				t.Fatalf("codes %v, want %v", codes, tc.codes)
			}
			for i := range codes {
				if codes[i] != tc.codes[i] {
					t.Errorf("code %d = %s, want %s", i, codes[i], tc.codes[i])
				}
			}
			if ve.Record != "test.All" {
				t.Errorf("Record = %q", ve.Record)
			}
		})
	}
}

func TestValidateMaxIssues(t *testing.T) {
	cases := []struct {
		name      string
		max       int
		elements  int
		wantKept  int
		truncated bool
	}{
		{"under the limit", 20, 5, 5, false},
		{"at the limit", 5, 5, 5, false},
		{"over the default limit", DefaultMaxIssues, 50, DefaultMaxIssues, true},
		{"over a small limit", 3, 10, 3, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := allTypesValidator(t, MaxIssues(tc.max))
			bad := strings.TrimSuffix(strings.Repeat(`"x",`, tc.elements), ",")
			_, err := v.Validate(payload(map[string]string{"arr": "[" + bad + "]"}))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate returned %v", err)
			}
			if len(ve.Issues) != tc.wantKept || ve.Truncated != tc.truncated {
				t.Errorf("%d issues, truncated %v; want %d, %v", len(ve.Issues), ve.Truncated, tc.wantKept, tc.truncated)
			}
			if tc.truncated && !strings.HasSuffix(err.Error(), "and more") {
				t.Errorf("the error of a truncated list does not say so: %v", err)
			}
		})
	}
}

// TestValidateUnionIssuesAndTheLimit checks that the issues found inside
// a union's branch are reported like any other: in order, counted
// towards the limit, and never left behind by the branches that were
// tried and not taken.
func TestValidateUnionIssuesAndTheLimit(t *testing.T) {
	cases := []struct {
		name      string
		max       int
		fields    map[string]string
		want      []string
		truncated bool
	}{
		{"issues around a branch", 20,
			map[string]string{"i": `"x"`, "shapes": `{"x": "one"}`, "arr": `[true]`},
			[]string{"$.i: expected int, got string", "$.arr[0]: expected int, got boolean", "$.shapes.x: expected int, got string"}, false},
		{"the limit reached inside a branch", 2,
			map[string]string{"i": `"x"`, "optrec": `{"a": "one", "b": 5}`},
			[]string{"$.i: expected int, got string", "$.optrec.a: expected int, got string"}, true},
		{"the limit reached before a branch", 1,
			map[string]string{"i": `"x"`, "optrec": `{"a": "one"}`},
			[]string{"$.i: expected int, got string"}, true},
		{"a branch with more issues than the limit", 1,
			map[string]string{"optrec": `{"a": "one", "b": 5}`},
			[]string{"$.optrec.a: expected int, got string"}, true},
		{"branches tried and not taken leave nothing", 20,
			map[string]string{"multi": `"x"`, "shapes": `{"y": "s", "z": "2"}`},
			[]string{"$.shapes.z: expected int, got string"}, false},
		{"a scalar no branch takes", 20,
			map[string]string{"multi": `1e400`, "opt": `1`},
			[]string{"$.opt: expected string or null, got number", "$.multi: expected one of [null, int, double, string], got number that fits none of them"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := allTypesValidator(t, MaxIssues(tc.max))
			_, err := v.Validate(payload(tc.fields))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate returned %v", err)
			}
			var got []string
			for _, is := range ve.Issues {
				got = append(got, is.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") || ve.Truncated != tc.truncated {
				t.Errorf("issues (truncated %v):\n%s\nwant (truncated %v):\n%s", ve.Truncated, strings.Join(got, "\n"), tc.truncated, strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestValidateDefaultsAreFresh(t *testing.T) {
	v := allTypesValidator(t)
	first, err := v.Validate(payload(map[string]string{"nums": "-", "recdef": "-"}))
	if err != nil {
		t.Fatal(err)
	}
	first["recdef"].(map[string]any)["a"] = 99
	first["nums"] = append(first["nums"].([]any), int64(1))
	second, err := v.Validate(payload(map[string]string{"nums": "-", "recdef": "-"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := second["recdef"].(map[string]any)["a"]; got != 7 {
		t.Errorf("a changed default leaked into the next value: recdef.a = %v", got)
	}
	if got := second["nums"].([]any); len(got) != 0 {
		t.Errorf("a changed default leaked into the next value: nums = %v", got)
	}
}

func TestValidationErrorJSON(t *testing.T) {
	v := allTypesValidator(t)
	_, err := v.Validate(payload(map[string]string{"i": `"x"`}))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatal(err)
	}
	b, err := json.Marshal(ve)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"record":"test.All","issues":[{"path":"$.i","code":"type_mismatch","expected":"int","got":"string"}]}`
	if string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}

func TestParseUnknownFields(t *testing.T) {
	cases := []struct {
		in      string
		want    UnknownFields
		wantErr bool
	}{
		{"", DropUnknown, false},
		{"drop", DropUnknown, false},
		{"reject", RejectUnknown, false},
		{"keep", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseUnknownFields(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseUnknownFields(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
}
