package avro

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"time"
)

// This file holds the Serde's decoder of native values, the counterpart
// of encode.go: Avro binary read straight into the native value hamba/avro
// gives when it decodes into map[string]any (see Validator), driven by the
// schema compiled into vnodes, without hamba's per-value reflection.
//
// It is used only where no schema resolution is needed (the writer's
// schema is the reader's), and only for schemas whose every value it reads
// as hamba does (see prepareDecode). There it is the decoder: a body it
// cannot read is an error, never handed to hamba, because hamba sizes an
// array by its block count before reading an item of it, so a few hostile
// bytes make it allocate without bound.
//
// Bounds: a length or count is checked against the bytes left before
// anything is allocated for it; an array of items that take no bytes
// (nulls, empty records) may hold maxEmptyItems items in all per body;
// records, arrays and maps nest maxDepth deep at most, the depth of JSON
// the Validator accepts.

const (
	// maxBytes is the longest string or bytes value hamba reads (its
	// default MaxByteSliceSize), and so the longest the decoder reads.
	maxBytes = 1 << 20
	// maxEmptyItems is how many array items that take no bytes of the
	// body (null, an empty record) one body may hold in all.
	maxEmptyItems = 1 << 20
	// maxPrealloc is the most array items or map entries allocated ahead
	// of reading them; longer ones grow as they are read.
	maxPrealloc = 1024
)

// Errors of the native decoder; the Serde wraps them in ErrDecode.
var (
	errTruncated = errors.New("body ends early")
	errVarint    = errors.New("malformed varint")
	// errBlockCount is a block count of -2^63, which has no item count.
	errBlockCount = errors.New("block count -2^63")
	// errLimit is a body beyond maxEmptyItems or maxDepth, limits hamba
	// does not have.
	errLimit = errors.New("beyond the decoder's limits")
)

// maxPath is how many field names an error names, half from the record
// down and half up from where the body could not be read.
const maxPath = 16

// bareArm reports whether hamba's type resolver knows a union branch by
// name, and so decodes it bare; any other branch is decoded as
// {name: value}.
func bareArm(name string) bool {
	switch name {
	case "null", "boolean", "int", "long", "float", "double", "string", "bytes",
		"int.date", "int.time-millis", "long.timestamp-millis",
		"long.timestamp-micros", "long.time-micros", "bytes.decimal", "string.uuid":
		return true
	}
	return false
}

// prepareDecode reports whether the decoder reads every value of the
// freshly compiled n as hamba does, and marks the arrays whose items take
// no bytes of the body (vnode.emptyItems). It is called once per compiled
// tree, before the tree is shared.
func prepareDecode(n *vnode) bool {
	n.slotsHint, n.recordsHint = staticSlots(n, map[*vnode]bool{})
	return prepareNode(n, map[*vnode]bool{})
}

func prepareNode(n *vnode, seen map[*vnode]bool) bool {
	if seen[n] {
		return true
	}
	seen[n] = true
	switch n.kind {
	case vFixed:
		return !n.duration
	case vArray:
		n.emptyItems = takesNoBytes(n.items, map[*vnode]bool{})
		return prepareNode(n.items, seen)
	case vMap:
		return prepareNode(n.items, seen)
	case vRecord:
		for i := range n.fields {
			if !prepareNode(n.fields[i].node, seen) {
				return false
			}
		}
	case vUnion:
		for _, a := range n.arms {
			if a.wrap == "" && !bareArm(a.name) {
				return false
			}
			if !prepareNode(a.node, seen) {
				return false
			}
		}
	}
	return true
}

// takesNoBytes reports whether every value of n is encoded in no bytes:
// null, a fixed of size 0, a record of such fields. A record that holds
// itself does so through an array, map or union, which take bytes.
func takesNoBytes(n *vnode, visiting map[*vnode]bool) bool {
	switch n.kind {
	case vNull:
		return true
	case vFixed:
		return n.size == 0
	case vRecord:
		if visiting[n] {
			return false
		}
		visiting[n] = true
		defer delete(visiting, n)
		for i := range n.fields {
			if !takesNoBytes(n.fields[i].node, visiting) {
				return false
			}
		}
		return true
	}
	return false
}

// binReader reads Avro binary from b. A method that cannot read returns
// false and leaves the reason in err, and the fields it was in, innermost
// first, in path.
type binReader struct {
	b []byte
	// s is b as a string, once a string has been read.
	s     string
	i     int
	err   error
	path  []string
	depth int
	// empty is how many more items that take no bytes the body may hold.
	empty int
	// slots reads records as Records rather than maps (see decodeSlots);
	// their values and the Records themselves are cut from slab and recs,
	// so that a body's records take two allocations or so together
	// rather than two each.
	slots bool
	slab  []any
	recs  []Record
}

// fail records why the body cannot be read, at the current offset.
func (r *binReader) fail(err error) bool {
	r.err = fmt.Errorf("at byte %d: %w", r.i, err)
	return false
}

// failf is fail with a formatted reason.
func (r *binReader) failf(format string, args ...any) bool {
	return r.fail(fmt.Errorf(format, args...))
}

// varint reads a varint of at most max bytes, keeping its low 64 bits as
// hamba does (which keeps the low 32 of an int's).
func (r *binReader) varint(max int) (uint64, bool) {
	var v uint64
	for i, s := r.i, uint(0); i < len(r.b) && i-r.i < max; i, s = i+1, s+7 {
		c := r.b[i]
		v |= uint64(c&0x7f) << s
		if c < 0x80 {
			r.i = i + 1
			return v, true
		}
	}
	if len(r.b)-r.i < max {
		return 0, r.fail(errTruncated)
	}
	return 0, r.fail(errVarint)
}

// long reads a zig-zag varint long of at most 10 bytes.
func (r *binReader) long() (int64, bool) {
	v, ok := r.varint(10)
	return int64(v>>1) ^ -int64(v&1), ok
}

// int reads a zig-zag varint int of at most 5 bytes.
func (r *binReader) int() (int32, bool) {
	v, ok := r.varint(5)
	u := uint32(v)
	return int32(u>>1) ^ -int32(u&1), ok
}

// raw reads the length-prefixed bytes of a string or bytes value, without
// copying them.
func (r *binReader) raw() ([]byte, bool) {
	size, ok := r.long()
	switch {
	case !ok:
		return nil, false
	case size < 0:
		return nil, r.failf("negative length %d", size)
	case size > maxBytes:
		return nil, r.failf("length %d beyond the limit of %d", size, maxBytes)
	case size > int64(len(r.b)-r.i):
		return nil, r.failf("length %d beyond the %d bytes left: %w", size, len(r.b)-r.i, errTruncated)
	}
	p := r.b[r.i : r.i+int(size)]
	r.i += int(size)
	return p, true
}

// str reads a string value: a substring of the body, copied into a string
// once on the first string read, so that the strings of a record cost one
// allocation together rather than one each.
func (r *binReader) str() (string, bool) {
	p, ok := r.raw()
	if !ok || len(p) == 0 {
		return "", ok
	}
	if r.s == "" {
		r.s = string(r.b)
	}
	start := r.i - len(p)
	return r.s[start:r.i], true
}

// fixed reads n bytes, without copying them.
func (r *binReader) fixed(n int) ([]byte, bool) {
	if n > len(r.b)-r.i {
		return nil, r.fail(errTruncated)
	}
	p := r.b[r.i : r.i+n]
	r.i += n
	return p, true
}

// block reads an array or map block header: the item count, with a
// negative count's byte size read and ignored, as hamba ignores it where
// it reads the items. A count of items that take bytes must fit in the
// bytes left; one of items that take none is charged to r.empty.
func (r *binReader) block(empty bool) (int, bool) {
	count, _, ok := r.sizedBlock(empty)
	return count, ok
}

// sizedBlock is block, returning the byte size of a block with a negative
// count too (0 for the others).
func (r *binReader) sizedBlock(empty bool) (int, int64, bool) {
	start := r.i
	count, ok := r.long()
	if !ok {
		return 0, 0, false
	}
	var size int64
	if count < 0 {
		if count == math.MinInt64 {
			r.i = start
			return 0, 0, r.fail(errBlockCount)
		}
		if size, ok = r.long(); !ok {
			return 0, 0, false
		}
		count = -count
	}
	if empty {
		if count > int64(r.empty) {
			r.i = start
			return 0, 0, r.failf("%d items that take no bytes, more than %d in all: %w", count, maxEmptyItems, errLimit)
		}
		r.empty -= int(count)
		return int(count), size, true
	}
	if left := len(r.b) - r.i; count > int64(left) {
		r.i = start
		return 0, 0, r.failf("%d items in the %d bytes left: %w", count, left, errTruncated)
	}
	return int(count), size, true
}

// enter and leave count nesting; enter fails beyond maxDepth.
func (r *binReader) enter() bool {
	r.depth++
	if r.depth > maxDepth {
		return r.failf("values nest deeper than %d: %w", maxDepth, errLimit)
	}
	return true
}

func (r *binReader) leave() { r.depth-- }

// decodeRecord decodes a record of node n (prepared with prepareDecode)
// from b into m (a new map when nil), as hamba decodes into a
// *map[string]any. Bytes after the record are ignored, as hamba ignores
// them. On error m may hold some of the fields, as it may with hamba.
func decodeRecord(b []byte, n *vnode, m map[string]any) (map[string]any, error) {
	r := binReader{b: b, empty: maxEmptyItems}
	m, ok := r.record(n, m)
	if !ok {
		return nil, fmt.Errorf("%s: %w", pathOf(r.path), r.err)
	}
	return m, nil
}

// pathOf names the fields of path (innermost first) from the record down,
// eliding the middle of a long one; "[]" is a map's value.
func pathOf(path []string) string {
	var sb strings.Builder
	for i := len(path) - 1; i >= 0; i-- {
		name := path[i]
		switch j := len(path) - 1 - i; {
		case j == maxPath/2 && i >= maxPath/2:
			name = "…"
		case j > maxPath/2 && i >= maxPath/2:
			continue
		}
		if sb.Len() > 0 && name != "[]" {
			sb.WriteByte('.')
		}
		sb.WriteString(name)
	}
	return sb.String()
}

// decodeSlots decodes as decodeRecord does, but into a Record: every
// record in it, at any depth, is a Record of its node's fields (a null
// field a nil slot), not a map. Its Map is what decodeRecord returns.
func decodeSlots(b []byte, n *vnode) (*Record, error) {
	r := binReader{b: b, empty: maxEmptyItems, slots: true}
	if n.slotsHint > 0 {
		r.slab = make([]any, 0, n.slotsHint)
		r.recs = make([]Record, 0, n.recordsHint)
	}
	rec, ok := r.slotRecord(n)
	if !ok {
		return nil, fmt.Errorf("%s: %w", pathOf(r.path), r.err)
	}
	return rec, nil
}

func (r *binReader) record(n *vnode, m map[string]any) (map[string]any, bool) {
	if !r.enter() {
		return nil, false
	}
	if m == nil {
		m = make(map[string]any, len(n.fields))
	}
	for i := range n.fields {
		v, ok := r.field(&n.fields[i])
		if !ok {
			return nil, false
		}
		m[n.fields[i].name] = v
	}
	r.leave()
	return m, true
}

// field reads the value of record field f, and names f in r.path when it
// cannot.
func (r *binReader) field(f *vfield) (any, bool) {
	v, ok := r.value(f.node)
	if !ok {
		r.path = append(r.path, f.name)
	}
	return v, ok
}

// slotRecord reads a record of node n into a Record.
func (r *binReader) slotRecord(n *vnode) (*Record, bool) {
	if !r.enter() {
		return nil, false
	}
	rec := r.newRecord(n)
	for i := range n.fields {
		v, ok := r.field(&n.fields[i])
		if !ok {
			return nil, false
		}
		rec.Values[i] = v
	}
	r.leave()
	return rec, true
}

// newRecord returns an empty Record of node n, cut from r.slab and
// r.recs.
func (r *binReader) newRecord(n *vnode) *Record {
	k := len(n.fields)
	if cap(r.slab)-len(r.slab) < k {
		r.slab = make([]any, 0, max(slabSlots, k))
	}
	at := len(r.slab)
	r.slab = r.slab[:at+k]
	if len(r.recs) == cap(r.recs) {
		r.recs = make([]Record, 0, slabRecords)
	}
	r.recs = append(r.recs, Record{Fields: n.slots, Values: r.slab[at : at+k : at+k]})
	return &r.recs[len(r.recs)-1]
}

// slabSlots and slabRecords size the slabs Records are cut from once
// the first, sized by the record's hints (see prepareDecode), is used up
// (by the records of arrays and maps).
const (
	slabSlots   = 32
	slabRecords = 4
)

// staticSlots counts the values and the records of a value of node n
// outside arrays and maps (a union counts as its largest branch), the
// sizes of the slabs decodeSlots starts with.
func staticSlots(n *vnode, visiting map[*vnode]bool) (slots, records int) {
	switch n.kind {
	case vRecord:
		if visiting[n] {
			return 0, 0
		}
		visiting[n] = true
		defer delete(visiting, n)
		slots, records = len(n.fields), 1
		for i := range n.fields {
			s, r := staticSlots(n.fields[i].node, visiting)
			slots, records = slots+s, records+r
		}
	case vUnion:
		for _, a := range n.arms {
			s, r := staticSlots(a.node, visiting)
			slots, records = max(slots, s), max(records, r)
		}
	}
	return slots, records
}

// value reads one value of node n, in hamba's native form.
func (r *binReader) value(n *vnode) (any, bool) {
	switch n.kind {
	case vNull:
		return nil, true
	case vBool:
		v, ok := r.boolean()
		if !ok {
			return nil, false
		}
		return v, true
	case vInt:
		i, ok := r.int()
		return int(i), ok
	case vLong:
		return r.long()
	case vFloat:
		p, ok := r.fixed(4)
		if !ok {
			return nil, false
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(p)), true
	case vDouble:
		p, ok := r.fixed(8)
		if !ok {
			return nil, false
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(p)), true
	case vString, vUUID:
		return r.str()
	case vBytes:
		p, ok := r.raw()
		if !ok {
			return nil, false
		}
		return append(make([]byte, 0, len(p)), p...), true
	case vEnum:
		i, ok := r.enum(n)
		if !ok {
			return nil, false
		}
		return n.symbolList[i], true
	case vFixed:
		p, ok := r.fixed(n.size)
		if !ok {
			return nil, false
		}
		arr := reflect.New(n.fixedT).Elem()
		reflect.Copy(arr, reflect.ValueOf(p))
		return arr.Interface(), true
	case vArray:
		return r.array(n)
	case vMap:
		return r.mapOf(n.items)
	case vRecord:
		if r.slots {
			rec, ok := r.slotRecord(n)
			if !ok {
				return nil, false
			}
			return rec, true
		}
		return r.record(n, nil)
	case vUnion:
		return r.union(n)
	case vTimestampMillis, vLocalTimestampMillis, vTimestampMicros, vLocalTimestampMicros:
		t, ok := r.timestamp(n)
		if !ok {
			return nil, false
		}
		return t, true
	case vDate:
		i, ok := r.int()
		return time.Unix(int64(i)*86400, 0).UTC(), ok
	case vTimeMillis:
		i, ok := r.int()
		return time.Duration(i) * time.Millisecond, ok
	case vTimeMicros:
		i, ok := r.long()
		return time.Duration(i) * time.Microsecond, ok
	case vDecimal:
		p, ok := r.raw()
		if !ok {
			return nil, false
		}
		return ratOf(p, n.pow10Scale), true
	case vFixedDecimal:
		p, ok := r.fixed(n.size)
		if !ok {
			return nil, false
		}
		return ratOf(p, n.pow10Scale), true
	}
	return nil, r.failf("no decoding of schema kind %d", n.kind)
}

// boolean reads a boolean: a byte of 0 or 1.
func (r *binReader) boolean() (bool, bool) {
	p, ok := r.fixed(1)
	if !ok {
		return false, false
	}
	if p[0] > 1 {
		r.i--
		return false, r.failf("boolean byte %d", p[0])
	}
	return p[0] == 1, true
}

// timestamp reads a timestamp of node n and returns what hamba makes of
// it: a UTC time, or for a local timestamp the same wall clock in
// time.Local.
func (r *binReader) timestamp(n *vnode) (time.Time, bool) {
	i, ok := r.long()
	if !ok {
		return time.Time{}, false
	}
	perSec := int64(1e3)
	if n.kind == vTimestampMicros || n.kind == vLocalTimestampMicros {
		perSec = 1e6
	}
	sec := i / perSec
	t := time.Unix(sec, (i-sec*perSec)*(1e9/perSec))
	if n.kind == vLocalTimestampMillis || n.kind == vLocalTimestampMicros {
		_, offset := t.Zone()
		return t.Add(time.Duration(-offset) * time.Second), true
	}
	return t.UTC(), true
}

// enum reads the index of a symbol of enum n.
func (r *binReader) enum(n *vnode) (int32, bool) {
	start := r.i
	i, ok := r.int()
	if !ok {
		return 0, false
	}
	if i < 0 || int(i) >= len(n.symbolList) {
		r.i = start
		return 0, r.failf("enum %s has no symbol %d", n.name, i)
	}
	return i, true
}

// arm reads the branch index of union n and returns its branch.
func (r *binReader) arm(n *vnode) (*varm, bool) {
	start := r.i
	i, ok := r.int()
	if !ok {
		return nil, false
	}
	if i < 0 || int(i) >= len(n.arms) {
		r.i = start
		return nil, r.failf("union has no branch %d", i)
	}
	return &n.arms[i], true
}

// ratOf is the decimal of the big-endian two's complement p over
// 10^scale.
func ratOf(p []byte, pow10Scale *big.Int) *big.Rat {
	num := new(big.Int).SetBytes(p)
	if len(p) > 0 && p[0]&0x80 != 0 {
		num.Sub(num, new(big.Int).Lsh(big.NewInt(1), uint(len(p))*8))
	}
	return new(big.Rat).SetFrac(num, new(big.Int).Set(pow10Scale))
}

// emptyArray is the native value of an empty array: an empty slice, as
// hamba makes it, boxed once. Having no items and no capacity, it cannot
// be changed, so every empty array decoded can share it.
var emptyArray any = []any{}

// array reads an array of node n; an empty one is emptyArray.
func (r *binReader) array(n *vnode) (any, bool) {
	if !r.enter() {
		return nil, false
	}
	var out []any
	for {
		count, ok := r.block(n.emptyItems)
		if !ok {
			return nil, false
		}
		if count == 0 {
			break
		}
		if free := cap(out) - len(out); free < count && free < maxPrealloc {
			grown := make([]any, len(out), len(out)+min(count, maxPrealloc))
			copy(grown, out)
			out = grown
		}
		for range count {
			v, ok := r.value(n.items)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
	}
	r.leave()
	if out == nil {
		return emptyArray, true
	}
	return out, true
}

// mapOf reads a map; an empty one is an empty map, as hamba makes it.
func (r *binReader) mapOf(values *vnode) (any, bool) {
	if !r.enter() {
		return nil, false
	}
	var m map[string]any
	for {
		count, ok := r.block(false)
		if !ok {
			return nil, false
		}
		if m == nil {
			m = make(map[string]any, min(count, maxPrealloc))
		}
		if count == 0 {
			r.leave()
			return m, true
		}
		for range count {
			k, ok := r.str()
			if !ok {
				return nil, false
			}
			v, ok := r.value(values)
			if !ok {
				// The key is data, maybe personal: not in the error.
				r.path = append(r.path, "[]")
				return nil, false
			}
			m[k] = v
		}
	}
}

// union reads the branch index and the value: nil for the null branch,
// the bare value for a branch hamba's type resolver knows, else
// {name: value}.
func (r *binReader) union(n *vnode) (any, bool) {
	a, ok := r.arm(n)
	if !ok {
		return nil, false
	}
	if a.node.kind == vNull {
		return nil, true
	}
	v, ok := r.value(a.node)
	if !ok {
		return nil, false
	}
	if a.wrap == "" {
		return v, true
	}
	return map[string]any{a.wrap: v}, true
}
