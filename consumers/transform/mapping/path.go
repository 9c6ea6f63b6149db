package mapping

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/avro"
)

// A source path is a dotted list of field names, each optionally followed
// by [n] array indexes: "data.data.associations.companies[0]". A path
// starts at the source event record (its fields "envelope" and "data")
// or, inside each, at "item", the element at hand.

type segment struct {
	name  string // a record field or a map key; "" for an index
	index int    // >= 0 for an index
}

func splitPath(p string) ([]segment, error) {
	if p == "" {
		return nil, fmt.Errorf("empty path")
	}
	var segs []segment
	for _, part := range strings.Split(p, ".") {
		name := part
		var idx []int
		if i := strings.IndexByte(part, '['); i >= 0 {
			name = part[:i]
			rest := part[i:]
			for rest != "" {
				if rest[0] != '[' {
					return nil, fmt.Errorf("path %s: unexpected %q", quote(p), rest)
				}
				end := strings.IndexByte(rest, ']')
				if end < 0 {
					return nil, fmt.Errorf("path %s: unclosed [", quote(p))
				}
				n, err := strconv.Atoi(rest[1:end])
				if err != nil || n < 0 {
					return nil, fmt.Errorf("path %s: index %q is not a number from 0", quote(p), rest[1:end])
				}
				idx = append(idx, n)
				rest = rest[end+1:]
			}
		}
		if name == "" {
			return nil, fmt.Errorf("path %s has an empty name", quote(p))
		}
		segs = append(segs, segment{name: name, index: -1})
		for _, n := range idx {
			segs = append(segs, segment{index: n})
		}
	}
	return segs, nil
}

// step is one move of a compiled path through a native value.
type step struct {
	key   string // field or map key; "" for an index
	index int
	// slot is the field's position in its record's schema, -1 for a map
	// key or an index: where a Record has key there, it is read with no
	// lookup by name.
	slot int
	// unwrap holds the union branch names the value reached may be
	// wrapped in ({"<branch>": value}); nil when its type is no such
	// union. A wrapped value of another branch is a missing value.
	unwrap map[string]bool
}

// getter reads a compiled path from an event.
type getter struct {
	text string
	item int // -1: from the event root; n: from the n-th each scope
	// parent, when set, reads the path but for its last step, a prefix
	// the paths of the event that share it share (see ectx.under); the
	// getter starts from its value, unwrapped by unwrap, and takes steps
	// from there.
	parent *getter
	unwrap map[string]bool
	steps  []step
}

// get returns the value at the path, or nil when any part of it is
// missing or null.
func (g *getter) get(c *ectx) any {
	var v any
	switch {
	case g.parent != nil:
		v = c.under(g.parent)
		if v != nil && g.unwrap != nil {
			v = unwrapUnion(v, g.unwrap)
		}
		if v == nil {
			return nil
		}
	case g.item < 0:
		v = c.root
	default:
		v = c.items[g.item]
	}
	for i := range g.steps {
		s := &g.steps[i]
		if s.index >= 0 {
			arr, ok := v.([]any)
			if !ok || s.index >= len(arr) {
				return nil
			}
			v = arr[s.index]
		} else {
			v = field(v, s.key, s.slot)
		}
		if v == nil {
			return nil
		}
		if s.unwrap != nil {
			v = unwrapUnion(v, s.unwrap)
			if v == nil {
				return nil
			}
		}
	}
	return v
}

// field returns the field or map entry key of v, a record or map as a
// map[string]any or an *avro.Record, looked up by name (avro.Field)
// unless a Record has key at slot; nil when v is neither or has no such
// field.
func field(v any, key string, slot int) any {
	if x, ok := v.(*avro.Record); ok && slot >= 0 && slot < len(x.Values) && x.Fields.Name(slot) == key {
		return x.Values[slot]
	}
	return avro.Field(v, key)
}

// unwrapUnion returns the value inside a union value {"<branch>": v} when
// its branch is in names, nil when it is another branch, and v itself
// when it is not wrapped (a bare primitive arm).
func unwrapUnion(v any, names map[string]bool) any {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return v
	}
	for k, inner := range m {
		if names[k] {
			return inner
		}
		if strings.Contains(k, ".") || k == "array" || k == "map" {
			return nil // another named branch
		}
	}
	return v
}

// compilePath resolves a path against the source schema: the event record
// or, for "item...", the innermost each scope.
func (c *compiler) compilePath(p string) (*getter, *atype, error) {
	segs, err := splitPath(p)
	if err != nil {
		return nil, nil, err
	}
	g := &getter{text: p, item: -1}
	t := c.src
	start := 0
	if segs[0].name == "item" {
		if len(c.scopes) == 0 {
			return nil, nil, fmt.Errorf("path %s: item is only known inside each", quote(p))
		}
		g.item = len(c.scopes) - 1
		t = c.scopes[g.item]
		start = 1
	}
	for i := start; i < len(segs); i++ {
		s := segs[i]
		var next *atype
		slot := -1
		if s.index >= 0 {
			if t.kind != kArray {
				return nil, nil, fmt.Errorf("path %s: [%d] needs an array, %s is %s", quote(p), s.index, pathPrefix(segs, i), t.describe())
			}
			next = t.items
		} else {
			switch t.kind {
			case kRecord:
				f, ok := t.byName[s.name]
				if !ok {
					return nil, nil, fmt.Errorf("path %s: %s has no field %s (fields: %s)", quote(p), t.name, quote(s.name), fieldNames(t))
				}
				next = f.typ
				slot = slices.Index(t.fields, f)
			case kMap:
				next = t.values
			default:
				return nil, nil, fmt.Errorf("path %s: %s is %s, which has no field %s", quote(p), pathPrefix(segs, i), t.describe(), quote(s.name))
			}
		}
		st := step{key: s.name, index: s.index, slot: slot}
		if s.index >= 0 {
			st.key = ""
		}
		// A union: pick the arms the rest of the path can go through.
		if next.kind == kUnion {
			var arms []*atype
			if i+1 < len(segs) {
				arms = armsFor(next, segs[i+1])
				if len(arms) == 0 {
					return nil, nil, fmt.Errorf("path %s: no branch of %s at %s has %s", quote(p), next.describe(), pathPrefix(segs, i+1), describeSeg(segs[i+1]))
				}
			} else {
				arms = next.nonNull()
			}
			names := map[string]bool{}
			for _, a := range arms {
				if n := a.branchName(); n != "" {
					names[n] = true
				}
			}
			if len(names) > 0 {
				st.unwrap = names
			}
			switch {
			case len(arms) == 1:
				next = arms[0]
			case i+1 < len(segs):
				next = arms[0]
			default:
				next = &atype{kind: kAny, arms: arms}
			}
		}
		g.steps = append(g.steps, st)
		t = next
	}
	if g.item < 0 && len(g.steps) > 1 {
		c.share(g, pathPrefix(segs, len(segs)-1))
	}
	return g, t, nil
}

// share makes a path from the event root read its prefix (all but its
// last step, whose text is prefix) through a parent getter it shares with
// the other paths of the event under that prefix. The union branches the
// prefix's last value is unwrapped to depend on the step after it, so the
// getter keeps them, and the parent reads the value as it is.
func (c *compiler) share(g *getter, prefix string) {
	n := len(g.steps) - 1
	key := c.record + " " + prefix
	parent, ok := c.prefixes[key]
	if !ok {
		parent = &getter{text: prefix, item: -1, steps: slices.Clone(g.steps[:n])}
		parent.steps[n-1].unwrap = nil
		c.prefixes[key] = parent
	}
	g.parent, g.unwrap = parent, g.steps[n-1].unwrap
	g.steps = g.steps[n:]
}

func armsFor(u *atype, s segment) []*atype {
	var out []*atype
	for _, a := range u.nonNull() {
		switch {
		case s.index >= 0 && a.kind == kArray:
			out = append(out, a)
		case s.index < 0 && a.kind == kRecord:
			if _, ok := a.byName[s.name]; ok {
				out = append(out, a)
			}
		case s.index < 0 && a.kind == kMap:
			out = append(out, a)
		}
	}
	return out
}

func describeSeg(s segment) string {
	if s.index >= 0 {
		return fmt.Sprintf("an index [%d]", s.index)
	}
	return "a field " + quote(s.name)
}

func pathPrefix(segs []segment, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if segs[i].index >= 0 {
			fmt.Fprintf(&b, "[%d]", segs[i].index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(segs[i].name)
	}
	if b.Len() == 0 {
		return "the event"
	}
	return b.String()
}

func fieldNames(t *atype) string {
	names := make([]string, len(t.fields))
	for i, f := range t.fields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}
