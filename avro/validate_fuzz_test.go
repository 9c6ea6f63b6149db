package avro

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	havro "github.com/hamba/avro/v2"
)

var issueCodes = map[IssueCode]bool{
	CodeInvalidJSON: true, CodeTypeMismatch: true, CodeRequired: true, CodeNotInteger: true,
	CodeOutOfRange: true, CodeInvalidFormat: true, CodeUnknownSymbol: true, CodeUnknownField: true,
	CodeDuplicateKey: true, CodeNoUnionBranch: true, CodeWrongSize: true,
}

// fuzzTarget is a validator and the schema its values encode with.
type fuzzTarget struct {
	v      *Validator
	schema havro.Schema
	native nativeTarget
}

// FuzzValidate feeds arbitrary bytes to validators of a contract with
// every type and of the support ticket contract (unions of records). For
// any input: no panic; a valid result encodes with hamba and decodes back
// to the same native value; an invalid one is a *ValidationError with 1
// to MaxIssues issues, each with a path and a known code, and a body that
// is not JSON is reported as invalid_json. A valid result is also
// written by the Serde's own encoder, which must write what hamba writes.
func FuzzValidate(f *testing.F) {
	f.Add(payload(nil))
	f.Add(payload(map[string]string{"multi": `2.5`, "shapes": `{"y": "q"}`, "optarr": `["a", "b"]`}))
	f.Add(payload(map[string]string{"i": `"x"`, "arr": `[1, {}, null]`, "extra": `1`}))
	f.Add([]byte(`{"a":`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`"\ud83d\ude00"`))
	files, _ := filepath.Glob("testdata/validate/*/*.json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}

	all, err := LoadSchemasFS(fstest.MapFS{"test/All.avsc": {Data: []byte(allTypes)}})
	if err != nil {
		f.Fatal(err)
	}
	contracts := loadSchemas(f)
	var targets []fuzzTarget
	for _, set := range []struct {
		s      *Schemas
		record string
	}{{all, "test.All"}, {contracts, "sluice.source.support.TicketEvent"}, {contracts, "sluice.source.commerce.OrderEvent"}} {
		for _, policy := range []UnknownFields{DropUnknown, RejectUnknown} {
			v, err := set.s.Validator(set.record, Unknown(policy), MaxIssues(7))
			if err != nil {
				f.Fatal(err)
			}
			sc, _ := set.s.Lookup(set.record)
			schema := sc.parsed
			if sc.Event {
				schema = dataSchema(f, set.s, set.record)
			}
			targets = append(targets, fuzzTarget{v: v, schema: schema, native: compileTarget(f, schema)})
		}
	}
	api := newAPI()

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, tg := range targets {
			out, err := tg.v.Validate(data)
			if err == nil {
				enc, err := api.Marshal(tg.schema, out)
				if err != nil {
					t.Fatalf("%s: a validated value does not encode: %v", tg.v.Record(), err)
				}
				var back map[string]any
				if err := api.Unmarshal(tg.schema, enc, &back); err != nil {
					t.Fatalf("%s: decode: %v", tg.v.Record(), err)
				}
				if !nativeEqual(out, back) {
					t.Fatalf("%s: the validated value changes in an encode and decode:\n%#v\n%#v", tg.v.Record(), out, back)
				}
				fast, ok := appendRecord(nil, tg.native.node, out)
				if !ok {
					t.Fatalf("%s: the Serde's encoder leaves a validated value to hamba: %#v", tg.v.Record(), out)
				}
				if !sameEncoding(t, tg.native, out, fast, enc) {
					t.Fatalf("%s: the Serde's encoder wrote\n%x\nhamba writes\n%x", tg.v.Record(), fast, enc)
				}
				continue
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("%s: error %v is not a *ValidationError", tg.v.Record(), err)
			}
			if len(ve.Issues) == 0 || len(ve.Issues) > 7 {
				t.Fatalf("%s: %d issues", tg.v.Record(), len(ve.Issues))
			}
			for _, is := range ve.Issues {
				if !strings.HasPrefix(is.Path, "$") || !issueCodes[is.Code] || is.String() == "" {
					t.Fatalf("%s: malformed issue %#v", tg.v.Record(), is)
				}
			}
			if !json.Valid(data) && (len(ve.Issues) != 1 || ve.Issues[0].Code != CodeInvalidJSON) {
				t.Fatalf("%s: a body that is not JSON gave %v", tg.v.Record(), ve.Issues)
			}
		}
	})
}

// FuzzParseJSON checks the JSON reader against encoding/json: the same
// documents are valid, and they hold the same values.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{}`, `[1,-2.5e3,"x\u00e9\n",true,null,{"a":{"b":[]}}]`, `"\ud800"`, `  7 `, `{"a":1,"a":2}`, "\"\xff\"", `-0.5E+7`, `01`, `1.`, `-`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseJSON(data)
		if (err == nil) != json.Valid(data) {
			t.Fatalf("parseJSON error %v, json.Valid %v", err, json.Valid(data))
		}
		if err != nil {
			if isJSONNumber(string(data)) {
				t.Fatalf("isJSONNumber(%q) = true, not JSON", data)
			}
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if got, dup := plainJSON(v); !dup && !jsonEqual(got, want) {
			t.Fatalf("parseJSON = %#v, encoding/json = %#v", got, want)
		}
		// A decimal's string form is held to the same grammar.
		_, isNumber := want.(json.Number)
		isNumber = isNumber && strings.TrimSpace(string(data)) == string(data)
		if isJSONNumber(string(data)) != isNumber {
			t.Fatalf("isJSONNumber(%q) = %v, encoding/json reads a number: %v", data, !isNumber, isNumber)
		}
	})
}

// plainJSON converts a jvalue to encoding/json's form; dup is true when an
// object repeats a key (encoding/json keeps the last, the validator
// refuses it).
func plainJSON(v jvalue) (out any, dup bool) {
	switch v.kind {
	case jNull:
		return nil, false
	case jBool:
		return v.b, false
	case jNumber:
		return json.Number(v.s), false
	case jString:
		return v.s, false
	case jArray:
		arr := make([]any, len(v.arr))
		for i, e := range v.arr {
			var d bool
			arr[i], d = plainJSON(e)
			dup = dup || d
		}
		return arr, dup
	}
	m := make(map[string]any, len(v.obj))
	for _, mem := range v.obj {
		if _, ok := m[mem.key]; ok {
			dup = true
		}
		var d bool
		m[mem.key], d = plainJSON(mem.val)
		dup = dup || d
	}
	return m, dup
}

func jsonEqual(a, b any) bool {
	ab, err1 := json.Marshal(a)
	bb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ab, bb)
}
