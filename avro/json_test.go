package avro

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

// TestParseJSON checks the reader against encoding/json on documents at
// the edges of the grammar: both take the same documents, hold the same
// values in them, and an invalid one gets encoding/json's error.
func TestParseJSON(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	cases := []struct {
		name  string
		doc   string
		valid bool
	}{
		{"object", `{"a": 1, "b": [true, false, null], "c": {"d": "e"}}`, true},
		{"scalar with spaces around it", " \t\r\n 7 \n", true},
		{"empty containers", `[{}, [], ""]`, true},
		{"numbers", `[0, -0, 1.5, -2.5e3, 1E+2, 3e-7, 9007199254740993, 1e400]`, true},
		{"escapes", `"a\"b\\c\/d\b\f\n\r\t\u00e9\u20AC"`, true},
		{"surrogate pair", `"\ud83d\ude00"`, true},
		{"lone surrogate", `"\ud800x"`, true},
		{"surrogate followed by a plain escape", `"\ud800\u0041"`, true},
		{"low surrogate first", `"\udc00\ud800"`, true},
		{"invalid UTF-8", "\"a\xffb\"", true},
		{"invalid UTF-8 beside an escape", "\"\xc3\\n\"", true},
		{"nesting at the limit", deep(maxDepth), true},
		{"nesting past the limit", deep(maxDepth + 1), false},
		{"empty", ``, false},
		{"only spaces", `   `, false},
		{"two documents", `1 2`, false},
		{"trailing comma in an array", `[1,]`, false},
		{"trailing comma in an object", `{"a": 1,}`, false},
		{"leading zero", `01`, false},
		{"bare minus", `-`, false},
		{"fraction without digits", `1.`, false},
		{"fraction without integer", `.5`, false},
		{"exponent without digits", `1e`, false},
		{"plus sign", `+1`, false},
		{"truncated literal", `nul`, false},
		{"literal with a tail", `truex`, false},
		{"unquoted key", `{a: 1}`, false},
		{"missing colon", `{"a" 1}`, false},
		{"missing value", `{"a":}`, false},
		{"unterminated string", `"abc`, false},
		{"control character in a string", "\"a\tb\"", false},
		{"unknown escape", `"\x41"`, false},
		{"short unicode escape", `"\u12"`, false},
		{"bad hex in a unicode escape", `"\u12g4"`, false},
		{"single quotes", `'a'`, false},
		{"unclosed array", `[1, 2`, false},
		{"unclosed object", `{"a": 1`, false},
		{"mismatched brackets", `[1}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.doc)
			if json.Valid(data) != tc.valid {
				t.Fatalf("the case is wrong: json.Valid = %v", !tc.valid)
			}
			v, err := parseJSON(data)
			if !tc.valid {
				var want any
				wantErr := json.Unmarshal(data, &want)
				if err == nil || wantErr == nil || err.Error() != wantErr.Error() {
					t.Fatalf("parseJSON error %v, want encoding/json's %v", err, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseJSON: %v", err)
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			var want any
			if err := dec.Decode(&want); err != nil {
				t.Fatal(err)
			}
			got, _ := plainJSON(v)
			if !jsonEqual(got, want) {
				t.Errorf("parseJSON = %#v, encoding/json = %#v", got, want)
			}
		})
	}
}

// TestValidateReusesParsers validates bodies one after another and at the
// same time with one validator, whose parsers (and their slabs) go from
// one body to the next: no value already returned changes.
func TestValidateReusesParsers(t *testing.T) {
	v := allTypesValidator(t)
	body := func(i int) []byte {
		s := strings.Repeat("x", i%7)
		return payload(map[string]string{
			"s": `"` + s + `"`, "arr": `[` + strings.TrimSuffix(strings.Repeat("1,", i%5+1), ",") + `]`,
			"m": `{"k` + s + `": 1}`, "rec": `{"a": 1, "b": "` + s + `"}`, "shapes": `{"y": "` + s + `"}`,
		})
	}
	check := func(i int, out map[string]any) error {
		s := strings.Repeat("x", i%7)
		switch {
		case out["s"] != s:
			return errors.New("s changed")
		case len(out["arr"].([]any)) != i%5+1:
			return errors.New("arr changed")
		case out["m"].(map[string]any)["k"+s] != int64(1):
			return errors.New("m changed")
		case out["rec"].(map[string]any)["b"] != s:
			return errors.New("rec changed")
		case out["shapes"].(map[string]any)["test.B"].(map[string]any)["y"] != s:
			return errors.New("shapes changed")
		}
		return nil
	}
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var kept []map[string]any
			for i := range n {
				out, err := v.Validate(body(w*n + i))
				if err != nil {
					errs <- err
					return
				}
				// Invalid bodies go through the parsers too.
				if _, err := v.Validate([]byte(`{"s": [`)); err == nil {
					errs <- errors.New("an invalid body passed")
					return
				}
				kept = append(kept, out)
			}
			for i, out := range kept {
				if err := check(w*n+i, out); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
