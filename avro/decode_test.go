package avro

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	mathrand "math/rand"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	havro "github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/testkit"
)

// kitchenSink has a field of every kind the native decoder reads, and
// unions of each branch form.
const kitchenSink = `{
  "type": "record", "name": "KitchenSink", "namespace": "sluice.test",
  "fields": [
    {"name": "n", "type": "null"},
    {"name": "b", "type": "boolean"},
    {"name": "i", "type": "int"},
    {"name": "l", "type": "long"},
    {"name": "f", "type": "float"},
    {"name": "d", "type": "double"},
    {"name": "s", "type": "string"},
    {"name": "raw", "type": "bytes"},
    {"name": "u", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "e", "type": {"type": "enum", "name": "Colour", "symbols": ["RED", "GREEN", "BLUE"]}},
    {"name": "fx", "type": {"type": "fixed", "name": "Four", "size": 4}},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "tsu", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "lts", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
    {"name": "ltsu", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "tm", "type": {"type": "int", "logicalType": "time-millis"}},
    {"name": "tmu", "type": {"type": "long", "logicalType": "time-micros"}},
    {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 3}},
    {"name": "fdec", "type": {"type": "fixed", "name": "Money", "size": 8, "logicalType": "decimal", "precision": 15, "scale": 2}},
    {"name": "arr", "type": {"type": "array", "items": "string"}},
    {"name": "nested", "type": {"type": "array", "items": {"type": "map", "values": "long"}}},
    {"name": "m", "type": {"type": "map", "values": ["null", "double"]}},
    {"name": "rec", "type": {"type": "record", "name": "Inner", "fields": [
      {"name": "x", "type": "int"}, {"name": "tags", "type": {"type": "array", "items": "string"}}]}},
    {"name": "optString", "type": ["null", "string"]},
    {"name": "optRecord", "type": ["null", "Inner"]},
    {"name": "optArray", "type": ["null", {"type": "array", "items": "int"}]},
    {"name": "optMap", "type": ["null", {"type": "map", "values": "string"}]},
    {"name": "optEnum", "type": ["null", "Colour"]},
    {"name": "optFixed", "type": ["null", "Four"]},
    {"name": "optDec", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}]},
    {"name": "optTime", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
    {"name": "optDate", "type": ["null", {"type": "int", "logicalType": "date"}]},
    {"name": "multi", "type": ["null", "int", "string", "boolean", "double", "Inner", "Colour"]}
  ]
}`

// gen makes random native values of compiled schemas, in the forms hamba
// encodes. With escapes, strings also hold what JSON escapes.
type gen struct {
	r       *rand.Rand
	escapes bool
}

func (g gen) value(n *vnode, depth int) any {
	switch n.kind {
	case vNull:
		return nil
	case vBool:
		return g.r.IntN(2) == 1
	case vInt:
		return int(int32(g.r.Uint32()))
	case vLong:
		return int64(g.r.Uint64()) >> g.r.IntN(64)
	case vFloat:
		return float32(g.r.NormFloat64() * 1e3)
	case vDouble:
		return g.r.NormFloat64() * 1e6
	case vString:
		return g.text()
	case vUUID:
		return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<12), g.r.IntN(1<<12), g.r.Int64N(1<<48))
	case vBytes:
		return []byte(g.text())
	case vEnum:
		return n.symbolList[g.r.IntN(len(n.symbolList))]
	case vFixed:
		arr := reflect.New(n.fixedT).Elem()
		for i := range n.size {
			arr.Index(i).SetUint(uint64(g.r.IntN(256)))
		}
		return arr.Interface()
	case vArray:
		out := []any{}
		if depth < 4 {
			for range g.r.IntN(4) {
				out = append(out, g.value(n.items, depth+1))
			}
		}
		return out
	case vMap:
		out := map[string]any{}
		if depth < 4 {
			for range g.r.IntN(4) {
				out[g.text()] = g.value(n.items, depth+1)
			}
		}
		return out
	case vRecord:
		out := make(map[string]any, len(n.fields))
		for _, f := range n.fields {
			out[f.name] = g.value(f.node, depth+1)
		}
		return out
	case vUnion:
		a := n.arms[g.r.IntN(len(n.arms))]
		if a.node.kind == vNull || (depth >= 4 && n.nullArm >= 0) {
			return nil
		}
		v := g.value(a.node, depth+1)
		if a.wrap != "" {
			return map[string]any{a.wrap: v}
		}
		return v
	case vTimestampMillis:
		return time.UnixMilli(g.r.Int64N(4e12) - 1e12).UTC()
	case vTimestampMicros:
		return time.UnixMicro(g.r.Int64N(4e15) - 1e15).UTC()
	case vLocalTimestampMillis:
		return time.UnixMilli(g.r.Int64N(4e12) - 1e12)
	case vLocalTimestampMicros:
		return time.UnixMicro(g.r.Int64N(4e15) - 1e15)
	case vDate:
		return time.Unix((g.r.Int64N(40000)-10000)*86400, 0).UTC()
	case vTimeMillis:
		return time.Duration(g.r.Int64N(86400000)) * time.Millisecond
	case vTimeMicros:
		return time.Duration(g.r.Int64N(86400000000)) * time.Microsecond
	case vDecimal, vFixedDecimal:
		limit := new(big.Int).Sub(n.pow10Prec, big.NewInt(1))
		num := new(big.Int).Rand(g.r2(), limit)
		if g.r.IntN(2) == 1 {
			num.Neg(num)
		}
		return new(big.Rat).SetFrac(num, n.pow10Scale)
	}
	panic(fmt.Sprintf("gen: kind %d", n.kind))
}

func (g gen) text() string {
	letters := "abcdefghijklmnopqrstuvwxyzÄé€ 0123456789"
	if g.escapes {
		letters += "\"\\<>&\b\f\n\r\t\x00\x1f\x7f\u2028\u2029\U0001F600"
	}
	rs := []rune(letters)
	out := make([]rune, g.r.IntN(12))
	for i := range out {
		out[i] = rs[g.r.IntN(len(rs))]
	}
	if g.escapes && g.r.IntN(8) == 0 {
		return string(out) + "\xff" // invalid UTF-8
	}
	return string(out)
}

// r2 is a math/rand generator for big.Int.Rand, seeded from g.
func (g gen) r2() *mathrand.Rand { return mathrand.New(mathrand.NewSource(g.r.Int64())) }

// decodeBoth decodes body as a record of schema with the native decoder
// and with hamba as the Serde reads it (readBody; newAPI bounds arrays, so
// a hostile count is an error there too).
func decodeBoth(t testing.TB, api havro.API, schema havro.Schema, n *vnode, body []byte) (hamba map[string]any, herr error, native map[string]any, nerr error) {
	t.Helper()
	native, nerr = decodeRecord(body, n, nil)
	herr = readBody(havro.NewReader(nil, 0, havro.WithReaderConfig(api)), schema, body, &hamba)
	return hamba, herr, native, nerr
}

// slotsShaped reports whether every record in v, a value of node n, is
// a *Record of its node's fields.
func slotsShaped(v any, n *vnode) bool {
	if v == nil {
		return true
	}
	switch n.kind {
	case vRecord:
		r, ok := v.(*Record)
		if !ok || r.Fields != n.slots || len(r.Values) != len(n.fields) {
			return false
		}
		for i, f := range n.fields {
			if !slotsShaped(r.Values[i], f.node) {
				return false
			}
		}
	case vArray:
		for _, e := range v.([]any) {
			if !slotsShaped(e, n.items) {
				return false
			}
		}
	case vMap:
		for _, e := range v.(map[string]any) {
			if !slotsShaped(e, n.items) {
				return false
			}
		}
	case vUnion:
		// A named branch is wrapped, {name: value}; the bare ones are
		// never records, arrays or maps.
		if w, ok := v.(map[string]any); ok && len(w) == 1 {
			for _, a := range n.arms {
				if inner, ok := w[a.wrap]; ok && a.wrap != "" {
					return slotsShaped(inner, a.node)
				}
			}
		}
	}
	return true
}

// checkSlots fails unless decodeSlots reads body as native (decoded with
// decodeRecord), its records Records.
func checkSlots(t testing.TB, n *vnode, body []byte, native map[string]any) {
	t.Helper()
	rec, err := decodeSlots(body, n)
	if err != nil {
		t.Fatalf("slots: %v", err)
	}
	if !slotsShaped(rec, n) {
		t.Fatalf("slots: a record is not a Record of its fields: %#v", rec)
	}
	if got := rec.Map(); !exact(got, native) {
		t.Fatalf("slots %#v\nwant  %#v", got, native)
	}
}

// exact reports whether native values a and b are the same, as
// reflect.DeepEqual says, except that floats compare by their bits (a NaN
// is itself).
func exact(a, b any) bool {
	return reflect.DeepEqual(floatBits(a), floatBits(b))
}

// floatBits is v with every float replaced by its bits.
func floatBits(v any) any {
	switch x := v.(type) {
	case float32:
		return [1]uint32{math.Float32bits(x)}
	case float64:
		return [1]uint64{math.Float64bits(x)}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = floatBits(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = floatBits(e)
		}
		return out
	}
	return v
}

// compiled parses and compiles a record schema for the native decoder.
func compiled(t testing.TB, schema string) (havro.Schema, *vnode) {
	t.Helper()
	parsed, err := havro.ParseWithCache(schema, "", &havro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := compileNode(parsed, map[string]*vnode{})
	if err != nil {
		t.Fatal(err)
	}
	if !prepareDecode(n) {
		t.Fatalf("%s is not decodable natively", recordName(parsed))
	}
	return parsed, n
}

// The native decoder gives exactly hamba's value for random values of
// every kind, of every contract sluice ships and of every schema
// registered under testdata/registered.
func TestNativeDecodeMatchesHamba(t *testing.T) {
	t.Parallel()
	schemas := map[string]string{"KitchenSink": kitchenSink, "Node": nodeSchema}
	for _, sc := range loadSchemas(t).All() {
		if sc.parsed.Type() == havro.Record {
			schemas[sc.Name] = sc.parsed.String()
		}
	}
	registered, err := filepath.Glob("testdata/registered/*.avsc")
	if err != nil || len(registered) == 0 {
		t.Fatalf("no registered schemas: %v", err)
	}
	for _, file := range registered {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		schemas["registered/"+filepath.Base(file)] = string(b)
	}
	if len(schemas) < 20 {
		t.Fatalf("only %d record schemas", len(schemas))
	}
	api := newAPI()
	for name, text := range schemas {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			schema, n := compiled(t, text)
			g := gen{r: rand.New(rand.NewPCG(uint64(len(name)), 7))}
			for i := range 300 {
				v := g.value(n, 0)
				body, err := api.Marshal(schema, v)
				if err != nil {
					t.Fatalf("value %d: hamba cannot encode the generated value: %v\n%#v", i, err, v)
				}
				hamba, herr, native, nerr := decodeBoth(t, api, schema, n, body)
				if nerr != nil || herr != nil {
					t.Fatalf("value %d: native: %v, hamba: %v", i, nerr, herr)
				}
				if !reflect.DeepEqual(native, hamba) {
					t.Fatalf("value %d:\nnative %#v\nhamba  %#v", i, native, hamba)
				}
				checkSlots(t, n, body, native)
			}
		})
	}
}

// The native decoder reads the canonical fixtures, their golden
// encodings and the encodings of the valid partner samples exactly as
// hamba reads them.
func TestNativeDecodeFixtures(t *testing.T) {
	t.Parallel()
	s := loadSchemas(t)
	api := newAPI()
	type body struct {
		name   string
		schema havro.Schema
		bytes  []byte
	}
	var bodies []body
	for _, f := range canonicalFixtures() {
		sc, _ := s.Lookup(f.record)
		enc, err := api.Marshal(sc.parsed, f.value)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, body{"fixture/" + f.record, sc.parsed, enc})
		gold, err := os.ReadFile(filepath.Join("testdata/golden", f.record+".hex"))
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, body{"golden/" + f.record, sc.parsed, unhex(t, string(gold))})
	}
	samples, err := filepath.Glob("testdata/validate/*/valid-*.golden")
	if err != nil || len(samples) == 0 {
		t.Fatalf("no valid samples: %v", err)
	}
	for _, file := range samples {
		gold, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		record := filepath.Base(filepath.Dir(file))
		hexText, ok := strings.CutPrefix(string(gold), "valid\n")
		if !ok {
			t.Fatalf("%s does not start with valid", file)
		}
		bodies = append(bodies, body{"sample/" + record + "/" + filepath.Base(file), dataSchema(t, s, record), unhex(t, hexText)})
	}
	for _, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			n, err := compileNode(b.schema, map[string]*vnode{})
			if err != nil || !prepareDecode(n) {
				t.Fatalf("not decodable natively (%v)", err)
			}
			hamba, herr, native, nerr := decodeBoth(t, api, b.schema, n, b.bytes)
			if nerr != nil || herr != nil {
				t.Fatalf("native: %v, hamba: %v", nerr, herr)
			}
			if len(native) == 0 || !reflect.DeepEqual(native, hamba) {
				t.Fatalf("\nnative %#v\nhamba  %#v", native, hamba)
			}
			checkSlots(t, n, b.bytes, native)
		})
	}
}

// unhex reads a hexDump.
func unhex(t testing.TB, text string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(text), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nodeSchema is a recursive record, and arrays of items that take no
// bytes.
const nodeSchema = `{"type": "record", "name": "Node", "fields": [
  {"name": "label", "type": "string"},
  {"name": "kids", "type": {"type": "array", "items": "Node"}},
  {"name": "nulls", "type": {"type": "array", "items": "null"}},
  {"name": "empties", "type": {"type": "array", "items": {"type": "record", "name": "Empty", "fields": [{"name": "n", "type": "null"}]}}}]}`

// nested is the body of a Node nested depth records deep: each holds one
// kid but the last.
func nested(depth int) []byte {
	var b []byte
	for range depth - 1 {
		b = append(b, 0, 2) // no label, one kid
	}
	b = append(b, 0, 0, 0, 0) // no label, no kids, nulls, empties
	for range depth - 1 {
		b = append(b, 0, 0, 0) // end of kids, no nulls, no empties
	}
	return b
}

// varint is the zig-zag varint of v.
func varint(v int64) []byte {
	return binary.AppendVarint(nil, v)
}

// A body the native decoder cannot read is an error that says where and
// why; a record with bytes after it reads as hamba reads it. Hamba (with
// newAPI's bounds) refuses the same bodies, but for the limits only the
// native decoder has.
func TestNativeDecodeRefusesMalformed(t *testing.T) {
	t.Parallel()
	flat, flatNode := compiled(t, `{"type": "record", "name": "R", "fields": [
	  {"name": "s", "type": "string"}, {"name": "o", "type": ["null", "boolean"]},
	  {"name": "a", "type": {"type": "array", "items": "long"}},
	  {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}}]}`)
	node, nodeNode := compiled(t, nodeSchema)
	mapped, mappedNode := compiled(t, `{"type": "record", "name": "M", "fields": [
	  {"name": "m", "type": {"type": "map", "values": {"type": "record", "name": "V", "fields": [{"name": "x", "type": "int"}]}}}]}`)
	api := newAPI()
	for _, tc := range []struct {
		name      string
		schema    havro.Schema
		n         *vnode
		body      []byte
		want      string // in the error; "" when the body reads
		hambaToo  bool   // whether hamba refuses it too
		hambaSame bool   // whether hamba reads it to the same value
	}{
		{name: "valid", schema: flat, n: flatNode, body: []byte{2, 'x', 2, 1, 2, 4, 0, 2}, hambaSame: true},
		{name: "negative block count", schema: flat, n: flatNode, body: []byte{0, 0, 3, 2, 2, 4, 0, 0}, hambaSame: true},
		{name: "trailing bytes", schema: flat, n: flatNode, body: []byte{2, 'x', 0, 0, 0, 9, 9}, hambaSame: true},
		{name: "six-byte int read as hamba reads it", schema: flat, n: flatNode, body: []byte{0, 0, 0, 0x82, 0x80, 0x80, 0x80, 0x70}, hambaSame: true},
		{name: "empty body", schema: flat, n: flatNode, want: "s: at byte 0: body ends early", hambaToo: true},
		{name: "truncated string", schema: flat, n: flatNode, body: []byte{10, 'x'}, want: "length 5 beyond the 1 bytes left", hambaToo: true},
		{name: "negative length", schema: flat, n: flatNode, body: []byte{1, 'x'}, want: "negative length -1", hambaToo: true},
		{name: "string beyond the limit", schema: flat, n: flatNode, body: varint(maxBytes + 1), want: "beyond the limit", hambaToo: true},
		{name: "union index out of range", schema: flat, n: flatNode, body: []byte{0, 4, 0}, want: "o: at byte 1: union has no branch 2", hambaToo: true},
		{name: "bool of 2", schema: flat, n: flatNode, body: []byte{0, 2, 2, 0}, want: "o: at byte 2: boolean byte 2", hambaToo: true},
		{name: "enum symbol out of range", schema: flat, n: flatNode, body: []byte{0, 0, 0, 4}, want: "e: at byte 3: enum E has no symbol 2", hambaToo: true},
		{name: "int varint too long", schema: flat, n: flatNode, body: []byte{0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0}, want: "malformed varint", hambaToo: true},
		{name: "long varint too long", schema: flat, n: flatNode, body: cat([]byte{0, 0}, bytes.Repeat([]byte{0x80}, 10), []byte{0}), want: "malformed varint", hambaToo: true},
		{name: "hostile count", schema: flat, n: flatNode, body: cat([]byte{0, 0}, varint(1<<40), []byte{2}), want: "a: at byte 2: 1099511627776 items in the 1 bytes left", hambaToo: true},
		{name: "hostile negative count", schema: flat, n: flatNode, body: cat([]byte{0, 0}, varint(-(1 << 40)), []byte{2, 2}), want: "items in the 1 bytes left", hambaToo: true},
		{name: "count of min int64", schema: flat, n: flatNode, body: cat([]byte{0, 0}, varint(math.MinInt64), []byte{2, 0, 0}), want: "block count", hambaToo: false},
		{name: "the path names no map key", schema: mapped, n: mappedNode, body: []byte{2, 2, 'k'}, want: "m[].x: at byte 3: body ends early", hambaToo: true},
		{name: "nulls that take no bytes", schema: node, n: nodeNode, body: cat([]byte{0, 0}, varint(1000), []byte{0, 0}), hambaSame: true},
		{name: "nulls beyond the limit", schema: node, n: nodeNode, body: cat([]byte{0, 0}, varint(maxEmptyItems+1), []byte{0, 0}), want: "nulls: at byte 2: 1048577 items that take no bytes", hambaToo: true},
		{name: "empty items beyond the limit in all", schema: node, n: nodeNode, body: cat([]byte{0, 0}, varint(maxEmptyItems/2+1), []byte{0}, varint(maxEmptyItems/2), []byte{0}), want: "empties: at byte", hambaToo: false},
		{name: "nesting at the limit", schema: node, n: nodeNode, body: nested(maxDepth / 2), hambaSame: true},
		{name: "nesting past the limit", schema: node, n: nodeNode, body: nested(maxDepth/2 + 1), want: "values nest deeper than 10000", hambaToo: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hamba, herr, native, nerr := decodeBoth(t, api, tc.schema, tc.n, tc.body)
			switch {
			case tc.want == "" && nerr != nil:
				t.Fatalf("native: %v", nerr)
			case tc.want != "" && (nerr == nil || !strings.Contains(nerr.Error(), tc.want)):
				t.Fatalf("native: %v, want an error with %q", nerr, tc.want)
			}
			if tc.hambaToo && herr == nil {
				t.Errorf("hamba reads it: %#v", hamba)
			}
			if tc.hambaSame && (herr != nil || !reflect.DeepEqual(native, hamba)) {
				t.Errorf("hamba: %v\nnative %#v\nhamba  %#v", herr, native, hamba)
			}
		})
	}
}

// FuzzNativeDecode: on any body, of a few schemas (chosen by the first
// byte), the native decoder and hamba (as the Serde reads with it) agree:
// both read it, to the same value, or both refuse it, but for what only
// the native decoder refuses (errLimit, errBlockCount).
func FuzzNativeDecode(f *testing.F) {
	orderEvent, ok := loadSchemas(f).Lookup(canonical.RecordOrderEvent)
	if !ok {
		f.Fatal("no OrderEvent")
	}
	texts := []string{kitchenSink, nodeSchema, orderEvent.parsed.String()}
	schemas := make([]havro.Schema, len(texts))
	nodes := make([]*vnode, len(texts))
	for i, text := range texts {
		schemas[i], nodes[i] = compiled(f, text)
	}
	api := newAPI()
	g := gen{r: rand.New(rand.NewPCG(1, 2))}
	for i := range schemas {
		for range 4 {
			body, err := api.Marshal(schemas[i], g.value(nodes[i], 0))
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
		i := int(in[0]) % len(schemas)
		hamba, herr, native, nerr := decodeBoth(t, api, schemas[i], nodes[i], in[1:])
		switch {
		case nerr == nil && herr != nil:
			t.Fatalf("native reads what hamba refuses (%v):\n%#v", herr, native)
		case nerr != nil && herr == nil && !errors.Is(nerr, errLimit) && !errors.Is(nerr, errBlockCount):
			t.Fatalf("native refuses what hamba reads (%v):\n%#v", nerr, hamba)
		case nerr == nil && !exact(native, hamba):
			t.Fatalf("native %#v\nhamba  %#v", native, hamba)
		case nerr == nil:
			checkSlots(t, nodes[i], in[1:], native)
		}
		if _, serr := decodeSlots(in[1:], nodes[i]); (serr == nil) != (nerr == nil) {
			t.Fatalf("slots: %v, native: %v", serr, nerr)
		}
	})
}

// listEvent is the Go form of the record evolution(t, listFields) makes.
type listEvent struct {
	Envelope canonical.Envelope `avro:"envelope"`
	Data     struct {
		XS []int64 `avro:"xs"`
	} `avro:"data"`
}

const listFields = `{"name":"xs","type":{"type":"array","items":"long"},"doc":"-"}`

// decodedNatively reports whether the Serde decodes the schema id of wire
// into a map with the native decoder.
func decodedNatively(t testing.TB, sd *Serde, wire []byte) bool {
	t.Helper()
	id, err := SchemaID(wire)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := sd.decodings.Load(id)
	if !ok {
		t.Fatalf("schema id %d not learnt", id)
	}
	return d.(*decoding).native != nil
}

// A hostile or truncated body is an ErrDecode through the Serde, into a
// map (the native decoder) and into a Go value (hamba): a block count of
// 2^40 in a few bytes, which hamba alone would try to allocate, and a
// body that ends inside a varint, which hamba's Unmarshal would take for
// a whole record.
func TestSerdeDecodeRefusesBadBodies(t *testing.T) {
	t.Parallel()
	s := evolution(t, listFields)
	reg := startRegistry(t)
	ctx := testkit.Context(t, time.Minute)
	sd := newSerde(t, reg, s)
	subject := Subject("sluice.in.evo", "sluice.source.evo.ThingEvent")
	env := fixtureEnvelope("thing.updated", "evo")
	good, err := sd.EncodeNative(ctx, subject, NativeEvent(env, map[string]any{"xs": []any{int64(5)}}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(good, []byte{2, 10, 0}) {
		t.Fatalf("the encoding does not end with the array [5]: % x", good)
	}
	head := good[:len(good)-3]
	for _, tc := range []struct {
		name  string
		value []byte
		want  error
	}{
		{"whole", good, nil},
		{"hostile count", cat(head, varint(1<<40), []byte{2}), ErrDecode},
		{"hostile count in the second block", cat(head, []byte{2, 10}, varint(1<<40), []byte{2}), ErrDecode},
		{"ends inside a varint", cat(head, []byte{2, 0x8a}), ErrDecode},
		{"ends before a block count", cat(head, []byte{2, 10}), ErrDecode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := sd.DecodeNative(ctx, tc.value)
			if !errors.Is(err, tc.want) {
				t.Errorf("DecodeNative: %v, want %v", err, tc.want)
			}
			if err == nil && !reflect.DeepEqual(m["data"], map[string]any{"xs": []any{int64(5)}}) {
				t.Errorf("DecodeNative data = %#v", m["data"])
			}
			var ev listEvent
			err = sd.Decode(ctx, tc.value, &ev)
			if !errors.Is(err, tc.want) {
				t.Errorf("Decode: %v, want %v", err, tc.want)
			}
			if err == nil && !reflect.DeepEqual(ev.Data.XS, []int64{5}) {
				t.Errorf("Decode data = %#v", ev.Data)
			}
		})
	}
	if !decodedNatively(t, sd, good) {
		t.Errorf("the writer's own schema is not decoded natively")
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
