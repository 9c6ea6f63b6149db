package avro

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	havro "github.com/hamba/avro/v2"
)

// This file holds the Serde's schema resolution: a body written with one
// schema (the writer's, from the registry) read as a local contract (the
// reader) wants it. The writer's body is transcoded into the body the
// reader's schema gives the same datum, which is then decoded as a body
// of the reader's own (natively, or by hamba into a Go value):
//
//   - a field of the writer that the reader lacks is skipped; a field of
//     the reader that the writer lacks is its default, encoded once;
//     fields come in the reader's order;
//   - an int, long or float is promoted as the reader's type wants it, a
//     string read as bytes and bytes as a string;
//   - an enum symbol is the reader's symbol of that name, else its
//     default;
//   - a branch of a union is the first branch of the reader's union that
//     reads it, or the reader's type where it is not a union.
//
// The rules are hamba's SchemaCompatibility and the Avro specification's,
// with one difference in when they fail. Where the reader has no place
// for some values of the writer (an enum symbol it lacks and has no
// default for, a branch of the writer's union it has no branch for, the
// null of a nullable writer field the reader requires), the specification
// fails the datum that holds one, and Java's ResolvingDecoder reads the
// others; hamba fails the schema, and with it every record of the writer.
// Here such a datum fails alone, with errUnresolved (ErrIncompatible in
// the Serde's error); a writer of which no datum can be read (a field of
// another type, a record the reader requires a field of that the writer
// lacks without a default) fails as a whole, as before.
//
// The writer's body is read with the native decoder's bounds (decode.go),
// and what is skipped is walked as check.go walks it, so a malformed body
// fails as it would if the writer's schema were the reader's.

// errUnresolved fails a datum that the reader has no place for.
var errUnresolved = errors.New("the local reader has no place for it")

// xkind is what the transcoder does with a value of the writer.
type xkind uint8

const (
	// xCopy copies the value: the reader's schema encodes it so too.
	xCopy xkind = iota
	xIntToLong
	xIntToFloat
	xIntToDouble
	xLongToFloat
	xLongToDouble
	xFloatToDouble
	xEnum
	xArray
	xMap
	xRecord
	// xUnion is a union of the writer, branch by branch.
	xUnion
	// xToUnion is a value of the writer that is not a union, written as
	// a branch of the reader's union.
	xToUnion
)

// xnode is the resolution of a writer's schema to a reader's.
type xnode struct {
	kind xkind
	// w is the writer's node, with prepareCheck's marks: what is read.
	w *vnode
	// symbols is, for an enum, the reader's index of each of the
	// writer's symbols, -1 where the reader has neither it nor a
	// default; name is the reader's enum.
	symbols []int32
	name    string
	// items resolves the items of an array or the values of a map.
	items *xnode
	// fields resolve a record's fields, in the writer's order.
	fields []xfield
	// defaults holds, for a record, the reader's default of each of its
	// fields that the writer lacks, encoded; nil for the others.
	defaults [][]byte
	// ordered is set where the reader's fields the writer has come first
	// and in the writer's order, so a record is written as it is read.
	ordered bool
	// arms resolve the branches of a writer's union.
	arms []xarm
	// arm is the branch of the reader's union an xToUnion writes, and
	// inner its resolution.
	arm   int
	inner *xnode
}

// xfield is the resolution of a writer's record field.
type xfield struct {
	name string
	// x resolves the field to the reader's field number to; nil (and to
	// -1) where the reader has no such field and it is skipped.
	x  *xnode
	to int
}

// xarm is the resolution of a branch of a writer's union.
type xarm struct {
	// x resolves the branch; nil where the reader has no place for it,
	// and missing says why.
	x       *xnode
	missing string
	// to is the branch of the reader's union written, or -1 where the
	// reader's schema is not a union.
	to int
}

// resolution resolves writer to reader, or says why no record of the
// writer can be read as the reader.
func resolution(reader, writer havro.Schema, api havro.API) (*xnode, error) {
	rn, err := compileNode(reader, map[string]*vnode{})
	if err != nil {
		return nil, fmt.Errorf("the reader does not compile: %v", err)
	}
	wn, err := compileNode(writer, map[string]*vnode{})
	if err != nil {
		return nil, fmt.Errorf("the writer does not compile: %v", err)
	}
	prepareCheck(wn)
	rs := resolver{api: api, memo: map[[2]*vnode]*xnode{}}
	return rs.build(reader, writer, rn, wn)
}

type resolver struct {
	api havro.API
	// memo holds the records resolved or being resolved, by reader and
	// writer node, for recursive schemas.
	memo map[[2]*vnode]*xnode
}

func deref(s havro.Schema) havro.Schema {
	if r, ok := s.(*havro.RefSchema); ok {
		return r.Schema()
	}
	return s
}

// build resolves writer schema w (compiled as wn) to reader schema r
// (compiled as rn).
func (rs *resolver) build(r, w havro.Schema, rn, wn *vnode) (*xnode, error) {
	r, w = deref(r), deref(w)
	ru, readerUnion := r.(*havro.UnionSchema)
	if wu, ok := w.(*havro.UnionSchema); ok {
		return rs.union(r, ru, wu, rn, wn)
	}
	if readerUnion {
		j, x, err := rs.branch(ru, rn, w, wn)
		if err != nil {
			return nil, err
		}
		return &xnode{kind: xToUnion, w: wn, arm: j, inner: x}, nil
	}
	if r.Type() != w.Type() {
		if k, ok := promotion(w.Type(), r.Type()); ok {
			return &xnode{kind: k, w: wn}, nil
		}
		return nil, fmt.Errorf("the writer's %s cannot be read as %s", w.Type(), r.Type())
	}
	switch w := w.(type) {
	case *havro.FixedSchema:
		r := r.(*havro.FixedSchema)
		if err := sameName(r, w); err != nil {
			return nil, err
		}
		if r.Size() != w.Size() {
			return nil, fmt.Errorf("fixed %s: size %d, the writer's %d", r.FullName(), r.Size(), w.Size())
		}
	case *havro.EnumSchema:
		return rs.enum(r.(*havro.EnumSchema), w, wn)
	case *havro.ArraySchema:
		items, err := rs.build(r.(*havro.ArraySchema).Items(), w.Items(), rn.items, wn.items)
		if err != nil {
			return nil, err
		}
		if items.kind != xCopy {
			return &xnode{kind: xArray, w: wn, items: items}, nil
		}
	case *havro.MapSchema:
		values, err := rs.build(r.(*havro.MapSchema).Values(), w.Values(), rn.items, wn.items)
		if err != nil {
			return nil, err
		}
		if values.kind != xCopy {
			return &xnode{kind: xMap, w: wn, items: values}, nil
		}
	case *havro.RecordSchema:
		return rs.record(r.(*havro.RecordSchema), w, rn, wn)
	}
	return &xnode{kind: xCopy, w: wn}, nil
}

// promotion returns how a value of the writer's type w is read as the
// reader's type r, if it is.
func promotion(w, r havro.Type) (xkind, bool) {
	switch {
	case w == havro.Int && r == havro.Long:
		return xIntToLong, true
	case w == havro.Int && r == havro.Float:
		return xIntToFloat, true
	case w == havro.Int && r == havro.Double:
		return xIntToDouble, true
	case w == havro.Long && r == havro.Float:
		return xLongToFloat, true
	case w == havro.Long && r == havro.Double:
		return xLongToDouble, true
	case w == havro.Float && r == havro.Double:
		return xFloatToDouble, true
	case w == havro.String && r == havro.Bytes, w == havro.Bytes && r == havro.String:
		return xCopy, true // encoded alike
	}
	return 0, false
}

// sameName checks that named types r (the reader's) and w match: by their
// names without namespace, or by an alias of r, as hamba has it.
func sameName(r, w havro.NamedSchema) error {
	if r.Name() == w.Name() || slices.Contains(r.Aliases(), w.FullName()) {
		return nil
	}
	return fmt.Errorf("the reader's %s is not the writer's %s", r.FullName(), w.FullName())
}

// union resolves writer union wu to the reader's r: branch by branch, to
// the first branch of the reader's union ru that reads it, or to r where
// it is not a union. A branch without one fails the datums that hold it;
// a union none of whose branches can be read fails the writer.
func (rs *resolver) union(r havro.Schema, ru *havro.UnionSchema, wu *havro.UnionSchema, rn, wn *vnode) (*xnode, error) {
	x := &xnode{kind: xUnion, w: wn, arms: make([]xarm, len(wu.Types()))}
	same := ru != nil // every branch copied to the same branch
	var errs []error
	for i, b := range wu.Types() {
		arm := &x.arms[i]
		arm.to = -1
		var err error
		if ru != nil {
			arm.to, arm.x, err = rs.branch(ru, rn, b, wn.arms[i].node)
		} else {
			arm.x, err = rs.build(r, b, rn, wn.arms[i].node)
		}
		if err != nil {
			arm.x, arm.to, arm.missing = nil, -1, fmt.Sprintf("branch %d (%s) of the writer's union: %v", i, unionName(b), err)
			errs = append(errs, err)
			same = false
			continue
		}
		same = same && arm.to == i && arm.x.kind == xCopy
	}
	if len(errs) == len(x.arms) {
		return nil, fmt.Errorf("no branch of the writer's union can be read: %w", errors.Join(errs...))
	}
	if same {
		return &xnode{kind: xCopy, w: wn}, nil
	}
	return x, nil
}

// branch returns the first branch of reader union ru that reads writer
// schema w, and its resolution.
func (rs *resolver) branch(ru *havro.UnionSchema, rn *vnode, w havro.Schema, wn *vnode) (int, *xnode, error) {
	for j, b := range ru.Types() {
		if x, err := rs.build(b, w, rn.arms[j].node, wn); err == nil {
			return j, x, nil
		}
	}
	return -1, nil, fmt.Errorf("the reader's union has no branch for %s", unionName(w))
}

// enum maps the writer's symbols to the reader's. A symbol the reader
// lacks is its default, or fails the datums that hold it where it has
// none; an enum none of whose symbols can be read fails the writer.
func (rs *resolver) enum(r, w *havro.EnumSchema, wn *vnode) (*xnode, error) {
	if err := sameName(r, w); err != nil {
		return nil, err
	}
	x := &xnode{kind: xEnum, w: wn, symbols: make([]int32, len(w.Symbols())), name: r.FullName()}
	identity, readable := len(w.Symbols()) <= len(r.Symbols()), false
	for i, sym := range w.Symbols() {
		j := slices.Index(r.Symbols(), sym)
		if j < 0 && r.HasDefault() {
			j = slices.Index(r.Symbols(), r.Default())
		}
		x.symbols[i] = int32(j)
		readable = readable || j >= 0
		identity = identity && j == i
	}
	switch {
	case !readable:
		return nil, fmt.Errorf("enum %s has none of the writer's symbols and no default", r.FullName())
	case identity:
		return &xnode{kind: xCopy, w: wn}, nil
	}
	return x, nil
}

// record resolves writer record w to reader record r.
func (rs *resolver) record(r, w *havro.RecordSchema, rn, wn *vnode) (*xnode, error) {
	if err := sameName(r, w); err != nil {
		return nil, err
	}
	key := [2]*vnode{rn, wn}
	if x, ok := rs.memo[key]; ok {
		return x, nil
	}
	x := &xnode{kind: xRecord, w: wn, fields: make([]xfield, len(w.Fields())), defaults: make([][]byte, len(r.Fields()))}
	rs.memo[key] = x
	fail := func(err error) (*xnode, error) {
		delete(rs.memo, key)
		return nil, fmt.Errorf("%s: %w", r.FullName(), err)
	}
	// from is the writer's field of each of the reader's, or -1.
	from := make([]int, len(r.Fields()))
	for j := range from {
		from[j] = -1
	}
	for i, wf := range w.Fields() {
		x.fields[i] = xfield{name: wf.Name(), to: -1}
		j := readerField(r, wf.Name())
		if j < 0 {
			continue
		}
		fx, err := rs.build(r.Fields()[j].Type(), wf.Type(), rn.fields[j].node, wn.fields[i].node)
		if err != nil {
			return fail(fmt.Errorf("field %s: %w", wf.Name(), err))
		}
		if prev := from[j]; prev >= 0 {
			// Two fields of the writer for one of the reader (by name
			// and by alias): the later is read, as hamba has it.
			x.fields[prev].x, x.fields[prev].to = nil, -1
		}
		x.fields[i].x, x.fields[i].to = fx, j
		from[j] = i
	}
	for j, rf := range r.Fields() {
		if from[j] >= 0 {
			continue
		}
		if !rf.HasDefault() {
			return fail(fmt.Errorf("field %s is not in the writer and has no default", rf.Name()))
		}
		b, err := rs.encodeDefault(rf, rn.fields[j].node)
		if err != nil {
			return fail(fmt.Errorf("field %s: default: %w", rf.Name(), err))
		}
		x.defaults[j] = b
	}
	next, copied := 0, true
	x.ordered = true
	for _, f := range x.fields {
		if f.x == nil {
			copied = false
			continue
		}
		x.ordered = x.ordered && f.to == next
		copied = copied && f.x.kind == xCopy
		next++
	}
	if x.ordered && copied && next == len(r.Fields()) {
		// Those that met x while it was being built see it too.
		*x = xnode{kind: xCopy, w: wn}
	}
	return x, nil
}

// readerField returns the index of the field of r that reads the
// writer's field name: the first named so or with name as an alias.
func readerField(r *havro.RecordSchema, name string) int {
	for j, f := range r.Fields() {
		if f.Name() == name || slices.Contains(f.Aliases(), name) {
			return j
		}
	}
	return -1
}

// encodeDefault encodes the default of the reader's field f (compiled as
// n): by the package's encoder, or else by hamba, which encodes it so to
// decode it where it resolves.
func (rs *resolver) encodeDefault(f *havro.Field, n *vnode) ([]byte, error) {
	if n.kind == vUnion {
		// The default is a value of the first branch.
		if v, err := nativeDefault(n.arms[0].node, f.Default()); err == nil {
			if b, ok := appendNative(appendInt(nil, 0), n.arms[0].node, v); ok {
				return b, nil
			}
		}
	} else if v, err := nativeDefault(n, f.Default()); err == nil {
		if b, ok := appendNative([]byte{}, n, v); ok {
			return b, nil // not nil, even when empty
		}
	}
	b, err := rs.api.Marshal(f.Type(), f.Default())
	if err != nil {
		return nil, err
	}
	return append([]byte{}, b...), nil // not nil, even when empty
}

// transcoder reads a body of the writer and writes the reader's.
type transcoder struct {
	binReader
	out []byte
	// spans holds where the fields of the records being reordered were
	// written, a stack of a record's fields over its parents'.
	spans [][2]int
	tmp   []byte
}

// transcode appends to out the body of the reader's schema of the record
// in b, of the writer's schema, resolved by x. Its errors are
// decodeRecord's, or wrap errUnresolved for a datum the reader has no
// place for.
func transcode(out, b []byte, x *xnode) ([]byte, error) {
	t := transcoder{binReader: binReader{b: b, empty: maxEmptyItems}, out: out}
	if !t.value(x) {
		return out, fmt.Errorf("%s: %w", pathOf(t.path), t.err)
	}
	return t.out, nil
}

func (t *transcoder) value(x *xnode) bool {
	switch x.kind {
	case xCopy:
		start := t.i
		if !t.skip(x.w) {
			return false
		}
		t.out = append(t.out, t.b[start:t.i]...)
	case xIntToLong:
		v, ok := t.int()
		if !ok {
			return false
		}
		t.out = appendLong(t.out, int64(v))
	case xIntToFloat:
		v, ok := t.int()
		if !ok {
			return false
		}
		t.out = binary.LittleEndian.AppendUint32(t.out, math.Float32bits(float32(v)))
	case xIntToDouble:
		v, ok := t.int()
		if !ok {
			return false
		}
		t.out = binary.LittleEndian.AppendUint64(t.out, math.Float64bits(float64(v)))
	case xLongToFloat:
		v, ok := t.long()
		if !ok {
			return false
		}
		t.out = binary.LittleEndian.AppendUint32(t.out, math.Float32bits(float32(v)))
	case xLongToDouble:
		v, ok := t.long()
		if !ok {
			return false
		}
		t.out = binary.LittleEndian.AppendUint64(t.out, math.Float64bits(float64(v)))
	case xFloatToDouble:
		p, ok := t.fixed(4)
		if !ok {
			return false
		}
		f := math.Float32frombits(binary.LittleEndian.Uint32(p))
		t.out = binary.LittleEndian.AppendUint64(t.out, math.Float64bits(float64(f)))
	case xEnum:
		start := t.i
		i, ok := t.enum(x.w)
		if !ok {
			return false
		}
		to := x.symbols[i]
		if to < 0 {
			t.i = start
			return t.failf("symbol %q of enum %s: %w", x.w.symbolList[i], x.name, errUnresolved)
		}
		t.out = appendInt(t.out, to)
	case xArray, xMap:
		return t.blocks(x)
	case xRecord:
		return t.record(x)
	case xUnion:
		start := t.i
		i, ok := t.int()
		if !ok {
			return false
		}
		if i < 0 || int(i) >= len(x.arms) {
			t.i = start
			return t.failf("union has no branch %d", i)
		}
		arm := &x.arms[i]
		if arm.x == nil {
			t.i = start
			return t.failf("%s: %w", arm.missing, errUnresolved)
		}
		if arm.to >= 0 {
			t.out = appendInt(t.out, int32(arm.to))
		}
		return t.value(arm.x)
	case xToUnion:
		t.out = appendInt(t.out, int32(x.arm))
		return t.value(x.inner)
	default:
		return t.failf("no resolution of kind %d", x.kind)
	}
	return true
}

// blocks transcodes an array or a map block by block; the reader's has
// the writer's counts, without byte sizes.
func (t *transcoder) blocks(x *xnode) bool {
	if !t.enter() {
		return false
	}
	keyed := x.kind == xMap
	for {
		count, ok := t.block(!keyed && x.w.emptyItems)
		if !ok {
			return false
		}
		t.out = appendLong(t.out, int64(count))
		if count == 0 {
			t.leave()
			return true
		}
		for range count {
			if keyed {
				k, ok := t.raw()
				if !ok {
					return false
				}
				t.out = appendBytes(t.out, k)
			}
			if !t.value(x.items) {
				if keyed {
					t.path = append(t.path, "[]")
				}
				return false
			}
		}
	}
}

// record transcodes a record: the fields of the writer the reader has,
// then the reader's defaults, in the reader's order.
func (t *transcoder) record(x *xnode) bool {
	if !t.enter() {
		return false
	}
	start, base := len(t.out), len(t.spans)
	if !x.ordered {
		t.spans = append(t.spans, make([][2]int, len(x.defaults))...)
	}
	for i := range x.fields {
		f := &x.fields[i]
		from := len(t.out)
		var ok bool
		if f.x == nil {
			ok = t.skip(x.w.fields[i].node)
		} else {
			ok = t.value(f.x)
		}
		if !ok {
			t.path = append(t.path, f.name)
			return false
		}
		if !x.ordered && f.x != nil {
			t.spans[base+f.to] = [2]int{from - start, len(t.out) - start}
		}
	}
	if x.ordered {
		for _, d := range x.defaults {
			t.out = append(t.out, d...)
		}
	} else {
		t.tmp = append(t.tmp[:0], t.out[start:]...)
		t.out = t.out[:start]
		for j, d := range x.defaults {
			if d != nil {
				t.out = append(t.out, d...)
				continue
			}
			s := t.spans[base+j]
			t.out = append(t.out, t.tmp[s[0]:s[1]]...)
		}
		t.spans = t.spans[:base]
	}
	t.leave()
	return true
}
