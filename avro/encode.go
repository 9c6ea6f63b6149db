package avro

import (
	"encoding/binary"
	"math"
	"math/big"
	"reflect"
	"time"

	havro "github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/internal/canonical"
)

// This file holds the Serde's encoder of native values (see Validator):
// Avro binary written straight from a map[string]any, driven by the
// schema compiled into vnodes. It writes the bytes hamba/avro writes for
// the same value (tests hold it to that, byte for byte), without hamba's
// per-value reflection and encoder lookups.
//
// It handles the native forms the Validator and NativeEvent produce, the
// canonical.Envelope and canonical.ExternalID structs in place of their
// records' maps, a []canonical.ExternalID in place of an array of them
// (hamba encodes these by their avro tags to the same bytes), a *Record
// in place of its map, an *Event in place of an event record's map, and
// the other Go types hamba encodes the same way without surprises. For
// anything else (a missing field that hamba would fill with its default,
// a value of another Go type, a value hamba refuses) it reports !ok, and
// the Serde encodes the whole value with hamba instead (Records and
// Events as their maps), so hamba stays the definition of what a native
// value encodes to and of its errors.

// blockLength is how many items hamba writes in one block of an array
// or map (its default BlockLength).
const blockLength = 100

// appendRecord appends the encoding of record m of node n to b.
func appendRecord(b []byte, n *vnode, m map[string]any) ([]byte, bool) {
	for i := range n.fields {
		f := &n.fields[i]
		v, present := m[f.name]
		if !present {
			return b, false
		}
		var ok bool
		if b, ok = appendNative(b, f.node, v); !ok {
			return b, false
		}
	}
	return b, true
}

// appendEnvelope appends the encoding of envelope e as a record of node n
// to b: what appendRecord writes for NativeEnvelope(*e), written from the
// struct's fields without a map or boxing each value into an any (the
// envelope is in every canonical event).
func appendEnvelope(b []byte, n *vnode, e *canonical.Envelope) ([]byte, bool) {
	ok := true
	for i := 0; ok && i < len(n.fields); i++ {
		f := &n.fields[i]
		switch f.name {
		case "tenant_id":
			b, ok = appendStr(b, f.node, e.TenantID)
		case "event_id":
			b, ok = appendStr(b, f.node, e.EventID)
		case "event_type":
			b, ok = appendStr(b, f.node, e.EventType)
		case "integration":
			b, ok = appendStr(b, f.node, e.Integration)
		case "source":
			b, ok = appendStr(b, f.node, e.Source)
		case "occurred_at":
			if e.OccurredAt == nil {
				b, ok = appendNative(b, f.node, nil)
			} else {
				b, ok = appendTime(b, f.node, e.OccurredAt.UTC().Truncate(time.Millisecond))
			}
		case "received_at":
			b, ok = appendTime(b, f.node, e.ReceivedAt.UTC().Truncate(time.Millisecond))
		case "schema_version":
			b, ok = appendOptStr(b, f.node, e.SchemaVersion)
		case "trace_parent":
			b, ok = appendOptStr(b, f.node, e.TraceParent)
		case "actor_id":
			b, ok = appendOptStr(b, f.node, e.ActorID)
		case "caused_by":
			b, ok = appendOptStr(b, f.node, e.CausedBy)
		default:
			return b, false
		}
	}
	return b, ok
}

// appendEvent appends the encoding of event e as a record of node n to
// b: what appendRecord writes for e.native(), without the map and the
// boxed envelope.
func appendEvent(b []byte, n *vnode, e *Event) ([]byte, bool) {
	ok := true
	for i := 0; ok && i < len(n.fields); i++ {
		f := &n.fields[i]
		switch f.name {
		case "envelope":
			if f.node.kind != vRecord {
				return b, false
			}
			b, ok = appendEnvelope(b, f.node, &e.Envelope)
		case "data":
			if f.node.kind != vRecord {
				return b, false
			}
			b, ok = appendNative(b, f.node, e.Data)
		default:
			return b, false
		}
	}
	return b, ok
}

// appendExternalID appends the encoding of external id x as a record of
// node n to b, as appendEnvelope does for an envelope: the bytes of its
// native map, {"system", "id", "integration", "url"}.
func appendExternalID(b []byte, n *vnode, x *canonical.ExternalID) ([]byte, bool) {
	ok := true
	for i := 0; ok && i < len(n.fields); i++ {
		f := &n.fields[i]
		switch f.name {
		case "system":
			b, ok = appendStr(b, f.node, x.System)
		case "id":
			b, ok = appendStr(b, f.node, x.ID)
		case "integration":
			b, ok = appendOptStr(b, f.node, x.Integration)
		case "url":
			b, ok = appendOptStr(b, f.node, x.URL)
		default:
			return b, false
		}
	}
	return b, ok
}

// appendStr is appendNative(b, n, s) without boxing s into an any where n
// is a string or a union that takes it.
func appendStr(b []byte, n *vnode, s string) ([]byte, bool) {
	switch n.kind {
	case vString, vUUID:
		return appendString(b, s), true
	case vUnion:
		arm := n.armOfType(s)
		if arm < 0 {
			return b, false
		}
		return appendStr(appendInt(b, int32(arm)), n.arms[arm].node, s)
	}
	return appendNative(b, n, s)
}

// appendOptStr is appendStr of *s, or appendNative of nil when s is nil.
func appendOptStr(b []byte, n *vnode, s *string) ([]byte, bool) {
	if s == nil {
		return appendNative(b, n, nil)
	}
	return appendStr(b, n, *s)
}

// appendTime is appendNative(b, n, t) without boxing t into an any where
// n is a timestamp or a union that takes it.
func appendTime(b []byte, n *vnode, t time.Time) ([]byte, bool) {
	switch n.kind {
	case vTimestampMillis, vTimestampMicros, vLocalTimestampMillis, vLocalTimestampMicros:
		return appendLong(b, timestampOf(n.kind, t)), true
	case vUnion:
		arm := n.armOfType(t)
		if arm < 0 {
			return b, false
		}
		return appendTime(appendInt(b, int32(arm)), n.arms[arm].node, t)
	}
	return appendNative(b, n, t)
}

// appendNative appends the encoding of v as a value of node n to b. ok is
// false when v is not a native value of n that this encoder knows to
// encode as hamba does.
func appendNative(b []byte, n *vnode, v any) ([]byte, bool) {
	switch n.kind {
	case vNull:
		return b, v == nil
	case vBool:
		x, ok := v.(bool)
		if !ok {
			return b, false
		}
		if x {
			return append(b, 1), true
		}
		return append(b, 0), true
	case vInt:
		x, ok := v.(int)
		return appendInt(b, int32(x)), ok
	case vLong:
		switch x := v.(type) {
		case int64:
			return appendLong(b, x), true
		case int:
			return appendLong(b, int64(x)), true
		}
	case vFloat:
		x, ok := v.(float32)
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(x)), ok
	case vDouble:
		switch x := v.(type) {
		case float64:
			return binary.LittleEndian.AppendUint64(b, math.Float64bits(x)), true
		case float32:
			return binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(x))), true
		}
	case vString, vUUID:
		x, ok := v.(string)
		return appendString(b, x), ok
	case vBytes:
		x, ok := v.([]byte)
		return appendBytes(b, x), ok
	case vEnum:
		x, ok := v.(string)
		if !ok {
			return b, false
		}
		i, ok := n.symbols[x]
		return appendInt(b, int32(i)), ok
	case vFixed:
		rv := reflect.ValueOf(v)
		if !rv.IsValid() || rv.Type() != n.fixedT {
			return b, false
		}
		for i := range n.size {
			b = append(b, byte(rv.Index(i).Uint()))
		}
		return b, true
	case vArray:
		switch x := v.(type) {
		case []any:
			return appendArray(b, n.items, x)
		case []canonical.ExternalID:
			if n.items.kind != vRecord {
				return b, false
			}
			return appendExternalIDs(b, n.items, x)
		}
	case vMap:
		x, ok := v.(map[string]any)
		if !ok {
			return b, false
		}
		return appendMap(b, n.items, x)
	case vRecord:
		switch x := v.(type) {
		case map[string]any:
			return appendRecord(b, n, x)
		case canonical.Envelope:
			return appendEnvelope(b, n, &x)
		case canonical.ExternalID:
			return appendExternalID(b, n, &x)
		case *Record:
			return appendSlots(b, n, x)
		case *Event:
			return appendEvent(b, n, x)
		}
	case vUnion:
		return appendUnion(b, n, v)
	case vTimestampMillis, vTimestampMicros, vLocalTimestampMillis, vLocalTimestampMicros:
		switch x := v.(type) {
		case time.Time:
			return appendLong(b, timestampOf(n.kind, x)), true
		case int64:
			return appendLong(b, x), true
		case int:
			return appendLong(b, int64(x)), true
		}
	case vDate:
		switch x := v.(type) {
		case time.Time:
			return appendInt(b, int32(x.Unix()/86400)), true
		case int:
			return appendInt(b, int32(x)), true
		}
	case vTimeMillis:
		switch x := v.(type) {
		case time.Duration:
			return appendInt(b, int32(x.Nanoseconds()/int64(time.Millisecond))), true
		case int:
			return appendInt(b, int32(x)), true
		}
	case vTimeMicros:
		switch x := v.(type) {
		case time.Duration:
			return appendLong(b, x.Nanoseconds()/int64(time.Microsecond)), true
		case int:
			return appendLong(b, int64(x)), true
		}
	case vDecimal:
		x, ok := v.(*big.Rat)
		if !ok || x == nil {
			return b, false
		}
		return appendDecimal(b, n, x)
	case vFixedDecimal:
		x, ok := v.(*big.Rat)
		if !ok || x == nil {
			return b, false
		}
		return appendFixedDecimal(b, n, x)
	}
	return b, false
}

// timestampOf returns what hamba writes for t as a timestamp of kind k.
// A local timestamp is the wall clock of t in time.Local, as hamba has it.
func timestampOf(k vkind, t time.Time) int64 {
	if k == vLocalTimestampMillis || k == vLocalTimestampMicros {
		t = t.Local()
		t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	}
	if k == vTimestampMillis || k == vLocalTimestampMillis {
		return t.Unix()*1e3 + int64(t.Nanosecond()/1e6)
	}
	return t.Unix()*1e6 + int64(t.Nanosecond()/1e3)
}

// appendArray writes items in blocks of at most blockLength, each with
// its byte size, then the empty block that ends the array.
func appendArray(b []byte, items *vnode, arr []any) ([]byte, bool) {
	return appendBlocks(b, len(arr), func(b []byte, i int) ([]byte, bool) { return appendNative(b, items, arr[i]) })
}

// appendExternalIDs writes xs as appendArray writes their items boxed
// one by one (every canonical event carries its external ids; this spares
// the boxing).
func appendExternalIDs(b []byte, items *vnode, xs []canonical.ExternalID) ([]byte, bool) {
	return appendBlocks(b, len(xs), func(b []byte, i int) ([]byte, bool) { return appendExternalID(b, items, &xs[i]) })
}

// appendBlocks writes the n items of an array, each appended by item, in
// blocks of at most blockLength with their byte sizes, then the empty
// block that ends the array.
func appendBlocks(b []byte, n int, item func(b []byte, i int) ([]byte, bool)) ([]byte, bool) {
	for i := 0; i < n; i += blockLength {
		start := len(b)
		end := min(i+blockLength, n)
		for j := i; j < end; j++ {
			var ok bool
			if b, ok = item(b, j); !ok {
				return b, false
			}
		}
		b = insertBlockHeader(b, start, end-i)
	}
	return append(b, 0), true
}

// appendMap writes the entries of m in blocks as appendArray does, in the
// map's iteration order (any order is valid Avro).
func appendMap(b []byte, values *vnode, m map[string]any) ([]byte, bool) {
	start, count := len(b), 0
	for k, v := range m {
		b = appendString(b, k)
		var ok bool
		if b, ok = appendNative(b, values, v); !ok {
			return b, false
		}
		if count++; count == blockLength {
			b = insertBlockHeader(b, start, count)
			start, count = len(b), 0
		}
	}
	if count > 0 {
		b = insertBlockHeader(b, start, count)
	}
	return append(b, 0), true
}

// insertBlockHeader puts the header of the block of count items that
// starts at start in front of it: -count and the block's size in bytes,
// or count alone when the items take no bytes, as hamba writes it.
func insertBlockHeader(b []byte, start, count int) []byte {
	size := len(b) - start
	var hdr [2 * binary.MaxVarintLen64]byte
	var h []byte
	if size > 0 {
		h = appendLong(appendLong(hdr[:0], -int64(count)), int64(size))
	} else {
		h = appendLong(hdr[:0], int64(count))
	}
	b = append(b, h...)
	copy(b[start+len(h):], b[start:start+size])
	copy(b[start:], h)
	return b
}

// appendUnion writes the branch index and the value. The branch is chosen
// as hamba chooses it: by name for the {branch: value} form, for nil the
// null branch, and for a bare value the first branch named for its Go
// type (hamba's type resolver), or the non-null branch of a [null, T]
// union for a slice or pointer.
func appendUnion(b []byte, n *vnode, v any) ([]byte, bool) {
	arm := -1
	switch x := v.(type) {
	case map[string]any:
		if len(x) > 1 {
			return b, false
		}
		name := "null"
		v = nil
		for k, e := range x {
			name, v = k, e
		}
		arm = n.armNamed(name)
		if arm < 0 {
			return b, false
		}
		b = appendInt(b, int32(arm))
		a := n.arms[arm].node
		switch {
		case a.kind == vNull && v == nil:
			return b, true
		case a.kind == vArray && v == nil:
			return append(b, 0), true
		}
		return appendNative(b, a, v)
	case nil:
		arm = n.nullArm
	case []byte, []any, *big.Rat:
		switch {
		case n.pairArm >= 0 && reflect.ValueOf(v).IsNil():
			arm = n.nullArm
		case n.pairArm >= 0:
			arm = n.pairArm
			if _, rat := v.(*big.Rat); rat && n.arms[arm].node.kind != vDecimal {
				// hamba writes a bare decimal for a bytes branch only.
				return b, false
			}
		case isNilRat(v):
			return b, false
		default:
			arm = n.armOfType(v)
		}
	default:
		arm = n.armOfType(v)
	}
	if arm < 0 {
		return b, false
	}
	b = appendInt(b, int32(arm))
	if arm == n.nullArm {
		return b, true
	}
	return appendNative(b, n.arms[arm].node, v)
}

func isNilRat(v any) bool {
	r, ok := v.(*big.Rat)
	return ok && r == nil
}

// armNamed returns the first branch of union n that hamba names name, or
// -1.
func (n *vnode) armNamed(name string) int {
	for i := range n.arms {
		if n.arms[i].name == name {
			return i
		}
	}
	return -1
}

// armOfType returns the branch hamba's type resolver picks for the Go
// type of v: the first of the names registered for the type that names a
// branch. It returns -1 for a type the resolver does not know.
func (n *vnode) armOfType(v any) int {
	var names []string
	switch v.(type) {
	case string:
		names = []string{"string", "string.uuid"}
	case int:
		names = []string{"int", "long"}
	case int64:
		names = []string{"long"}
	case float32:
		names = []string{"float"}
	case float64:
		names = []string{"double"}
	case bool:
		names = []string{"boolean"}
	case []byte:
		names = []string{"bytes"}
	case *big.Rat:
		names = []string{"bytes.decimal"}
	case time.Time:
		names = []string{"int.date", "long.timestamp-millis", "long.timestamp-micros"}
	case time.Duration:
		names = []string{"int.time-millis", "long.time-micros"}
	}
	for _, name := range names {
		if arm := n.armNamed(name); arm >= 0 {
			return arm
		}
	}
	return -1
}

// unionName is the name hamba gives a union branch: the full name of a
// named type, else the type with its logical type, e.g.
// "long.timestamp-millis".
func unionName(s havro.Schema) string {
	if r, ok := s.(*havro.RefSchema); ok {
		s = r.Schema()
	}
	if n, ok := s.(havro.NamedSchema); ok {
		return n.FullName()
	}
	name := string(s.Type())
	if l, ok := s.(havro.LogicalTypeSchema); ok && l.Logical() != nil {
		name += "." + string(l.Logical().Type())
	}
	return name
}

// appendDecimal writes a bytes decimal as hamba does: the value times
// 10^scale, rounded by Euclidean division, in big-endian two's
// complement.
func appendDecimal(b []byte, n *vnode, r *big.Rat) ([]byte, bool) {
	i, ok := unscaled(n, r)
	if !ok {
		return b, false
	}
	var raw []byte
	switch i.Sign() {
	case 0:
		raw = []byte{0}
	case 1:
		raw = i.Bytes()
		if raw[0]&0x80 != 0 {
			raw = append([]byte{0}, raw...)
		}
	case -1:
		length := uint(i.BitLen()/8+1) * 8
		raw = i.Add(i, new(big.Int).Lsh(big.NewInt(1), length)).Bytes()
	}
	return appendBytes(b, raw), true
}

// appendFixedDecimal writes a fixed decimal as hamba does, padded to the
// fixed's size.
func appendFixedDecimal(b []byte, n *vnode, r *big.Rat) ([]byte, bool) {
	i, ok := unscaled(n, r)
	if !ok {
		return b, false
	}
	var raw []byte
	switch i.Sign() {
	case 0:
		raw = make([]byte, n.size)
	case 1:
		raw = i.Bytes()
		if raw[0]&0x80 != 0 {
			raw = append([]byte{0}, raw...)
		}
		if len(raw) < n.size {
			padded := make([]byte, n.size)
			copy(padded[n.size-len(raw):], raw)
			raw = padded
		}
	case -1:
		raw = i.Add(i, new(big.Int).Lsh(big.NewInt(1), uint(n.size*8))).Bytes()
	}
	if len(raw) != n.size {
		return b, false
	}
	return append(b, raw...), true
}

// unscaled returns r times 10^scale as hamba computes it, and false when
// it has more digits than the precision allows.
func unscaled(n *vnode, r *big.Rat) (*big.Int, bool) {
	i := new(big.Int).Mul(r.Num(), n.pow10Scale)
	i.Div(i, r.Denom())
	abs := new(big.Int).Abs(i)
	return i, n.prec > 0 && abs.Cmp(n.pow10Prec) < 0
}

// appendInt writes an Avro int: zig-zag, then a varint.
func appendInt(b []byte, i int32) []byte {
	return binary.AppendUvarint(b, uint64(uint32(i)<<1^uint32(i>>31)))
}

// appendLong writes an Avro long: zig-zag, then a varint.
func appendLong(b []byte, i int64) []byte {
	return binary.AppendUvarint(b, uint64(i)<<1^uint64(i>>63))
}

func appendString(b []byte, s string) []byte {
	return append(appendLong(b, int64(len(s))), s...)
}

func appendBytes(b []byte, p []byte) []byte {
	return append(appendLong(b, int64(len(p))), p...)
}
