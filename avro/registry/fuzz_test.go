package registry

import (
	"testing"
)

// FuzzRegistrationBody feeds arbitrary bodies through what a registration
// does before it writes: decoding the request, validating the schema,
// canonicalising it. Nothing may panic; a schema that validates must have a
// canonical form that is stable and validates too, and must be able to
// read its own data under every rule of the compatibility check.
func FuzzRegistrationBody(f *testing.F) {
	seeds := []string{
		`{"schema":"\"int\""}`,
		`{"schema":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":[\"null\",\"string\"],\"default\":null}]}"}`,
		`{"schema":"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"],\"default\":\"A\"}","schemaType":"AVRO"}`,
		`{"schema":"{\"type\":\"record\",\"name\":\"Node\",\"fields\":[{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}"}`,
		`{"schema":"{\"type\":\"array\",\"items\":{\"type\":\"map\",\"values\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}}}"}`,
		`{"schema":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"b\",\"type\":\"bytes\",\"default\":\"\\u00ff\"}]}"}`,
		`{"schema":5}`,
		`{"schema":"{\"type\":"}`,
		`{"schema":"\"int\"","references":[{"name":"X","subject":"s","version":1}]}`,
		`[]`,
		``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req schemaRequest
		if err := decodeBodyBytes(body, &req); err != nil {
			if _, ok := err.(*apiError); !ok {
				t.Fatalf("decoding returned %T, want an API error", err)
			}
			return
		}
		if req.Schema == nil {
			return
		}
		typ, err := parseAvro(nil, *req.Schema)
		if err != nil {
			return
		}
		canon := canonicalSchema(*req.Schema)
		if again := canonicalSchema(canon); again != canon {
			t.Fatalf("canonical form not stable:\n%s\n%s", canon, again)
		}
		ctyp, err := parseAvro(nil, canon)
		if err != nil {
			t.Fatalf("the canonical form %s of a valid schema does not validate: %v", canon, err)
		}
		if in := readerWriter(typ, ctyp); len(in) > 0 {
			t.Fatalf("a schema cannot read its canonical form: %v", summarize(in))
		}
		old := []oldSchema{{version: 1, text: canon, typ: ctyp}}
		if msgs := checkLevel(levelFullTransitive, typ, old); len(msgs) > 0 {
			t.Fatalf("a schema is not fully compatible with itself: %v", msgs)
		}
	})
}
