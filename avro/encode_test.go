package avro

import (
	"bytes"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	havro "github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/internal/canonical"
)

// nativeTarget is a schema with its compiled node.
type nativeTarget struct {
	schema havro.Schema
	node   *vnode
}

func compileTarget(t testing.TB, schema havro.Schema) nativeTarget {
	t.Helper()
	node, err := compileNode(schema, map[string]*vnode{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return nativeTarget{schema: schema, node: node}
}

// sameEncoding reports whether fast, sluice's encoding of record value v,
// says what ref, hamba's, says: the same bytes, or, where v holds a map
// of several entries (whose order Avro leaves open), the same length and
// the same value when decoded.
func sameEncoding(t testing.TB, tg nativeTarget, v map[string]any, fast, ref []byte) bool {
	t.Helper()
	if bytes.Equal(fast, ref) {
		return true
	}
	if !multiEntryMap(tg.node, v) || len(fast) != len(ref) {
		return false
	}
	api := newAPI()
	var a, b map[string]any
	if err := api.Unmarshal(tg.schema, fast, &a); err != nil {
		t.Fatalf("decode sluice's encoding: %v", err)
	}
	if err := api.Unmarshal(tg.schema, ref, &b); err != nil {
		t.Fatalf("decode hamba's encoding: %v", err)
	}
	return nativeEqual(a, b)
}

// multiEntryMap reports whether native value v of node n holds an Avro
// map with more than one entry.
func multiEntryMap(n *vnode, v any) bool {
	switch n.kind {
	case vMap:
		m, _ := v.(map[string]any)
		if len(m) > 1 {
			return true
		}
		for _, e := range m {
			if multiEntryMap(n.items, e) {
				return true
			}
		}
	case vArray:
		arr, _ := v.([]any)
		for _, e := range arr {
			if multiEntryMap(n.items, e) {
				return true
			}
		}
	case vRecord:
		m, _ := v.(map[string]any)
		for _, f := range n.fields {
			if multiEntryMap(f.node, m[f.name]) {
				return true
			}
		}
	case vUnion:
		if m, ok := v.(map[string]any); ok {
			for k, e := range m {
				if a := n.armNamed(k); a >= 0 && multiEntryMap(n.arms[a].node, e) {
					return true
				}
			}
		}
	}
	return false
}

// oneField returns a record schema with one field "v" of type typ.
func oneField(t *testing.T, typ string) nativeTarget {
	t.Helper()
	schema, err := havro.ParseWithCache(`{"type": "record", "name": "T", "namespace": "test", "fields": [
		{"name": "v", "type": `+typ+`},
		{"name": "after", "type": "int"}]}`, "", &havro.SchemaCache{})
	if err != nil {
		t.Fatalf("parse %s: %v", typ, err)
	}
	return compileTarget(t, schema)
}

// TestNativeEncoderWritesWhatHambaWrites encodes values of every type in
// the forms hamba takes and some it refuses. The encoder must write
// hamba's bytes or leave the value to hamba: never write what hamba
// refuses, never write other bytes. The forms the Validator and
// NativeEvent produce (native) it must write itself.
func TestNativeEncoderWritesWhatHambaWrites(t *testing.T) {
	const (
		sub   = `{"type": "record", "name": "Sub", "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": ["null", "string"], "default": null}]}`
		enum  = `{"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}`
		fixed = `{"type": "fixed", "name": "F4", "size": 4}`
		dec   = `{"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2}`
		fdec  = `{"type": "fixed", "name": "D8", "size": 8, "logicalType": "decimal", "precision": 10, "scale": 3}`
		tsMs  = `{"type": "long", "logicalType": "timestamp-millis"}`
		tsUs  = `{"type": "long", "logicalType": "timestamp-micros"}`
		ltsMs = `{"type": "long", "logicalType": "local-timestamp-millis"}`
		ltsUs = `{"type": "long", "logicalType": "local-timestamp-micros"}`
		date  = `{"type": "int", "logicalType": "date"}`
		tMs   = `{"type": "int", "logicalType": "time-millis"}`
		tUs   = `{"type": "long", "logicalType": "time-micros"}`
		uuid  = `{"type": "string", "logicalType": "uuid"}`
		extID = `{"type": "record", "name": "X", "fields": [{"name": "system", "type": "string"}, {"name": "id", "type": "string"}]}`
	)
	when := time.Date(2024, 2, 29, 13, 45, 6, 789123456, time.UTC)
	before1970 := time.Date(1969, 12, 31, 12, 0, 0, 500_000_000, time.UTC)
	long := make([]any, 250)
	for i := range long {
		long[i] = i - 125
	}
	wide := map[string]any{}
	for i := range 150 {
		wide["k"+strconv.Itoa(i)] = int64(i)
	}
	cases := []struct {
		name   string
		typ    string
		value  any
		native bool // a form the Validator or NativeEvent produces
	}{
		{"null", `"null"`, nil, true},
		{"true", `"boolean"`, true, true},
		{"false", `"boolean"`, false, true},
		{"int", `"int"`, 7, true},
		{"negative int", `"int"`, -2147483648, true},
		{"int as int32", `"int"`, int32(5), false},
		{"int as int64, refused", `"int"`, int64(5), false},
		{"long", `"long"`, int64(-300), true},
		{"long at its maximum", `"long"`, int64(9223372036854775807), true},
		{"long as int", `"long"`, 42, false},
		{"float", `"float"`, float32(1.5), true},
		{"float as float64, refused", `"float"`, 1.5, false},
		{"double", `"double"`, -1e-300, true},
		{"double as float32", `"double"`, float32(0.1), false},
		{"string", `"string"`, "héllo", true},
		{"empty string", `"string"`, "", true},
		{"string as bytes, refused", `"string"`, []byte("x"), false},
		{"bytes", `"bytes"`, []byte{0, 1, 0xff}, true},
		{"empty bytes", `"bytes"`, []byte{}, true},
		{"enum", enum, "C", true},
		{"unknown enum symbol, refused", enum, "Z", false},
		{"fixed", fixed, [4]byte{1, 2, 3, 4}, true},
		{"fixed of another size, refused", fixed, [3]byte{1, 2, 3}, false},
		{"array", `{"type": "array", "items": "int"}`, []any{1, 2, 3}, true},
		{"empty array", `{"type": "array", "items": "int"}`, []any{}, true},
		{"array of three blocks", `{"type": "array", "items": "int"}`, long, true},
		{"array of nulls, blocks of no bytes", `{"type": "array", "items": "null"}`, []any{nil, nil}, true},
		{"array of another Go type", `{"type": "array", "items": "int"}`, []int{1, 2}, false},
		{"external ids", `{"type": "array", "items": ` + extID + `}`, []canonical.ExternalID{{System: "crm", ID: "1"}, {System: "erp", ID: "x"}}, true},
		{"external ids as strings, refused", `{"type": "array", "items": "string"}`, []canonical.ExternalID{{System: "crm", ID: "1"}}, false},
		{"map", `{"type": "map", "values": "long"}`, map[string]any{"k": int64(1)}, true},
		{"map of two blocks", `{"type": "map", "values": "long"}`, wide, true},
		{"empty map", `{"type": "map", "values": "long"}`, map[string]any{}, true},
		{"record", sub, map[string]any{"a": 1, "b": "x"}, true},
		{"record missing a field with a default", sub, map[string]any{"a": 1}, false},
		{"record missing a required field, refused", sub, map[string]any{"b": "x"}, false},
		{"nullable string, null", `["null", "string"]`, nil, true},
		{"nullable string, given", `["null", "string"]`, "x", true},
		{"nullable string, null second", `["string", "null"]`, nil, true},
		{"nullable string, given first", `["string", "null"]`, "x", true},
		{"nullable record, wrapped", `["null", ` + sub + `]`, map[string]any{"test.Sub": map[string]any{"a": 2, "b": nil}}, true},
		{"nullable enum, wrapped", `["null", ` + enum + `]`, map[string]any{"test.E": "B"}, true},
		{"nullable enum, bare string refused", `["null", ` + enum + `]`, "B", false},
		{"nullable fixed, wrapped", `["null", ` + fixed + `]`, map[string]any{"test.F4": [4]byte{9, 8, 7, 6}}, true},
		{"nullable array, wrapped", `["null", {"type": "array", "items": "string"}]`, map[string]any{"array": []any{"a", "b"}}, true},
		{"nullable array, wrapped nil", `["null", {"type": "array", "items": "string"}]`, map[string]any{"array": nil}, false},
		{"nullable array, bare", `["null", {"type": "array", "items": "string"}]`, []any{"a"}, false},
		{"nullable array, bare nil", `["null", {"type": "array", "items": "string"}]`, []any(nil), false},
		{"nullable map, wrapped", `["null", {"type": "map", "values": "string"}]`, map[string]any{"map": map[string]any{"k": "v"}}, true},
		{"union, wrapped null", `["null", "string"]`, map[string]any{"null": nil}, false},
		{"union, empty wrapper is null", `["null", "string"]`, map[string]any{}, false},
		{"union, wrapper of two entries refused", `["null", ` + sub + `, ` + enum + `]`, map[string]any{"test.Sub": map[string]any{"a": 1, "b": nil}, "test.E": "A"}, false},
		{"union, unknown branch name refused", `["null", ` + sub + `]`, map[string]any{"test.Nope": 1}, false},
		{"nullable bytes, nil is null", `["null", "bytes"]`, []byte(nil), false},
		{"nullable bytes, empty is bytes", `["null", "bytes"]`, []byte{}, true},
		{"bytes in a wider union", `["null", "string", "bytes"]`, []byte{1}, false},
		{"nullable decimal, bare", `["null", ` + dec + `]`, big.NewRat(1234, 100), true},
		{"decimal in a wider union", `["null", "string", ` + dec + `]`, big.NewRat(-5, 1), false},
		{"nullable fixed decimal, wrapped", `["null", ` + fdec + `]`, map[string]any{"test.D8": big.NewRat(-3, 2)}, true},
		{"nullable fixed decimal, bare refused", `["null", ` + fdec + `]`, big.NewRat(-3, 2), false},
		{"nullable uuid", `["null", ` + uuid + `]`, "123e4567-e89b-12d3-a456-426614174000", true},
		{"nullable timestamp", `["null", ` + tsMs + `]`, when, true},
		{"nullable local timestamp, refused", `["null", ` + ltsMs + `]`, when, false},
		{"union picks date before a timestamp", `["null", ` + tsUs + `, ` + date + `]`, when, false},
		{"nullable time-millis", `["null", ` + tMs + `]`, 1500 * time.Millisecond, true},
		{"union of int and long, int", `["int", "long"]`, 3, true},
		{"union of int and long, long", `["int", "long"]`, int64(3), false},
		{"union of several, int", `["null", "int", "double", "string"]`, 5, true},
		{"union of several, double", `["null", "int", "double", "string"]`, 5.5, true},
		{"union of several, string", `["null", "int", "double", "string"]`, "x", true},
		{"union of several, long refused", `["null", "int", "double", "string"]`, int64(5), false},
		{"union of several, boolean refused", `["null", "int", "double", "string"]`, true, false},
		{"union without null, nil refused", `["int", "string"]`, nil, false},
		{"timestamp-millis", tsMs, when, true},
		{"timestamp-millis before 1970", tsMs, before1970, true},
		{"timestamp-millis as a long", tsMs, int64(1700000000123), false},
		{"timestamp-millis as a duration, refused", tsMs, time.Second, false},
		{"timestamp-micros", tsUs, when, true},
		{"timestamp-micros before 1970", tsUs, before1970, true},
		{"local-timestamp-millis", ltsMs, when, true},
		{"local-timestamp-micros", ltsUs, when, true},
		{"date", date, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{"date before 1970", date, before1970, true},
		{"date as days", date, 19782, false},
		{"time-millis", tMs, 13*time.Hour + 500*time.Millisecond, true},
		{"time-micros", tUs, time.Second + 2*time.Microsecond, true},
		{"uuid", uuid, "123e4567-e89b-12d3-a456-426614174000", true},
		{"decimal", dec, big.NewRat(1234, 100), true},
		{"negative decimal", dec, big.NewRat(-3, 2), true},
		{"decimal zero", dec, new(big.Rat), true},
		{"decimal whose top bit is set", dec, big.NewRat(128, 100), true},
		{"negative decimal of one byte", dec, big.NewRat(-128, 100), true},
		{"decimal finer than its scale", dec, big.NewRat(1, 3), false},
		{"decimal with too many digits, refused", dec, big.NewRat(10000, 1), false},
		{"fixed decimal", fdec, big.NewRat(-3, 2), true},
		{"fixed decimal zero", fdec, new(big.Rat), true},
		{"fixed decimal, largest", fdec, big.NewRat(9999999999, 1000), true},
		{"fixed decimal with too many digits, refused", fdec, big.NewRat(10000000, 1), false},
	}
	api := newAPI()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tg := oneField(t, tc.typ)
			v := map[string]any{"v": tc.value, "after": -1}
			ref, herr := api.Marshal(tg.schema, v)
			fast, ok := appendRecord(nil, tg.node, v)
			switch {
			case tc.native && !ok:
				t.Fatalf("the encoder leaves a native value to hamba")
			case ok && herr != nil:
				t.Fatalf("the encoder wrote %x for a value hamba refuses: %v", fast, herr)
			case ok && !sameEncoding(t, tg, v, fast, ref):
				t.Fatalf("the encoder wrote\n%x\nhamba writes\n%x", fast, ref)
			case !ok && herr == nil && tc.native:
				t.Fatalf("hamba encodes it and the encoder does not")
			}
		})
	}
}

// TestEncodeNativeWritesWhatHambaWrites takes every valid sample payload
// the way ingress does (validate, add the envelope, EncodeNative) and
// every canonical fixture in its native form: the Serde writes them with
// its own encoder, byte for byte what hamba writes.
func TestEncodeNativeWritesWhatHambaWrites(t *testing.T) {
	t.Parallel()
	s, ctx, sd := serdeEnv(t)
	type sample struct {
		name, record string
		value        map[string]any
	}
	var samples []sample
	files, err := filepath.Glob("testdata/validate/*/valid-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, file := range files {
		record := filepath.Base(filepath.Dir(file))
		v, err := s.Validator(record)
		if err != nil {
			t.Fatal(err)
		}
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		data, err := v.Validate(body)
		if err != nil {
			t.Fatal(err)
		}
		sc, _ := s.Lookup(record)
		samples = append(samples, sample{record + "/" + filepath.Base(file), record, NativeEvent(fixtureEnvelope("x.updated", sc.Source), data)})
	}
	for _, fx := range canonicalFixtures() {
		sc, _ := s.Lookup(fx.record)
		native, err := sd.DecodeNative(ctx, mustEncode(t, sd, sc.Subject(), fx.value))
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, sample{fx.record, fx.record, native})
	}
	api := newAPI()
	for _, smp := range samples {
		t.Run(smp.name, func(t *testing.T) {
			sc, _ := s.Lookup(smp.record)
			got, err := sd.EncodeNative(ctx, sc.Subject(), smp.value)
			if err != nil {
				t.Fatalf("EncodeNative: %v", err)
			}
			enc, err := sd.encoding(ctx, sc.Subject())
			if err != nil {
				t.Fatal(err)
			}
			if enc.native == nil {
				t.Fatalf("the record did not compile for the encoder")
			}
			if _, ok := appendRecord(nil, enc.native, smp.value); !ok {
				t.Errorf("the Serde leaves the value to hamba")
			}
			body, err := api.Marshal(sc.parsed, smp.value)
			if err != nil {
				t.Fatalf("hamba: %v", err)
			}
			want := append(append([]byte(nil), enc.header...), body...)
			tg := nativeTarget{schema: sc.parsed, node: enc.native}
			if !bytes.Equal(got[:len(enc.header)], enc.header) || !sameEncoding(t, tg, smp.value, got[len(enc.header):], body) {
				t.Errorf("EncodeNative wrote\n%x\nhamba writes\n%x", got, want)
			}
		})
	}
}

// TestEncodeNativeLeavesOtherValuesToHamba gives EncodeNative values its
// own encoder does not write: they are encoded as hamba encodes them, or
// refused with ErrEncode as before.
func TestEncodeNativeLeavesOtherValuesToHamba(t *testing.T) {
	t.Parallel()
	s, ctx, sd := serdeEnv(t)
	record := "sluice.source.crm.ContactEvent"
	sc, _ := s.Lookup(record)
	v, err := s.Validator(record)
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("testdata/validate/" + record + "/valid-updated.json")
	if err != nil {
		t.Fatal(err)
	}
	event := func(change func(env, data map[string]any)) map[string]any {
		data, err := v.Validate(body)
		if err != nil {
			t.Fatal(err)
		}
		ev := NativeEvent(fixtureEnvelope("contact.updated", "crm"), data)
		change(ev["envelope"].(map[string]any), data)
		return ev
	}
	api := newAPI()
	cases := []struct {
		name  string
		value map[string]any
		want  error
	}{
		{"a field left to its default", event(func(env, _ map[string]any) { delete(env, "schema_version") }), nil},
		{"a string of another Go type", event(func(env, _ map[string]any) { env["tenant_id"] = []byte("demo") }), ErrEncode},
		{"a required field missing", event(func(env, _ map[string]any) { delete(env, "tenant_id") }), ErrEncode},
		{"a timestamp as a number", event(func(env, _ map[string]any) { env["received_at"] = int64(1700000000000) }), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sd.EncodeNative(ctx, sc.Subject(), tc.value)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("EncodeNative: %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("EncodeNative: %v", err)
			}
			enc, err := sd.encoding(ctx, sc.Subject())
			if err != nil {
				t.Fatal(err)
			}
			want, err := api.Marshal(sc.parsed, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[len(enc.header):], want) {
				t.Errorf("EncodeNative wrote\n%x\nhamba writes\n%x", got[len(enc.header):], want)
			}
		})
	}
}

// TestEncodeNativeWritesCanonicalStructs gives EncodeNative canonical
// events whose envelope is a canonical.Envelope and whose external ids
// are canonical.ExternalIDs (boxed one by one in a []any, or a
// []canonical.ExternalID), as a map and as an *Event, as the transform
// stage builds them: its own
// encoder writes them, byte for byte what it writes for their map forms
// and what hamba writes for the same values (hamba's is the fallback).
func TestEncodeNativeWritesCanonicalStructs(t *testing.T) {
	t.Parallel()
	s, ctx, sd := serdeEnv(t)
	api := newAPI()
	str := func(s string) *string { return &s }
	at := time.Date(2026, 3, 2, 10, 4, 5, 123456789, time.FixedZone("CET", 3600))
	envelopes := map[string]canonical.Envelope{
		"bare": {TenantID: "acme", EventID: "evt_1", EventType: "contact.updated", Integration: "crm-eu", Source: "crm", ReceivedAt: at},
		"full": {TenantID: "acme", EventID: "evt_2", EventType: "order.created", Integration: "shop", Source: "commerce",
			OccurredAt: &at, ReceivedAt: at.Add(time.Hour), SchemaVersion: str("2024-06"), TraceParent: str("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
			ActorID: str("user-7"), CausedBy: str("msg_9")},
	}
	ids := []canonical.ExternalID{
		{System: "crm", ID: "901"},
		{System: "commerce", ID: "cust-7", Integration: str("shop"), URL: str("https://shop.example/admin/customers/7")},
	}
	for _, fx := range canonicalFixtures() {
		sc, _ := s.Lookup(fx.record)
		native, err := sd.DecodeNative(ctx, mustEncode(t, sd, sc.Subject(), fx.value))
		if err != nil {
			t.Fatal(err)
		}
		for name, env := range envelopes {
			for _, typed := range []bool{false, true} {
				t.Run(fx.record+"/"+name+"/typed="+strconv.FormatBool(typed), func(t *testing.T) {
					structs, maps := map[string]any{}, map[string]any{}
					for k, v := range native["data"].(map[string]any) {
						structs[k], maps[k] = v, v
					}
					var asStructs, asMaps []any
					for _, x := range ids {
						asStructs = append(asStructs, x)
						asMaps = append(asMaps, map[string]any{"system": x.System, "id": x.ID, "integration": optString(x.Integration), "url": optString(x.URL)})
					}
					structs["external_ids"], maps["external_ids"] = asStructs, asMaps
					if typed {
						structs["external_ids"] = ids
					}
					value := map[string]any{"envelope": env, "data": structs}
					enc, err := sd.encoding(ctx, sc.Subject())
					if err != nil {
						t.Fatal(err)
					}
					if _, ok := appendRecord(nil, enc.native, value); !ok {
						t.Fatalf("the encoder leaves the structs to hamba")
					}
					got, err := sd.EncodeNative(ctx, sc.Subject(), value)
					if err != nil {
						t.Fatalf("EncodeNative: %v", err)
					}
					// The maps' form, for comparing: an Avro map of several
					// entries may be written in any order.
					mapForm := map[string]any{"envelope": NativeEnvelope(env), "data": maps}
					tg := nativeTarget{schema: sc.parsed, node: enc.native}
					want, err := sd.EncodeNative(ctx, sc.Subject(), mapForm)
					if err != nil {
						t.Fatalf("EncodeNative of the maps: %v", err)
					}
					if !sameEncoding(t, tg, mapForm, got[len(enc.header):], want[len(enc.header):]) {
						t.Errorf("the structs encode to\n%x\nthe maps to\n%x", got, want)
					}
					body, err := api.Marshal(sc.parsed, value)
					if err != nil {
						t.Fatalf("hamba: %v", err)
					}
					if !sameEncoding(t, tg, mapForm, got[len(enc.header):], body) {
						t.Errorf("the encoder wrote\n%x\nhamba writes\n%x", got[len(enc.header):], body)
					}
					// The same event as an *Event, its data a map, slots in
					// the schema's order, and slots in another order (which
					// the encoder leaves to hamba, given their map).
					dataNode := enc.native.fields[slices.IndexFunc(enc.native.fields, func(f vfield) bool { return f.name == "data" })].node
					var names []string
					for _, f := range dataNode.fields {
						names = append(names, f.name)
					}
					slots := func(names []string) *Record {
						fs, err := NewFields(names...)
						if err != nil {
							t.Fatal(err)
						}
						r := fs.New()
						for i, n := range names {
							r.Values[i] = structs[n]
						}
						return r
					}
					for _, tc := range []struct {
						name   string
						data   any
						native bool
					}{
						{"map", structs, true},
						{"slots", slots(names), true},
						{"slots out of order", slots(append(names[1:len(names):len(names)], names[0])), false},
					} {
						ev := &Event{Envelope: env, Data: tc.data}
						if _, ok := appendNative(nil, enc.native, ev); ok != tc.native {
							t.Fatalf("%s: the encoder writes the *Event itself: %v, want %v", tc.name, ok, tc.native)
						}
						gotEv, err := sd.AppendEncode(ctx, nil, sc.Subject(), ev)
						if err != nil {
							t.Fatalf("%s: AppendEncode of the *Event: %v", tc.name, err)
						}
						if !sameEncoding(t, tg, mapForm, gotEv[len(enc.header):], want[len(enc.header):]) {
							t.Errorf("%s: the *Event encodes to\n%x\nthe maps to\n%x", tc.name, gotEv, want)
						}
					}
				})
			}
		}
	}
}
