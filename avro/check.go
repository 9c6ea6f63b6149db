package avro

import (
	"fmt"
	"reflect"
	"strings"

	havro "github.com/hamba/avro/v2"
)

// This file holds the check of a body that hamba/avro is to decode.
//
// Where hamba skips a value (a field of the schema that the Go struct
// decoded into does not have), it trusts an array's or a map's block
// count: it loops over the count without looking at its reader's error,
// so a count of 2^61 with no bytes after it keeps the decoding goroutine
// busy for ever. The check walks the body with its schema as the native
// decoder reads it (decode.go), with its bounds, and builds nothing: a
// body it passes is one hamba reads to its end or fails on, in about the
// time it takes to read it. (A writer's body resolved to a local reader
// is transcoded by the same reader, resolve.go, and so checked on the
// way.)
//
// A block with a negative count carries its byte size, by which hamba
// skips the block without reading its items. The check reads the items,
// so it holds the size to what they take: a size that says otherwise
// would make hamba read on from another byte than the check did.

// prepareCheck marks the arrays of the compiled n whose items take no
// bytes of a body (vnode.emptyItems), for checkRecord. Like prepareDecode,
// it is called once, before the tree is shared.
func prepareCheck(n *vnode) {
	markEmptyItems(n, map[*vnode]bool{})
}

func markEmptyItems(n *vnode, seen map[*vnode]bool) {
	if seen[n] {
		return
	}
	seen[n] = true
	switch n.kind {
	case vArray:
		n.emptyItems = takesNoBytes(n.items, map[*vnode]bool{})
		markEmptyItems(n.items, seen)
	case vMap:
		markEmptyItems(n.items, seen)
	case vRecord:
		for i := range n.fields {
			markEmptyItems(n.fields[i].node, seen)
		}
	case vUnion:
		for _, a := range n.arms {
			markEmptyItems(a.node, seen)
		}
	}
}

// checkRecord reports why b does not hold a record of node n (prepared
// with prepareCheck) that the native decoder would read, or nil when it
// does. Its errors are decodeRecord's.
func checkRecord(b []byte, n *vnode) error {
	r := binReader{b: b, empty: maxEmptyItems}
	if !r.skip(n) {
		return fmt.Errorf("%s: %w", pathOf(r.path), r.err)
	}
	return nil
}

// skip reads past one value of node n.
func (r *binReader) skip(n *vnode) bool {
	var ok bool
	switch n.kind {
	case vNull:
		return true
	case vBool:
		_, ok = r.boolean()
	case vInt, vDate, vTimeMillis:
		_, ok = r.int()
	case vLong, vTimestampMillis, vTimestampMicros, vLocalTimestampMillis, vLocalTimestampMicros, vTimeMicros:
		_, ok = r.long()
	case vFloat:
		_, ok = r.fixed(4)
	case vDouble:
		_, ok = r.fixed(8)
	case vString, vUUID, vBytes, vDecimal:
		_, ok = r.raw()
	case vEnum:
		_, ok = r.enum(n)
	case vFixed, vFixedDecimal:
		_, ok = r.fixed(n.size)
	case vArray:
		ok = r.skipBlocks(n.items, n.emptyItems, false)
	case vMap:
		ok = r.skipBlocks(n.items, false, true)
	case vRecord:
		if !r.enter() {
			return false
		}
		for i := range n.fields {
			if !r.skip(n.fields[i].node) {
				r.path = append(r.path, n.fields[i].name)
				return false
			}
		}
		r.leave()
		return true
	case vUnion:
		var a *varm
		if a, ok = r.arm(n); ok {
			ok = r.skip(a.node)
		}
	default:
		return r.failf("no decoding of schema kind %d", n.kind)
	}
	return ok
}

// skipBlocks reads past the blocks of an array of items, or of a map
// (keyed) of values items.
func (r *binReader) skipBlocks(items *vnode, empty, keyed bool) bool {
	if !r.enter() {
		return false
	}
	for {
		count, size, ok := r.sizedBlock(empty)
		if !ok {
			return false
		}
		if count == 0 {
			r.leave()
			return true
		}
		start := r.i
		for range count {
			if keyed {
				if _, ok := r.raw(); !ok {
					return false
				}
			}
			if !r.skip(items) {
				if keyed {
					r.path = append(r.path, "[]")
				}
				return false
			}
		}
		if took := r.i - start; size > 0 && int64(took) != size {
			r.i = start
			return r.failf("a block of %d bytes whose items take %d", size, took)
		}
	}
}

// skipsInto reports whether hamba, decoding a value of schema s into a Go
// value of type t, may skip part of it: a field of a record that the
// struct it is decoded into lacks. It answers true where it is not sure
// (an embedded struct, an interface, a kind hamba would refuse), false
// only where hamba decodes every field of every record in s. seen guards
// recursive schemas.
func skipsInto(s havro.Schema, t reflect.Type, seen map[skipKey]bool) bool {
	if ref, ok := s.(*havro.RefSchema); ok {
		s = ref.Schema()
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	key := skipKey{s, t}
	if seen[key] {
		return false
	}
	seen[key] = true
	switch s := s.(type) {
	case *havro.RecordSchema:
		if t == mapType {
			// hamba decodes every field, into native values.
			return false
		}
		if t.Kind() != reflect.Struct {
			return true
		}
		for _, f := range s.Fields() {
			sf, ok := structField(t, f)
			if !ok || skipsInto(f.Type(), sf.Type, seen) {
				return true
			}
		}
		return false
	case *havro.ArraySchema:
		return t.Kind() != reflect.Slice || skipsInto(s.Items(), t.Elem(), seen)
	case *havro.MapSchema:
		return t.Kind() != reflect.Map || skipsInto(s.Values(), t.Elem(), seen)
	case *havro.UnionSchema:
		for _, b := range s.Types() {
			if b.Type() != havro.Null && skipsInto(b, t, seen) {
				return true
			}
		}
		return false
	}
	return false
}

type skipKey struct {
	s havro.Schema
	t reflect.Type
}

var mapType = reflect.TypeFor[map[string]any]()

// structField returns the field of struct t that hamba decodes record
// field f into: an exported field of t itself named by its avro tag (or
// its name) as f or one of f's aliases. A field of an embedded struct is
// not looked for: skipsInto is then not sure.
func structField(t reflect.Type, f *havro.Field) (reflect.StructField, bool) {
	names := append([]string{f.Name()}, f.Aliases()...)
	for _, name := range names {
		for i := range t.NumField() {
			sf := t.Field(i)
			if sf.Anonymous || !sf.IsExported() {
				continue
			}
			tagged := sf.Name
			if tag, ok := sf.Tag.Lookup("avro"); ok {
				tagged, _, _ = strings.Cut(tag, ",")
			}
			if tagged == name {
				return sf, true
			}
		}
	}
	return reflect.StructField{}, false
}
