package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hamba/avro/v2"
)

// avroType is one node of a parsed Avro schema. Named types are shared: every
// reference to a record, enum or fixed points at the node that defines it,
// so a recursive record is a cycle.
type avroType struct {
	kind     string // "null", "boolean", ..., "record", "enum", "array", "map", "union", "fixed"
	name     string // unqualified name of a named type
	fullName string
	aliases  []string // full names

	fields []*avroField // record

	symbols     []string // enum
	enumDefault string
	hasEnumDef  bool

	items    *avroType   // array
	values   *avroType   // map
	branches []*avroType // union
	size     int         // fixed
}

type avroField struct {
	name       string
	aliases    []string
	typ        *avroType
	hasDefault bool
}

var primitiveKinds = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true,
	"float": true, "double": true, "bytes": true, "string": true,
}

// avroSource is one schema text to parse: a referenced schema or the schema
// being registered.
type avroSource struct {
	text string
}

// parseAvro validates an Avro schema, given first the schemas it references
// (dependencies before the schemas that use them), and returns its root.
// Validation follows the Avro specification strictly: names, namespaces,
// duplicate definitions, union branches, enum symbols, fixed sizes and
// default values of the declared type. The same sources are also parsed by
// hamba/avro, in a cache private to this call, so that what is accepted here
// can be encoded and decoded by sluice's serde.
func parseAvro(refs []avroSource, text string) (*avroType, error) {
	p := &avroParser{names: map[string]*avroType{}}
	cache := &avro.SchemaCache{}
	for i, r := range refs {
		if _, err := p.parseText(r.text); err != nil {
			return nil, fmt.Errorf("referenced schema %d: %w", i+1, err)
		}
		if _, err := avro.ParseWithCache(r.text, "", cache); err != nil {
			return nil, fmt.Errorf("referenced schema %d: %w", i+1, err)
		}
	}
	root, err := p.parseText(text)
	if err != nil {
		return nil, err
	}
	if _, err := avro.ParseWithCache(text, "", cache); err != nil {
		return nil, err
	}
	return root, nil
}

type avroParser struct {
	names map[string]*avroType
}

// decodeJSON decodes exactly one JSON value, keeping numbers as json.Number.
func decodeJSON(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("schema is not valid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("schema is not valid JSON: unexpected data after the schema")
	}
	return v, nil
}

func (p *avroParser) parseText(text string) (*avroType, error) {
	v, err := decodeJSON(text)
	if err != nil {
		return nil, err
	}
	return p.parse(v, "", "")
}

func at(path string) string {
	if path == "" {
		return "/"
	}
	return path
}

func (p *avroParser) parse(v any, ns, path string) (*avroType, error) {
	switch t := v.(type) {
	case string:
		return p.lookup(t, ns, path)
	case []any:
		return p.parseUnion(t, ns, path)
	case map[string]any:
		return p.parseObject(t, ns, path)
	default:
		return nil, fmt.Errorf("at %s: %s is not a schema: expected a type name, an object or a union array", at(path), jsonText(v))
	}
}

func (p *avroParser) lookup(name, ns, path string) (*avroType, error) {
	if primitiveKinds[name] {
		return &avroType{kind: name}, nil
	}
	if !strings.Contains(name, ".") && ns != "" {
		if t, ok := p.names[ns+"."+name]; ok {
			return t, nil
		}
	}
	if t, ok := p.names[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("at %s: %q is not a defined name: a type must be a primitive type, a named type defined before its use (here or in a referenced schema), or an object with \"type\"", at(path), name)
}

func (p *avroParser) parseUnion(branches []any, ns, path string) (*avroType, error) {
	u := &avroType{kind: "union"}
	seen := map[string]bool{}
	for i, b := range branches {
		bp := path + "/" + strconv.Itoa(i)
		t, err := p.parse(b, ns, bp)
		if err != nil {
			return nil, err
		}
		if t.kind == "union" {
			return nil, fmt.Errorf("at %s: a union may not immediately contain another union", at(bp))
		}
		key := t.kind
		if t.fullName != "" {
			key = t.fullName
		}
		if seen[key] {
			return nil, fmt.Errorf("at %s: duplicate %s in union", at(bp), key)
		}
		seen[key] = true
		u.branches = append(u.branches, t)
	}
	return u, nil
}

func (p *avroParser) parseObject(m map[string]any, ns, path string) (*avroType, error) {
	tv, ok := m["type"]
	if !ok {
		return nil, fmt.Errorf("at %s: schema object has no \"type\"", at(path))
	}
	typ, ok := tv.(string)
	if !ok {
		return nil, fmt.Errorf("at %s/type: the \"type\" of a schema object must be a type name, got %s", at(path), jsonText(tv))
	}
	switch typ {
	case "record", "error":
		return p.parseRecord(m, ns, path)
	case "enum":
		return p.parseEnum(m, ns, path)
	case "fixed":
		return p.parseFixed(m, ns, path)
	case "array":
		items, ok := m["items"]
		if !ok {
			return nil, fmt.Errorf("at %s: array has no \"items\"", at(path))
		}
		t, err := p.parse(items, ns, path+"/items")
		if err != nil {
			return nil, err
		}
		return &avroType{kind: "array", items: t}, nil
	case "map":
		values, ok := m["values"]
		if !ok {
			return nil, fmt.Errorf("at %s: map has no \"values\"", at(path))
		}
		t, err := p.parse(values, ns, path+"/values")
		if err != nil {
			return nil, err
		}
		return &avroType{kind: "map", values: t}, nil
	default:
		// A primitive with properties (such as a logical type), or a
		// reference to a named type written as an object.
		return p.lookup(typ, ns, path+"/type")
	}
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return true
}

func validFullName(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if !validName(part) {
			return false
		}
	}
	return true
}

// define reads the name of a named type, registers the type under its full
// name and returns the namespace its nested definitions inherit.
func (p *avroParser) define(t *avroType, m map[string]any, ns, path string) (string, error) {
	nv, ok := m["name"]
	if !ok {
		return "", fmt.Errorf("at %s: %s has no \"name\"", at(path), t.kind)
	}
	name, ok := nv.(string)
	if !ok {
		return "", fmt.Errorf("at %s/name: name must be a string, got %s", at(path), jsonText(nv))
	}
	space := ns
	if sv, ok := m["namespace"]; ok && sv != nil {
		s, ok := sv.(string)
		if !ok {
			return "", fmt.Errorf("at %s/namespace: namespace must be a string, got %s", at(path), jsonText(sv))
		}
		space = s
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		space, name = name[:i], name[i+1:]
	}
	if !validName(name) {
		return "", fmt.Errorf("at %s/name: invalid name %q: a name starts with [A-Za-z_] and continues with [A-Za-z0-9_]", at(path), name)
	}
	if space != "" && !validFullName(space) {
		return "", fmt.Errorf("at %s/namespace: invalid namespace %q", at(path), space)
	}
	full := name
	if space != "" {
		full = space + "." + name
	}
	if primitiveKinds[full] {
		return "", fmt.Errorf("at %s/name: a %s may not be named after the primitive type %q", at(path), t.kind, full)
	}
	if _, dup := p.names[full]; dup {
		return "", fmt.Errorf("at %s/name: %q is defined twice", at(path), full)
	}
	t.name, t.fullName = name, full
	aliases, err := parseAliases(m, space, path)
	if err != nil {
		return "", err
	}
	t.aliases = aliases
	p.names[full] = t
	return space, nil
}

func parseAliases(m map[string]any, space, path string) ([]string, error) {
	av, ok := m["aliases"]
	if !ok || av == nil {
		return nil, nil
	}
	list, ok := av.([]any)
	if !ok {
		return nil, fmt.Errorf("at %s/aliases: aliases must be an array of names, got %s", at(path), jsonText(av))
	}
	out := make([]string, 0, len(list))
	for i, a := range list {
		s, ok := a.(string)
		if !ok || !validFullName(s) {
			return nil, fmt.Errorf("at %s/aliases/%d: invalid alias %s", at(path), i, jsonText(a))
		}
		if !strings.Contains(s, ".") && space != "" {
			s = space + "." + s
		}
		out = append(out, s)
	}
	return out, nil
}

func (p *avroParser) parseRecord(m map[string]any, ns, path string) (*avroType, error) {
	t := &avroType{kind: "record"}
	space, err := p.define(t, m, ns, path)
	if err != nil {
		return nil, err
	}
	fv, ok := m["fields"]
	if !ok {
		return nil, fmt.Errorf("at %s: record %s has no \"fields\"", at(path), t.fullName)
	}
	list, ok := fv.([]any)
	if !ok {
		return nil, fmt.Errorf("at %s/fields: fields must be an array, got %s", at(path), jsonText(fv))
	}
	seen := map[string]bool{}
	for i, raw := range list {
		fp := path + "/fields/" + strconv.Itoa(i)
		fm, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("at %s: a field must be an object, got %s", fp, jsonText(raw))
		}
		nv, _ := fm["name"].(string)
		if !validName(nv) {
			return nil, fmt.Errorf("at %s/name: invalid field name %s", fp, jsonText(fm["name"]))
		}
		if seen[nv] {
			return nil, fmt.Errorf("at %s/name: duplicate field %q in record %s", fp, nv, t.fullName)
		}
		seen[nv] = true
		tv, ok := fm["type"]
		if !ok {
			return nil, fmt.Errorf("at %s: field %q has no \"type\"", fp, nv)
		}
		ft, err := p.parse(tv, space, fp+"/type")
		if err != nil {
			return nil, err
		}
		f := &avroField{name: nv, typ: ft}
		if ov, ok := fm["order"]; ok {
			if o, _ := ov.(string); o != "ascending" && o != "descending" && o != "ignore" {
				return nil, fmt.Errorf("at %s/order: order must be \"ascending\", \"descending\" or \"ignore\", got %s", fp, jsonText(ov))
			}
		}
		if av, ok := fm["aliases"]; ok && av != nil {
			list, ok := av.([]any)
			if !ok {
				return nil, fmt.Errorf("at %s/aliases: aliases must be an array of names, got %s", fp, jsonText(av))
			}
			for j, a := range list {
				s, ok := a.(string)
				if !ok || !validName(s) {
					return nil, fmt.Errorf("at %s/aliases/%d: invalid field alias %s", fp, j, jsonText(a))
				}
				f.aliases = append(f.aliases, s)
			}
		}
		if dv, ok := fm["default"]; ok {
			if err := checkDefault(ft, dv); err != nil {
				return nil, fmt.Errorf("at %s/default: invalid default for field %q: %w", fp, nv, err)
			}
			f.hasDefault = true
		}
		t.fields = append(t.fields, f)
	}
	return t, nil
}

func (p *avroParser) parseEnum(m map[string]any, ns, path string) (*avroType, error) {
	t := &avroType{kind: "enum"}
	if _, err := p.define(t, m, ns, path); err != nil {
		return nil, err
	}
	sv, ok := m["symbols"].([]any)
	if !ok {
		return nil, fmt.Errorf("at %s: enum %s needs \"symbols\", an array of names", at(path), t.fullName)
	}
	seen := map[string]bool{}
	for i, s := range sv {
		sym, ok := s.(string)
		if !ok || !validName(sym) {
			return nil, fmt.Errorf("at %s/symbols/%d: invalid enum symbol %s", at(path), i, jsonText(s))
		}
		if seen[sym] {
			return nil, fmt.Errorf("at %s/symbols/%d: duplicate enum symbol %q", at(path), i, sym)
		}
		seen[sym] = true
		t.symbols = append(t.symbols, sym)
	}
	if dv, ok := m["default"]; ok {
		d, ok := dv.(string)
		if !ok || !seen[d] {
			return nil, fmt.Errorf("at %s/default: the enum default %s is not one of the symbols of %s", at(path), jsonText(dv), t.fullName)
		}
		t.enumDefault, t.hasEnumDef = d, true
	}
	return t, nil
}

func (p *avroParser) parseFixed(m map[string]any, ns, path string) (*avroType, error) {
	t := &avroType{kind: "fixed"}
	if _, err := p.define(t, m, ns, path); err != nil {
		return nil, err
	}
	n, ok := m["size"].(json.Number)
	if !ok {
		return nil, fmt.Errorf("at %s: fixed %s needs an integer \"size\"", at(path), t.fullName)
	}
	size, err := strconv.ParseInt(n.String(), 10, 32)
	if err != nil || size < 0 {
		return nil, fmt.Errorf("at %s/size: invalid fixed size %s", at(path), n)
	}
	t.size = int(size)
	return t, nil
}

// checkDefault reports whether v is a valid default value of type t, with
// the rules of the Avro specification (a union's default is of its first
// branch) and Avro's reference implementation (an int default must be an
// integer that fits in 32 bits, a long one in 64).
func checkDefault(t *avroType, v any) error {
	bad := func() error {
		return fmt.Errorf("%s is not a valid %s", jsonText(v), typeLabel(t))
	}
	switch t.kind {
	case "null":
		if v != nil {
			return bad()
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad()
		}
	case "int", "long":
		n, ok := v.(json.Number)
		if !ok {
			return bad()
		}
		bits := 32
		if t.kind == "long" {
			bits = 64
		}
		if _, err := strconv.ParseInt(n.String(), 10, bits); err != nil {
			return bad()
		}
	case "float", "double":
		n, ok := v.(json.Number)
		if !ok {
			return bad()
		}
		f, err := n.Float64()
		if err != nil || (t.kind == "float" && math.Abs(f) > math.MaxFloat32) {
			return bad()
		}
	case "string":
		if _, ok := v.(string); !ok {
			return bad()
		}
	case "bytes", "fixed":
		s, ok := v.(string)
		if !ok {
			return bad()
		}
		for _, r := range s {
			if r > 255 {
				return fmt.Errorf("%s is not a valid %s: bytes defaults map code points 0-255 to bytes", jsonText(v), typeLabel(t))
			}
		}
	case "enum":
		s, ok := v.(string)
		if !ok {
			return bad()
		}
		for _, sym := range t.symbols {
			if sym == s {
				return nil
			}
		}
		return fmt.Errorf("%s is not a symbol of enum %s", jsonText(v), t.fullName)
	case "array":
		list, ok := v.([]any)
		if !ok {
			return bad()
		}
		for i, e := range list {
			if err := checkDefault(t.items, e); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		for k, e := range m {
			if err := checkDefault(t.values, e); err != nil {
				return fmt.Errorf("value %q: %w", k, err)
			}
		}
	case "union":
		if len(t.branches) == 0 {
			return errors.New("an empty union has no valid default")
		}
		if err := checkDefault(t.branches[0], v); err != nil {
			return fmt.Errorf("%w (the default of a union is of its first branch, %s)", err, typeLabel(t.branches[0]))
		}
	case "record":
		m, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		for _, f := range t.fields {
			fv, ok := m[f.name]
			if !ok {
				if f.hasDefault {
					continue
				}
				return fmt.Errorf("field %q of %s is missing from the default and has no default of its own", f.name, t.fullName)
			}
			if err := checkDefault(f.typ, fv); err != nil {
				return fmt.Errorf("field %q: %w", f.name, err)
			}
		}
	}
	return nil
}

func typeLabel(t *avroType) string {
	if t.fullName != "" {
		return t.kind + " " + t.fullName
	}
	return t.kind
}

func jsonText(v any) string {
	var b bytes.Buffer
	writeValue(&b, v)
	s := b.String()
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// canonicalSchema returns the canonical text of a schema: no insignificant
// whitespace, the attributes of each schema object in a fixed order (the
// order Avro's reference implementation writes them), other properties and
// the keys of default values sorted, and a schema object that holds nothing
// but "type" written as that type. The text means exactly what the input
// means; two texts that differ only in layout get the same canonical text,
// which is what makes registering the same schema twice return one id.
// A text that is not JSON is returned unchanged.
func canonicalSchema(text string) string {
	v, err := decodeJSON(text)
	if err != nil {
		return text
	}
	var b bytes.Buffer
	writeSchema(&b, v)
	return b.String()
}

var (
	recordOrder = []string{"type", "name", "namespace", "doc", "fields", "aliases"}
	enumOrder   = []string{"type", "name", "namespace", "doc", "symbols", "default", "aliases"}
	fixedOrder  = []string{"type", "name", "namespace", "doc", "size", "aliases"}
	arrayOrder  = []string{"type", "items"}
	mapOrder    = []string{"type", "values"}
	otherOrder  = []string{"type"}
	fieldOrder  = []string{"name", "type", "doc", "default", "order", "aliases"}
)

func writeSchema(b *bytes.Buffer, v any) {
	switch t := v.(type) {
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeSchema(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		if inner, ok := t["type"]; ok && len(t) == 1 {
			writeSchema(b, inner)
			return
		}
		order := otherOrder
		switch t["type"] {
		case "record", "error":
			order = recordOrder
		case "enum":
			order = enumOrder
		case "fixed":
			order = fixedOrder
		case "array":
			order = arrayOrder
		case "map":
			order = mapOrder
		}
		writeObject(b, t, order, func(key string, val any) {
			switch key {
			case "type", "items", "values":
				writeSchema(b, val)
			case "fields":
				list, ok := val.([]any)
				if !ok {
					writeValue(b, val)
					return
				}
				b.WriteByte('[')
				for i, f := range list {
					if i > 0 {
						b.WriteByte(',')
					}
					fm, ok := f.(map[string]any)
					if !ok {
						writeValue(b, f)
						continue
					}
					writeObject(b, fm, fieldOrder, func(key string, val any) {
						if key == "type" {
							writeSchema(b, val)
							return
						}
						writeValue(b, val)
					})
				}
				b.WriteByte(']')
			default:
				writeValue(b, val)
			}
		})
	default:
		writeValue(b, v)
	}
}

func writeObject(b *bytes.Buffer, m map[string]any, order []string, writeVal func(string, any)) {
	b.WriteByte('{')
	n := 0
	key := func(k string) {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		writeString(b, k)
		b.WriteByte(':')
	}
	known := map[string]bool{}
	for _, k := range order {
		known[k] = true
		if v, ok := m[k]; ok {
			key(k)
			writeVal(k, v)
		}
	}
	rest := make([]string, 0, len(m))
	for k := range m {
		if !known[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		key(k)
		writeValue(b, m[k])
	}
	b.WriteByte('}')
}

// writeValue writes any JSON value compactly with sorted object keys.
func writeValue(b *bytes.Buffer, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case json.Number:
		b.WriteString(t.String())
	case string:
		writeString(b, t)
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		writeObject(b, t, nil, func(string, any) {})
	default:
		fmt.Fprintf(b, "%v", t)
	}
}

func writeString(b *bytes.Buffer, s string) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode ends with a newline
}
