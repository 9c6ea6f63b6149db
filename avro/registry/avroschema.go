package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
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

// canonicalSchema returns the canonical text of a schema: the text Avro's
// Java library writes for it with Schema.toString(), which Confluent's Java
// serializers send and Confluent Schema Registry stores. That is: no
// insignificant whitespace; the attributes of each schema object in the
// order Avro writes them, with its other properties sorted (Avro keeps
// them as written) and the keys of JSON objects in values sorted; a schema
// object that holds nothing but "type" written as that type; a named
// type's full name split into "name" and "namespace", and its namespace
// left out where it is the enclosing one (written "" for no namespace
// inside one); a reference to a named type, and an alias, without the
// namespace it is written in, unless the short name is a type's ("int",
// "record"...); a field's "order" left out when ascending; and numbers as
// Avro writes them back (writeNumber). The text means exactly what the
// input means, and it is made without the schemas the input references:
// names are rewritten only where that keeps their meaning whatever those
// define. So two spellings of one schema, as Python or KafkaJS send it
// (as written) and as Java sends it, get the same canonical text, which
// is what makes registering or looking up the same schema find one id.
// A text that is not JSON is returned unchanged.
func canonicalSchema(text string) string {
	v, err := decodeJSON(text)
	if err != nil {
		return text
	}
	var b bytes.Buffer
	writeSchema(&b, v, "")
	return b.String()
}

// objectOrder is the order Avro writes the attributes of a schema object
// in: first, then the other properties (sorted here), then last.
type objectOrder struct {
	first, last []string
}

var (
	recordOrder = objectOrder{first: []string{"type", "name", "namespace", "doc", "fields"}, last: []string{"aliases"}}
	enumOrder   = objectOrder{first: []string{"type", "name", "namespace", "doc", "symbols", "default"}, last: []string{"aliases"}}
	fixedOrder  = objectOrder{first: []string{"type", "name", "namespace", "doc", "size"}, last: []string{"aliases"}}
	arrayOrder  = objectOrder{first: []string{"type", "items"}}
	mapOrder    = objectOrder{first: []string{"type", "values"}}
	otherOrder  = objectOrder{first: []string{"type"}}
	fieldOrder  = objectOrder{first: []string{"name", "type", "doc", "default", "order", "aliases"}}
)

// avroTypeNames are the names of Avro's types. Avro writes a named type
// whose unqualified name is one of them by its full name, where the short
// name could be taken for the type.
var avroTypeNames = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true, "float": true, "double": true,
	"bytes": true, "string": true, "record": true, "enum": true, "array": true, "map": true,
	"union": true, "fixed": true,
}

// relativeName returns a name written in namespace ns as Avro writes it
// there: without its namespace when that is ns (the short name resolves
// to it first), unless the short name is a type's. Any other name, short
// or in another namespace, is returned as it is.
func relativeName(name, ns string) string {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || name[:i] != ns || avroTypeNames[name[i+1:]] {
		return name
	}
	return name[i+1:]
}

// writeSchema writes the schema v, written in namespace ns, in canonical
// form.
func writeSchema(b *bytes.Buffer, v any, ns string) {
	switch t := v.(type) {
	case string:
		writeString(b, relativeName(t, ns))
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeSchema(b, e, ns)
		}
		b.WriteByte(']')
	case map[string]any:
		if inner, ok := t["type"]; ok && len(t) == 1 {
			writeSchema(b, inner, ns)
			return
		}
		kind, _ := t["type"].(string)
		order, scope := otherOrder, ns
		switch kind {
		case "record", "error":
			order = recordOrder
			t, scope = named(t, ns)
		case "enum":
			order = enumOrder
			t, scope = named(t, ns)
		case "fixed":
			order = fixedOrder
			t, scope = named(t, ns)
		case "array":
			order = arrayOrder
		case "map":
			order = mapOrder
		}
		writeObject(b, t, order, func(key string, val any) {
			switch {
			case key == "type", key == "items" && kind == "array", key == "values" && kind == "map":
				writeSchema(b, val, scope)
			case key == "fields" && (kind == "record" || kind == "error"):
				writeFields(b, val, scope)
			default:
				writeJSON(b, val, true)
			}
		})
	default:
		writeJSON(b, v, true)
	}
}

// named returns the definition m of a named type, written in namespace ns,
// with its name and aliases as Avro writes them, and the namespace of the
// type, in which its fields are written. A definition whose name or
// namespace is not a string is returned as it is.
func named(m map[string]any, ns string) (map[string]any, string) {
	name, ok := m["name"].(string)
	space := ns
	switch s := m["namespace"].(type) {
	case nil: // absent or null: the enclosing namespace
	case string:
		space = s
	default:
		ok = false
	}
	if !ok {
		return m, ns
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		space, name = name[:i], name[i+1:]
	}
	c := maps.Clone(m)
	c["name"] = name
	delete(c, "namespace")
	if space != ns {
		c["namespace"] = space
	}
	if list, ok := m["aliases"].([]any); ok {
		aliases := make([]any, len(list))
		for i, a := range list {
			if s, ok := a.(string); ok {
				a = relativeName(s, space)
			}
			aliases[i] = a
		}
		c["aliases"] = aliases
	}
	return c, space
}

// writeFields writes the fields of a record whose namespace is ns.
func writeFields(b *bytes.Buffer, v any, ns string) {
	list, ok := v.([]any)
	if !ok {
		writeJSON(b, v, true)
		return
	}
	b.WriteByte('[')
	for i, f := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		fm, ok := f.(map[string]any)
		if !ok {
			writeJSON(b, f, true)
			continue
		}
		if fm["order"] == "ascending" {
			fm = maps.Clone(fm)
			delete(fm, "order")
		}
		writeObject(b, fm, fieldOrder, func(key string, val any) {
			if key == "type" {
				writeSchema(b, val, ns)
				return
			}
			writeJSON(b, val, true)
		})
	}
	b.WriteByte(']')
}

// writeObject writes the members of m in order, each value with writeVal.
func writeObject(b *bytes.Buffer, m map[string]any, order objectOrder, writeVal func(string, any)) {
	b.WriteByte('{')
	n := 0
	member := func(k string, v any) {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		writeString(b, k)
		b.WriteByte(':')
		writeVal(k, v)
	}
	for _, k := range order.first {
		if v, ok := m[k]; ok {
			member(k, v)
		}
	}
	rest := make([]string, 0, len(m))
	for k := range m {
		if !slices.Contains(order.first, k) && !slices.Contains(order.last, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		member(k, m[k])
	}
	for _, k := range order.last {
		if v, ok := m[k]; ok {
			member(k, v)
		}
	}
	b.WriteByte('}')
}

// writeValue writes any JSON value compactly with sorted object keys and
// its numbers as written, as error messages show it.
func writeValue(b *bytes.Buffer, v any) {
	writeJSON(b, v, false)
}

// writeJSON writes any JSON value compactly with sorted object keys; with
// javaNumbers, its numbers as writeNumber writes them.
func writeJSON(b *bytes.Buffer, v any, javaNumbers bool) {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case json.Number:
		if javaNumbers {
			writeNumber(b, t)
		} else {
			b.WriteString(t.String())
		}
	case string:
		writeString(b, t)
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e, javaNumbers)
		}
		b.WriteByte(']')
	case map[string]any:
		writeObject(b, t, objectOrder{}, func(_ string, v any) { writeJSON(b, v, javaNumbers) })
	default:
		fmt.Fprintf(b, "%v", t)
	}
}

// writeNumber writes a JSON number as Avro's Java library writes back what
// it parsed (with Jackson): an integer as it is, but -0 as 0; any other
// number as Java's Double.toString writes the double nearest to it (1.5,
// 300.0, 1.0E-5, -0.0). A number beyond the range of a double is written
// as it is.
func writeNumber(b *bytes.Buffer, n json.Number) {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		if s == "-0" {
			s = "0"
		}
		b.WriteString(s)
		return
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		b.WriteString(s)
		return
	}
	b.WriteString(javaDouble(f))
}

// javaDouble formats f as Java's Double.toString does: plain decimal
// notation with at least one digit after the point from 10^-3 up to 10^7,
// and computerized scientific notation (d.dddE-n) outside it, with the
// fewest digits that give f back.
func javaDouble(f float64) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp) // "+07", "-05": FormatFloat's exponent
	return mant + "E" + strconv.Itoa(e)
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
