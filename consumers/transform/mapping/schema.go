package mapping

import (
	"encoding/json"
	"fmt"
	"strings"
)

// kind is the kind of an Avro type, with the logical types the mapping
// treats on their own.
type kind uint8

const (
	kNull kind = iota
	kBool
	kInt
	kLong
	kFloat
	kDouble
	kString
	kBytes
	kFixed
	kEnum
	kRecord
	kArray
	kMap
	kUnion
	kTimestamp // timestamp-millis or -micros: time.Time
	kDate      // date: time.Time
	kDecimal   // decimal bytes or fixed: *big.Rat
	kAny       // a union of several non-null branches, read as it comes
)

func (k kind) String() string {
	switch k {
	case kNull:
		return "null"
	case kBool:
		return "boolean"
	case kInt:
		return "int"
	case kLong:
		return "long"
	case kFloat:
		return "float"
	case kDouble:
		return "double"
	case kString:
		return "string"
	case kBytes:
		return "bytes"
	case kFixed:
		return "fixed"
	case kEnum:
		return "enum"
	case kRecord:
		return "record"
	case kArray:
		return "array"
	case kMap:
		return "map"
	case kUnion:
		return "union"
	case kTimestamp:
		return "timestamp"
	case kDate:
		return "date"
	case kDecimal:
		return "decimal"
	case kAny:
		return "a union of several types"
	}
	return "unknown"
}

// atype is an Avro type read from a schema's JSON text: just what the
// mapping needs to check paths and build values.
type atype struct {
	kind    kind
	name    string // full name of a named type
	fields  []*afield
	byName  map[string]*afield
	items   *atype // array
	values  *atype // map
	arms    []*atype
	symbols []string
	micros  bool // timestamp-micros
}

// afield is a field of a record.
type afield struct {
	name   string
	typ    *atype
	def    any // the JSON default, decoded
	hasDef bool
}

// branchName is the key hamba's partial union resolution gives a union
// value of type t: the full name of a named type, "array" or "map". It is
// "" for types whose union values are bare.
func (t *atype) branchName() string {
	switch t.kind {
	case kRecord, kEnum, kFixed:
		return t.name
	case kArray:
		return "array"
	case kMap:
		return "map"
	}
	return ""
}

// nonNull returns the non-null arms of a union, or t itself.
func (t *atype) nonNull() []*atype {
	if t.kind != kUnion {
		return []*atype{t}
	}
	var out []*atype
	for _, a := range t.arms {
		if a.kind != kNull {
			out = append(out, a)
		}
	}
	return out
}

// nullable reports whether t is a union with a null arm.
func (t *atype) nullable() bool {
	if t.kind != kUnion {
		return t.kind == kNull
	}
	for _, a := range t.arms {
		if a.kind == kNull {
			return true
		}
	}
	return false
}

// describe names t for error messages.
func (t *atype) describe() string {
	switch t.kind {
	case kRecord, kEnum, kFixed:
		return t.kind.String() + " " + t.name
	case kArray:
		return "array of " + t.items.describe()
	case kMap:
		return "map of " + t.values.describe()
	case kUnion:
		parts := make([]string, len(t.arms))
		for i, a := range t.arms {
			parts[i] = a.describe()
		}
		return "union [" + strings.Join(parts, ", ") + "]"
	}
	return t.kind.String()
}

// parseSchema reads a self-contained Avro schema text (as avro.Schema.Text
// gives it) into a type tree.
func parseSchema(text string) (*atype, error) {
	var doc any
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return nil, fmt.Errorf("schema text: %w", err)
	}
	p := &schemaParser{named: map[string]*atype{}}
	return p.typ(doc, "")
}

type schemaParser struct {
	named map[string]*atype
}

func fullName(name, ns string) string {
	if strings.Contains(name, ".") || ns == "" {
		return name
	}
	return ns + "." + name
}

func (p *schemaParser) typ(v any, ns string) (*atype, error) {
	switch x := v.(type) {
	case string:
		switch x {
		case "null":
			return &atype{kind: kNull}, nil
		case "boolean":
			return &atype{kind: kBool}, nil
		case "int":
			return &atype{kind: kInt}, nil
		case "long":
			return &atype{kind: kLong}, nil
		case "float":
			return &atype{kind: kFloat}, nil
		case "double":
			return &atype{kind: kDouble}, nil
		case "string":
			return &atype{kind: kString}, nil
		case "bytes":
			return &atype{kind: kBytes}, nil
		}
		if t, ok := p.named[fullName(x, ns)]; ok {
			return t, nil
		}
		if t, ok := p.named[x]; ok {
			return t, nil
		}
		return nil, fmt.Errorf("unknown type %q", x)
	case []any:
		u := &atype{kind: kUnion}
		for _, a := range x {
			t, err := p.typ(a, ns)
			if err != nil {
				return nil, err
			}
			u.arms = append(u.arms, t)
		}
		return u, nil
	case map[string]any:
		return p.complex(x, ns)
	}
	return nil, fmt.Errorf("unexpected schema node %T", v)
}

func (p *schemaParser) complex(m map[string]any, ns string) (*atype, error) {
	typ, _ := m["type"].(string)
	logical, _ := m["logicalType"].(string)
	switch typ {
	case "record", "error", "enum", "fixed":
		name, _ := m["name"].(string)
		if n, ok := m["namespace"].(string); ok && !strings.Contains(name, ".") {
			ns = n
		}
		full := fullName(name, ns)
		if i := strings.LastIndexByte(full, '.'); i >= 0 {
			ns = full[:i]
		}
		t := &atype{name: full}
		p.named[full] = t
		switch typ {
		case "enum":
			t.kind = kEnum
			syms, _ := m["symbols"].([]any)
			for _, s := range syms {
				str, _ := s.(string)
				t.symbols = append(t.symbols, str)
			}
		case "fixed":
			t.kind = kFixed
			if logical == "decimal" {
				t.kind = kDecimal
			}
		default:
			t.kind = kRecord
			t.byName = map[string]*afield{}
			fields, _ := m["fields"].([]any)
			for _, f := range fields {
				fm, ok := f.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("record %s: a field is not an object", full)
				}
				fname, _ := fm["name"].(string)
				ft, err := p.typ(fm["type"], ns)
				if err != nil {
					return nil, fmt.Errorf("record %s, field %s: %w", full, fname, err)
				}
				def, has := fm["default"]
				af := &afield{name: fname, typ: ft, def: def, hasDef: has}
				t.fields = append(t.fields, af)
				t.byName[fname] = af
			}
		}
		return t, nil
	case "array":
		items, err := p.typ(m["items"], ns)
		if err != nil {
			return nil, err
		}
		return &atype{kind: kArray, items: items}, nil
	case "map":
		values, err := p.typ(m["values"], ns)
		if err != nil {
			return nil, err
		}
		return &atype{kind: kMap, values: values}, nil
	}
	base, err := p.typ(typ, ns)
	if err != nil {
		return nil, err
	}
	switch {
	case logical == "timestamp-millis" && base.kind == kLong:
		return &atype{kind: kTimestamp}, nil
	case logical == "timestamp-micros" && base.kind == kLong:
		return &atype{kind: kTimestamp, micros: true}, nil
	case (logical == "local-timestamp-millis" || logical == "local-timestamp-micros") && base.kind == kLong:
		return &atype{kind: kTimestamp, micros: logical == "local-timestamp-micros"}, nil
	case (logical == "time-millis" || logical == "time-micros") && (base.kind == kInt || base.kind == kLong):
		return &atype{kind: kAny}, nil // a time.Duration
	case logical == "date" && base.kind == kInt:
		return &atype{kind: kDate}, nil
	case logical == "decimal" && base.kind == kBytes:
		return &atype{kind: kDecimal}, nil
	}
	// Other logical types (uuid, local timestamps, times) are read as
	// their base type.
	return base, nil
}
