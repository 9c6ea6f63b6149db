package avro

import (
	"fmt"
	"math/big"
	mathrand "math/rand"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	havro "github.com/hamba/avro/v2"
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
// encodes.
type gen struct{ r *rand.Rand }

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
	const letters = "abcdefghijklmnopqrstuvwxyzÄé€ 0123456789"
	rs := []rune(letters)
	out := make([]rune, g.r.IntN(12))
	for i := range out {
		out[i] = rs[g.r.IntN(len(rs))]
	}
	return string(out)
}

// r2 is a math/rand generator for big.Int.Rand, seeded from g.
func (g gen) r2() *mathrand.Rand { return mathrand.New(mathrand.NewSource(g.r.Int64())) }

// decodeBoth decodes body as a record of schema with the native decoder
// and, when that reads it, with hamba. (A body the native decoder refuses
// goes to hamba in the Serde; some make hamba allocate without bound,
// such as an array of nulls with a count of billions.)
func decodeBoth(t testing.TB, api havro.API, schema havro.Schema, n *vnode, body []byte) (hamba map[string]any, herr error, native map[string]any, ok bool) {
	t.Helper()
	native, ok = decodeRecord(body, n, nil)
	if ok {
		herr = api.Unmarshal(schema, body, &hamba)
	}
	return hamba, herr, native, ok
}

// The native decoder gives exactly hamba's value for random values of
// every kind, and of every contract sluice ships.
func TestNativeDecodeMatchesHamba(t *testing.T) {
	t.Parallel()
	schemas := map[string]havro.Schema{}
	sink, err := havro.ParseWithCache(kitchenSink, "", &havro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	schemas["KitchenSink"] = sink
	for _, sc := range loadSchemas(t).All() {
		if sc.parsed.Type() == havro.Record {
			schemas[sc.Name] = sc.parsed
		}
	}
	if len(schemas) < 10 {
		t.Fatalf("only %d record schemas", len(schemas))
	}
	api := newAPI()
	for name, schema := range schemas {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n, err := compileNode(schema, map[string]*vnode{})
			if err != nil {
				t.Fatal(err)
			}
			if !decodable(n, map[*vnode]bool{}) {
				t.Fatalf("%s is not decodable natively", name)
			}
			g := gen{r: rand.New(rand.NewPCG(uint64(len(name)), 7))}
			for i := range 300 {
				v := g.value(n, 0)
				body, err := api.Marshal(schema, v)
				if err != nil {
					t.Fatalf("value %d: hamba cannot encode the generated value: %v\n%#v", i, err, v)
				}
				hamba, herr, native, ok := decodeBoth(t, api, schema, n, body)
				if !ok || herr != nil {
					t.Fatalf("value %d: native ok: %v, hamba: %v", i, ok, herr)
				}
				if !reflect.DeepEqual(native, hamba) {
					t.Fatalf("value %d:\nnative %#v\nhamba  %#v", i, native, hamba)
				}
			}
		})
	}
}

// A body the native decoder cannot read (truncated, a bad union index, a
// hostile length, a bool that is neither 0 nor 1) is refused, for hamba to
// explain; a record with bytes after it reads as hamba reads it.
func TestNativeDecodeRefusesMalformed(t *testing.T) {
	t.Parallel()
	schema := havro.MustParse(`{"type": "record", "name": "R", "fields": [
	  {"name": "s", "type": "string"}, {"name": "o", "type": ["null", "boolean"]},
	  {"name": "a", "type": {"type": "array", "items": "null"}}]}`)
	n, err := compileNode(schema, map[string]*vnode{})
	if err != nil {
		t.Fatal(err)
	}
	api := newAPI()
	for _, tc := range []struct {
		name string
		body []byte
		ok   bool
	}{
		{"valid", []byte{2, 'x', 2, 1, 0}, true},
		{"trailing bytes", []byte{2, 'x', 0, 0, 9, 9}, true},
		{"truncated string", []byte{10, 'x'}, false},
		{"negative length", []byte{1, 'x'}, false},
		{"union index out of range", []byte{0, 4, 0}, false},
		{"bool of 2", []byte{0, 2, 2, 0}, false},
		{"empty body", nil, false},
		{"count beyond the body", []byte{0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f}, false},
		{"int of six bytes", []byte{0, 0x82, 0x80, 0x80, 0x80, 0x80, 0x00, 0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, herr, native, ok := decodeBoth(t, api, schema, n, tc.body)
			if ok != tc.ok {
				t.Fatalf("native ok = %v, want %v (%#v)", ok, tc.ok, native)
			}
			if ok && herr != nil {
				t.Fatalf("native read what hamba refuses: %v", herr)
			}
		})
	}
}

// FuzzNativeDecode: whatever the native decoder reads, hamba reads too,
// to the same value.
func FuzzNativeDecode(f *testing.F) {
	schema, err := havro.ParseWithCache(kitchenSink, "", &havro.SchemaCache{})
	if err != nil {
		f.Fatal(err)
	}
	n, err := compileNode(schema, map[string]*vnode{})
	if err != nil {
		f.Fatal(err)
	}
	api := newAPI()
	g := gen{r: rand.New(rand.NewPCG(1, 2))}
	for range 8 {
		body, err := api.Marshal(schema, g.value(n, 0))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		hamba, herr, native, ok := decodeBoth(t, api, schema, n, body)
		if !ok {
			return
		}
		if herr != nil {
			t.Fatalf("native read what hamba refuses (%v):\n%#v", herr, native)
		}
		if !reflect.DeepEqual(native, hamba) {
			t.Fatalf("native %#v\nhamba  %#v", native, hamba)
		}
	})
}
