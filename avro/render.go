package avro

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/sluicehq/sluice/internal/jsonenc"
)

// This file renders Avro binary as JSON with no decoded value in between:
// the JSON encoding/json gives for the Go struct that mirrors the record
// the way package canonical's types do (json names that are the Avro
// names, an optional field a pointer with omitempty). That is:
//
//   - a record is an object of its fields in the schema's order, with a
//     field whose value is the null branch of a union left out;
//   - a null anywhere else (an array item, a map value) is null;
//   - string, uuid and enum values are strings, escaped as encoding/json
//     escapes them (HTML-safe, invalid UTF-8 as U+FFFD);
//   - boolean, int and long are JSON's;
//   - timestamp-millis and timestamp-micros are RFC 3339 strings in UTC
//     with the fraction trimmed (time.Time's MarshalJSON);
//   - an array is an array; a map is an object with its keys sorted, the
//     last of a key given twice kept.
//
// Schemas with anything else (bytes, fixed, float, double, decimal, date,
// time-of-day and local timestamps, unions of more than null and one
// other branch) are not rendered: encoding/json's rendering of those
// depends on the Go type a reader chose.

// JSON is a record rendered by Serde.RenderJSON, with its buffers, which
// the next render into it reuses. It is not safe for concurrent use.
type JSON struct {
	// Record is the full name of the rendered record.
	Record string
	// Out is the record's JSON object.
	Out []byte

	plan    *renderPlan
	spans   []span
	entries []mapEntry
	scratch []byte
}

// span is where a value is in JSON.Out; the zero span is a field left
// out (no value takes zero bytes).
type span struct{ start, end int }

// mapEntry is one entry of a map being rendered: its key in the body and
// its value in JSON.scratch.
type mapEntry struct {
	key        []byte
	start, end int
}

// renderPlan is what RenderJSON needs of a record schema beyond its
// compiled node: where the spans of the fields two deep go.
type renderPlan struct {
	node *vnode
	// nested[i] is where the spans of top-level field i's own fields
	// start in JSON.spans, when that field is a record; 0 otherwise.
	nested []int
	spans  int // the spans in all
}

// newRenderPlan returns the plan of record n, or nil when n holds a value
// the renderer does not render.
func newRenderPlan(n *vnode) *renderPlan {
	if n.kind != vRecord || !renders(n, map[*vnode]bool{}) {
		return nil
	}
	p := &renderPlan{node: n, nested: make([]int, len(n.fields)), spans: len(n.fields)}
	for i := range n.fields {
		if f := n.fields[i].node; f.kind == vRecord {
			p.nested[i] = p.spans
			p.spans += len(f.fields)
		}
	}
	return p
}

// renders reports whether every value of n is rendered (see above).
func renders(n *vnode, seen map[*vnode]bool) bool {
	if seen[n] {
		return true
	}
	seen[n] = true
	switch n.kind {
	case vBool, vInt, vLong, vString, vUUID, vEnum, vTimestampMillis, vTimestampMicros:
		return true
	case vArray, vMap:
		return renders(n.items, seen)
	case vRecord:
		for i := range n.fields {
			if !renders(n.fields[i].node, seen) {
				return false
			}
		}
		return true
	case vUnion:
		return len(n.arms) == 2 && n.nullArm >= 0 && renders(n.arms[1-n.nullArm].node, seen)
	}
	return false
}

// Field returns the JSON of the value of the field at path, one or two
// field names from the top record down: nil where the field is null, or
// the record has no such field.
func (j *JSON) Field(path ...string) []byte {
	if j.plan == nil || len(path) == 0 || len(path) > 2 {
		return nil
	}
	n := j.plan.node
	i, ok := n.index[path[0]]
	if !ok {
		return nil
	}
	at := i
	if len(path) == 2 {
		k, ok := n.fields[i].node.index[path[1]]
		if j.plan.nested[i] == 0 || !ok {
			return nil
		}
		at = j.plan.nested[i] + k
	}
	s := j.spans[at]
	if s.end == 0 {
		return nil
	}
	return j.Out[s.start:s.end]
}

// RenderJSON renders the record of the wire-format value b into j (see
// JSON and this file's comment for the rendering). It reports false, with
// j unchanged, where the value's record is not rendered: a writer schema
// that is resolved to a local reader, or a schema holding values the
// renderer leaves to readers that know their Go types. Its errors are
// DecodeRecord's.
func (s *Serde) RenderJSON(ctx context.Context, b []byte, j *JSON) (bool, error) {
	d, body, err := s.decodingOf(ctx, b)
	if err != nil {
		return false, err
	}
	if d.err != nil {
		return false, d.err
	}
	if d.render == nil {
		return false, nil
	}
	j.Record = d.record
	if err := j.render(d.render, body); err != nil {
		return false, fmt.Errorf("%w: schema id %d (%s): %v", ErrDecode, d.id, d.record, err)
	}
	return true, nil
}

// render renders body, a record of plan p, into j. Its error names the
// field path where the body failed.
func (j *JSON) render(p *renderPlan, body []byte) error {
	j.plan = p
	j.spans = slices.Grow(j.spans[:0], p.spans)[:p.spans]
	clear(j.spans)
	r := jsonRenderer{binReader: binReader{b: body, empty: maxEmptyItems}, j: j}
	out, ok := r.record(j.Out[:0], p.node, j.spans)
	if !ok {
		j.Out = out[:0]
		return fmt.Errorf("%s: %v", pathOf(r.path), r.err)
	}
	j.Out = out
	return nil
}

// jsonRenderer reads Avro binary and appends its JSON.
type jsonRenderer struct {
	binReader
	j *JSON
}

// record appends the object of a record of node n; spans, when not nil,
// gets the span of each field's value, and those of a field that is a
// record get theirs at the plan's nested index (two deep at most).
func (r *jsonRenderer) record(out []byte, n *vnode, spans []span) ([]byte, bool) {
	if !r.enter() {
		return out, false
	}
	out = append(out, '{')
	// The top record's fields give spans to their own fields.
	top := r.depth == 1 && spans != nil
	first := true
	for i := range n.fields {
		f := &n.fields[i]
		node := f.node
		if node.kind == vUnion {
			a, ok := r.arm(node)
			if !ok {
				return out, r.in(f)
			}
			if a.node.kind == vNull {
				continue
			}
			node = a.node
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, '"')
		out = append(out, f.name...)
		out = append(out, '"', ':')
		start := len(out)
		var ok bool
		if top && r.j.plan.nested[i] > 0 {
			at := r.j.plan.nested[i]
			out, ok = r.record(out, node, spans[at:at+len(node.fields)])
		} else {
			out, ok = r.value(out, node)
		}
		if !ok {
			return out, r.in(f)
		}
		if spans != nil {
			spans[i] = span{start, len(out)}
		}
	}
	r.leave()
	return append(out, '}'), true
}

// in names field f in r.path and returns false.
func (r *jsonRenderer) in(f *vfield) bool {
	r.path = append(r.path, f.name)
	return false
}

// value appends the JSON of one value of node n.
func (r *jsonRenderer) value(out []byte, n *vnode) ([]byte, bool) {
	switch n.kind {
	case vBool:
		v, ok := r.boolean()
		return strconv.AppendBool(out, v), ok
	case vInt:
		i, ok := r.int()
		return strconv.AppendInt(out, int64(i), 10), ok
	case vLong:
		i, ok := r.long()
		return strconv.AppendInt(out, i, 10), ok
	case vString, vUUID:
		p, ok := r.raw()
		return jsonenc.String(out, p), ok
	case vEnum:
		i, ok := r.enum(n)
		if !ok {
			return out, false
		}
		return jsonenc.String(out, n.symbolList[i].(string)), true
	case vTimestampMillis, vTimestampMicros:
		t, ok := r.timestamp(n)
		if !ok {
			return out, false
		}
		if out, ok = jsonenc.Time(out, t); !ok {
			// time.Time's MarshalJSON refuses it.
			return out, r.failf("timestamp in the year %d, outside 0 to 9999", t.Year())
		}
		return out, true
	case vArray:
		return r.array(out, n)
	case vMap:
		return r.mapOf(out, n.items)
	case vRecord:
		return r.record(out, n, nil)
	case vUnion:
		a, ok := r.arm(n)
		switch {
		case !ok:
			return out, false
		case a.node.kind == vNull:
			return append(out, "null"...), true
		}
		return r.value(out, a.node)
	}
	return out, r.failf("no rendering of schema kind %d", n.kind)
}

// array appends an array of node n.
func (r *jsonRenderer) array(out []byte, n *vnode) ([]byte, bool) {
	if !r.enter() {
		return out, false
	}
	out = append(out, '[')
	first := true
	for {
		count, ok := r.block(n.emptyItems)
		if !ok {
			return out, false
		}
		if count == 0 {
			break
		}
		for range count {
			if !first {
				out = append(out, ',')
			}
			first = false
			if out, ok = r.value(out, n.items); !ok {
				return out, false
			}
		}
	}
	r.leave()
	return append(out, ']'), true
}

// mapOf appends a map of values of node values: its values are rendered
// in the body's order after out, moved to the scratch buffer, and written
// back after their keys in the keys' order.
func (r *jsonRenderer) mapOf(out []byte, values *vnode) ([]byte, bool) {
	if !r.enter() {
		return out, false
	}
	base, at := len(r.j.entries), len(out)
	for {
		count, ok := r.block(false)
		if !ok {
			return out, false
		}
		if count == 0 {
			break
		}
		for range count {
			k, ok := r.raw()
			if !ok {
				return out, false
			}
			start := len(out)
			if out, ok = r.value(out, values); !ok {
				// The key is data, maybe personal: not in the error.
				r.path = append(r.path, "[]")
				return out, false
			}
			r.j.entries = append(r.j.entries, mapEntry{key: k, start: start - at, end: len(out) - at})
		}
	}
	r.leave()
	entries := r.j.entries[base:]
	r.j.scratch = append(r.j.scratch[:0], out[at:]...)
	out = append(out[:at], '{')
	slices.SortStableFunc(entries, func(a, b mapEntry) int { return bytes.Compare(a.key, b.key) })
	first := true
	for i, e := range entries {
		if i+1 < len(entries) && bytes.Equal(e.key, entries[i+1].key) {
			continue // the last given is kept
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = jsonenc.String(out, e.key)
		out = append(out, ':')
		out = append(out, r.j.scratch[e.start:e.end]...)
	}
	r.j.entries = r.j.entries[:base]
	return append(out, '}'), true
}
