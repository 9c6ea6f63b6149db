package avro

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestCanonicalGolden encodes every canonical fixture with its schema and
// compares the bytes with testdata/golden/<record>.hex (go test -update
// rewrites them). The golden bytes must also decode back to the fixture,
// so data written by an earlier build stays readable by this one.
func TestCanonicalGolden(t *testing.T) {
	s := loadSchemas(t)
	api := newAPI()
	for _, fx := range canonicalFixtures() {
		t.Run(fx.record, func(t *testing.T) {
			sc, _ := s.Lookup(fx.record)
			enc, err := api.Marshal(sc.parsed, fx.value)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			path := filepath.Join("testdata", "golden", fx.record+".hex")
			if !*update && hasMultiEntryMap(fx.value) {
				// Avro maps are written in Go's map order, which varies:
				// the golden file then holds one valid encoding of the
				// fixture, checked below by decoding it.
				if _, err := os.Stat(path); err != nil {
					t.Fatalf("golden file %s: %v (run go test -update to create it)", path, err)
				}
			} else {
				golden(t, path, []byte(hexDump(enc)))
			}

			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			stored, err := hex.DecodeString(strings.ReplaceAll(string(raw), "\n", ""))
			if err != nil {
				t.Fatalf("golden file: %v", err)
			}
			out := fx.empty()
			if err := api.Unmarshal(sc.parsed, stored, out); err != nil {
				t.Fatalf("decode the golden bytes: %v", err)
			}
			if got := reflect.ValueOf(out).Elem().Interface(); !reflect.DeepEqual(got, fx.value) {
				t.Errorf("golden bytes decode to\n%#v\nwant\n%#v", got, fx.value)
			}
		})
	}
}

// TestCanonicalNativeAndTyped checks that the typed and the native forms
// of a canonical event are the same data: the struct's encoding decodes
// to a native value that encodes to the same bytes.
func TestCanonicalNativeAndTyped(t *testing.T) {
	s := loadSchemas(t)
	api := newAPI()
	for _, fx := range canonicalFixtures() {
		t.Run(fx.record, func(t *testing.T) {
			sc, _ := s.Lookup(fx.record)
			typed, err := api.Marshal(sc.parsed, fx.value)
			if err != nil {
				t.Fatal(err)
			}
			var native map[string]any
			if err := api.Unmarshal(sc.parsed, typed, &native); err != nil {
				t.Fatal(err)
			}
			again, err := api.Marshal(sc.parsed, native)
			if err != nil {
				t.Fatalf("encode the native form: %v", err)
			}
			// Avro maps are written in Go's map order, which varies, so
			// the bytes may differ; what they hold must not.
			var back map[string]any
			if err := api.Unmarshal(sc.parsed, again, &back); err != nil {
				t.Fatalf("decode the native form's encoding: %v", err)
			}
			if !reflect.DeepEqual(back, native) {
				t.Errorf("native and typed encodings hold different data")
			}
			env, err := EnvelopeOf(native)
			if err != nil {
				t.Fatal(err)
			}
			want := reflect.ValueOf(fx.value).FieldByName("Envelope").Interface()
			if !reflect.DeepEqual(env, want) {
				t.Errorf("EnvelopeOf = %#v, want %#v", env, want)
			}
			if !nativeEqual(NativeEnvelope(env), native["envelope"]) {
				t.Errorf("NativeEnvelope = %#v, decoded %#v", NativeEnvelope(env), native["envelope"])
			}
		})
	}
}

// hasMultiEntryMap reports whether v holds a map of two or more entries,
// whose Avro encoding depends on Go's map order.
func hasMultiEntryMap(v any) bool {
	var walk func(reflect.Value) bool
	walk = func(rv reflect.Value) bool {
		switch rv.Kind() {
		case reflect.Map:
			return rv.Len() > 1
		case reflect.Pointer, reflect.Interface:
			return !rv.IsNil() && walk(rv.Elem())
		case reflect.Struct:
			for i := 0; i < rv.NumField(); i++ {
				if walk(rv.Field(i)) {
					return true
				}
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < rv.Len(); i++ {
				if walk(rv.Index(i)) {
					return true
				}
			}
		}
		return false
	}
	return walk(reflect.ValueOf(v))
}
