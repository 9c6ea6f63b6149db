package avro

import (
	"encoding/binary"
	"math"
	"math/big"
	"reflect"
	"time"
)

// This file holds the Serde's decoder of native values, the counterpart
// of encode.go: Avro binary read straight into the native value hamba/avro
// gives when it decodes into map[string]any (see Validator), driven by the
// schema compiled into vnodes, without hamba's per-value reflection.
//
// It is used only where no schema resolution is needed (the writer's
// schema is the reader's). It reports !ok for anything it does not read
// exactly as hamba does: a union branch hamba would name in a way the
// compiled schema does not record, a value beyond hamba's limits, a
// malformed body. The Serde then decodes the body with hamba, so hamba
// stays the definition of the native value and of every decoding error.

// maxBytes is the longest string or bytes value hamba reads (its default
// MaxByteSliceSize).
const maxBytes = 1 << 20

// bareArms are the union branches hamba's type resolver knows by name and
// so decodes bare; any other branch is decoded as {name: value}.
var bareArms = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true, "float": true,
	"double": true, "string": true, "bytes": true,
	"int.date": true, "int.time-millis": true, "long.timestamp-millis": true,
	"long.timestamp-micros": true, "long.time-micros": true,
	"bytes.decimal": true, "string.uuid": true,
}

// decodable reports whether the decoder reads every value of n as hamba
// does. seen guards recursive records.
func decodable(n *vnode, seen map[*vnode]bool) bool {
	if seen[n] {
		return true
	}
	seen[n] = true
	switch n.kind {
	case vFixed:
		return !n.duration
	case vArray, vMap:
		return decodable(n.items, seen)
	case vRecord:
		for i := range n.fields {
			if !decodable(n.fields[i].node, seen) {
				return false
			}
		}
	case vUnion:
		for _, a := range n.arms {
			if a.wrap == "" && !bareArms[a.name] {
				return false
			}
			if !decodable(a.node, seen) {
				return false
			}
		}
	}
	return true
}

// binReader reads Avro binary from b.
type binReader struct {
	b []byte
	i int
}

// long reads a zig-zag varint long.
func (r *binReader) long() (int64, bool) {
	u, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 {
		return 0, false
	}
	r.i += n
	return int64(u>>1) ^ -int64(u&1), true
}

// int reads a zig-zag varint int, at most 5 bytes as hamba reads it.
func (r *binReader) int() (int32, bool) {
	u, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 || n > 5 || u > math.MaxUint32 {
		return 0, false
	}
	r.i += n
	v := uint32(u)
	return int32(v>>1) ^ -int32(v&1), true
}

// raw reads the length-prefixed bytes of a string or bytes value, without
// copying them.
func (r *binReader) raw() ([]byte, bool) {
	size, ok := r.long()
	if !ok || size < 0 || size > maxBytes || size > int64(len(r.b)-r.i) {
		return nil, false
	}
	p := r.b[r.i : r.i+int(size)]
	r.i += int(size)
	return p, true
}

// fixed reads n bytes, without copying them.
func (r *binReader) fixed(n int) ([]byte, bool) {
	if n > len(r.b)-r.i {
		return nil, false
	}
	p := r.b[r.i : r.i+n]
	r.i += n
	return p, true
}

// block reads an array or map block header: the item count, with a
// negative count's byte size skipped. A count the rest of the body cannot
// hold (every item takes a byte at least, but for a few types) is
// refused, so a hostile count allocates nothing.
func (r *binReader) block() (int, bool) {
	count, ok := r.long()
	if !ok {
		return 0, false
	}
	if count < 0 {
		if _, ok := r.long(); !ok || count == math.MinInt64 {
			return 0, false
		}
		count = -count
	}
	if count > int64(len(r.b)-r.i) {
		return 0, false
	}
	return int(count), true
}

// decodeRecord decodes a record of node n from b into m (a new map when
// nil), as hamba decodes into a *map[string]any. Bytes after the record
// are ignored, as hamba ignores them.
func decodeRecord(b []byte, n *vnode, m map[string]any) (map[string]any, bool) {
	r := &binReader{b: b}
	return r.record(n, m)
}

func (r *binReader) record(n *vnode, m map[string]any) (map[string]any, bool) {
	if m == nil {
		m = make(map[string]any, len(n.fields))
	}
	for i := range n.fields {
		f := &n.fields[i]
		v, ok := r.value(f.node)
		if !ok {
			return nil, false
		}
		m[f.name] = v
	}
	return m, true
}

// value reads one value of node n, in hamba's native form.
func (r *binReader) value(n *vnode) (any, bool) {
	switch n.kind {
	case vNull:
		return nil, true
	case vBool:
		p, ok := r.fixed(1)
		if !ok || p[0] > 1 {
			return nil, false
		}
		return p[0] == 1, true
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
		p, ok := r.raw()
		return string(p), ok
	case vBytes:
		p, ok := r.raw()
		if !ok {
			return nil, false
		}
		return append(make([]byte, 0, len(p)), p...), true
	case vEnum:
		i, ok := r.int()
		if !ok || i < 0 || int(i) >= len(n.symbolList) {
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
		return r.array(n.items)
	case vMap:
		return r.mapOf(n.items)
	case vRecord:
		return r.record(n, nil)
	case vUnion:
		return r.union(n)
	case vTimestampMillis, vLocalTimestampMillis, vTimestampMicros, vLocalTimestampMicros:
		i, ok := r.long()
		if !ok {
			return nil, false
		}
		perSec := int64(1e3)
		if n.kind == vTimestampMicros || n.kind == vLocalTimestampMicros {
			perSec = 1e6
		}
		sec := i / perSec
		return timestamp(n.kind, sec, (i-sec*perSec)*(1e9/perSec)), true
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
	return nil, false
}

// timestamp is what hamba makes of sec and nsec since the epoch: a UTC
// time, or for a local timestamp the same wall clock in time.Local.
func timestamp(k vkind, sec, nsec int64) time.Time {
	t := time.Unix(sec, nsec)
	if k == vLocalTimestampMillis || k == vLocalTimestampMicros {
		_, offset := t.Zone()
		return t.Add(time.Duration(-offset) * time.Second)
	}
	return t.UTC()
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

// array reads an array; an empty one is an empty slice, as hamba makes
// it.
func (r *binReader) array(items *vnode) (any, bool) {
	out := []any{}
	for {
		count, ok := r.block()
		if !ok {
			return nil, false
		}
		if count == 0 {
			break
		}
		out = growAny(out, count)
		for range count {
			v, ok := r.value(items)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
	}
	return out, true
}

func growAny(s []any, n int) []any {
	if cap(s)-len(s) >= n {
		return s
	}
	grown := make([]any, len(s), len(s)+n)
	copy(grown, s)
	return grown
}

// mapOf reads a map; an empty one is an empty map, as hamba makes it.
func (r *binReader) mapOf(values *vnode) (any, bool) {
	m := map[string]any{}
	for {
		count, ok := r.block()
		if !ok {
			return nil, false
		}
		if count == 0 {
			return m, true
		}
		for range count {
			k, ok := r.raw()
			if !ok {
				return nil, false
			}
			v, ok := r.value(values)
			if !ok {
				return nil, false
			}
			m[string(k)] = v
		}
	}
}

// union reads the branch index and the value: nil for the null branch,
// the bare value for a branch hamba's type resolver knows, else
// {name: value}.
func (r *binReader) union(n *vnode) (any, bool) {
	i, ok := r.int()
	if !ok || i < 0 || int(i) >= len(n.arms) {
		return nil, false
	}
	a := &n.arms[i]
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
