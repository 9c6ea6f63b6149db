package avro

import (
	"fmt"
	"maps"
	"slices"
)

// Fields names the fields of a record schema, in the schema's order. It
// is made once per schema and shared by every Record of it; it never
// changes and is safe for concurrent use.
type Fields struct {
	names []string
	index map[string]int
}

// NewFields returns the fields named names, in that order; a name given
// twice is an error.
func NewFields(names ...string) (*Fields, error) {
	f := &Fields{names: slices.Clone(names), index: make(map[string]int, len(names))}
	for i, n := range names {
		if _, dup := f.index[n]; dup {
			return nil, fmt.Errorf("avro: field %q given twice", n)
		}
		f.index[n] = i
	}
	return f, nil
}

// Name returns the name of the i-th field.
func (f *Fields) Name(i int) string { return f.names[i] }

// New returns a record of these fields, every value nil.
func (f *Fields) New() *Record { return &Record{Fields: f, Values: make([]any, len(f.names))} }

// Record is a record's native value in slots: Values[i] is the value of
// the field Fields names i-th, in the native form the Validator gives
// (nested records may be Records too). The Serde's encoder writes it
// field by field with no lookup by name, where a map[string]any costs one
// per field, once to build the map and once to write it; anywhere else
// it stands for the map Map returns.
type Record struct {
	Fields *Fields
	Values []any
}

// Get returns the value of the field named name, nil when the record has
// no such field.
func (r *Record) Get(name string) any {
	if i, ok := r.Fields.index[name]; ok {
		return r.Values[i]
	}
	return nil
}

// Set sets the field named name to v and reports whether the record has
// that field.
func (r *Record) Set(name string, v any) bool {
	i, ok := r.Fields.index[name]
	if ok {
		r.Values[i] = v
	}
	return ok
}

// Map returns the record as the map[string]any of its native form, with
// every Record inside converted too (see Plain).
func (r *Record) Map() map[string]any {
	m := make(map[string]any, len(r.Values))
	for i, v := range r.Values {
		m[r.Fields.names[i]] = Plain(v)
	}
	return m
}

// Plain returns v with every Record in it, at any depth of maps and
// lists, replaced by its map: the native form hamba/avro and the other
// readers of native values know.
func Plain(v any) any {
	switch x := v.(type) {
	case *Record:
		if x == nil {
			return nil
		}
		return x.Map()
	case map[string]any:
		if !holdsRecord(x) {
			return x
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = Plain(e)
		}
		return m
	case []any:
		if !holdsRecord(x) {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Plain(e)
		}
		return out
	}
	return v
}

// holdsRecord reports whether a map or list holds a Record at any depth.
func holdsRecord(v any) bool {
	switch x := v.(type) {
	case *Record:
		return true
	case map[string]any:
		for _, e := range x {
			if holdsRecord(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if holdsRecord(e) {
				return true
			}
		}
	}
	return false
}

// appendSlots appends the encoding of r as a record of node n to b: what
// appendRecord writes for r.Map(). Its fields must be n's, in n's order.
func appendSlots(b []byte, n *vnode, r *Record) ([]byte, bool) {
	if r == nil || r.Fields == nil || len(r.Values) != len(n.fields) || len(r.Fields.names) != len(n.fields) {
		return b, false
	}
	for i := range n.fields {
		f := &n.fields[i]
		if r.Fields.names[i] != f.name {
			return b, false
		}
		var ok bool
		if b, ok = appendNative(b, f.node, r.Values[i]); !ok {
			return b, false
		}
	}
	return b, true
}

// slotsOf returns native value v of node n with its records, at any
// depth, made Records of their nodes' fields.
func slotsOf(v any, n *vnode) any {
	switch n.kind {
	case vRecord:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		rec := n.slots.New()
		for i := range n.fields {
			rec.Values[i] = slotsOf(m[n.fields[i].name], n.fields[i].node)
		}
		return rec
	case vArray:
		a, ok := v.([]any)
		if !ok || len(a) == 0 {
			return v
		}
		out := make([]any, len(a))
		for i, e := range a {
			out[i] = slotsOf(e, n.items)
		}
		return out
	case vMap:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[k] = slotsOf(e, n.items)
		}
		return out
	case vUnion:
		w, ok := v.(map[string]any)
		if !ok || len(w) != 1 {
			return v
		}
		for _, a := range n.arms {
			if inner, ok := w[a.wrap]; ok && a.wrap != "" {
				return map[string]any{a.wrap: slotsOf(inner, a.node)}
			}
		}
	}
	return v
}

// recordOfMap returns the Record of record map m, its fields in the order
// of their names, where no schema says theirs; the records inside stay
// maps.
func recordOfMap(m map[string]any) *Record {
	names := slices.Sorted(maps.Keys(m))
	f, _ := NewFields(names...) // a map's keys are distinct
	rec := f.New()
	for i, n := range names {
		rec.Values[i] = m[n]
	}
	return rec
}
